/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-qmp"

#include "fpb-qemu-binary.h"

#include <string.h>
#include <unistd.h>

#include "fpb-qmp-error.h"

#ifndef FPB_QEMU_PREFIX
#define FPB_QEMU_PREFIX "/usr/lib/fpb/qemu"
#endif

const char *fpb_qemu_package_binary(void)
{
    return FPB_QEMU_PREFIX "/bin/qemu-system-x86_64";
}

static char *find_named(const char *name, GError **error)
{
    char *path = g_find_program_in_path(name);

    if (path == NULL) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CONNECT,
                    "QEMU binary '%s' not found (scripts/install-deps installs Debian's "
                    "qemu-system-x86 and, on hosts without KVM, fpb's package)",
                    name);
    }
    return path;
}

char *fpb_qemu_binary_for_tcg(FpbQemuSource *ret_source, GError **error)
{
    const char *wanted = g_getenv("FPB_QEMU");
    FpbQemuSource source = FPB_QEMU_FROM_PATH;
    char *path = NULL;

    if (wanted != NULL && *wanted != '\0') {
        source = FPB_QEMU_FROM_ENV;
        path = find_named(wanted, error);
    } else if (access(fpb_qemu_package_binary(), X_OK) == 0) {
        source = FPB_QEMU_FROM_PACKAGE;
        path = g_strdup(fpb_qemu_package_binary());
    } else {
        path = find_named("qemu-system-x86_64", error);
    }
    if (path != NULL && ret_source != NULL) {
        *ret_source = source;
    }
    return path;
}

gboolean fpb_qemu_package_is_fpb(const char *package)
{
    return package != NULL && strstr(package, FPB_QEMU_PATCHED_MARKER) != NULL;
}

char *fpb_qemu_binary_of_pid(GPid pid)
{
    g_autofree char *link = NULL;

    if (pid <= 0) {
        return NULL;
    }
    link = g_strdup_printf("/proc/%d/exe", (int)pid);
    return g_file_read_link(link, NULL);
}

const char *fpb_qemu_source_to_string(FpbQemuSource source)
{
    switch (source) {
    case FPB_QEMU_FROM_ENV:
        return "$FPB_QEMU";
    case FPB_QEMU_FROM_PACKAGE:
        return "fpb's package";
    case FPB_QEMU_FROM_PATH:
        return "PATH";
    }
    return "invalid";
}
