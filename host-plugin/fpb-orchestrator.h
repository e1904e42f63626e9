/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole migration of one VM on bare QEMU: facts -> decide -> journal
 * the intent -> prepare -> migrate -> restore -> record
 * (docs/orchestrator.md). Each step is its own module (fpb-vm-facts,
 * fpb-balloon-step, fpb-migration-step, fpb-journal); this file only
 * sequences them and decides what to undo when one fails, so libvirt can
 * later drive the same steps.
 *
 * Blocking; not thread-safe. Library code: it reports through @progress
 * and the returned outcome, it does not print or log.
 */
#pragma once

#include "fpb-journal.h"
#include "fpb-outcome.h"
#include "fpb-policy.h"
#include "fpb-vm-facts.h"

G_BEGIN_DECLS

typedef void (*FpbProgressFunc)(const char *message, gpointer user_data);

typedef struct {
    const char *source_qmp; /* the source VM's QMP socket */
    const char *dest_qmp;   /* the destination's, NULL if none */
    const char *uri;        /* QEMU migration URI; NULL for explain */
    const char *vm_name;    /* NULL: the VM's -name, else the socket's file name */
    const char *requested_mode;
    FpbVmFactsOptions facts; /* facts.policy.mode is the requested mode */
    double timeout_s;        /* migration timeout, 0: none */
    guint stall_ms;          /* balloon: give up after this long without progress */
    guint connect_timeout_ms;
    FpbProgressFunc progress;
    gpointer progress_data;
} FpbMigrateRequest;

/* Defaults: auto, timeout 600 s, stall 3 s, connect timeout 5 s. */
void fpb_migrate_request_init(FpbMigrateRequest *request);

typedef enum {
    FPB_MIGRATE_OK = 0,
    FPB_MIGRATE_FAILED,  /* something was tried and did not work */
    FPB_MIGRATE_REFUSED, /* nothing was done: the policy or the input said no */
} FpbMigrateResult;

/**
 * fpb_orchestrator_migrate:
 * Runs the whole migration and journals it (one row, written before the
 * guest is touched and updated at each phase). Abandoned rows of the same
 * VM are recovered first (fpb-recover.h).
 * Returns: (transfer full) the outcome, always; *ret_result says how it
 * ended and outcome->error why.
 */
FpbOutcome *fpb_orchestrator_migrate(FpbJournal *journal, const FpbMigrateRequest *request,
                                     FpbMigrateResult *ret_result);

/**
 * fpb_orchestrator_explain:
 * Collects the facts (with the VM's journal history) and decides, changing
 * nothing but switching stats polling on. Abandoned journal rows of the VM
 * are recovered first. Returns FALSE with @error when the VM cannot be
 * reached or the journal read (*ret_refused FALSE), or when the policy
 * refuses (*ret_refused TRUE, *ret_facts set).
 */
gboolean fpb_orchestrator_explain(FpbJournal *journal, const FpbMigrateRequest *request,
                                  FpbVmFacts **ret_facts, FpbPolicyDecision **ret_decision,
                                  gboolean *ret_refused, GError **error);

/* The policy outcome of a journal row, for fpb_cost_model_observe(). */
void fpb_orchestrator_policy_outcome(const FpbOutcome *outcome, FpbPolicyOutcome *ret);

G_END_DECLS
