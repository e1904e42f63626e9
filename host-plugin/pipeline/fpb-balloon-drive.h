/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon loop of both backends (prepare: inflate before a migration;
 * restore: give the memory back after it): request a size, poll the guest
 * every 100 ms, stop at the target, when the guest has not moved for
 * @stall_ms, or at @budget_s. A partial inflation is then frozen where it
 * got to, so the guest does not keep shrinking behind fpb's back
 * (docs/orchestrator.md, "Prepare"). A give-back (the target is larger:
 * restore) is never frozen: a partial size is not a result to keep, so the
 * full size stays requested, is asked for again when the guest stalls, and
 * only the full size is ever written persistently. A backend gives the loop
 * two operations (FpbBalloonBackend); tests drive it with a fake guest.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS
/* Why a balloon step stopped. */
#define FPB_BALLOON_STOPPED_TARGET "target"
#define FPB_BALLOON_STOPPED_NO_PROGRESS "no-progress"
#define FPB_BALLOON_STOPPED_BUDGET "budget"
/* The run was cancelled (fpb_pipeline_cancelled()): inflations only; a
 * give-back is never cut short. */
#define FPB_BALLOON_STOPPED_CANCELLED "cancelled"
/* Inflations only (issue 20 item 6, a guest that lies or stalls). The
 * guest gave memory, then none for the stall time, short of a target its
 * stats promised: it ran out of free memory (its stats said more than it
 * had, or it started using memory). The balloon is backed off by
 * FpbBalloonBackend.backoff_bytes, so it is not left at the guest's last
 * free page. */
#define FPB_BALLOON_STOPPED_GUEST_SHORT "guest-short"
/* The guest's stats, fresh during the inflation, said it has less free
 * memory than FpbBalloonBackend.low_bytes: stopped and backed off. */
#define FPB_BALLOON_STOPPED_GUEST_LOW "guest-low"
/* The guest said it took the memory, but the host still holds more of the
 * guest's RAM resident than the balloon leaves it (get_resident): nothing
 * is counted (reached_bytes is the size at the start) and the balloon is
 * set back to it. */
#define FPB_BALLOON_STOPPED_NOT_GIVEN "not-given"

/* A guest may answer its first balloon request late: under TCG, right
 * after an incoming migration, the stock driver did not move for over 3 s
 * (a CI run). Before the first move a step waits this long, not only
 * @stall_ms, before it calls the guest unresponsive. Below the default
 * 10 s budget, so an unresponsive guest is still told apart from a slow
 * one. */
#define FPB_BALLOON_FIRST_MOVE_MS 8000

/* TRUE when the guest has not moved for long enough to give up. */
static inline gboolean fpb_balloon_stalled(gint64 now_us, gint64 last_move_us, gboolean moved,
                                           guint stall_ms)
{
    guint wait_ms = moved ? stall_ms : MAX(stall_ms, FPB_BALLOON_FIRST_MOVE_MS);

    return now_us - last_move_us >= (gint64)wait_ms * 1000;
}

/* The balloon counts in 4 KiB pages; within this of the target is there. */
#define FPB_BALLOON_TOLERANCE_BYTES (1024 * 1024)

/* A guest holding less than this more than its balloon leaves it is not
 * called a liar: the host's resident count and the guest's size are read at
 * different moments. */
#define FPB_BALLOON_NOT_GIVEN_SLACK_BYTES (64 * 1024 * 1024)

/* How long a back-off (guest-short, guest-low, not-given) waits for the
 * guest to take the memory back before the step returns anyway. */
#define FPB_BALLOON_BACKOFF_WAIT_MS 10000

typedef struct {
    gint64 start_bytes;   /* actual before */
    gint64 reached_bytes; /* actual at the end */
    double seconds;
    const char *stopped; /* FPB_BALLOON_STOPPED_* (static) */
    /* guest-short, guest-low, not-given: where the guest was when fpb
     * stopped (its own claim for not-given), before the back-off; else -1 */
    gint64 stopped_at_bytes;
    /* guest-low: the free memory the guest reported; else -1 */
    gint64 guest_free_bytes;
} FpbBalloonStep;

/* How often a give-back that stalled asks for the full size again before
 * it stops (within the budget): a guest short of free pages (deflate needs
 * none, but its driver may be busy, or the host was) often takes the rest
 * on a second request. */
#define FPB_BALLOON_GIVE_BACK_REASKS 3

/* The balloon seen through a backend (bare QMP, libvirt), so that one loop
 * drives both and tests can drive it with a fake guest. */
typedef struct {
    /* The guest's current size (query-balloon actual). */
    gboolean (*get_size)(gpointer ctx, gint64 *ret_bytes, GError **error);
    /* Requests @bytes, live; also in the persistent definition when
     * @persistent (fpb_balloon_drive() passes TRUE only for the full
     * give-back target). */
    gboolean (*set_size)(gpointer ctx, gint64 bytes, gboolean persistent, GError **error);
    gpointer ctx;
    /* Write the give-back target into the persistent definition too. */
    gboolean persistent;
    /* Request the target even when the guest is already there (libvirt:
     * the persistent definition may still hold the inflated size). */
    gboolean always_set;
    guint poll_ms; /* 0: 100 ms */
    /* Optional (NULL: not checked). The guest's free memory as its own
     * stats say (the smaller of free and available), *ret_bytes -1 when it
     * has sent none since the drive started: read between polls of an
     * inflation, which stops below @low_bytes (guest-low; 0: half the
     * back-off; < 0: never). */
    gboolean (*get_free)(gpointer ctx, gint64 *ret_bytes, GError **error);
    gint64 low_bytes;
    /* Optional (NULL: not checked). How much of the guest's RAM the host
     * holds resident, which the guest cannot make look smaller than it is:
     * read after an inflation (not-given). */
    gboolean (*get_resident)(gpointer ctx, gint64 *ret_bytes, GError **error);
    /* What a stopped inflation gives back (guest-short, guest-low); 0: the
     * policy's safety margin of the size at the start (the free memory it
     * leaves a guest: MAX(128 MiB, 5 %)), < 0: none. */
    gint64 backoff_bytes;
} FpbBalloonBackend;

/**
 * fpb_balloon_drive:
 * The balloon step on any backend: requests @target_bytes and polls until
 * it is reached, the guest stalls for @stall_ms (give-back: after
 * FPB_BALLOON_GIVE_BACK_REASKS requests of the full size), @budget_s
 * (<= 0: no budget) passes, or (inflating only) the run on this thread is
 * cancelled (fpb_pipeline_cancelled(), checked between polls). A partial
 * inflation is frozen where it got to (live only), or backed off when the
 * guest ran short (guest-short, guest-low) or did not give what it said
 * (not-given); a partial give-back is left requesting the full size. Returns FALSE with @error only
 * when the backend fails; not reaching the target is a result (ret->stopped), not an error. @ret is
 * written in both cases as far as known (reached_bytes -1 when never read).
 */
gboolean fpb_balloon_drive(const FpbBalloonBackend *backend, gint64 target_bytes, double budget_s,
                           guint stall_ms, FpbBalloonStep *ret, GError **error);

G_END_DECLS
