/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-balloon-step"

#include "fpb-balloon-step.h"

#define POLL_MS 100

static gboolean reached(gint64 actual, gint64 target, gboolean inflating)
{
    return inflating ? actual <= target + FPB_BALLOON_TOLERANCE_BYTES
                     : actual >= target - FPB_BALLOON_TOLERANCE_BYTES;
}

/* Polls until the target, a stall or the budget; ret->stopped says which. */
static gboolean poll_until_done(FpbQmpClient *qmp, gint64 target, double budget_s, guint stall_ms,
                                gint64 start_us, FpbBalloonStep *ret, GError **error)
{
    gboolean inflating = target < ret->start_bytes;
    gint64 last_actual = ret->start_bytes;
    gint64 last_progress_us = start_us;
    gboolean moved = FALSE;

    for (;;) {
        guint64 actual = 0;
        gint64 now;

        g_usleep(POLL_MS * 1000);
        if (!fpb_qmp_query_balloon(qmp, &actual, error)) {
            return FALSE;
        }
        now = g_get_monotonic_time();
        ret->reached_bytes = (gint64)MIN(actual, (guint64)G_MAXINT64);
        ret->seconds = (double)(now - start_us) / G_USEC_PER_SEC;
        if (reached(ret->reached_bytes, target, inflating)) {
            ret->stopped = FPB_BALLOON_STOPPED_TARGET;
            return TRUE;
        }
        if (ret->reached_bytes != last_actual) {
            last_actual = ret->reached_bytes;
            last_progress_us = now;
            moved = TRUE;
        }
        if (fpb_balloon_stalled(now, last_progress_us, moved, stall_ms)) {
            ret->stopped = FPB_BALLOON_STOPPED_NO_PROGRESS;
            return TRUE;
        }
        if (ret->seconds >= budget_s) {
            ret->stopped = FPB_BALLOON_STOPPED_BUDGET;
            return TRUE;
        }
    }
}

gboolean fpb_balloon_step_run(FpbQmpClient *qmp, gint64 target, double budget_s, guint stall_ms,
                              FpbBalloonStep *ret, GError **error)
{
    guint64 actual = 0;
    gint64 start_us = g_get_monotonic_time();

    *ret = (FpbBalloonStep){.start_bytes = -1, .reached_bytes = -1, .stopped = NULL};
    if (!fpb_qmp_query_balloon(qmp, &actual, error)) {
        return FALSE;
    }
    ret->start_bytes = ret->reached_bytes = (gint64)MIN(actual, (guint64)G_MAXINT64);
    if (reached(ret->start_bytes, target, target < ret->start_bytes) &&
        reached(ret->start_bytes, target, target >= ret->start_bytes)) {
        ret->stopped = FPB_BALLOON_STOPPED_TARGET;
        ret->seconds = 0;
        return TRUE;
    }
    if (!fpb_qmp_balloon_set_target(qmp, (guint64)target, error) ||
        !poll_until_done(qmp, target, budget_s, stall_ms, start_us, ret, error)) {
        return FALSE;
    }
    /* Freeze a partial move where it got to: a late guest must not keep
     * shrinking after fpb stopped counting (or after it gave memory back). */
    if (g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_TARGET) != 0 && target < ret->start_bytes &&
        !fpb_qmp_balloon_set_target(qmp, (guint64)ret->reached_bytes, error)) {
        return FALSE;
    }
    return TRUE;
}
