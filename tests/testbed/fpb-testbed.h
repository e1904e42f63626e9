/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test bed: real QEMU guests (TCG) for integration tests and benchmarks.
 *
 * A FpbTestbed owns a private temporary directory and every QEMU process it
 * starts. fpb_testbed_free() (and SIGINT/SIGTERM/SIGHUP/SIGABRT, through a
 * handler installed by fpb_testbed_new()) kills them by PID and removes the
 * directory, so a test leaves no process, socket or file behind. QEMU children
 * also get PR_SET_PDEATHSIG, so even a SIGKILLed test takes them along.
 *
 * Not thread-safe: use a testbed from one thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPB_TESTBED_ERROR (fpb_testbed_error_quark())
GQuark fpb_testbed_error_quark(void);

typedef enum {
    FPB_TESTBED_ERROR_SETUP,     /* guest image missing, spawn failed, ... */
    FPB_TESTBED_ERROR_TIMEOUT,   /* the guest did not get where it should in time */
    FPB_TESTBED_ERROR_EXITED,    /* QEMU exited */
    FPB_TESTBED_ERROR_CORRUPTED, /* the workload found bad pages, or the kernel oopsed */
    FPB_TESTBED_ERROR_MIGRATION, /* the baseline migration failed */
    FPB_TESTBED_ERROR_QMP,       /* a QMP command failed */
    FPB_TESTBED_ERROR_GDB,       /* the gdbstub refused a packet */
} FpbTestbedError;

/* What guest to boot. Zero-initialise, then set what matters; see
 * fpb_testbed_guest_init() for the defaults. */
typedef struct {
    guint mem_mib;                /* guest RAM */
    gboolean free_page_hint;      /* virtio-balloon free-page-hint=on (+ iothread) */
    gboolean free_page_reporting; /* virtio-balloon free-page-reporting=on */
    int init_on_alloc;            /* -1: kernel default (1 on Debian), else 0 or 1 */
    const char *balloon_driver;   /* "stock" or "none" */
    guint free_mib;               /* workload: write and free */
    guint frag_mib;               /* workload: fragment (free every other page) */
    guint hold_mib;               /* workload: hold with a pattern */
    guint dirty_mib;              /* workload: region rewritten continuously */
    guint dirty_rate_mibps;       /* workload: how fast */
    const char *selftest;         /* workload: NULL, "zero", "stale" or "torn" */
    const char *extra_append;     /* more kernel command line, may be NULL */
    gboolean gdbstub;             /* open a gdbstub socket (fpb_testbed_vm_poke_phys) */
    const char *balloon_options;  /* appended to the balloon device, e.g. ",deflate-on-oom=on" */
    const char *const *qemu_args; /* more QEMU arguments (NULL-terminated), may be NULL */
} FpbTestbedGuest;

void fpb_testbed_guest_init(FpbTestbedGuest *guest);

typedef struct _FpbTestbed FpbTestbed;
typedef struct _FpbTestbedVm FpbTestbedVm;

/* Finds the guest image (FPB_GUEST_DIR, set by meson for tests) and QEMU
 * (fpb_testbed_qemu_binary()), and makes the private temporary directory. */
FpbTestbed *fpb_testbed_new(GError **error);
void fpb_testbed_free(FpbTestbed *testbed);

/* The QEMU the test bed runs (its guests are TCG): $FPB_QEMU, else fpb's
 * package binary when installed, else qemu-system-x86_64 from PATH
 * (fpb_qemu_binary_for_tcg()). NULL with @error when absent. */
char *fpb_testbed_qemu_binary(GError **error);
/* Whether that QEMU has the TCG dirty-tracking fix (fpb's build, or QEMU
 * 9.0+), from its `--version`; @ret_version gets the version line (or
 * "unknown"). Without the fix a live iteration loses guest writes
 * (docs/hint-safety.md), so hinted or writing migrations are not safe. */
gboolean fpb_testbed_qemu_has_tcg_dirty_fix(char **ret_version);
/* TRUE when a test that needs the fix must fail rather than skip
 * (FPB_REQUIRE_FIXED_QEMU=1, set by scripts/run-tests after it installed
 * fpb's QEMU): there a skip would hide a missing component. */
gboolean fpb_testbed_fixed_qemu_required(void);
/* For a g_test case that needs the fix on a QEMU without it: skips with
 * @why, or fails where fpb_testbed_fixed_qemu_required(). */
void fpb_testbed_skip_without_fixed_qemu(const char *why);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbTestbed, fpb_testbed_free)

const char *fpb_testbed_dir(FpbTestbed *testbed);

/* Boots a guest. The VM belongs to the testbed; do not free it. */
FpbTestbedVm *fpb_testbed_start_source(FpbTestbed *testbed, const char *name,
                                       const FpbTestbedGuest *guest, GError **error);
/* Starts QEMU with -incoming defer for the same guest (the device model must
 * match the source) and makes it listen on a UNIX migration socket. When
 * paused_after is TRUE the destination stays paused after migration (-S), for
 * memory comparison. */
FpbTestbedVm *fpb_testbed_start_destination(FpbTestbed *testbed, const char *name,
                                            const FpbTestbedGuest *guest, gboolean paused_after,
                                            GError **error);

const char *fpb_testbed_vm_name(FpbTestbedVm *vm);
const char *fpb_testbed_vm_qmp_path(FpbTestbedVm *vm);
const char *fpb_testbed_vm_serial_path(FpbTestbedVm *vm);
/* "unix:/…/NAME.migrate" for a destination, NULL for a source. */
const char *fpb_testbed_vm_incoming_uri(FpbTestbedVm *vm);
GPid fpb_testbed_vm_pid(FpbTestbedVm *vm);
gboolean fpb_testbed_vm_running(FpbTestbedVm *vm);

/* Waits for "fpbw: ready" and the first verification pass. */
gboolean fpb_testbed_vm_wait_ready(FpbTestbedVm *vm, guint timeout_s, GError **error);
/* Waits for `passes` verification passes that start after this call (so
 * their every page was read after it) and all say ok. Fails at once on a bad
 * pass, a kernel oops or panic, or QEMU exiting. */
gboolean fpb_testbed_vm_wait_verified(FpbTestbedVm *vm, guint passes, guint timeout_s,
                                      GError **error);
/* The value of "fpbw: hold-page index=N pfn=0x…" lines printed at ready. */
gboolean fpb_testbed_vm_hold_pfn(FpbTestbedVm *vm, guint index, guint64 *ret_pfn, GError **error);
/* Writes guest-physical memory behind the guest's back through the gdbstub
 * (guest started with gdbstub = TRUE). The VM is paused for the write and
 * resumed after. */
gboolean fpb_testbed_vm_poke_phys(FpbTestbedVm *vm, guint64 paddr, const void *data, gsize len,
                                  GError **error);
/* Kills QEMU (SIGKILL) now; the files stay until fpb_testbed_free(). */
void fpb_testbed_vm_kill(FpbTestbedVm *vm);

typedef struct {
    char status[32];
    guint64 total_ms, downtime_ms, setup_ms;
    guint64 transferred_bytes, normal_pages, normal_bytes, duplicate_pages;
    guint64 dirty_sync_count;
    double mbps;
} FpbTestbedMigration;

/* A plain QMP migration from source to destination (no fpb logic), for
 * baselines. capabilities: NULL-terminated names set to true on both ends
 * first (e.g. "postcopy-ram"), may be NULL. */
gboolean fpb_testbed_migrate(FpbTestbedVm *source, FpbTestbedVm *destination,
                             const char *const *capabilities, guint timeout_s,
                             FpbTestbedMigration *ret_stats, GError **error);

void fpb_testbed_migration_print(const char *label, const FpbTestbedMigration *stats);

G_END_DECLS
