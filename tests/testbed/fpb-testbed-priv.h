/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the test bed's files. */
#pragma once

#include "fpb-testbed.h"

struct _FpbTestbed {
    char *dir;       /* private temporary directory, removed by _free */
    char *guest_dir; /* vmlinuz + initrd.img */
    char *qemu;      /* path of qemu-system-x86_64 */
    GPtrArray *vms;  /* FpbTestbedVm, owned */
};

struct _FpbTestbedVm {
    FpbTestbed *testbed;
    char *name;
    char *qmp_path;
    char *serial_path;
    char *log_path;
    char *gdb_path;     /* NULL without gdbstub */
    char *incoming_uri; /* NULL for a source */
    GPid pid;
    gboolean reaped;
    int wait_status;
    gsize serial_offset;   /* bytes of the serial log already judged */
    GString *partial_line; /* an unfinished last line */
    GQueue *tail;          /* the last lines, for error messages */
    GArray *hold_pfns;     /* guint64 per "hold-page" line, in order */
};

/* Line judges for fpb_testbed_vm_wait_lines(). */
typedef enum {
    FPB_TESTBED_LINE_CONTINUE,
    FPB_TESTBED_LINE_DONE,
    FPB_TESTBED_LINE_FAIL,
} FpbTestbedLineVerdict;

typedef FpbTestbedLineVerdict (*FpbTestbedLineJudge)(FpbTestbedVm *vm, const char *line,
                                                     gpointer data);

/* Reads the serial log as it grows and hands each new line to judge, until
 * it says DONE (TRUE) or FAIL, QEMU exits, or the timeout (FALSE). */
gboolean fpb_testbed_vm_wait_lines(FpbTestbedVm *vm, guint timeout_s, FpbTestbedLineJudge judge,
                                   gpointer data, const char *what, GError **error);
/* Reaps QEMU if it exited; TRUE while it runs. */
gboolean fpb_testbed_vm_poll_exit(FpbTestbedVm *vm);
/* The last serial lines, one string, for error messages. */
char *fpb_testbed_vm_tail(FpbTestbedVm *vm);

/* Signal-time cleanup registry (fpb-testbed-cleanup.c). */
void fpb_testbed_cleanup_install(void);
void fpb_testbed_cleanup_add_pid(GPid pid);
void fpb_testbed_cleanup_remove_pid(GPid pid);
void fpb_testbed_cleanup_add_dir(const char *dir);
void fpb_testbed_cleanup_remove_dir(const char *dir);
