/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-balloon"

#include "fpb-balloon-drive.h"
#include "fpb-pipeline.h"

#define DEFAULT_POLL_MS 100

static gboolean reached(gint64 actual, gint64 target, gboolean inflating)
{
    return inflating ? actual <= target + FPB_BALLOON_TOLERANCE_BYTES
                     : actual >= target - FPB_BALLOON_TOLERANCE_BYTES;
}

/* One drive of the balloon: what the loop keeps between polls. */
typedef struct {
    const FpbBalloonBackend *be;
    gint64 target;
    gboolean inflating;
    gint64 start_us;
    gint64 last_progress_us;
    gboolean moved;
    guint reasks;
} Drive;

/* The persistent definition only ever gets the full give-back size: a
 * shrunk size written there would survive the next boot (issue 20). */
static gboolean request_target(const Drive *d, GError **error)
{
    return d->be->set_size(d->be->ctx, d->target, d->be->persistent && !d->inflating, error);
}

/* A stalled give-back asks for the full size again, a few times: a partial
 * give-back is never the answer to keep. TRUE when it asked again. */
static gboolean reask(Drive *d, gint64 now, guint stall_ms, GError **error, gboolean *ret_failed)
{
    *ret_failed = FALSE;
    if (d->inflating || d->reasks >= FPB_BALLOON_GIVE_BACK_REASKS ||
        !fpb_balloon_stalled(now, d->last_progress_us, d->moved, stall_ms)) {
        return FALSE;
    }
    d->reasks++;
    d->last_progress_us = now;
    g_debug("balloon give-back stalled, asking for %" G_GINT64_FORMAT " bytes again (%u)",
            d->target, d->reasks);
    *ret_failed = !request_target(d, error);
    return TRUE;
}

/* Polls until the target, a stall, the budget or (inflating) a cancel;
 * ret->stopped says which. */
static gboolean poll_until_done(Drive *d, double budget_s, guint stall_ms, FpbBalloonStep *ret,
                                GError **error)
{
    guint poll_ms = d->be->poll_ms > 0 ? d->be->poll_ms : DEFAULT_POLL_MS;
    gint64 last_actual = ret->start_bytes;

    for (;;) {
        gint64 actual = -1;
        gint64 now;
        gboolean failed = FALSE;

        g_usleep((gulong)poll_ms * 1000);
        if (!d->be->get_size(d->be->ctx, &actual, error)) {
            return FALSE;
        }
        now = g_get_monotonic_time();
        ret->reached_bytes = actual;
        ret->seconds = (double)(now - d->start_us) / G_USEC_PER_SEC;
        if (reached(actual, d->target, d->inflating)) {
            ret->stopped = FPB_BALLOON_STOPPED_TARGET;
            return TRUE;
        }
        if (actual != last_actual) {
            last_actual = actual;
            d->last_progress_us = now;
            d->moved = TRUE;
        }
        if (budget_s > 0 && ret->seconds >= budget_s) {
            ret->stopped = FPB_BALLOON_STOPPED_BUDGET;
            return TRUE;
        }
        /* an inflation stops where it got to; a give-back goes on */
        if (d->inflating && fpb_pipeline_cancelled()) {
            ret->stopped = FPB_BALLOON_STOPPED_CANCELLED;
            return TRUE;
        }
        if (reask(d, now, stall_ms, error, &failed)) {
            if (failed) {
                return FALSE;
            }
            continue;
        }
        if (fpb_balloon_stalled(now, d->last_progress_us, d->moved, stall_ms)) {
            ret->stopped = FPB_BALLOON_STOPPED_NO_PROGRESS;
            return TRUE;
        }
    }
}

gboolean fpb_balloon_drive(const FpbBalloonBackend *be, gint64 target, double budget_s,
                           guint stall_ms, FpbBalloonStep *ret, GError **error)
{
    Drive d = {.be = be, .target = target, .start_us = g_get_monotonic_time()};
    gint64 actual = -1;

    *ret = (FpbBalloonStep){.start_bytes = -1, .reached_bytes = -1, .stopped = NULL};
    if (!be->get_size(be->ctx, &actual, error)) {
        return FALSE;
    }
    ret->start_bytes = ret->reached_bytes = actual;
    d.inflating = target < actual;
    d.last_progress_us = d.start_us;
    if (reached(actual, target, TRUE) && reached(actual, target, FALSE) && !be->always_set) {
        ret->stopped = FPB_BALLOON_STOPPED_TARGET;
        ret->seconds = 0;
        return TRUE;
    }
    if (!request_target(&d, error)) {
        return FALSE;
    }
    if (reached(actual, target, TRUE) && reached(actual, target, FALSE)) {
        ret->stopped = FPB_BALLOON_STOPPED_TARGET;
        return TRUE;
    }
    if (!poll_until_done(&d, budget_s, stall_ms, ret, error)) {
        return FALSE;
    }
    /* Freeze a partial inflation where it got to (live only): a late guest
     * must not keep shrinking after fpb stopped counting. A partial
     * give-back stays requesting the full size: the guest may take the
     * rest late, and recovery asks again (docs/orchestrator.md). */
    if (g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_TARGET) != 0 && d.inflating &&
        !be->set_size(be->ctx, ret->reached_bytes, FALSE, error)) {
        return FALSE;
    }
    return TRUE;
}
