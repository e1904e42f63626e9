/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole migration of one libvirt domain: facts -> decide -> journal
 * the intent -> prepare -> migrate -> restore -> record, the same sequence
 * and journal rows as fpb-orchestrator.h on bare QEMU, with every step
 * through libvirt (docs/libvirt.md). Blocking; library code: it reports
 * through @progress and the outcome, it does not print.
 */
#pragma once

#include "fpb-conf-policy.h"
#include "fpb-journal.h"
#include "fpb-orchestrator.h"

G_BEGIN_DECLS

typedef struct {
    const char *source_uri; /* the source libvirt, NULL: qemu:///system */
    const char *domain;
    const char *dest_uri;       /* the destination libvirt; NULL for explain */
    const char *migrate_uri;    /* data connection, NULL: libvirt's choice */
    const char *listen_address; /* on the destination, NULL: libvirt's choice */
    const char *requested_mode;
    FpbVmFactsOptions facts;  /* facts.policy: the host defaults */
    FpbConfPolicy cli_policy; /* keys given on the command line (win over metadata) */
    double timeout_s;
    guint stall_ms;
    FpbProgressFunc progress;
    gpointer progress_data;
} FpbLibvirtMigrateRequest;

/* Defaults as fpb_migrate_request_init(). */
void fpb_libvirt_migrate_request_init(FpbLibvirtMigrateRequest *request);

/* The journal's source column for a libvirt domain: "libvirt:URI#NAME". */
char *fpb_libvirt_orchestrator_source_id(const char *uri, const char *domain);

/**
 * fpb_libvirt_orchestrator_migrate:
 * Returns (transfer full) the outcome, always; *ret_result as
 * fpb_orchestrator_migrate(). An unknown domain or an unreachable libvirt
 * (either end) is REFUSED: nothing was done.
 */
FpbOutcome *fpb_libvirt_orchestrator_migrate(FpbJournal *journal,
                                             const FpbLibvirtMigrateRequest *request,
                                             FpbMigrateResult *ret_result);

/* As fpb_orchestrator_explain(), for a libvirt domain. */
gboolean fpb_libvirt_orchestrator_explain(FpbJournal *journal,
                                          const FpbLibvirtMigrateRequest *request,
                                          FpbVmFacts **ret_facts, FpbPolicyDecision **ret_decision,
                                          gboolean *ret_refused, GError **error);

G_END_DECLS
