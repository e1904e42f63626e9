/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon steps of a migration: inflate before it (prepare) and give the
 * memory back after it (restore). Both set QMP `balloon value=` and poll
 * `query-balloon` every 100 ms. They stop at the target, when the guest has
 * not moved for @stall_ms, or at @budget_s; a partial inflation is then
 * frozen where it got to, so the guest does not keep shrinking behind
 * fpb's back (docs/orchestrator.md, "Prepare").
 */
#pragma once

#include "fpb-qmp.h"

G_BEGIN_DECLS

/* Why a balloon step stopped. */
#define FPB_BALLOON_STOPPED_TARGET "target"
#define FPB_BALLOON_STOPPED_NO_PROGRESS "no-progress"
#define FPB_BALLOON_STOPPED_BUDGET "budget"

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

typedef struct {
    gint64 start_bytes;   /* actual before */
    gint64 reached_bytes; /* actual at the end */
    double seconds;
    const char *stopped; /* FPB_BALLOON_STOPPED_* (static) */
} FpbBalloonStep;

/**
 * fpb_balloon_step_run:
 * Moves the guest's size toward @target_bytes (smaller: inflate, larger:
 * deflate). Returns FALSE with @error only when QMP fails; not reaching the
 * target is a result (ret->stopped), not an error. @ret is written in both
 * cases as far as known (reached_bytes -1 when never read).
 */
gboolean fpb_balloon_step_run(FpbQmpClient *qmp, gint64 target_bytes, double budget_s,
                              guint stall_ms, FpbBalloonStep *ret, GError **error);

G_END_DECLS
