/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon and migration steps through libvirt (docs/libvirt.md,
 * "Migrate"): the same contract as fpb-balloon-step.h and
 * fpb-migration-step.h on bare QEMU.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "fpb-backend.h"
#include "fpb-balloon-drive.h"
#include "fpb-outcome.h"
#include "fpb-policy-method.h"

G_BEGIN_DECLS

/**
 * fpb_libvirt_balloon_run:
 * virDomainSetMemoryFlags(@target_bytes, live; and persistent too when
 * @persistent), then polls the balloon every 100 ms; stops at the target
 * (±1 MiB), after @stall_ms without progress or at @budget_s (<= 0: no
 * budget), through fpb_balloon_drive(): a partial inflation is frozen where
 * it got to (live only), a partial give-back keeps the full size requested,
 * and the persistent definition only ever gets @target_bytes of a
 * give-back, never a shrunk size. FALSE with @error only when libvirt
 * fails; @ret is written either way.
 */
gboolean fpb_libvirt_balloon_run(virDomainPtr dom, gint64 target_bytes, gboolean persistent,
                                 double budget_s, guint stall_ms, FpbBalloonStep *ret,
                                 GError **error);

typedef struct {
    const char *dest_uri;       /* the destination libvirt, for peer-to-peer */
    const char *migrate_uri;    /* VIR_MIGRATE_PARAM_URI, NULL: libvirt's choice */
    const char *listen_address; /* VIR_MIGRATE_PARAM_LISTEN_ADDRESS, NULL: default */
    gint64 max_bandwidth;       /* bytes/s, -1: libvirt's (unlimited) */
    double timeout_s;           /* virDomainAbortJob after this, 0: never */
    double stall_s;             /* ... and when nothing was sent for this long, 0: never */
    /* VIR_MIGRATE_POSTCOPY: postcopy-ram on both ends, never started, so
     * QEMU's free-page-hint notifier does nothing. */
    gboolean hints_off;
    /* The decision's method: POSTCOPY adds VIR_MIGRATE_POSTCOPY and calls
     * virDomainMigrateStartPostCopy as soon as the job runs; PAUSED leaves
     * out VIR_MIGRATE_LIVE (libvirt suspends the source and resumes the
     * destination). */
    FpbPolicyMethod method;
    FpbMigrationTickFunc tick; /* at every poll, NULL: none */
    gpointer tick_data;
} FpbLibvirtMigrationPlan;

/**
 * fpb_libvirt_migrate_run:
 * Peer-to-peer migration of @dom as @plan->method says (persistent on the
 * destination, the source definition kept), progress polled with
 * virDomainGetJobStats every 500 ms (every 20 ms until postcopy started). The final statistics (the
 * destination's completed job, else the last ones seen) go into @outcome (mig_*). TRUE only when
 * libvirt reports success.
 */
gboolean fpb_libvirt_migrate_run(virDomainPtr dom, virConnectPtr dest,
                                 const FpbLibvirtMigrationPlan *plan, FpbOutcome *outcome,
                                 GError **error);

/* Job statistics (virTypedParameter) into @outcome's mig_* fields. */
void fpb_libvirt_job_stats_to_outcome(virTypedParameterPtr params, int n, FpbOutcome *outcome);

G_END_DECLS
