/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon step through libvirt (fpb-libvirt-steps.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-steps.h"

#define POLL_MS 100

static gboolean set_size(virDomainPtr dom, gint64 bytes, gboolean persistent, GError **error)
{
    unsigned int flags = VIR_DOMAIN_AFFECT_LIVE | (persistent ? VIR_DOMAIN_AFFECT_CONFIG : 0);
    /* before the call: every libvirt API call resets the last error */
    const char *vm = virDomainGetName(dom);

    if (virDomainSetMemoryFlags(dom, (unsigned long)(bytes / 1024), flags) < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': virDomainSetMemory(%" G_GINT64_FORMAT " KiB)", vm,
                                     bytes / 1024);
    }
    return TRUE;
}

gboolean fpb_libvirt_balloon_run(virDomainPtr dom, gint64 target, gboolean persistent,
                                 double budget_s, guint stall_ms, FpbBalloonStep *ret,
                                 GError **error)
{
    gint64 t0 = g_get_monotonic_time();
    gint64 last_move = t0;
    gboolean moved = FALSE;
    gint64 actual = fpb_libvirt_facts_balloon_bytes(dom, error);

    *ret = (FpbBalloonStep){.start_bytes = actual,
                            .reached_bytes = actual,
                            .seconds = 0,
                            .stopped = FPB_BALLOON_STOPPED_TARGET};
    if (actual < 0 || !set_size(dom, target, persistent, error)) {
        return FALSE;
    }
    for (;;) {
        gint64 now = g_get_monotonic_time();
        gint64 cur;

        if (ABS(actual - target) <= FPB_BALLOON_TOLERANCE_BYTES) {
            ret->stopped = FPB_BALLOON_STOPPED_TARGET;
            break;
        }
        if (fpb_balloon_stalled(now, last_move, moved, stall_ms)) {
            ret->stopped = FPB_BALLOON_STOPPED_NO_PROGRESS;
            break;
        }
        if (budget_s > 0 && now - t0 >= (gint64)(budget_s * G_USEC_PER_SEC)) {
            ret->stopped = FPB_BALLOON_STOPPED_BUDGET;
            break;
        }
        g_usleep(POLL_MS * 1000);
        if ((cur = fpb_libvirt_facts_balloon_bytes(dom, error)) < 0) {
            ret->seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
            return FALSE;
        }
        if (cur != actual) {
            last_move = g_get_monotonic_time();
            moved = TRUE;
        }
        actual = ret->reached_bytes = cur;
    }
    ret->seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    /* Freeze a partial move so the guest does not keep changing size. */
    if (g_strcmp0(ret->stopped, FPB_BALLOON_STOPPED_TARGET) != 0 && actual > 0) {
        return set_size(dom, actual, persistent, error);
    }
    return TRUE;
}
