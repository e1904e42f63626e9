/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QEMU process of a libvirt domain, when it runs on this host. libvirt
 * has no API for it (the pidfile is libvirt's private state), but QMP's
 * query-cpus-fast names each vCPU's thread, and a thread's Tgid is its
 * process. The process must carry the domain's UUID (-uuid) on its command
 * line: a libvirt on another host gives thread IDs that may exist here
 * too, as anything else. What fpb reads there is the host's own count of
 * the guest's resident RAM (fpb-guest-resident.h), which the guest cannot
 * make smaller.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* The domain's QEMU PID on this host, or 0 with @error ("VM 'x': its
 * QEMU does not run on this host ..."). */
GPid fpb_libvirt_qemu_pid(virDomainPtr dom, GError **error);

/* The pieces, for tests. The Tgid of a /proc/TID/status text, or 0. */
GPid fpb_libvirt_pid_parse_tgid(const char *status);
/* TRUE when a /proc/PID/cmdline (@len bytes, NUL-separated) has "-uuid"
 * followed by @uuid (any case). */
gboolean fpb_libvirt_pid_cmdline_has_uuid(const char *cmdline, gsize len, const char *uuid);

G_END_DECLS
