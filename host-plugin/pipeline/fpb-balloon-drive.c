/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-balloon"

#include "fpb-balloon-drive.h"
#include "fpb-cost-model.h"
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
    gint64 backoff; /* resolved FpbBalloonBackend.backoff_bytes */
    gint64 low;     /* resolved FpbBalloonBackend.low_bytes */
} Drive;

/* The policy leaves a guest this much free memory (fpb-policy-rules.c);
 * a stopped inflation gives it back, so the guest is not left at its last
 * free page. */
static void resolve_margins(Drive *d, gint64 start_bytes)
{
    double margin = MAX(FPB_COST_SAFETY_MARGIN_MIN_BYTES,
                        FPB_COST_SAFETY_MARGIN_SHARE * (double)MAX(start_bytes, 0));

    d->backoff = d->be->backoff_bytes != 0 ? MAX(d->be->backoff_bytes, 0) : (gint64)margin;
    d->low = d->be->low_bytes != 0 ? d->be->low_bytes : d->backoff / 2;
}

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

/* Inflating: TRUE when the guest's fresh stats say it is below the low
 * mark. A failed read is not the guest's answer: ignored. */
static gboolean guest_low(const Drive *d, FpbBalloonStep *ret)
{
    g_autoptr(GError) error = NULL;
    gint64 free_bytes = -1;

    if (!d->inflating || d->be->get_free == NULL || d->low <= 0) {
        return FALSE;
    }
    if (!d->be->get_free(d->be->ctx, &free_bytes, &error)) {
        g_debug("reading the guest's free memory failed: %s, ignoring", error->message);
        return FALSE;
    }
    if (free_bytes < 0 || free_bytes >= d->low) {
        return FALSE;
    }
    ret->guest_free_bytes = free_bytes;
    return TRUE;
}

/* A stall after the guest gave some memory, short of the target: it ran
 * out (an unresponsive guest never moved: that stays no-progress). */
static const char *stall_reason(const Drive *d)
{
    return d->inflating && d->moved ? FPB_BALLOON_STOPPED_GUEST_SHORT
                                    : FPB_BALLOON_STOPPED_NO_PROGRESS;
}

/* Polls until the target, a stall, the budget or (inflating) a cancel or
 * the guest running low; ret->stopped says which. */
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
        if (guest_low(d, ret)) {
            ret->stopped = FPB_BALLOON_STOPPED_GUEST_LOW;
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
            ret->stopped = stall_reason(d);
            return TRUE;
        }
    }
}

/* After an inflation: a guest that holds more of its RAM resident than its
 * balloon leaves it did not give what it says (an honest balloon's pages
 * are discarded on the host before the guest reports its new size, so
 * resident <= actual). How much it did give cannot be told (pages never
 * touched are not resident either): nothing is counted, and the balloon is
 * set back to the size at the start. */
static void corroborate(const Drive *d, FpbBalloonStep *ret)
{
    g_autoptr(GError) error = NULL;
    gint64 resident = -1;

    if (!d->inflating || d->be->get_resident == NULL || ret->reached_bytes < 0) {
        return;
    }
    if (!d->be->get_resident(d->be->ctx, &resident, &error)) {
        g_debug("reading the guest's resident memory failed: %s, ignoring", error->message);
        return;
    }
    if (resident <= ret->reached_bytes + FPB_BALLOON_NOT_GIVEN_SLACK_BYTES) {
        return;
    }
    g_debug("the guest says %" G_GINT64_FORMAT " bytes, the host holds %" G_GINT64_FORMAT
            " of its RAM resident: not given",
            ret->reached_bytes, resident);
    ret->stopped_at_bytes = ret->reached_bytes;
    ret->reached_bytes = ret->start_bytes;
    ret->stopped = FPB_BALLOON_STOPPED_NOT_GIVEN;
}

static gboolean backing_off(const FpbBalloonStep *ret)
{
    return g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_GUEST_SHORT) == 0 ||
           g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_GUEST_LOW) == 0 ||
           g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_NOT_GIVEN) == 0;
}

/* Sets a stopped inflation back (never above where it started), and waits
 * a bounded time for the guest to get there: giving memory back needs no
 * free memory in the guest, so it is quick. reached_bytes is then the
 * guest's size as read last. */
static gboolean back_off(const Drive *d, FpbBalloonStep *ret, GError **error)
{
    gint64 give = g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_NOT_GIVEN) == 0 ? 0 : d->backoff;
    gint64 size = MIN(ret->reached_bytes + give, ret->start_bytes);
    guint poll_ms = d->be->poll_ms > 0 ? d->be->poll_ms : DEFAULT_POLL_MS;
    gint64 deadline = g_get_monotonic_time() + FPB_BALLOON_BACKOFF_WAIT_MS * 1000;

    if (ret->stopped_at_bytes < 0) {
        ret->stopped_at_bytes = ret->reached_bytes;
    }
    g_debug("balloon stopped (%s) at %" G_GINT64_FORMAT " bytes, backing off to %" G_GINT64_FORMAT,
            ret->stopped, ret->stopped_at_bytes, size);
    if (!d->be->set_size(d->be->ctx, size, FALSE, error)) {
        return FALSE;
    }
    for (;;) {
        gint64 actual = -1;

        if (!d->be->get_size(d->be->ctx, &actual, error)) {
            return FALSE;
        }
        /* not-given: the guest's own number means nothing; keep the host's */
        if (g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_NOT_GIVEN) != 0) {
            ret->reached_bytes = actual;
        }
        if (actual >= size - FPB_BALLOON_TOLERANCE_BYTES || g_get_monotonic_time() >= deadline) {
            return TRUE;
        }
        g_usleep((gulong)poll_ms * 1000);
    }
}

gboolean fpb_balloon_drive(const FpbBalloonBackend *be, gint64 target, double budget_s,
                           guint stall_ms, FpbBalloonStep *ret, GError **error)
{
    Drive d = {.be = be, .target = target, .start_us = g_get_monotonic_time()};
    gint64 actual = -1;

    *ret = (FpbBalloonStep){.start_bytes = -1,
                            .reached_bytes = -1,
                            .stopped = NULL,
                            .stopped_at_bytes = -1,
                            .guest_free_bytes = -1};
    if (!be->get_size(be->ctx, &actual, error)) {
        return FALSE;
    }
    ret->start_bytes = ret->reached_bytes = actual;
    d.inflating = target < actual;
    resolve_margins(&d, actual);
    d.last_progress_us = d.start_us;
    /* An inflation within the tolerance is not asked at all: the guest
     * would take it after the drive stopped counting, and as nothing was
     * counted as taken, nothing would give it back. */
    if (reached(actual, target, TRUE) && reached(actual, target, FALSE) &&
        (d.inflating || !be->always_set)) {
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
    corroborate(&d, ret);
    if (d.inflating && backing_off(ret)) {
        return back_off(&d, ret, error);
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
