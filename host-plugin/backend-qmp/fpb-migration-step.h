/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration step: capabilities on both ends (postcopy-ram switches the
 * free-page hints off, and is what the postcopy method needs), parameters,
 * `migrate` as the method says (precopy; postcopy started right after
 * `migrate`; paused: `stop` before, `cont` on the destination after),
 * progress polled every 100 ms, `migrate_cancel` at the timeout (not once
 * postcopy runs), and the final statistics into an FpbOutcome.
 * docs/orchestrator.md, "Migrate"; docs/hint-safety.md for the methods.
 */
#pragma once

#include "fpb-backend.h"
#include "fpb-outcome.h"
#include "fpb-policy-method.h"
#include "fpb-qmp.h"

G_BEGIN_DECLS

typedef struct {
    const char *uri;
    gint64 max_bandwidth; /* bytes/s, -1: leave QEMU's setting */
    double timeout_s;     /* cancel after this, 0: never */
    double stall_s;       /* cancel when nothing was sent for this long, 0: never */
    /* Set postcopy-ram on both ends so QEMU's hint notifier does nothing.
     * Needs @dest. FALSE clears the capability on both ends (when known). */
    gboolean hints_off;
    /* The decision's method. POSTCOPY needs @dest; PAUSED without @dest
     * leaves the destination paused (nothing can resume it). */
    FpbPolicyMethod method;
    /* fpb's QEMU: hints_off through x-fpb-free-page-hints on the source
     * (put back on after), not postcopy-ram. */
    gboolean hint_switch;
    /* fpb's QEMU: the migration's hint counters into @outcome (hint_*). */
    gboolean hint_stats;
    /* fpb's QEMU and guest driver: the reclaim request on the source's
     * balloon (@balloon_qom_path) for the migration, withdrawn after; a
     * refusal is logged, not a failure. 0: none. */
    guint32 reclaim;
    guint32 reclaim_cache_mib;
    const char *balloon_qom_path;
    FpbMigrationTickFunc tick; /* at every poll, NULL: none */
    gpointer tick_data;
} FpbMigrationPlan;

/**
 * fpb_migration_step_run:
 * @dest: the destination's QMP client, or NULL when there is none.
 * Runs one migration and writes its statistics into @outcome (mig_*).
 * Returns TRUE only when QEMU reports "completed"; otherwise FALSE with
 * @error saying what happened (the source then still runs the guest,
 * unless QEMU itself failed after switching over, or a postcopy failed
 * after the switch: then neither side has the whole guest). A source that
 * the paused method stopped is resumed when the migration fails. The
 * capabilities and the bandwidth are put back on the source on every path.
 * For PAUSED, outcome->mig_downtime_ms is the time from `stop` to `cont`.
 */
gboolean fpb_migration_step_run(FpbQmpClient *source, FpbQmpClient *dest,
                                const FpbMigrationPlan *plan, FpbOutcome *outcome, GError **error);

/* Sets postcopy-ram to @state on @qmp. */
gboolean fpb_migration_step_set_postcopy(FpbQmpClient *qmp, gboolean state, GError **error);

G_END_DECLS
