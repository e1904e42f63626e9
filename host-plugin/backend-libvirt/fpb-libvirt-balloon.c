/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon step through libvirt (fpb-libvirt-steps.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include "fpb-guest-resident.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-pid.h"
#include "fpb-libvirt-steps.h"

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

/* What the loop's callbacks need besides the domain. */
typedef struct {
    virDomainPtr dom;
    gint64 since_s; /* stats from before the step are not fresh */
    GPid pid;       /* its QEMU on this host, once looked up (0: not yet) */
} StepCtx;

static gboolean get_size(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    gint64 actual = fpb_libvirt_facts_balloon_bytes(((StepCtx *)ctx)->dom, error);

    if (actual < 0) {
        return FALSE;
    }
    *ret_bytes = actual;
    return TRUE;
}

static gboolean set_size_cb(gpointer ctx, gint64 bytes, gboolean persistent, GError **error)
{
    return set_size(((StepCtx *)ctx)->dom, bytes, persistent, error);
}

/* The smaller of the guest's MemFree (unused) and MemAvailable (usable),
 * from a report newer than the step; -1 when there is none (libvirt's
 * view of the same virtio-balloon statistics QMP shows). */
static gboolean get_free(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    StepCtx *c = ctx;
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
    const char *vm = virDomainGetName(c->dom);
    gint64 last_update = 0;
    guint64 lowest = G_MAXUINT64;
    int n = virDomainMemoryStats(c->dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);

    if (n < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': virDomainMemoryStats", vm);
    }
    for (int i = 0; i < n; i++) {
        if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE) {
            last_update = (gint64)MIN(st[i].val, (unsigned long long)G_MAXINT64);
        } else if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_UNUSED ||
                   st[i].tag == VIR_DOMAIN_MEMORY_STAT_USABLE) {
            lowest = MIN(lowest, (guint64)st[i].val);
        }
    }
    *ret_bytes = last_update > c->since_s && lowest <= (guint64)(G_MAXINT64 / 1024)
                     ? (gint64)lowest * 1024
                     : -1;
    return TRUE;
}

/* The host's count of the guest's resident RAM, when its QEMU runs here
 * (a libvirt of another host: an error, and the drive does without). */
static gboolean get_resident(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    StepCtx *c = ctx;
    virDomainInfo info;
    gint64 r;

    if (c->pid == 0 && (c->pid = fpb_libvirt_qemu_pid(c->dom, error)) == 0) {
        return FALSE;
    }
    if (virDomainGetInfo(c->dom, &info) < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainGetInfo",
                                     virDomainGetName(c->dom));
    }
    r = fpb_guest_resident_bytes(c->pid, (gint64)info.maxMem * 1024, error);
    if (r < 0) {
        return FALSE;
    }
    *ret_bytes = r;
    return TRUE;
}

gboolean fpb_libvirt_balloon_run(virDomainPtr dom, gint64 target, gboolean persistent,
                                 double budget_s, guint stall_ms, FpbBalloonStep *ret,
                                 GError **error)
{
    /* always_set: on the destination the persistent definition came with
     * the migration and may hold the inflated size even when the live
     * guest is already whole. fpb_balloon_drive() writes only the full
     * give-back target persistently, never a partial size (issue 20). */
    StepCtx c = {.dom = dom, .since_s = g_get_real_time() / G_USEC_PER_SEC};
    /* get_free stops an inflation whose guest says it runs low;
     * get_resident catches one that says it gave and did not */
    FpbBalloonBackend be = {
        .get_size = get_size,
        .set_size = set_size_cb,
        .get_free = get_free,
        .get_resident = get_resident,
        .ctx = &c,
        .persistent = persistent,
        .always_set = TRUE,
    };

    return fpb_balloon_drive(&be, target, budget_s, stall_ms, ret, error);
}
