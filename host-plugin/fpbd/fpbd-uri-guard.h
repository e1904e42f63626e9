/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The destination URI of a control-socket "migrate" request, checked
 * before fpbd hands it to virConnectOpen (which runs as root). libvirt's
 * client does far more than connect for some URIs: transport "ext" and
 * parameters such as command=, netcat=, socket=, keyfile=, pkipath= run or
 * open something on this host. The guard accepts a deliberately small
 * grammar (docs/libvirt.md, "Control socket security"):
 *
 *   qemu[+TRANSPORT]://[USER@]HOST[:PORT]/(system|session)
 *
 * with TRANSPORT in fpbd.conf's allowed-destinations (never ext or unix,
 * whatever the config), no parameters, no percent-encoding, HOST a plain
 * host name or address (in allowed-destination-hosts when that is set).
 * A root peer may also name a local libvirt by its socket
 * (qemu+unix:///system?socket=/ABS/PATH): root could open it anyway.
 *
 * Pure code: no I/O, any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPBD_URI_GUARD_ERROR (fpbd_uri_guard_error_quark())
GQuark fpbd_uri_guard_error_quark(void);

typedef enum {
    FPBD_URI_GUARD_ERROR_SYNTAX,      /* not in the accepted grammar */
    FPBD_URI_GUARD_ERROR_FORBIDDEN,   /* runs or opens something local: never */
    FPBD_URI_GUARD_ERROR_NOT_ALLOWED, /* not in the configured allow-lists */
} FpbdUriGuardError;

typedef struct {
    const char *const *transports; /* "qemu+tls", ...: allowed-destinations */
    const char *const *hosts;      /* NULL or empty: any host */
} FpbdUriGuard;

/**
 * fpbd_uri_guard_check:
 * @peer_is_root: the request came from uid 0.
 * TRUE when @uri may be opened. Else @error says why, without the
 * "VM ..." prefix (the caller adds it).
 */
gboolean fpbd_uri_guard_check(const FpbdUriGuard *guard, const char *uri, gboolean peer_is_root,
                              GError **error);

G_END_DECLS
