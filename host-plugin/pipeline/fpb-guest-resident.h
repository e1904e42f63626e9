/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How much of a guest's RAM its QEMU process holds resident
 * (/proc/PID/smaps). A page the guest never touched, or that the balloon
 * or free page reporting gave back, is not resident and reads as zero, so
 * RAM - resident bounds the zero pages from below: a cheap probe of the
 * zero share of free memory for a VM fpb has never migrated (issue 15,
 * item 6; docs/cost-model.md, "Preparation in the loop"). Only for a QEMU
 * on this host whose PID is known (the QMP socket's peer).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The resident bytes of @pid's guest RAM mapping: the mapping of at least
 * @ram_bytes closest to it (QEMU maps a VM's RAM as one block; the largest
 * other mappings are far smaller). -1 with @error when the process cannot
 * be read or has no such mapping (RAM split over several backends). */
gint64 fpb_guest_resident_bytes(GPid pid, gint64 ram_bytes, GError **error);

/* The same from smaps text (for tests). */
gint64 fpb_guest_resident_parse(const char *smaps, gint64 ram_bytes, GError **error);

G_END_DECLS
