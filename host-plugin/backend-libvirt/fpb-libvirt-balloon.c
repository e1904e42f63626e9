/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon step through libvirt (fpb-libvirt-steps.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
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

static gboolean get_size(gpointer ctx, gint64 *ret_bytes, GError **error)
{
    gint64 actual = fpb_libvirt_facts_balloon_bytes(ctx, error);

    if (actual < 0) {
        return FALSE;
    }
    *ret_bytes = actual;
    return TRUE;
}

static gboolean set_size_cb(gpointer ctx, gint64 bytes, gboolean persistent, GError **error)
{
    return set_size(ctx, bytes, persistent, error);
}

gboolean fpb_libvirt_balloon_run(virDomainPtr dom, gint64 target, gboolean persistent,
                                 double budget_s, guint stall_ms, FpbBalloonStep *ret,
                                 GError **error)
{
    /* always_set: on the destination the persistent definition came with
     * the migration and may hold the inflated size even when the live
     * guest is already whole. fpb_balloon_drive() writes only the full
     * give-back target persistently, never a partial size (issue 20). */
    FpbBalloonBackend be = {
        .get_size = get_size,
        .set_size = set_size_cb,
        .ctx = dom,
        .persistent = persistent,
        .always_set = TRUE,
    };

    return fpb_balloon_drive(&be, target, budget_s, stall_ms, ret, error);
}
