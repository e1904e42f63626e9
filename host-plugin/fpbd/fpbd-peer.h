/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who is on the other end of a control-socket connection. The kernel's
 * own snapshot, taken when the peer called connect(): SO_PEERCRED (pid,
 * uid, primary gid) and SO_PEERGROUPS (the supplementary groups, Linux
 * >= 4.13). Neither /proc/PID/status (the pid may have exited and been
 * reused, or changed its groups, by the time fpbd reads it) nor
 * getgrouplist() (the group database, not the credentials the process
 * really has; and NSS may block the main loop) is that snapshot.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    guint n_groups;
    gid_t *groups; /* supplementary */
} FpbdPeer;

/* The credentials of the peer of the connected UNIX socket @fd.
 * (transfer full) or NULL with @error. */
FpbdPeer *fpbd_peer_get(int fd, GError **error);
void fpbd_peer_free(FpbdPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbdPeer, fpbd_peer_free)

/* @gid is the peer's primary group or one of its supplementary groups. */
gboolean fpbd_peer_in_group(const FpbdPeer *peer, gid_t gid);

G_END_DECLS
