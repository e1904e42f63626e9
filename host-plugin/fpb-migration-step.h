/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration step: capabilities on both ends (postcopy-ram switches the
 * free-page hints off; postcopy is never started), parameters, `migrate`,
 * progress polled every 100 ms, `migrate_cancel` at the timeout, and the
 * final statistics into an FpbOutcome. docs/orchestrator.md, "Migrate".
 */
#pragma once

#include "fpb-outcome.h"
#include "fpb-qmp.h"

G_BEGIN_DECLS

typedef struct {
    const char *uri;
    gint64 max_bandwidth; /* bytes/s, -1: leave QEMU's setting */
    double timeout_s;     /* cancel after this, 0: never */
    /* Set postcopy-ram on both ends so QEMU's hint notifier does nothing.
     * Needs @dest. FALSE clears the capability on both ends (when known). */
    gboolean hints_off;
} FpbMigrationPlan;

/**
 * fpb_migration_step_run:
 * @dest: the destination's QMP client, or NULL when there is none.
 * Runs one migration and writes its statistics into @outcome (mig_*).
 * Returns TRUE only when QEMU reports "completed"; otherwise FALSE with
 * @error saying what happened (the source then still runs the guest,
 * unless QEMU itself failed after switching over). The capabilities and
 * the bandwidth are put back on the source on every path.
 */
gboolean fpb_migration_step_run(FpbQmpClient *source, FpbQmpClient *dest,
                                const FpbMigrationPlan *plan, FpbOutcome *outcome, GError **error);

/* Sets postcopy-ram to @state on @qmp. */
gboolean fpb_migration_step_set_postcopy(FpbQmpClient *qmp, gboolean state, GError **error);

G_END_DECLS
