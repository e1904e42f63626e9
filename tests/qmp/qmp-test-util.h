/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the QMP tests and the benchmark: temporary directories
 * and QEMU processes that are cleaned up on every exit path, including a
 * failed assertion (SIGABRT). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new directory under $TMPDIR, removed (with the sockets in it) by
 * qmp_test_tmpdir_remove() or, should the test abort, by a signal handler. */
char *qmp_test_tmpdir_new(void);
void qmp_test_tmpdir_remove(const char *dir);

/* The path of tests/qmp/recordings/@name in the source tree. */
char *qmp_test_recording_path(const char *name);

/* A QEMU with a free-page-hint balloon (id balloon0) and its QMP socket at
 * @dir/@name.sock; @extra_args (may be NULL) are appended. Dies with the test
 * process (PR_SET_PDEATHSIG). Returns its PID, 0 if QEMU is missing. */
GPid qmp_test_qemu_start(const char *dir, const char *name, const char *const *extra_args,
                         char **ret_socket, GError **error);
/* Kills @pid (SIGKILL) and reaps it. */
void qmp_test_qemu_kill(GPid pid);
/* TRUE if qemu-system-x86_64 is in PATH. */
gboolean qmp_test_have_qemu(void);

G_END_DECLS
