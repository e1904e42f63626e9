/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-balloon"

#include "fpb-balloon-step.h"
#include "fpb-guest-resident.h"

/* What the loop's callbacks need besides the monitor. */
typedef struct {
    FpbQmpClient *qmp;
    char *balloon_path; /* QOM path of the balloon, NULL: not looked up yet */
    gint64 ram_bytes;   /* guest RAM, -1: not asked yet */
    gint64 since_s;     /* stats from before the step are not fresh */
} StepCtx;

static gboolean qmp_get_size(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    StepCtx *c = ctx;
    guint64 actual = 0;

    if (!fpb_qmp_query_balloon(c->qmp, &actual, error)) {
        return FALSE;
    }
    *ret_bytes = (gint64)MIN(actual, (guint64)G_MAXINT64);
    return TRUE;
}

/* Bare QEMU has no persistent definition: @persistent means nothing here. */
static gboolean qmp_set_size(gpointer ctx, gint64 bytes, gboolean persistent, GError **error)
{
    StepCtx *c = ctx;

    (void)persistent;
    return fpb_qmp_balloon_set_target(c->qmp, (guint64)MAX(bytes, 0), error);
}

/* The smaller of MemFree and MemAvailable of a report newer than the step;
 * -1 when there is none. Guest numbers: clamped, never trusted upward. */
static gboolean qmp_get_free(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    StepCtx *c = ctx;
    FpbQmpBalloonStats s;
    guint64 lowest = G_MAXINT64;

    /* looked up on the first call: a give-back never asks */
    if (c->balloon_path == NULL && !fpb_qmp_virtio_find_balloon(c->qmp, &c->balloon_path, error)) {
        return FALSE;
    }
    if (!fpb_qmp_balloon_get_stats(c->qmp, c->balloon_path, &s, error)) {
        return FALSE;
    }
    if (s.last_update <= c->since_s) {
        *ret_bytes = -1;
        return TRUE;
    }
    if (s.free_memory != FPB_QMP_STAT_UNAVAILABLE) {
        lowest = MIN(lowest, s.free_memory);
    }
    if (s.available_memory != FPB_QMP_STAT_UNAVAILABLE) {
        lowest = MIN(lowest, s.available_memory);
    }
    *ret_bytes = lowest == G_MAXINT64 ? -1 : (gint64)lowest;
    return TRUE;
}

static gint64 query_ram(FpbQmpClient *qmp, GError **error)
{
    g_autoptr(json_object) reply = fpb_qmp_client_execute(
        qmp, "query-memory-size-summary", NULL, fpb_qmp_client_get_default_timeout(qmp), error);
    gint64 base = -1;

    if (reply == NULL || !fpb_qmp_json_get_int(reply, "command 'query-memory-size-summary'",
                                               "base-memory", 1, G_MAXINT64, &base, error)) {
        return -1;
    }
    return base;
}

/* QEMU's resident share of the guest's RAM: the balloon's pages are
 * discarded there, whatever the guest says about them. */
static gboolean qmp_get_resident(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    StepCtx *c = ctx;
    gint64 r;

    if (c->ram_bytes < 0 && (c->ram_bytes = query_ram(c->qmp, error)) < 0) {
        return FALSE;
    }
    r = fpb_guest_resident_bytes(fpb_qmp_client_get_peer_pid(c->qmp), c->ram_bytes, error);
    if (r < 0) {
        return FALSE;
    }
    *ret_bytes = r;
    return TRUE;
}

gboolean fpb_balloon_step_run(FpbQmpClient *qmp, gint64 target, double budget_s, guint stall_ms,
                              FpbBalloonStep *ret, GError **error)
{
    StepCtx c = {.qmp = qmp, .ram_bytes = -1, .since_s = g_get_real_time() / G_USEC_PER_SEC};
    /* the margin and the low mark are the drive's defaults (0) */
    FpbBalloonBackend be = {
        .get_size = qmp_get_size,
        .set_size = qmp_set_size,
        .get_free = qmp_get_free,
        .get_resident = qmp_get_resident,
        .ctx = &c,
    };
    gboolean ok;

    ok = fpb_balloon_drive(&be, target, budget_s, stall_ms, ret, error);
    g_free(c.balloon_path);
    return ok;
}
