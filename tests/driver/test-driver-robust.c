/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb_balloon.ko under faults (issue 18 item 4), one TAP case per fault, in
 * real TCG guests of 1 GiB. The guest's /init runs the fault itself
 * (fpb.robust=..., tests/guest/init.sh) and prints the driver's sysfs
 * counters before and after ("fpb-guest: counters at=WHEN ..."); the driver
 * prints one line per hint command and one when it is removed. Every case
 * ends with the workload verifying every page it holds (on the destination
 * after a migration) and no oops, BUG or kernel warning on either console.
 *
 *   /driver-robust/rmmod-walk     a long hint walk (fragmented free memory,
 *                                 one list entry per lock hold) is running
 *                                 when the guest removes the module: the walk
 *                                 ends as driver-stop, the migration completes
 *                                 without a balloon driver
 *   /driver-robust/rmmod-inflate  the module is removed while the balloon
 *                                 inflates: every page comes back (MemTotal,
 *                                 QEMU's actual), then a migration
 *   /driver-robust/migrate-walk   the migration completes while the walk runs
 *                                 (once the guest says a walk runs, a 60 s
 *                                 downtime limit lets QEMU finish at once):
 *                                 the walk ends on the destination (the
 *                                 source's DONE) with the guest intact
 *   /driver-robust/cancel-walk    the migration is cancelled mid-walk (DONE)
 *                                 and started again: a new command, verified
 *   /driver-robust/offline-walk   a 256 MiB pc-dimm online as ZONE_MOVABLE is
 *                                 offlined while a walk runs, then a migration
 *   /driver-robust/oom            deflate-on-oom=on, the balloon inflated, the
 *                                 guest then writes more than it has left to a
 *                                 tmpfs: the driver's OOM notifier gives pages
 *                                 back (oom_calls, oom_pages), no OOM kill
 *
 * Skips when the test guest has no fpb_balloon.ko. The four *-walk cases,
 * whose guest is active while it migrates, skip on a QEMU without the TCG
 * dirty-tracking fix (fail instead under FPB_REQUIRE_FIXED_QEMU=1, run
 * anyway under FPB_DRIVER_STRICT=1): Debian's 7.2 corrupts such guests
 * whatever the driver (docs/guest-driver.md).
 */
#include <stdio.h>
#include <string.h>

#include "driver-util.h"
#include "fpb-qmp-balloon.h"
#include "fpb-qmp-client.h"
#include "fpb-qmp-migration.h"

#define MEM_MIB 1024
#define HOLD_MIB 64
#define BOOT_TIMEOUT_S 400
#define MIGRATE_TIMEOUT_S 400
#define VERIFY_TIMEOUT_S 180
#define FAULT_TIMEOUT_S 120
/* A long walk: fragmented free memory, one list entry per zone->lock hold. */
#define LONG_WALK "fpb.frag=600 fpb_balloon.chunk=1 fpb_balloon.max_walk_ms=120000"
#define PAGES_PER_MIB 256

/* What the guest's console says, source and destination in order. */
typedef struct {
    char *text;
} Console;

static void console_clear(Console *c)
{
    g_clear_pointer(&c->text, g_free);
}

static char *serial_text(FpbTestbedVm *vm)
{
    g_autofree char *text = NULL;
    if (!vm || !g_file_get_contents(fpb_testbed_vm_serial_path(vm), &text, NULL, NULL)) {
        return g_strdup("");
    }
    return g_steal_pointer(&text);
}

static void console_read(Console *c, FpbTestbedVm *const *vms, gsize n)
{
    GString *s = g_string_new(NULL);
    for (gsize i = 0; i < n; i++) {
        g_autofree char *t = serial_text(vms[i]);
        g_string_append(s, t);
    }
    console_clear(c);
    c->text = g_string_free(s, FALSE);
}

/* The first line of @text starting at or after @from holding @needle. */
static char *find_line(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (!p) {
        return NULL;
    }
    while (p > text && p[-1] != '\n') {
        p--;
    }
    return g_strndup(p, strcspn(p, "\r\n"));
}

static gboolean field(const char *line, const char *key, guint64 *ret)
{
    g_autofree char *k = g_strdup_printf(" %s=", key);
    const char *p = line ? strstr(line, k) : NULL;
    if (!p || !g_ascii_isdigit(p[strlen(k)])) {
        return FALSE;
    }
    *ret = g_ascii_strtoull(p + strlen(k), NULL, 10);
    return TRUE;
}

static guint64 field_or_die(const char *line, const char *key)
{
    guint64 v = 0;
    if (!field(line, key, &v)) {
        g_test_message("no %s= in '%s'", key, line ? line : "(no line)");
        g_assert_not_reached();
    }
    return v;
}

static char *counters_line(const char *text, const char *at)
{
    g_autofree char *needle = g_strdup_printf("fpb-guest: counters at=%s ", at);
    return find_line(text, needle);
}

/* No kernel trouble on a console; the test bed's waits catch most of it,
 * warnings they do not. */
static void assert_clean(FpbTestbedVm *vm)
{
    const char *const trouble[] = {"WARNING:",     "BUG:",       "Oops",
                                   "Kernel panic", "Call Trace", "fpb-guest: error",
                                   "Out of memory"};
    g_autofree char *text = serial_text(vm);
    for (gsize i = 0; i < G_N_ELEMENTS(trouble); i++) {
        g_autofree char *line = find_line(text, trouble[i]);
        if (line) {
            g_test_message("VM '%s': '%s'", fpb_testbed_vm_name(vm), line);
        }
        g_assert_null(line);
    }
}

/* Waits until @needle is on one of the consoles (or QEMU is gone). */
static gboolean wait_for(FpbTestbedVm *const *vms, gsize n, const char *needle, guint timeout_s,
                         GError **error)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    while (TRUE) {
        Console c = {0};
        console_read(&c, vms, n);
        gboolean seen = strstr(c.text, needle) != NULL;
        console_clear(&c);
        if (seen) {
            return TRUE;
        }
        if (g_get_monotonic_time() > end) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "no '%s' on the guest's console within %u s", needle, timeout_s);
            return FALSE;
        }
        g_usleep(100 * 1000);
    }
}

/* The faults that run while a migration does (the guest active, its kernel
 * writing) meet QEMU 7.2's TCG dirty-tracking bug on a QEMU without the fix,
 * whatever the driver (docs/guest-driver.md, the `writing` configuration):
 * skipped there, failed under FPB_REQUIRE_FIXED_QEMU=1, run anyway with
 * FPB_DRIVER_STRICT=1. */
static gboolean have_fixed_qemu(void)
{
    g_autofree char *version = NULL;
    if (fpb_testbed_qemu_has_tcg_dirty_fix(&version) ||
        g_strcmp0(g_getenv("FPB_DRIVER_STRICT"), "1") == 0) {
        return TRUE;
    }
    g_autofree char *why =
        g_strdup_printf("%s lacks the TCG dirty-tracking fix, which loses the writes of a "
                        "guest active during migration (FPB_DRIVER_STRICT=1 runs it anyway)",
                        version);
    fpb_testbed_skip_without_fixed_qemu(why);
    return FALSE;
}

static void guest_for(FpbTestbedGuest *g, const char *append)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = MEM_MIB;
    g->balloon_driver = "fpb";
    g->free_page_hint = TRUE;
    g->hold_mib = HOLD_MIB;
    g->extra_append = append;
}

static gboolean check_completed(const FpbTestbedMigration *mig, GError **error)
{
    fpb_testbed_migration_print("migration", mig);
    if (strcmp(mig->status, "completed") != 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION, "migration %s",
                    mig->status);
        return FALSE;
    }
    return TRUE;
}

/* Starts a destination, migrates, waits for 3 verified passes there. */
static gboolean migrate_verify(FpbTestbed *tb, FpbTestbedVm *src, const FpbTestbedGuest *g,
                               const char *name, FpbTestbedVm **ret_dst, GError **error)
{
    FpbTestbedMigration mig = {0};
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, name, g, FALSE, error);
    *ret_dst = dst;
    return dst && fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, &mig, error) &&
           check_completed(&mig, error) &&
           fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, error);
}

static guint64 query_actual_mib(FpbTestbedVm *vm)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, &error);
    guint64 actual = 0;
    g_assert_no_error(error);
    g_assert_true(fpb_qmp_query_balloon(qmp, &actual, &error));
    g_assert_no_error(error);
    return actual >> 20;
}

static void set_target_mib(FpbTestbedVm *vm, guint64 mib)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_qmp_balloon_set_target(qmp, mib << 20, &error));
    g_assert_no_error(error);
}

/* The walk in progress when the fault hit: walks started > walks ended. */
static void assert_walking(const char *text)
{
    g_autofree char *line = counters_line(text, "walking");
    g_test_message("%s", line ? line : "no 'counters at=walking' line");
    g_assert_nonnull(line);
    guint64 walks = field_or_die(line, "walks");
    guint64 ended = field_or_die(line, "walks_complete") + field_or_die(line, "walks_aborted");
    g_assert_cmpuint(walks, >, ended);
}

/* The driver's line for the first command it answered. */
static char *first_hint_line(const char *text)
{
    g_autofree char *line = find_line(text, "fpb_balloon: hint cmd=");
    if (line) {
        const char *p = strstr(line, "fpb_balloon: hint cmd=");
        return g_strdup(p);
    }
    return NULL;
}

static void test_rmmod_walk(void)
{
    if (!have_fixed_qemu()) {
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    guest_for(&g, "fpb.loglevel=7 fpb.robust=rmmod-walk " LONG_WALK);
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    gboolean ok = fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error) &&
                  migrate_verify(tb, vms[0], &g, "dst", &vms[1], &error) &&
                  wait_for(vms, 2, "fpb-guest: counters at=after", FAULT_TIMEOUT_S, &error);
    g_assert_no_error(error);
    g_assert_true(ok);

    Console c = {0};
    console_read(&c, vms, 2);
    assert_walking(c.text);
    g_autofree char *hint = first_hint_line(c.text);
    g_autofree char *removed = find_line(c.text, "removed: gave back");
    g_test_message("%s", hint ? hint : "no hint line");
    g_test_message("%s", removed ? removed : "no 'removed' line");
    g_assert_nonnull(strstr(c.text, "fpb-guest: rmmod rc=0"));
    g_assert_nonnull(hint);
    g_assert_nonnull(strstr(hint, "result=driver-stop"));
    g_assert_nonnull(removed);
    g_assert_cmpuint(field_or_die(removed, "aborted"), >=, 1);
    /* The module is gone: the last counter line has no driver counters. */
    g_autofree char *after = counters_line(c.text, "after");
    g_assert_null(strstr(after, " walks="));
    console_clear(&c);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

#define INFLATE_TARGET_MIB 384
#define RMMOD_AT_PAGES (128 * PAGES_PER_MIB)

static void test_rmmod_inflate(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    g_autofree char *append =
        g_strdup_printf("fpb.loglevel=7 fpb.robust=rmmod-inflate:%d", RMMOD_AT_PAGES);
    guest_for(&g, append);
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    gint64 t0 = g_get_monotonic_time();
    set_target_mib(vms[0], INFLATE_TARGET_MIB);
    g_assert_true(wait_for(vms, 1, "fpb-guest: counters at=after", FAULT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_test_message("rmmod done %.1f s after the balloon command",
                   (g_get_monotonic_time() - t0) / 1e6);
    guint64 actual = query_actual_mib(vms[0]);

    Console c = {0};
    console_read(&c, vms, 1);
    g_autofree char *boot = counters_line(c.text, "boot");
    g_autofree char *at = counters_line(c.text, "inflating");
    g_autofree char *after = counters_line(c.text, "after");
    g_autofree char *removed = find_line(c.text, "removed: gave back");
    g_test_message("%s\n%s\n%s\n%s\nQEMU actual after rmmod: %" G_GUINT64_FORMAT " MiB", boot, at,
                   removed ? removed : "no 'removed' line", after, actual);
    g_assert_nonnull(strstr(c.text, "fpb-guest: rmmod rc=0"));
    guint64 in_balloon = field_or_die(at, "balloon_pages");
    g_assert_cmpuint(in_balloon, >=, RMMOD_AT_PAGES);
    /* Still inflating: short of the target when it was removed. */
    g_assert_nonnull(removed);
    guint64 gave = 0;
    g_assert_true(sscanf(strstr(removed, "gave back"), "gave back %" G_GUINT64_FORMAT, &gave) == 1);
    g_assert_cmpuint(gave, >=, in_balloon);
    g_assert_cmpuint(gave, <, (MEM_MIB - INFLATE_TARGET_MIB) * PAGES_PER_MIB);
    g_assert_nonnull(strstr(removed, "(balloon now 0)"));
    g_assert_cmpuint(field_or_die(at, "memtotal_kib"), <, field_or_die(boot, "memtotal_kib"));
    g_assert_cmpuint(field_or_die(after, "memtotal_kib"), ==, field_or_die(boot, "memtotal_kib"));
    g_assert_cmpuint(actual, ==, MEM_MIB);
    console_clear(&c);

    g_assert_true(migrate_verify(tb, vms[0], &g, "dst", &vms[1], &error));
    g_assert_no_error(error);
    g_assert_cmpuint(query_actual_mib(vms[1]), ==, MEM_MIB);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

static gboolean wait_status(FpbQmpClient *qmp, FpbQmpMigrationStatus want, GError **error);

/* Migrates, and as soon as the guest says a walk runs lets QEMU stop the
 * VM and finish (a downtime limit of 60 s: the rest fits at once): the
 * switchover lands inside the walk, whatever the machine's speed. */
static gboolean migrate_mid_walk(FpbTestbed *tb, FpbTestbedVm *src, const FpbTestbedGuest *g,
                                 FpbTestbedVm **ret_dst, GError **error)
{
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", g, FALSE, error);
    *ret_dst = dst;
    if (!dst) {
        return FALSE;
    }
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(src), 5000, error);
    FpbTestbedVm *vms[1] = {src};
    FpbQmpMigrationParameters now = {.has_downtime_limit = TRUE, .downtime_limit = 60000};
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = qmp && fpb_qmp_migrate(qmp, fpb_testbed_vm_incoming_uri(dst), error) &&
                  wait_for(vms, 1, "fpb-guest: counters at=walking", FAULT_TIMEOUT_S, error) &&
                  fpb_qmp_migrate_set_parameters(qmp, &now, error) &&
                  wait_status(qmp, FPB_QMP_MIGRATION_STATUS_COMPLETED, error);
    g_test_message("migration completed %.1f s after it started",
                   (g_get_monotonic_time() - t0) / 1e6);
    return ok && fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, error);
}

/* Every "fpb_balloon: hint cmd=" line of @text, for the log. */
static void print_hint_lines(const char *label, const char *text)
{
    for (const char *p = strstr(text, "fpb_balloon: hint cmd="); p;
         p = strstr(p + 1, "fpb_balloon: hint cmd=")) {
        g_test_message("%s: %.*s", label, (int)strcspn(p, "\r\n"), p);
    }
}

static void test_migrate_walk(void)
{
    if (!have_fixed_qemu()) {
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    guest_for(&g, "fpb.loglevel=7 fpb.robust=walk " LONG_WALK);
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    /* "counters at=after": the guest saw the walk end. */
    gboolean ok = fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error) &&
                  migrate_mid_walk(tb, vms[0], &g, &vms[1], &error) &&
                  wait_for(vms, 2, "fpb-guest: counters at=after", FAULT_TIMEOUT_S, &error);
    g_autofree char *src_text = serial_text(vms[0]);
    g_autofree char *dst_text = serial_text(vms[1]);
    print_hint_lines("source", src_text);
    print_hint_lines("destination", dst_text);
    g_autofree char *after = counters_line(dst_text, "after");
    g_test_message("destination: %s", after ? after : "no 'counters at=after' line");
    g_assert_no_error(error);
    g_assert_true(ok);
    assert_walking(src_text);
    /* The walk running at the switchover ended on the destination, whose
     * device says DONE: it stopped there, it did not run to the end of the
     * free lists. */
    g_assert_nonnull(after);
    g_autofree char *hint = first_hint_line(dst_text);
    g_assert_nonnull(hint);
    g_assert_nonnull(strstr(hint, "result=stop"));
    g_assert_true(fpb_testbed_vm_wait_verified(vms[1], 2, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

/* Polls query-migrate until the migration ends, wanting @want. */
static gboolean wait_status(FpbQmpClient *qmp, FpbQmpMigrationStatus want, GError **error)
{
    gint64 end = g_get_monotonic_time() + (gint64)MIGRATE_TIMEOUT_S * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < end) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate_settled(qmp, error);
        if (!info) {
            return FALSE;
        }
        if (info->status == want) {
            return TRUE;
        }
        if (fpb_qmp_migration_status_is_final(info->status)) {
            break;
        }
        g_usleep(100 * 1000);
    }
    g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION,
                "the migration did not end as %s", fpb_qmp_migration_status_to_string(want));
    return FALSE;
}

/* Starts a migration, cancels it once the guest says a walk runs. */
static gboolean migrate_cancel_mid_walk(FpbTestbed *tb, FpbTestbedVm *src, const FpbTestbedGuest *g,
                                        GError **error)
{
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst1", g, FALSE, error);
    if (!dst) {
        return FALSE;
    }
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(src), 5000, error);
    FpbTestbedVm *vms[1] = {src};
    return qmp && fpb_qmp_migrate(qmp, fpb_testbed_vm_incoming_uri(dst), error) &&
           wait_for(vms, 1, "fpb-guest: counters at=walking", FAULT_TIMEOUT_S, error) &&
           fpb_qmp_migrate_cancel(qmp, error) &&
           wait_status(qmp, FPB_QMP_MIGRATION_STATUS_CANCELLED, error);
}

static void test_cancel_walk(void)
{
    if (!have_fixed_qemu()) {
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    guest_for(&g, "fpb.loglevel=7 fpb.robust=walk " LONG_WALK);
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    gboolean ok = fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error) &&
                  migrate_cancel_mid_walk(tb, vms[0], &g, &error) &&
                  wait_for(vms, 1, "fpb_balloon: hint cmd=", FAULT_TIMEOUT_S, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    g_autofree char *src_text = serial_text(vms[0]);
    g_autofree char *hint = first_hint_line(src_text);
    g_test_message("after the cancel: %s", hint);
    assert_walking(src_text);
    g_assert_nonnull(strstr(hint, "result=stop"));
    g_assert_true(fpb_testbed_vm_wait_verified(vms[0], 1, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);

    g_assert_true(migrate_verify(tb, vms[0], &g, "dst2", &vms[1], &error));
    g_assert_no_error(error);
    Console c = {0};
    console_read(&c, vms, 2);
    /* The second migration is a second command (a new id), answered. */
    guint64 first_id = field_or_die(hint, "cmd");
    const char *second = strstr(strstr(c.text, hint) + strlen(hint), "fpb_balloon: hint cmd=");
    g_test_message("second: %.*s", second ? (int)strcspn(second, "\r\n") : 6,
                   second ? second : "(none)");
    if (second) {
        g_autofree char *line = g_strndup(second, strcspn(second, "\r\n"));
        g_assert_cmpuint(field_or_die(line, "cmd"), !=, first_id);
    }
    console_clear(&c);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

/* A 256 MiB DIMM beside the 1 GiB, present on both ends. */
static const char *const dimm_args[] = {
    "-m",      "slots=2,maxmem=2G",
    "-object", "memory-backend-ram,id=mem1,size=256M",
    "-device", "pc-dimm,id=dimm1,memdev=mem1",
    NULL,
};

static void test_offline_walk(void)
{
    if (!have_fixed_qemu()) {
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    guest_for(
        &g, "fpb.loglevel=7 memhp_default_state=online_movable fpb.robust=offline-walk " LONG_WALK);
    g.qemu_args = dimm_args;
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    gboolean ok = fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error) &&
                  migrate_verify(tb, vms[0], &g, "dst", &vms[1], &error) &&
                  wait_for(vms, 2, "fpb-guest: counters at=after", FAULT_TIMEOUT_S, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    Console c = {0};
    console_read(&c, vms, 2);
    assert_walking(c.text);
    g_autofree char *boot = counters_line(c.text, "boot");
    g_autofree char *after = counters_line(c.text, "after");
    g_autofree char *offline = find_line(c.text, "fpb-guest: offline blocks=");
    g_autofree char *hint = first_hint_line(c.text);
    g_test_message("%s\n%s\n%s\n%s", boot, offline, after, hint ? hint : "no hint line");
    guint64 blocks = field_or_die(offline, "blocks");
    /* 256 MiB = two 128 MiB memory blocks, all offlined */
    g_assert_cmpuint(blocks, ==, 2);
    g_assert_cmpuint(field_or_die(offline, "ok"), ==, blocks);
    g_assert_cmpuint(field_or_die(boot, "memtotal_kib") - field_or_die(after, "memtotal_kib"), ==,
                     256 * 1024);
    g_assert_nonnull(hint);
    console_clear(&c);
    g_assert_true(fpb_testbed_vm_wait_verified(vms[1], 2, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

#define OOM_TARGET_MIB 448
#define OOM_EAT_AT_PAGES ((MEM_MIB - OOM_TARGET_MIB) * PAGES_PER_MIB) /* the target */
#define OOM_EAT_MIB 480

/* The last "fpb-guest: oom_kill=N" (fpb.oomwatch=1). */
static guint64 last_oom_kill(const char *text)
{
    guint64 n = G_MAXUINT64;
    for (const char *p = strstr(text, "fpb-guest: oom_kill="); p;
         p = strstr(p + 1, "fpb-guest: oom_kill=")) {
        n = g_ascii_strtoull(p + strlen("fpb-guest: oom_kill="), NULL, 10);
    }
    return n;
}

static void test_oom(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    g_autofree char *append = g_strdup_printf(
        "fpb.loglevel=7 fpb.oomwatch=1 fpb_balloon.oom_pages=4096 fpb.robust=eat:%d:%d",
        OOM_EAT_MIB, OOM_EAT_AT_PAGES);
    guest_for(&g, append);
    g.balloon_options = ",deflate-on-oom=on";
    FpbTestbedVm *vms[2] = {fpb_testbed_start_source(tb, "src", &g, &error), NULL};
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    gint64 t0 = g_get_monotonic_time();
    set_target_mib(vms[0], OOM_TARGET_MIB);
    gboolean ok = wait_for(vms, 1, "fpb-guest: counters at=after", FAULT_TIMEOUT_S, &error) &&
                  fpb_testbed_vm_wait_verified(vms[0], 2, VERIFY_TIMEOUT_S, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    g_test_message("eaten and verified %.1f s after the balloon command",
                   (g_get_monotonic_time() - t0) / 1e6);
    guint64 actual = query_actual_mib(vms[0]);

    g_autofree char *text = serial_text(vms[0]);
    g_autofree char *eat = counters_line(text, "eat");
    g_autofree char *after = counters_line(text, "after");
    g_test_message("%s\n%s\nQEMU actual %" G_GUINT64_FORMAT
                   " MiB, target %d MiB, oom_kill=%" G_GUINT64_FORMAT,
                   eat, after, actual, OOM_TARGET_MIB, last_oom_kill(text));
    g_assert_nonnull(strstr(text, "fpb-guest: eat mib=" G_STRINGIFY(OOM_EAT_MIB) " rc=0"));
    g_assert_cmpuint(field_or_die(eat, "oom_calls"), ==, 0);
    g_assert_cmpuint(field_or_die(after, "oom_calls"), >, 0);
    guint64 given = field_or_die(after, "oom_pages");
    g_assert_cmpuint(given, >, 0);
    g_assert_cmpuint(field_or_die(eat, "balloon_pages") - field_or_die(after, "balloon_pages"), ==,
                     given);
    g_assert_cmpuint(actual, >, OOM_TARGET_MIB);
    g_assert_cmpuint(last_oom_kill(text), ==, 0);

    /* The hint commands of a migration are config interrupts, which queue
     * the balloon's size work: the balloon must not take back what the OOM
     * notifier gave (the target is unchanged). */
    g_assert_true(migrate_verify(tb, vms[0], &g, "dst", &vms[1], &error));
    g_assert_no_error(error);
    guint64 actual_dst = query_actual_mib(vms[1]);
    g_test_message("QEMU actual on the destination %" G_GUINT64_FORMAT " MiB", actual_dst);
    g_assert_cmpuint(actual_dst, ==, actual);
    assert_clean(vms[0]);
    assert_clean(vms[1]);
}

int main(int argc, char **argv)
{
    int status = 0;

    if (!drv_test_init(&argc, &argv, FALSE, &status)) {
        return status;
    }
    g_test_add_func("/driver-robust/rmmod-walk", test_rmmod_walk);
    g_test_add_func("/driver-robust/rmmod-inflate", test_rmmod_inflate);
    g_test_add_func("/driver-robust/migrate-walk", test_migrate_walk);
    g_test_add_func("/driver-robust/cancel-walk", test_cancel_walk);
    g_test_add_func("/driver-robust/offline-walk", test_offline_walk);
    g_test_add_func("/driver-robust/oom", test_oom);
    return g_test_run();
}
