/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A control-socket peer's credentials (fpbd-peer.h). */
/* struct ucred needs _GNU_SOURCE, which the build defines */
#define G_LOG_DOMAIN "fpbd"

#include <errno.h>
#include <gio/gio.h>
#include <sys/socket.h>

#include "fpbd-peer.h"

/* The kernel caps a process at 65536 supplementary groups. */
#define MAX_GROUPS 65536

static FpbdPeer *fail(GError **error, const char *what, int err)
{
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot read the peer's %s: %s",
                what, g_strerror(err));
    return NULL;
}

/* SO_PEERGROUPS answers ERANGE with the size it needs. */
static gboolean read_groups(int fd, FpbdPeer *p, GError **error)
{
    socklen_t len = 0;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) == 0) {
        return TRUE; /* no supplementary groups */
    }
    if (errno != ERANGE || len % sizeof(gid_t) != 0 || len / sizeof(gid_t) > MAX_GROUPS) {
        fail(error, "groups (SO_PEERGROUPS)", errno != ERANGE ? errno : EINVAL);
        return FALSE;
    }
    p->groups = g_new0(gid_t, len / sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) < 0) {
        fail(error, "groups (SO_PEERGROUPS)", errno);
        return FALSE;
    }
    p->n_groups = len / sizeof(gid_t);
    return TRUE;
}

FpbdPeer *fpbd_peer_get(int fd, GError **error)
{
    g_autoptr(FpbdPeer) p = g_new0(FpbdPeer, 1);
    struct ucred cred = {0};
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        return fail(error, "credentials (SO_PEERCRED)", errno);
    }
    if (len != sizeof(cred)) {
        return fail(error, "credentials (SO_PEERCRED)", EINVAL);
    }
    p->pid = cred.pid;
    p->uid = cred.uid;
    p->gid = cred.gid;
    if (!read_groups(fd, p, error)) {
        return NULL;
    }
    return g_steal_pointer(&p);
}

void fpbd_peer_free(FpbdPeer *p)
{
    if (p == NULL) {
        return;
    }
    g_free(p->groups);
    g_free(p);
}

gboolean fpbd_peer_in_group(const FpbdPeer *p, gid_t gid)
{
    if (p->gid == gid) {
        return TRUE;
    }
    for (guint i = 0; i < p->n_groups; i++) {
        if (p->groups[i] == gid) {
            return TRUE;
        }
    }
    return FALSE;
}
