/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The local QEMU process of a libvirt domain (fpb-libvirt-pid.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include "fpb-libvirt-pid.h"

#include <string.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-qmp.h"
#include "fpb-qmp-json.h"

GPid fpb_libvirt_pid_parse_tgid(const char *status)
{
    const char *at = status;
    gint64 v;

    while (at != NULL && strncmp(at, "Tgid:", 5) != 0) {
        at = strchr(at, '\n');
        at = at != NULL ? at + 1 : NULL;
    }
    if (at == NULL) {
        return 0;
    }
    v = g_ascii_strtoll(at + 5, NULL, 10);
    return v > 0 && v <= G_MAXINT ? (GPid)v : 0;
}

gboolean fpb_libvirt_pid_cmdline_has_uuid(const char *cmdline, gsize len, const char *uuid)
{
    const char *end = cmdline + len;
    gboolean after_flag = FALSE;

    for (const char *arg = cmdline; arg < end; arg += strnlen(arg, (gsize)(end - arg)) + 1) {
        gsize n = strnlen(arg, (gsize)(end - arg));

        if (after_flag && n == strlen(uuid) && g_ascii_strncasecmp(arg, uuid, n) == 0) {
            return TRUE;
        }
        after_flag = n == 5 && memcmp(arg, "-uuid", 5) == 0;
    }
    return FALSE;
}

/* The thread of the domain's first vCPU, as QEMU names it. */
static gint64 vcpu_thread(virDomainPtr dom, const char *vm, GError **error)
{
    g_autoptr(json_object) cpus =
        fpb_libvirt_qmp_call(dom, "query-cpus-fast", NULL, json_type_array, error);
    json_object *tid = NULL;

    if (cpus == NULL) {
        return -1;
    }
    if (json_object_array_length(cpus) == 0 ||
        !json_object_object_get_ex(json_object_array_get_idx(cpus, 0), "thread-id", &tid) ||
        !json_object_is_type(tid, json_type_int) || json_object_get_int64(tid) <= 0) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': QMP command 'query-cpus-fast' names no vCPU thread", vm);
        return -1;
    }
    return json_object_get_int64(tid);
}

static GPid not_here(const char *vm, const char *why, GError **error)
{
    g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                "VM '%s': its QEMU does not run on this host (%s)", vm, why);
    return 0;
}

GPid fpb_libvirt_qemu_pid(virDomainPtr dom, GError **error)
{
    const char *vm = virDomainGetName(dom);
    char uuid[VIR_UUID_STRING_BUFLEN];
    g_autofree char *status_path = NULL;
    g_autofree char *cmdline_path = NULL;
    g_autofree char *status = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    gint64 tid;
    GPid pid;

    if (virDomainGetUUIDString(dom, uuid) < 0) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainGetUUIDString",
                              vm);
        return 0;
    }
    if ((tid = vcpu_thread(dom, vm, error)) < 0) {
        return 0;
    }
    status_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/status", tid);
    if (!g_file_get_contents(status_path, &status, NULL, NULL) ||
        (pid = fpb_libvirt_pid_parse_tgid(status)) == 0) {
        return not_here(vm, "no vCPU thread of it here", error);
    }
    cmdline_path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    if (!g_file_get_contents(cmdline_path, &cmdline, &len, NULL) ||
        !fpb_libvirt_pid_cmdline_has_uuid(cmdline, len, uuid)) {
        return not_here(vm, "the process of that thread ID here is another", error);
    }
    return pid;
}
