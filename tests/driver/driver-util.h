/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the driver tests and the driver benchmark: one migration of a
 * test guest running a chosen balloon driver, with what the source guest said
 * about its hinting (fpb_balloon's per-command lines and, with
 * fpb.trace=hint, the kprobe timings of either driver's hint work).
 */
#pragma once

#include "fpb-testbed.h"

G_BEGIN_DECLS

/* TRUE when the test guest was built with fpb_balloon.ko (the kernel
 * headers were installed); else print why and let the caller skip. */
gboolean drv_guest_has_module(char **ret_why);

/* The start of a driver test's main(): g_test_init (with --keep-going when
 * @keep_going: a failed case must not stop the others), then the skip when
 * the test guest has no fpb_balloon.ko. FALSE when main() must return
 * *@ret_status at once: meson's TAP reader takes "1..0 # SKIP" as a skip
 * and exit 77 as an error, other harnesses want 77. */
gboolean drv_test_init(int *argc, char ***argv, gboolean keep_going, int *ret_status);

typedef struct {
    /* fpb_balloon's "hint cmd=..." lines on the source */
    guint cmds, complete;
    guint64 pages, ranges, walk_us, max_walk_us, max_lock_us, lock_holds;
    /* its "reclaim cmd=..." lines (a reclaim request from the host) */
    guint reclaims, reclaim_splits, reclaim_cache_drops;
    guint64 reclaim_freed_pages, reclaim_us;
    /* kprobe begin/end pairs of the hint work item (either driver) */
    guint traced_calls;
    double traced_total_ms, traced_max_ms;
} DrvHintLog;

typedef struct {
    FpbTestbedGuest guest;
    guint64 balloon_target_mib;      /* > 0: inflate to this size before migrating */
    gboolean deflate_on_destination; /* give the memory back after migrating */
    gboolean no_hints_capability;    /* postcopy-ram on both ends: QEMU skips hints */
    guint verify_passes;
    guint settle_s; /* seconds between the source's workload ready and the migrate command */
    /* > 0: the host asks the source's driver to reclaim before its walks
     * (fpb_qmp_balloon_set_reclaim, fpb's QEMU), right before migrating */
    guint32 reclaim_what, reclaim_cache_mib;
} DrvRun;

typedef struct {
    FpbTestbedMigration mig;
    DrvHintLog hints;
    double inflate_s, deflate_s;
    guint64 actual_after_inflate, actual_after_deflate;
    /* the source's last "fpb-guest: memsnap" line before the migrate command
     * (fpb.memsnap=SEC), empty without one */
    char memsnap[512];
    double reclaim_s; /* fpb.reclaim='s "fpb-guest: reclaim ... s=" on the source */
} DrvResult;

void drv_run_init(DrvRun *run, const char *driver, guint mem_mib);
/* Boots source and destination, waits for the workload, optionally inflates,
 * migrates, waits until the destination verified its memory, optionally
 * deflates there and verifies again. FALSE with error on any failure; the
 * serial logs are kept in the error message's tail by the test bed. */
gboolean drv_migrate(const DrvRun *run, DrvResult *ret, GError **error);

void drv_parse_hint_log(const char *serial_text, DrvHintLog *ret);

G_END_DECLS
