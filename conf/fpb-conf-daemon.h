/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbConfDaemon: fpbd's configuration file, /etc/fpb/fpbd.conf (GKeyFile
 * syntax; docs/man/fpbd.conf.5 documents every key and its default):
 *
 *   [daemon]
 *   uri=qemu:///system          libvirt connection URI
 *   socket=/run/fpb/fpbd.sock   control socket (mode 0600, or 0660 with a group)
 *   socket-group=               group also allowed on the socket (empty: root only)
 *   journal=/var/lib/fpb/journal.db
 *   record-observed=true        journal migrations fpb did not start
 *   reconnect-seconds=5         retry interval when libvirtd is gone
 *
 *   [policy]                    host defaults for the per-VM policy keys
 *   mode= objective= floor= max-prep-seconds= balloon=
 *
 * Strict: an unknown group or key, a line that is neither, or a bad value
 * is an error that names the file and the line ("FILE:LINE: ...").
 */
#pragma once

#include <glib.h>

#include "fpb-conf-policy.h"

G_BEGIN_DECLS

#define FPB_CONF_DAEMON_DEFAULT_PATH "/etc/fpb/fpbd.conf"
#define FPB_CONF_DAEMON_DEFAULT_URI "qemu:///system"
#define FPB_CONF_DAEMON_DEFAULT_SOCKET "/run/fpb/fpbd.sock"
#define FPB_CONF_DAEMON_DEFAULT_JOURNAL "/var/lib/fpb/journal.db"
#define FPB_CONF_DAEMON_DEFAULT_RECONNECT_SECONDS 5
/* A config file larger than this is refused unread. */
#define FPB_CONF_DAEMON_MAX_BYTES (1024 * 1024)

typedef struct {
    char *uri;
    char *socket_path;
    char *socket_group; /* NULL: root only */
    char *journal_path;
    gboolean record_observed;
    guint reconnect_seconds; /* 1..3600 */
    FpbConfPolicy policy;    /* host defaults; unset keys: the engine's */
} FpbConfDaemon;

/* The documented defaults. (transfer full) */
FpbConfDaemon *fpb_conf_daemon_new(void);
void fpb_conf_daemon_free(FpbConfDaemon *conf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbConfDaemon, fpb_conf_daemon_free)

/**
 * fpb_conf_daemon_load_data:
 * @name: the file's name for messages.
 * Applies @data (@len bytes) over @conf. On FALSE, @error is
 * "NAME:LINE: ..." (FPB_CONF_ERROR_PARSE or _INVALID) and @conf may be
 * partly changed: throw it away.
 */
gboolean fpb_conf_daemon_load_data(FpbConfDaemon *conf, const char *name, const char *data,
                                   gsize len, GError **error);

/* Reads @path. A missing file is fine when @missing_ok (the defaults stay),
 * else FPB_CONF_ERROR_IO. */
gboolean fpb_conf_daemon_load_file(FpbConfDaemon *conf, const char *path, gboolean missing_ok,
                                   GError **error);

G_END_DECLS
