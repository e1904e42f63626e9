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
 *   allowed-destinations=qemu+tls,qemu+tcp   transports a "migrate" request may use
 *   allowed-destination-hosts=  hosts it may name (empty: any)
 *   max-clients=16              control-socket connections at once
 *   max-migrations=4            migrations fpbd runs at once
 *   client-idle-seconds=30      a client that sends no request is cut off
 *   stop-timeout-seconds=60     on SIGTERM, running migrations may finish this long
 *   stop-restore-seconds=130    then, after cancelling them, their restore may take this long
 *   metrics-listen=             ADDRESS:PORT of the metrics endpoint (empty: off)
 *   metrics-allow-remote=false  metrics-listen may be an address other than loopback
 *   metrics-textfile=           node_exporter textfile (*.prom) to keep current (empty: off)
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
#define FPB_CONF_DAEMON_DEFAULT_ALLOWED_DESTINATIONS "qemu+tls,qemu+tcp"
#define FPB_CONF_DAEMON_DEFAULT_MAX_CLIENTS 16
#define FPB_CONF_DAEMON_DEFAULT_MAX_MIGRATIONS 4
#define FPB_CONF_DAEMON_DEFAULT_CLIENT_IDLE_SECONDS 30
/* 60 + 130 (a balloon restore's 120 s budget and some slack) stays under
 * fpbd.service's TimeoutStopSec (210 s). */
#define FPB_CONF_DAEMON_DEFAULT_STOP_TIMEOUT_SECONDS 60
#define FPB_CONF_DAEMON_DEFAULT_STOP_RESTORE_SECONDS 130
/* A config file larger than this is refused unread. */
#define FPB_CONF_DAEMON_MAX_BYTES (1024 * 1024)

typedef struct {
    char *uri;
    char *socket_path;
    char *socket_group; /* NULL: root only */
    char *journal_path;
    gboolean record_observed;
    guint reconnect_seconds; /* 1..3600 */
    /* Transports of a "migrate" request's dest, lower case, from
     * qemu+tls, qemu+tcp, qemu+ssh, qemu+libssh, qemu+libssh2 (never
     * qemu+ext or qemu+unix); never NULL, may be empty. */
    char **allowed_destinations;
    char **allowed_destination_hosts; /* never NULL; empty: any host */
    guint max_clients;                /* 1..1024 */
    guint max_migrations;             /* 1..64 */
    guint client_idle_seconds;        /* 1..3600 */
    guint stop_timeout_seconds;       /* 0..3600: 0 cancels at once */
    guint stop_restore_seconds;       /* 1..3600 */
    FpbConfPolicy policy;             /* host defaults; unset keys: the engine's */
    /* metrics-listen as HOST (an IP address, IPv6 without brackets) and
     * PORT (0: any free port); NULL: no metrics endpoint. A host that is
     * not loopback needs metrics_allow_remote (checked at load). */
    char *metrics_host;
    guint metrics_port;
    gboolean metrics_allow_remote;
    char *metrics_textfile; /* absolute, ends in .prom; NULL: none */
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

/* Is @host (an IP address as in FpbConfDaemon.metrics_host) a loopback
 * address: 127.0.0.0/8 or ::1? */
gboolean fpb_conf_daemon_host_is_loopback(const char *host);

/* Reads @path. A missing file is fine when @missing_ok (the defaults stay),
 * else FPB_CONF_ERROR_IO. */
gboolean fpb_conf_daemon_load_file(FpbConfDaemon *conf, const char *path, gboolean missing_ok,
                                   GError **error);

G_END_DECLS
