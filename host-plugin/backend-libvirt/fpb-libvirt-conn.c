/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libvirt/virterror.h>

#include "fpb-libvirt-conn.h"

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_libvirt_error_quark(void)
{
    return g_quark_from_static_string("fpb-libvirt-error-quark");
}

static void quiet(void *user_data G_GNUC_UNUSED, virErrorPtr error G_GNUC_UNUSED)
{
    /* The caller reports the error (house style: once, where handled). */
}

void fpb_libvirt_init(void)
{
    static gsize done = 0;

    if (g_once_init_enter(&done)) {
        virSetErrorFunc(NULL, quiet);
        virInitialize();
        g_once_init_leave(&done, 1);
    }
}

static gpointer run_events(gpointer data G_GNUC_UNUSED)
{
    for (;;) {
        if (virEventRunDefaultImpl() < 0) {
            g_warning("libvirt's event loop failed: %s", virGetLastErrorMessage());
            g_usleep(G_USEC_PER_SEC); /* not a busy loop */
        }
    }
    return NULL;
}

gboolean fpb_libvirt_event_loop_start(GError **error)
{
    static gsize started = 0;
    static gboolean ok = FALSE;

    if (g_once_init_enter(&started)) {
        fpb_libvirt_init();
        ok = virEventRegisterDefaultImpl() == 0;
        if (ok) {
            g_thread_unref(g_thread_new("fpb-libvirt-events", run_events, NULL));
        }
        g_once_init_leave(&started, 1);
    }
    if (!ok) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "cannot start libvirt's event loop");
    }
    return TRUE;
}

int fpb_libvirt_last_error_code(void)
{
    virErrorPtr e = virGetLastError();

    return e ? e->code : VIR_ERR_OK;
}

gboolean fpb_libvirt_set_error(GError **error, int code, const char *format, ...)
{
    g_autofree char *prefix = NULL;
    const char *message = virGetLastErrorMessage();
    va_list ap;

    va_start(ap, format);
    prefix = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_set_error(error, FPB_LIBVIRT_ERROR, code, "%s: %s", prefix,
                message ? message : "unknown libvirt error");
    return FALSE;
}

virConnectPtr fpb_libvirt_connect(const char *uri, GError **error)
{
    virConnectPtr conn;

    fpb_libvirt_init();
    uri = uri ? uri : FPB_LIBVIRT_DEFAULT_URI;
    conn = virConnectOpen(uri);
    if (conn == NULL) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_CONNECT, "cannot connect to libvirt at '%s'",
                              uri);
        return NULL;
    }
    /* -1 without an event loop (a library user that started none), 1 for
     * a local driver that needs none: both leave the connection as it was */
    if (virConnectSetKeepAlive(conn, FPB_LIBVIRT_KEEPALIVE_INTERVAL_S,
                               FPB_LIBVIRT_KEEPALIVE_COUNT) < 0) {
        g_debug("'%s': no keepalive: %s", uri, virGetLastErrorMessage());
    }
    return conn;
}

virDomainPtr fpb_libvirt_lookup(virConnectPtr conn, const char *name, GError **error)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);

    if (dom == NULL && fpb_libvirt_last_error_code() == VIR_ERR_NO_DOMAIN &&
        g_uuid_string_is_valid(name)) {
        dom = virDomainLookupByUUIDString(conn, name);
    }
    if (dom == NULL) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_NO_DOMAIN, "VM '%s': not found", name);
    }
    return dom;
}
