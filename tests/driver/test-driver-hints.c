/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb's QEMU patch set for hints (host-plugin/qemu-patches 0002-0005) with
 * real TCG guests and fpb_balloon.ko, through qmp-client/fpb-qmp-hints:
 *
 *   /driver-hints/schema         the switch and the statistics command are in
 *                                query-qmp-schema of the test bed's QEMU (fpb's)
 *                                and not in Debian's /usr/bin/qemu-system-x86_64
 *   /driver-hints/switch         two migrations of a 1 GiB guest that freed
 *                                600 MiB, the switch on and then off: on, the
 *                                guest reports and QEMU clears > 300 MiB, every
 *                                command starts after the early dirty-log clear
 *                                (no chunk pending); off, 0 reported, nothing
 *                                asked, and the migration sends the free memory.
 *                                Both destinations verify every page they hold.
 *                                The driver's identity on source and destination.
 *   /driver-hints/stock-driver   Linux's virtio_balloon reads as a stock driver
 *   /driver-hints/reclaim        a program frees every other 4 KiB page of 512
 *                                MiB of transparent huge pages (the kernel's
 *                                default): the pieces wait for a deferred split,
 *                                on no free list. Migrated twice with hints:
 *                                without a request they are sent; with the
 *                                host's reclaim request (qemu-patches 0006),
 *                                answered before the migration starts, the
 *                                driver runs the shrinkers, frees most of the
 *                                256 MiB and the migration sends at least half
 *                                of it less. Both destinations verify.
 *
 * Skips when the test guest has no fpb_balloon.ko, or when the test bed's
 * QEMU lacks the patch set (fails instead under FPB_REQUIRE_FIXED_QEMU=1,
 * where scripts/run-tests installed fpb's QEMU).
 */
#include <stdio.h>
#include <string.h>

#include "driver-util.h"
#include "fpb-qmp.h"

#define BALLOON "/machine/peripheral/balloon0"
#define BOOT_TIMEOUT_S 400
#define MIGRATE_TIMEOUT_S 400
#define VERIFY_TIMEOUT_S 180
#define MEM_MIB 1024
#define FREE_MIB 600
#define HOLD_MIB 128
#define LOG_SETTLE_S 30
#define DEBIAN_QEMU "/usr/bin/qemu-system-x86_64"

static FpbQmpClient *connect_vm(FpbTestbedVm *vm)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, &error);

    g_assert_no_error(error);
    return qmp;
}

/* What query-qmp-schema of a QEMU started by a test bed shows. */
static FpbQmpHintsSupport support_of(FpbTestbed *tb)
{
    FpbTestbedGuest guest;
    g_autoptr(GError) error = NULL;
    FpbQmpHintsSupport support = {0};

    fpb_testbed_guest_init(&guest);
    guest.mem_mib = 256;
    guest.balloon_driver = "none";
    guest.free_page_hint = TRUE;
    FpbTestbedVm *vm = fpb_testbed_start_source(tb, "schema", &guest, &error);
    g_assert_no_error(error);
    g_autoptr(FpbQmpClient) qmp = connect_vm(vm);
    g_assert_true(fpb_qmp_hints_query_support(qmp, &support, &error));
    g_assert_no_error(error);
    return support;
}

/* The QEMU under test has the patch set, else the test skips (or fails
 * where fpb's QEMU is required). */
static gboolean qemu_has_patch_set(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_autofree char *version = NULL;

    g_assert_no_error(error);
    FpbQmpHintsSupport s = support_of(tb);
    if (s.hint_switch && s.hint_stats) {
        return TRUE;
    }
    fpb_testbed_qemu_has_tcg_dirty_fix(&version);
    g_autofree char *why = g_strdup_printf("'%s' lacks fpb's hint patches (0002-0005: "
                                           "x-fpb-free-page-hints, x-fpb-query-hint-stats); "
                                           "packaging/fpb-qemu/fpb-qemu-package ensure",
                                           version);
    fpb_testbed_skip_without_fixed_qemu(why);
    return FALSE;
}

static void test_schema(void)
{
    if (!qemu_has_patch_set()) {
        return;
    }
    if (!g_file_test(DEBIAN_QEMU, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip(DEBIAN_QEMU " is not installed");
        return;
    }
    /* The test bed takes its QEMU from FPB_QEMU. */
    g_autofree char *saved = g_strdup(g_getenv("FPB_QEMU"));
    g_setenv("FPB_QEMU", DEBIAN_QEMU, TRUE);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    if (saved) {
        g_setenv("FPB_QEMU", saved, TRUE);
    } else {
        g_unsetenv("FPB_QEMU");
    }
    g_assert_no_error(error);
    FpbQmpHintsSupport s = support_of(tb);
    g_assert_false(s.hint_switch);
    g_assert_false(s.hint_stats);
}

static void guest_for(FpbTestbedGuest *guest, const char *driver)
{
    fpb_testbed_guest_init(guest);
    guest->mem_mib = MEM_MIB;
    guest->balloon_driver = driver;
    guest->free_page_hint = TRUE;
    guest->free_mib = FREE_MIB;
    guest->hold_mib = HOLD_MIB;
    /* Shows the driver's "fpb_balloon VERSION bound" and hint lines. */
    guest->extra_append = "fpb.loglevel=7";
}

/* The version the guest printed when fpb_balloon bound. */
static char *printed_version(FpbTestbedVm *vm)
{
    g_autofree char *serial = NULL;
    g_autoptr(GRegex) re = g_regex_new("fpb_balloon (\\S+) bound:", 0, 0, NULL);
    g_autoptr(GMatchInfo) match = NULL;

    g_assert_true(g_file_get_contents(fpb_testbed_vm_serial_path(vm), &serial, NULL, NULL));
    if (!g_regex_match(re, serial, 0, &match)) {
        g_error("VM '%s': no 'fpb_balloon VERSION bound:' line on the console",
                fpb_testbed_vm_name(vm));
    }
    return g_match_info_fetch(match, 1);
}

static void check_identified(FpbTestbedVm *vm, const char *version)
{
    g_autoptr(FpbQmpClient) qmp = connect_vm(vm);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) d = fpb_qmp_query_guest_driver(qmp, BALLOON, &error);

    g_assert_no_error(error);
    g_test_message("VM '%s': guest driver %s '%s' '%s' features 0x%" G_GINT64_MODIFIER "x",
                   fpb_testbed_vm_name(vm), fpb_qmp_guest_driver_kind_to_string(d->kind), d->name,
                   d->version, d->features);
    g_assert_cmpint(d->kind, ==, FPB_QMP_GUEST_DRIVER_IDENTIFIED);
    g_assert_cmpstr(d->name, ==, "fpb_balloon");
    g_assert_cmpstr(d->version, ==, version);
    /* Allocation-free, fragment-covering hints, reclaim on request; no
     * free page reporting (the device does not offer it). */
    g_assert_cmpuint(d->features, ==,
                     FPB_QMP_GUEST_DRIVER_F_HINT_NO_ALLOC | FPB_QMP_GUEST_DRIVER_F_HINT_FRAGMENTED |
                         FPB_QMP_GUEST_DRIVER_F_RECLAIM);
}

static FpbQmpGuestDriverKind driver_kind(FpbTestbedVm *vm)
{
    g_autoptr(FpbQmpClient) qmp = connect_vm(vm);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) d = fpb_qmp_query_guest_driver(qmp, BALLOON, &error);

    g_assert_no_error(error);
    return d->kind;
}

typedef struct {
    FpbTestbedMigration mig;
    FpbQmpHintStats stats;
    DrvHintLog log; /* what the source's driver printed */
} SwitchRun;

/* What the driver printed about its commands, on both sides: the line of
 * a walk that ends as the source stops is printed on the destination. */
static void parse_both_logs(FpbTestbedVm *src, FpbTestbedVm *dst, DrvHintLog *ret)
{
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    DrvHintLog on_dst;

    g_assert_true(g_file_get_contents(fpb_testbed_vm_serial_path(src), &a, NULL, NULL));
    g_assert_true(g_file_get_contents(fpb_testbed_vm_serial_path(dst), &b, NULL, NULL));
    drv_parse_hint_log(a, ret);
    drv_parse_hint_log(b, &on_dst);
    ret->cmds += on_dst.cmds;
    ret->pages += on_dst.pages;
}

/* The driver logs a command when its walk ends; a walk that QEMU saw
 * answered just before the source stopped ends, and is logged, on the
 * destination some time after it resumed (seen on CI: QEMU had two
 * commands' reports, the log one). So the log is read until it holds as
 * many commands as QEMU counted answered, or the bound passes. */
static void read_hint_log(FpbTestbedVm *src, FpbTestbedVm *dst, guint64 answered, DrvHintLog *ret)
{
    gint64 end = g_get_monotonic_time() + LOG_SETTLE_S * G_USEC_PER_SEC;

    parse_both_logs(src, dst, ret);
    while (ret->cmds < answered && g_get_monotonic_time() < end) {
        g_usleep(200 * 1000);
        parse_both_logs(src, dst, ret);
    }
}

/* Boots a guest pair, sets the switch on the source, migrates, reads the
 * source's hint statistics and waits for the destination to verify. */
static void migrate_with_switch(gboolean on, SwitchRun *ret)
{
    FpbTestbedGuest guest;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    guest_for(&guest, "fpb");
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", &guest, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_autofree char *version = printed_version(src);
    check_identified(src, version);

    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", &guest, FALSE, &error);
    g_assert_no_error(error);
    /* Paused for the incoming migration: no driver has spoken yet. */
    g_assert_cmpint(driver_kind(dst), ==, FPB_QMP_GUEST_DRIVER_NONE);
    {
        g_autoptr(FpbQmpClient) qmp = connect_vm(src);
        g_assert_true(fpb_qmp_hints_set_switch(qmp, on, &error));
        g_assert_no_error(error);
    } /* QEMU serves one client at a time: closed before migrating */
    g_assert_true(fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, &ret->mig, &error));
    g_assert_no_error(error);
    {
        g_autoptr(FpbQmpClient) qmp = connect_vm(src);
        g_assert_true(fpb_qmp_query_hint_stats(qmp, &ret->stats, &error));
        g_assert_no_error(error);
    }
    g_assert_true(fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    read_hint_log(src, dst, ret->stats.commands_answered, &ret->log);
    /* The destination re-reads the statistics buffer when it resumes. */
    check_identified(dst, version);
}

static void print_run(const char *label, const SwitchRun *r)
{
    const FpbQmpHintStats *s = &r->stats;

    g_test_message(
        "switch %s: %.0f MB sent (normal %.0f MB), %" G_GUINT64_FORMAT " ms, %" G_GUINT64_FORMAT
        " syncs; hints: %" G_GUINT64_FORMAT " commands (%" G_GUINT64_FORMAT
        " answered, %" G_GUINT64_FORMAT " finished), %" G_GUINT64_FORMAT
        " buffers, %" G_GUINT64_FORMAT " ranges, reported %.1f MB, "
        "cleared %.1f MB, report time %" G_GUINT64_FORMAT " us (max %" G_GUINT64_FORMAT
        "), dirty-log clears %" G_GUINT64_FORMAT " rounds / %" G_GUINT64_FORMAT
        " chunks, pending at start %" G_GUINT64_FORMAT "; driver: %u cmds, %" G_GUINT64_FORMAT
        " pages",
        label, r->mig.transferred_bytes / 1e6, r->mig.normal_bytes / 1e6, r->mig.total_ms,
        r->mig.dirty_sync_count, s->commands, s->commands_answered, s->commands_finished,
        s->buffers, s->ranges, s->reported_bytes / 1e6, s->cleared_bytes / 1e6, s->report_time_us,
        s->max_report_time_us, s->dirty_log_clear_rounds, s->dirty_log_cleared_chunks,
        s->dirty_log_pending_chunks, r->log.cmds, r->log.pages);
}

static void check_on(const SwitchRun *r)
{
    const FpbQmpHintStats *s = &r->stats;

    g_assert_cmpuint(s->generation, ==, 1); /* a fresh QEMU, one migration */
    g_assert_cmpuint(s->commands, >=, 1);
    /* The KVM window (docs/guest-driver.md): each command started after
     * the early clear of every pending chunk's dirty log, none left. */
    g_assert_cmpuint(s->dirty_log_clear_rounds, ==, s->commands);
    g_assert_cmpuint(s->dirty_log_cleared_chunks, >=, s->dirty_log_clear_rounds);
    g_assert_cmpuint(s->dirty_log_pending_chunks, ==, 0);
    g_assert_cmpuint(s->commands_answered, >=, 1);
    g_assert_cmpuint(s->buffers, >, 0);
    g_assert_cmpuint(s->reported_bytes, >, 0);
    /* QEMU acts on no more than the driver sent, and clears no more than
     * was reported; a guest with 600+ MiB free saves most of it. */
    g_assert_cmpuint(s->reported_bytes, <=, r->log.pages * 4096);
    g_assert_cmpuint(s->cleared_bytes, <=, s->reported_bytes);
    g_assert_cmpuint(s->cleared_bytes, >, (guint64)(FREE_MIB / 2) << 20);
    g_assert_cmpuint(s->report_time_us, >, 0);
}

static void check_off(const SwitchRun *r, const SwitchRun *on)
{
    const FpbQmpHintStats *s = &r->stats;

    g_assert_cmpuint(s->generation, ==, 1);
    g_assert_cmpuint(s->commands, ==, 0);
    g_assert_cmpuint(s->buffers, ==, 0);
    g_assert_cmpuint(s->reported_bytes, ==, 0);
    g_assert_cmpuint(s->cleared_bytes, ==, 0);
    g_assert_cmpuint(s->dirty_log_clear_rounds, ==, 0);
    g_assert_cmpuint(r->log.cmds, ==, 0); /* the guest was never asked */
    /* What the hints saved is sent now (the freed memory holds old data). */
    g_assert_cmpuint(r->mig.normal_bytes, >,
                     on->mig.normal_bytes + ((guint64)(FREE_MIB / 2) << 20));
}

static void test_switch(void)
{
    if (!qemu_has_patch_set()) {
        return;
    }
    SwitchRun on, off;
    migrate_with_switch(TRUE, &on);
    print_run("on", &on);
    check_on(&on);
    migrate_with_switch(FALSE, &off);
    print_run("off", &off);
    check_off(&off, &on);
}

static void test_stock_driver(void)
{
    if (!qemu_has_patch_set()) {
        return;
    }
    FpbTestbedGuest guest;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    guest_for(&guest, "stock");
    guest.free_mib = 0;
    guest.hold_mib = 16;
    FpbTestbedVm *vm = fpb_testbed_start_source(tb, "stock", &guest, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(vm, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_autoptr(FpbQmpClient) qmp = connect_vm(vm);
    g_autoptr(FpbQmpGuestDriver) d = fpb_qmp_query_guest_driver(qmp, BALLOON, &error);
    g_assert_no_error(error);
    g_assert_cmpint(d->kind, ==, FPB_QMP_GUEST_DRIVER_STOCK);
    g_assert_cmpstr(d->name, ==, FPB_QMP_GUEST_DRIVER_STOCK_NAME);
    g_assert_null(d->version);
}

#define RECLAIM_FRAG_MIB 512

typedef struct {
    FpbTestbedMigration mig;
    DrvHintLog log;
} ReclaimRun;

static void migrate_thp_half(gboolean ask, ReclaimRun *ret)
{
    DrvRun run;
    DrvResult res;
    g_autoptr(GError) error = NULL;

    drv_run_init(&run, "fpb", MEM_MIB);
    run.guest.hold_mib = 64;
    run.guest.extra_append = "fpb.loglevel=7 fpb.frag=512:thp";
    run.settle_s = 2;
    if (ask) {
        run.reclaim_what = FPB_QMP_RECLAIM_SPLIT;
    }
    gboolean ok = drv_migrate(&run, &res, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    ret->mig = res.mig;
    ret->log = res.hints;
    g_test_message("reclaim %s: %.0f MB sent in %" G_GUINT64_FORMAT
                   " ms; driver: %u cmds, %" G_GUINT64_FORMAT
                   " pages hinted, %u reclaims (%u splits) freed %" G_GUINT64_FORMAT
                   " pages in %" G_GUINT64_FORMAT " us",
                   ask ? "asked" : "not asked", res.mig.transferred_bytes / 1e6, res.mig.total_ms,
                   res.hints.cmds, res.hints.pages, res.hints.reclaims, res.hints.reclaim_splits,
                   res.hints.reclaim_freed_pages, res.hints.reclaim_us);
}

static void test_reclaim(void)
{
    if (!qemu_has_patch_set()) {
        return;
    }
    const guint64 freed = (guint64)(RECLAIM_FRAG_MIB / 2) << 20;
    ReclaimRun plain, asked;
    migrate_thp_half(FALSE, &plain);
    migrate_thp_half(TRUE, &asked);
    g_assert_cmpuint(plain.log.reclaims, ==, 0);
    g_assert_cmpuint(asked.log.reclaims, >=, 1);
    g_assert_cmpuint(asked.log.reclaim_splits, >=, 1);
    /* the split gave most of the freed pieces back to the free lists ... */
    g_assert_cmpuint(asked.log.reclaim_freed_pages * 4096, >=, freed * 3 / 4);
    /* ... and the hints kept at least half of them off the wire */
    g_assert_cmpuint(plain.mig.transferred_bytes, >, asked.mig.transferred_bytes + freed / 2);
}

int main(int argc, char **argv)
{
    int status = 0;

    if (!drv_test_init(&argc, &argv, FALSE, &status)) {
        return status;
    }
    g_test_add_func("/driver-hints/schema", test_schema);
    g_test_add_func("/driver-hints/switch", test_switch);
    g_test_add_func("/driver-hints/stock-driver", test_stock_driver);
    g_test_add_func("/driver-hints/reclaim", test_reclaim);
    return g_test_run();
}
