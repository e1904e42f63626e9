/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers around libvirt's C API for fpbctl and fpbd: open a
 * connection and look a domain up with errors as GError (libvirt's last
 * error message, never printed by libvirt itself), and the owned-pointer
 * cleanups. Not thread-safe beyond what libvirt is: one connection per
 * thread, or libvirt's own locking.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

#define FPB_LIBVIRT_DEFAULT_URI "qemu:///system"

#define FPB_LIBVIRT_ERROR (fpb_libvirt_error_quark())
GQuark fpb_libvirt_error_quark(void);

typedef enum {
    FPB_LIBVIRT_ERROR_CONNECT,   /* cannot open the connection */
    FPB_LIBVIRT_ERROR_NO_DOMAIN, /* no such domain */
    FPB_LIBVIRT_ERROR_FAILED,    /* an API call failed */
    FPB_LIBVIRT_ERROR_INVALID,   /* the domain's XML or metadata is not usable */
} FpbLibvirtError;

/* Keeps libvirt from printing errors on stderr (callers report them once).
 * Idempotent; call before the first libvirt call. */
void fpb_libvirt_init(void);

/* For a program without an event loop of its own (fpbctl; fpbd has GLib's
 * through libvirt-glib): libvirt's default event loop on a thread of its
 * own, so every connection has keepalive. Without it a peer that went
 * dark (a blackholed link) blocks a call, even the close, forever; with
 * it the call fails after FPB_LIBVIRT_KEEPALIVE_INTERVAL_S x
 * FPB_LIBVIRT_KEEPALIVE_COUNT seconds. Idempotent; before the first
 * connection. FALSE with @error if the loop cannot start. */
gboolean fpb_libvirt_event_loop_start(GError **error);

#define FPB_LIBVIRT_KEEPALIVE_INTERVAL_S 5
#define FPB_LIBVIRT_KEEPALIVE_COUNT 5

/* Opens @uri (NULL: FPB_LIBVIRT_DEFAULT_URI) read-write. (transfer full) */
virConnectPtr fpb_libvirt_connect(const char *uri, GError **error);
/* The domain called @name (or UUID). (transfer full) */
virDomainPtr fpb_libvirt_lookup(virConnectPtr conn, const char *name, GError **error);

/* Sets @error from libvirt's last error: "PREFIX: MESSAGE". Returns FALSE. */
gboolean fpb_libvirt_set_error(GError **error, int code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/* libvirt's last error code (virErrorNumber), VIR_ERR_OK when none. */
int fpb_libvirt_last_error_code(void);

static inline void fpb_libvirt_conn_unref(virConnectPtr conn)
{
    if (conn != NULL) {
        virConnectClose(conn);
    }
}
static inline void fpb_libvirt_domain_unref(virDomainPtr dom)
{
    if (dom != NULL) {
        virDomainFree(dom);
    }
}
typedef virConnect FpbVirConnect;
typedef virDomain FpbVirDomain;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbVirConnect, fpb_libvirt_conn_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbVirDomain, fpb_libvirt_domain_unref)

G_END_DECLS
