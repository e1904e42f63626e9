/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Free page reporting (VIRTIO_BALLOON_F_REPORTING) with real TCG guests on
 * a virtio-balloon with free-page-reporting=on (and free-page-hint=on):
 *
 *   /driver-reporting/rss       fpb_balloon.ko, then Linux's virtio_balloon,
 *                               on a 1 GiB guest whose workload writes
 *                               600 MiB and frees it. The source QEMU's
 *                               VmRSS is sampled every 100 ms from just
 *                               before the free until 10 s after it; both
 *                               drivers' numbers are printed side by side.
 *                               fpb's must give back >= 90 % of the freed
 *                               memory within 10 s, with reports counted and
 *                               no report error; both negotiate REPORTING,
 *                               fpb's names it in its identity (fpb's QEMU).
 *                               Then each guest migrates (hints on) and the
 *                               destination verifies every page it holds.
 *   /driver-reporting/hint-off  fpb_balloon.hint=0 on a device that offers
 *                               hints too: the reporting queue must still be
 *                               the device's (QEMU numbers its queues by the
 *                               features it offers), so memory comes back.
 *
 * Skips when the test guest has no fpb_balloon.ko.
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
#define HOLD_MIB 64
#define SAMPLE_MS 100
#define GOAL_S 10          /* the goal: this much of the freed memory back within this */
#define GOAL_FRACTION 0.90 /* ... */
#define LATE_S 30          /* how long to keep watching, for the time to the goal */
#define LOG_WAIT_S 10      /* the driver logs its counters 1 s after a burst of reports */

typedef struct {
    /* the driver's "report reports=..." line (fpb_balloon.report_log=1) */
    gboolean seen;
    guint64 reports, blocks, pages, errors, wait_us, max_wait_us;
} ReportLog;

typedef struct {
    guint64 before_kib;                   /* VmRSS at the free (the highest sample up to it) */
    guint64 at_goal_kib;                  /* VmRSS GOAL_S after it */
    guint64 late_kib;                     /* VmRSS when the watch ended */
    guint64 ram_before_kib, ram_late_kib; /* the guest RAM's part */
    double goal_reached_s;                /* when GOAL_FRACTION was back, < 0: not within LATE_S */
    double watched_s;
    gboolean negotiated; /* x-query-virtio-status: the guest took REPORTING */
    gboolean hint_negotiated;
    FpbQmpGuestDriver *identity;
    ReportLog log;
    FpbTestbedMigration mig;
    gboolean verified;
} Run;

static void run_clear(Run *r)
{
    g_clear_pointer(&r->identity, fpb_qmp_guest_driver_free);
}

static double freed_kib(void)
{
    return (double)FREE_MIB * 1024;
}

static double returned_fraction(guint64 before, guint64 after)
{
    return after >= before ? 0 : (double)(before - after) / freed_kib();
}

static gboolean read_vm_rss(GPid pid, guint64 *ret_kib, GError **error)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error)) {
        return FALSE;
    }
    const char *p = strstr(text, "\nVmRSS:");
    if (!p) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED,
                    "'%s' has no VmRSS (QEMU exiting?)", path);
        return FALSE;
    }
    *ret_kib = g_ascii_strtoull(p + strlen("\nVmRSS:"), NULL, 10);
    return TRUE;
}

/* The Rss of the guest's RAM (QEMU's one mapping of exactly MEM_MIB), to
 * tell the guest's memory from QEMU's own (TCG's code buffer, ...). */
static guint64 read_ram_rss(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return 0;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    gboolean in_ram = FALSE;
    for (char **l = lines; *l; l++) {
        guint64 lo = 0, hi = 0, kib = 0;
        if (sscanf(*l, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x ", &lo, &hi) == 2) {
            in_ram = hi - lo == (guint64)MEM_MIB << 20;
        } else if (in_ram && sscanf(*l, "Rss: %" G_GUINT64_FORMAT, &kib) == 1) {
            return kib;
        }
    }
    return 0;
}

static char *serial_text(FpbTestbedVm *vm)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(fpb_testbed_vm_serial_path(vm), &text, NULL, NULL)) {
        return g_strdup("");
    }
    return g_steal_pointer(&text);
}

/* Samples VmRSS until the workload says it freed its memory ("fpbw: ready"
 * follows the munmap at once); @ret_kib gets the highest sample. */
static gboolean watch_until_freed(FpbTestbedVm *vm, guint64 *ret_kib, guint64 *ret_ram_kib,
                                  GError **error)
{
    gint64 end = g_get_monotonic_time() + (gint64)BOOT_TIMEOUT_S * G_USEC_PER_SEC;
    guint64 peak = 0;
    while (TRUE) {
        guint64 rss = 0;
        if (!fpb_testbed_vm_running(vm)) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED,
                        "VM '%s': QEMU exited before the workload freed its memory",
                        fpb_testbed_vm_name(vm));
            return FALSE;
        }
        if (!read_vm_rss(fpb_testbed_vm_pid(vm), &rss, error)) {
            return FALSE;
        }
        peak = MAX(peak, rss);
        g_autofree char *serial = serial_text(vm);
        if (strstr(serial, "fpbw: ready")) {
            *ret_kib = peak;
            *ret_ram_kib = read_ram_rss(fpb_testbed_vm_pid(vm));
            return TRUE;
        }
        if (g_get_monotonic_time() > end) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "VM '%s': no 'fpbw: ready' within %d s", fpb_testbed_vm_name(vm),
                        BOOT_TIMEOUT_S);
            return FALSE;
        }
        g_usleep(SAMPLE_MS * 1000);
    }
}

/* Samples VmRSS for GOAL_S after the free, and on up to LATE_S until the
 * goal is reached, so a miss still says how long it took. */
static gboolean watch_return(FpbTestbedVm *vm, Run *r, GError **error)
{
    gint64 t0 = g_get_monotonic_time();
    guint64 goal = (guint64)(freed_kib() * GOAL_FRACTION);
    r->goal_reached_s = -1;
    while (TRUE) {
        guint64 rss = 0;
        if (!read_vm_rss(fpb_testbed_vm_pid(vm), &rss, error)) {
            return FALSE;
        }
        double t = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
        if (r->goal_reached_s < 0 && rss + goal <= r->before_kib) {
            r->goal_reached_s = t;
        }
        if (t <= GOAL_S) {
            r->at_goal_kib = rss;
        }
        r->late_kib = rss;
        r->watched_s = t;
        if (t >= LATE_S || (t >= GOAL_S && r->goal_reached_s >= 0)) {
            r->ram_late_kib = read_ram_rss(fpb_testbed_vm_pid(vm));
            return TRUE;
        }
        g_usleep(SAMPLE_MS * 1000);
    }
}

/* The last "fpb_balloon: report reports=..." line of @text. */
static void parse_report_log(const char *text, ReportLog *ret)
{
    memset(ret, 0, sizeof(*ret));
    const char *line = NULL;
    for (const char *p = strstr(text, "fpb_balloon: report reports="); p;
         p = strstr(p + 1, "fpb_balloon: report reports=")) {
        line = p;
    }
    if (!line) {
        return;
    }
    ret->seen = sscanf(line,
                       "fpb_balloon: report reports=%" G_GUINT64_FORMAT " blocks=%" G_GUINT64_FORMAT
                       " pages=%" G_GUINT64_FORMAT " bytes=%*s errors=%" G_GUINT64_FORMAT
                       " wait_us=%" G_GUINT64_FORMAT " max_wait_us=%" G_GUINT64_FORMAT,
                       &ret->reports, &ret->blocks, &ret->pages, &ret->errors, &ret->wait_us,
                       &ret->max_wait_us) == 6;
}

/* The driver prints its counters a second after its last report. */
static void wait_report_log(FpbTestbedVm *vm, ReportLog *ret)
{
    gint64 end = g_get_monotonic_time() + (gint64)LOG_WAIT_S * G_USEC_PER_SEC;
    do {
        g_autofree char *serial = serial_text(vm);
        parse_report_log(serial, ret);
        if (ret->seen) {
            return;
        }
        g_usleep(200 * 1000);
    } while (g_get_monotonic_time() < end);
}

/* What the guest negotiated, and (fpb's QEMU) who its driver says it is. */
static gboolean query_guest(FpbTestbedVm *vm, Run *r, GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, error);
    g_autofree char *path = NULL;
    if (!qmp || !fpb_qmp_virtio_find_balloon(qmp, &path, error)) {
        return FALSE;
    }
    g_autoptr(FpbQmpVirtioStatus) st = fpb_qmp_query_virtio_status(qmp, path, error);
    if (!st) {
        return FALSE;
    }
    r->negotiated = st->guest_balloon.reporting;
    r->hint_negotiated = st->guest_balloon.free_page_hint;
    r->identity = fpb_qmp_query_guest_driver(qmp, BALLOON, error);
    return r->identity != NULL;
}

/* Kernel warnings on the source (the framework WARNs on report errors). */
static gboolean check_source_log(FpbTestbedVm *vm, GError **error)
{
    const char *const trouble[] = {"WARNING:", "BUG:", "Oops", "Kernel panic"};
    g_autofree char *serial = serial_text(vm);
    for (gsize i = 0; i < G_N_ELEMENTS(trouble); i++) {
        const char *p = strstr(serial, trouble[i]);
        if (p) {
            g_autofree char *line = g_strndup(p, strcspn(p, "\n"));
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED, "VM '%s': '%s'",
                        fpb_testbed_vm_name(vm), line);
            return FALSE;
        }
    }
    return TRUE;
}

static void guest_for(FpbTestbedGuest *guest, const char *driver, const char *append)
{
    fpb_testbed_guest_init(guest);
    guest->mem_mib = MEM_MIB;
    guest->balloon_driver = driver;
    guest->free_page_hint = TRUE;
    guest->free_page_reporting = TRUE;
    guest->free_mib = FREE_MIB;
    guest->hold_mib = HOLD_MIB;
    guest->extra_append = append;
}

static gboolean migrate_and_verify(FpbTestbed *tb, FpbTestbedVm *src, const FpbTestbedGuest *guest,
                                   Run *r, GError **error)
{
    /* Only now: a second TCG guest booting would slow the first one's
     * reporting on this 2-core machine. */
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", guest, FALSE, error);
    if (!dst || !fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, &r->mig, error)) {
        return FALSE;
    }
    if (strcmp(r->mig.status, "completed") != 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION, "migration %s",
                    r->mig.status);
        return FALSE;
    }
    r->verified = fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, error);
    return r->verified;
}

/* Boots, watches the freed memory come back, reads the counters, and with
 * @migrate migrates and verifies the destination. */
static gboolean run_guest(const FpbTestbedGuest *guest, gboolean migrate, Run *r, GError **error)
{
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(error);
    if (!tb) {
        return FALSE;
    }
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", guest, error);
    if (!src || !watch_until_freed(src, &r->before_kib, &r->ram_before_kib, error) ||
        !watch_return(src, r, error)) {
        return FALSE;
    }
    if (g_str_equal(guest->balloon_driver, "fpb")) {
        wait_report_log(src, &r->log);
    }
    if (!query_guest(src, r, error) || !check_source_log(src, error)) {
        return FALSE;
    }
    return !migrate || migrate_and_verify(tb, src, guest, r, error);
}

static void print_run(const char *label, const Run *r)
{
    double at_goal = returned_fraction(r->before_kib, r->at_goal_kib);
    double late = returned_fraction(r->before_kib, r->late_kib);
    g_autofree char *reached = r->goal_reached_s >= 0
                                   ? g_strdup_printf("%.1f s", r->goal_reached_s)
                                   : g_strdup_printf("not within %.0f s", r->watched_s);
    g_test_message("%-6s VmRSS %.1f MiB at the free -> %.1f MiB %d s later: %.1f MiB back "
                   "(%.1f %% of %d MiB); %.0f %% back after %s; %.1f %% at %.1f s; "
                   "REPORTING negotiated %s",
                   label, r->before_kib / 1024.0, r->at_goal_kib / 1024.0, GOAL_S,
                   ((double)r->before_kib - (double)r->at_goal_kib) / 1024.0, at_goal * 100,
                   FREE_MIB, GOAL_FRACTION * 100, reached, late * 100, r->watched_s,
                   r->negotiated ? "yes" : "no");
    g_test_message("%-6s of which guest RAM: %.1f MiB at the free -> %.1f MiB at %.1f s", label,
                   r->ram_before_kib / 1024.0, r->ram_late_kib / 1024.0, r->watched_s);
    if (r->log.seen) {
        g_test_message("%-6s driver: %" G_GUINT64_FORMAT " reports, %" G_GUINT64_FORMAT
                       " blocks, %.1f MiB reported since boot, %" G_GUINT64_FORMAT
                       " errors, device wait %.1f ms in all (max %.1f ms)",
                       label, r->log.reports, r->log.blocks, r->log.pages / 256.0, r->log.errors,
                       r->log.wait_us / 1e3, r->log.max_wait_us / 1e3);
    }
    if (r->mig.status[0]) {
        g_test_message("%-6s migration %s: %.1f MB sent, %" G_GUINT64_FORMAT
                       " ms, destination verified: %s",
                       label, r->mig.status, r->mig.transferred_bytes / 1e6, r->mig.total_ms,
                       r->verified ? "yes" : "no");
    }
}

static void check_fpb_identity(const Run *r)
{
    if (r->identity->kind == FPB_QMP_GUEST_DRIVER_UNSUPPORTED) {
        g_test_message("this QEMU has no guest-driver property: identity not checked");
        return;
    }
    g_assert_cmpint(r->identity->kind, ==, FPB_QMP_GUEST_DRIVER_IDENTIFIED);
    g_assert_cmpuint(r->identity->features & FPB_QMP_GUEST_DRIVER_F_REPORTING, !=, 0);
}

static void check_fpb_counters(const Run *r)
{
    g_assert_true(r->log.seen);
    g_assert_cmpuint(r->log.reports, >, 0);
    g_assert_cmpuint(r->log.errors, ==, 0);
    /* Since boot: at least what came back after the free. */
    g_assert_cmpuint(r->log.pages * 4, >=, r->before_kib - MIN(r->before_kib, r->late_kib));
}

static void test_rss(void)
{
    FpbTestbedGuest fpb_guest, stock_guest;
    g_autoptr(GError) fpb_error = NULL;
    g_autoptr(GError) stock_error = NULL;
    Run fpb = {0}, stock = {0};

    guest_for(&fpb_guest, "fpb", "fpb.loglevel=7 fpb_balloon.report_log=1");
    guest_for(&stock_guest, "stock", "fpb.loglevel=7");
    /* Both first, then the verdicts: a failure must not hide the numbers. */
    gboolean fpb_ok = run_guest(&fpb_guest, TRUE, &fpb, &fpb_error);
    gboolean stock_ok = run_guest(&stock_guest, TRUE, &stock, &stock_error);
    print_run("fpb", &fpb);
    print_run("stock", &stock);

    g_assert_no_error(fpb_error);
    g_assert_true(fpb_ok);
    g_assert_no_error(stock_error);
    g_assert_true(stock_ok);
    g_assert_true(fpb.negotiated);
    g_assert_true(stock.negotiated);
    check_fpb_identity(&fpb);
    check_fpb_counters(&fpb);
    /* The goal, for fpb's driver (the stock one is the reference). */
    g_assert_cmpfloat(returned_fraction(fpb.before_kib, fpb.at_goal_kib), >=, GOAL_FRACTION);
    run_clear(&fpb);
    run_clear(&stock);
}

static void test_hint_off(void)
{
    FpbTestbedGuest guest;
    g_autoptr(GError) error = NULL;
    Run r = {0};

    guest_for(&guest, "fpb", "fpb.loglevel=7 fpb_balloon.report_log=1 fpb_balloon.hint=0");
    gboolean ok = run_guest(&guest, FALSE, &r, &error);
    print_run("hint=0", &r);
    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_false(r.hint_negotiated);
    g_assert_true(r.negotiated);
    check_fpb_counters(&r);
    /* Not the goal (that is /driver-reporting/rss): with the reports on the
     * wrong queue nothing at all would come back. */
    g_assert_cmpfloat(returned_fraction(r.before_kib, r.late_kib), >=, 0.5);
    run_clear(&r);
}

int main(int argc, char **argv)
{
    int status = 0;

    if (!drv_test_init(&argc, &argv, FALSE, &status)) {
        return status;
    }
    g_test_add_func("/driver-reporting/rss", test_rss);
    g_test_add_func("/driver-reporting/hint-off", test_hint_off);
    return g_test_run();
}
