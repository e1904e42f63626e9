/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-balloon"

#include "fpb-balloon-step.h"

static gboolean qmp_get_size(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    guint64 actual = 0;

    if (!fpb_qmp_query_balloon(ctx, &actual, error)) {
        return FALSE;
    }
    *ret_bytes = (gint64)MIN(actual, (guint64)G_MAXINT64);
    return TRUE;
}

/* Bare QEMU has no persistent definition: @persistent means nothing here. */
static gboolean qmp_set_size(gpointer ctx, gint64 bytes, gboolean persistent, GError **error)
{
    (void)persistent;
    return fpb_qmp_balloon_set_target(ctx, (guint64)MAX(bytes, 0), error);
}

gboolean fpb_balloon_step_run(FpbQmpClient *qmp, gint64 target, double budget_s, guint stall_ms,
                              FpbBalloonStep *ret, GError **error)
{
    FpbBalloonBackend be = {
        .get_size = qmp_get_size,
        .set_size = qmp_set_size,
        .ctx = qmp,
    };

    return fpb_balloon_drive(&be, target, budget_s, stall_ms, ret, error);
}
