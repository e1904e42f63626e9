/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP through libvirt (virDomainQemuMonitorCommand) for the facts libvirt
 * has no API for: the balloon's negotiated virtio features, the QEMU
 * version and package, the accelerator, a dirty-rate sample. libvirt marks
 * a domain "tainted: custom-monitor" the first time; fpb only sends
 * queries and calc-dirty-rate, which change nothing libvirt tracks.
 */
#pragma once

#include <json-c/json.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* Replies larger than this are refused unparsed. */
#define FPB_LIBVIRT_QMP_MAX_REPLY (4 * 1024 * 1024)

/**
 * fpb_libvirt_qmp_call:
 * @arguments: (transfer none) (nullable)
 * Runs @command and returns (transfer full) its "return" value, which
 * must be of @type (json_type_null: any type); NULL with @error in FPB_QMP_ERROR ("VM 'NAME': QMP
 * command 'CMD' failed: CLASS: DESC" for a QMP error).
 */
json_object *fpb_libvirt_qmp_call(virDomainPtr dom, const char *command, json_object *arguments,
                                  json_type type, GError **error);

G_END_DECLS
