/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which QEMU binary fpb starts or proposes, and how to tell fpb's own.
 *
 * fpb's QEMU is Debian's QEMU rebuilt with fpb's patches (the Debian package
 * fpb-qemu-system-x86, packaging/fpb-qemu/), installed under
 * /usr/lib/fpb/qemu (meson option fpb_qemu_prefix) only. Under TCG it is the one to use:
 * Debian's 7.2 loses guest writes in live migration (docs/hint-safety.md).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* In the package string of QMP query-version and of `--version`. */
#define FPB_QEMU_PATCHED_MARKER "fpb-patched"

typedef enum {
    FPB_QEMU_FROM_ENV,     /* $FPB_QEMU */
    FPB_QEMU_FROM_PACKAGE, /* fpb's package, installed */
    FPB_QEMU_FROM_PATH,    /* qemu-system-x86_64 from PATH (Debian's) */
} FpbQemuSource;

/* Where fpb's package installs its qemu-system-x86_64 (it may be absent). */
const char *fpb_qemu_package_binary(void);

/* The QEMU binary for guests that run under TCG: $FPB_QEMU when set (a
 * name is looked up in PATH), else fpb's package binary when it is
 * installed, else qemu-system-x86_64 from PATH. Returns a newly allocated
 * absolute path, or NULL with @error when that binary does not exist.
 * @ret_source (may be NULL) says which rule chose it. */
char *fpb_qemu_binary_for_tcg(FpbQemuSource *ret_source, GError **error);

/* TRUE when @package (QMP query-version's "package", or a `--version`
 * line) names fpb's patched build. NULL is not fpb's. */
gboolean fpb_qemu_package_is_fpb(const char *package);

/* The executable of process @pid (/proc/PID/exe), NULL when unknown. */
char *fpb_qemu_binary_of_pid(GPid pid);

/* "$FPB_QEMU", "fpb's package", "PATH" */
const char *fpb_qemu_source_to_string(FpbQemuSource source);

G_END_DECLS
