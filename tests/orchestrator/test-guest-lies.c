/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest that lies or stalls (issue 20 item 6), each on real guests
 * running fpb's driver built with fault injection (fpb_balloon_faults.ko,
 * fpb.balloon=faults): stats claiming more free memory than the guest has,
 * stats frozen at the first report, stats never sent again, a driver that
 * acknowledges inflation and takes nothing, a free-page hint report that
 * never ends, stats that drop mid-inflation. Each ends with: the guest's
 * OOM-kill count still 0 (/proc/vmstat, printed by the guest's /init; no
 * "Out of memory" on its console), the outcome saying what happened, the
 * balloon back at full size, and the workload verifying every page it
 * holds wherever the VM runs.
 */
#include <string.h>

#include "fpb-testbed.h"
#include "orch-helpers.h"

#define BOOT_TIMEOUT_S 240
#define VERIFY_TIMEOUT_S 180
#define MIB (1024 * 1024)
#define GUEST_MIB 1024

typedef struct {
    FpbTestbed *tb;
    FpbTestbedVm *src;
    FpbTestbedVm *dst;
    char *db;
    char *append;
} Bed;

/* A guest with @free_mib written and freed (QEMU holds them resident, so
 * the host can see what a balloon really took), @hold_mib held, and the
 * fault @fault of @fault_mib MiB. */
static void scenario(FpbTestbedGuest *g, Bed *bed, const char *fault, guint fault_mib,
                     guint free_mib, guint hold_mib)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = GUEST_MIB;
    g->free_mib = free_mib;
    g->hold_mib = hold_mib;
    g->free_page_hint = TRUE;
    g->init_on_alloc = 0;
    g->balloon_driver = "faults";
    /* FPB_GUEST_LIES_APPEND: more kernel command line, for experiments
     * (e.g. fpb_balloon.keep_mib=1: the driver keeps next to nothing) */
    bed->append = g_strdup_printf(
        "fpb.oomwatch=1 fpb_balloon.fault=%s fpb_balloon.fault_mib=%u %s", fault, fault_mib,
        g_getenv("FPB_GUEST_LIES_APPEND") ? g_getenv("FPB_GUEST_LIES_APPEND") : "");
    g->extra_append = bed->append;
}

/* Skips (TAP) when the guest has no fault build (no kernel headers). */
static gboolean have_fault_driver(void)
{
    const char *dir = g_getenv("FPB_GUEST_DIR");
    g_autofree char *path = g_build_filename(dir ? dir : ".", "guest-modules", NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        strstr(text, "fpb_balloon_faults") == NULL) {
        g_test_skip("the test guest has no fpb_balloon_faults.ko (no kernel headers)");
        return FALSE;
    }
    return TRUE;
}

static void set_stats_interval(FpbTestbedVm *vm)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, "path", json_object_new_string("/machine/peripheral/balloon0"));
    json_object_object_add(args, "property",
                           json_object_new_string("guest-stats-polling-interval"));
    json_object_object_add(args, "value", json_object_new_int(2));
    json_object_put(orch_qmp(fpb_testbed_vm_qmp_path(vm), "qom-set", args));
}

/* The end of each guest's console, for the log of a failed case. */
static void dump_serials(Bed *bed)
{
    FpbTestbedVm *vms[] = {bed->src, bed->dst};

    for (gsize i = 0; i < G_N_ELEMENTS(vms); i++) {
        g_autofree char *log = NULL;
        gsize len = 0;

        if (vms[i] != NULL &&
            g_file_get_contents(fpb_testbed_vm_serial_path(vms[i]), &log, &len, NULL)) {
            g_test_message("VM '%s' console (end):\n%s", fpb_testbed_vm_name(vms[i]),
                           log + (len > 4000 ? len - 4000 : 0));
        }
    }
}

static void bed_start(Bed *bed, const FpbTestbedGuest *g, gboolean with_dst)
{
    g_autoptr(GError) error = NULL;

    bed->tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    bed->src = fpb_testbed_start_source(bed->tb, "src", g, &error);
    g_assert_no_error(error);
    if (with_dst) {
        bed->dst = fpb_testbed_start_destination(bed->tb, "dst", g, FALSE, &error);
        g_assert_no_error(error);
    }
    if (!fpb_testbed_vm_wait_ready(bed->src, BOOT_TIMEOUT_S, &error)) {
        dump_serials(bed);
    }
    g_assert_no_error(error);
    /* fresh stats every 2 s, as a VM fpb watches has them */
    set_stats_interval(bed->src);
    g_usleep(5 * G_USEC_PER_SEC);
    bed->db = g_build_filename(fpb_testbed_dir(bed->tb), "journal.db", NULL);
}

static void bed_free(Bed *bed)
{
    g_clear_pointer(&bed->tb, fpb_testbed_free);
    g_clear_pointer(&bed->db, g_free);
    g_clear_pointer(&bed->append, g_free);
}

/* No OOM kill in the guest, on either host: the source's /init printed a
 * count of 0, and no console shows a higher one or the kernel's own
 * "Out of memory" line. */
static void assert_no_oom(Bed *bed)
{
    FpbTestbedVm *vms[] = {bed->src, bed->dst};
    g_autoptr(GRegex) killed = g_regex_new("oom_kill=[1-9]|Out of memory|oom-kill", 0, 0, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(vms); i++) {
        g_autofree char *log = NULL;

        if (vms[i] == NULL) {
            continue;
        }
        g_assert_true(g_file_get_contents(fpb_testbed_vm_serial_path(vms[i]), &log, NULL, NULL));
        if (vms[i] == bed->src) {
            g_assert_nonnull(strstr(log, "fpb-guest: oom_kill=0"));
        }
        if (g_regex_match(killed, log, 0, NULL)) {
            dump_serials(bed);
            g_error("VM '%s': the guest killed a process for memory (serial log '%s')",
                    fpb_testbed_vm_name(vms[i]), fpb_testbed_vm_serial_path(vms[i]));
        }
    }
}

/* The VM runs on @vm with all its memory, and its workload verifies every
 * page it holds (two passes that began after this call). */
static void assert_whole(FpbTestbedVm *vm)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) st = orch_qmp(fpb_testbed_vm_qmp_path(vm), "query-status", NULL);

    g_assert_cmpstr(orch_json_str(st, "status"), ==, "running");
    g_assert_true(fpb_testbed_vm_wait_verified(vm, 2, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_assert_cmpint(orch_balloon_actual(fpb_testbed_vm_qmp_path(vm)), ==, GUEST_MIB * MIB);
}

static json_object *migrate(Bed *bed, const char *mode, int expect_status)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    const char *to = bed->dst ? fpb_testbed_vm_incoming_uri(bed->dst) : "unix:/nonexistent";
    const char *base[] = {
        "migrate", "--qmp", fpb_testbed_vm_qmp_path(bed->src), "--to", to, "--mode", mode, "--db",
        bed->db,   "--json"};
    json_object *out;
    OrchRun r;

    for (gsize i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(args, (gpointer)base[i]);
    }
    if (bed->dst != NULL) {
        g_ptr_array_add(args, (gpointer) "--dest-qmp");
        g_ptr_array_add(args, (gpointer)fpb_testbed_vm_qmp_path(bed->dst));
    }
    g_ptr_array_add(args, NULL);
    orch_run_fpbctl((const char *const *)args->pdata, &r);
    g_test_message("fpbctl exit %d: %s", r.status, r.out);
    if (r.status != expect_status) {
        dump_serials(bed);
    }
    g_assert_cmpint(r.status, ==, expect_status);
    out = orch_parse_last_line(r.out);
    g_assert_nonnull(out);
    orch_run_clear(&r);
    return out;
}

/* The journal row says what the JSON said. */
static void assert_row(Bed *bed, json_object *out, const char *phase, const char *stopped)
{
    g_autoptr(FpbOutcome) row = orch_journal_row(bed->db, orch_json_int(out, "id"));

    g_assert_nonnull(row);
    g_assert_cmpstr(row->phase, ==, phase);
    g_assert_cmpstr(orch_json_str(out, "phase"), ==, phase);
    if (stopped != NULL) {
        g_assert_cmpstr(row->prep_stopped, ==, stopped);
        g_assert_cmpstr(orch_json_str(out, "prepare.stopped"), ==, stopped);
    }
}

static void print_prepare(json_object *out)
{
    g_test_message("prepare: %s, %.1f s, %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                   " MiB; restore %s on the %s in %.1f s",
                   orch_json_str(out, "prepare.stopped"), orch_json_num(out, "prepare.seconds"),
                   orch_json_int(out, "prepare.original_bytes") / MIB,
                   orch_json_int(out, "prepare.reached_bytes") / MIB,
                   orch_json_str(out, "restore.status"), orch_json_str(out, "restore.where"),
                   orch_json_num(out, "restore.seconds"));
}

/* The guest says it has 400 MiB more free memory than it has: the policy
 * aims past its last free page. The balloon stops where the guest ran out
 * and gives the margin back at once; the migration goes on with what was
 * taken. */
static void test_free_lie(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;

    if (!have_fault_driver()) {
        return;
    }
    scenario(&g, &bed, "free_lie", 400, 600, 128);
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, "balloon", 0);
    print_prepare(out);
    assert_no_oom(&bed);
    assert_row(&bed, out, "done", "guest-short");
    assert_whole(bed.dst);
    assert_no_oom(&bed);
    bed_free(&bed);
}

/* Every stats buffer repeats the first (at boot, before the workload took
 * 300 MiB): fresh in time, stale in content. As above. */
static void test_stats_frozen(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;

    if (!have_fault_driver()) {
        return;
    }
    scenario(&g, &bed, "stats_frozen", 0, 400, 300);
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, "balloon", 0);
    print_prepare(out);
    assert_no_oom(&bed);
    assert_row(&bed, out, "done", "guest-short");
    assert_whole(bed.dst);
    assert_no_oom(&bed);
    bed_free(&bed);
}

/* No stats buffer after the boot's first: QEMU's last-update stays at
 * boot. Under 30 s old the report counts as fresh (the policy's limit) and
 * the boot's free memory (before the workload held 300 MiB) sizes the
 * inflation: as above. Older, the balloon is refused as stale: nothing
 * done. Either way no OOM, and the VM whole. */
static void test_stats_silent(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;
    OrchRun r;

    if (!have_fault_driver()) {
        return;
    }
    scenario(&g, &bed, "stats_silent", 0, 400, 300);
    bed_start(&bed, &g, TRUE);
    const char *argv[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(bed.src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(bed.dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(bed.dst),
                          "--mode",
                          "balloon",
                          "--db",
                          bed.db,
                          "--json",
                          NULL};
    orch_run_fpbctl(argv, &r);
    g_test_message("fpbctl exit %d", r.status);
    out = orch_parse_last_line(r.out);
    g_assert_nonnull(out);
    print_prepare(out);
    assert_no_oom(&bed);
    if (r.status == 2) {
        g_assert_cmpstr(orch_json_str(out, "phase"), ==, "refused");
        g_assert_nonnull(strstr(orch_json_str(out, "error"), "stale"));
        assert_whole(bed.src);
    } else {
        g_assert_cmpint(r.status, ==, 0);
        assert_row(&bed, out, "done", "guest-short");
        assert_whole(bed.dst);
    }
    assert_no_oom(&bed);
    orch_run_clear(&r);
    bed_free(&bed);
}

/* The driver reports the target as reached and takes no page: QEMU still
 * holds the guest's memory. Not counted, not migrated, the source whole.
 * (A destination is there: without one the balloon is refused, no way to
 * give the memory back.) */
static void test_ack_no_pages(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;
    const char *error;

    if (!have_fault_driver()) {
        return;
    }
    scenario(&g, &bed, "ack_no_pages", 0, 600, 128);
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, "balloon", 1);
    print_prepare(out);
    assert_no_oom(&bed);
    assert_row(&bed, out, "failed", "not-given");
    error = orch_json_str(out, "error");
    g_test_message("error: %s", error);
    g_assert_nonnull(strstr(error, "does not answer the balloon"));
    g_assert_cmpstr(orch_json_str(out, "migration.status"), ==, "not-started");
    assert_whole(bed.src);
    assert_no_oom(&bed);
    bed_free(&bed);
}

/* The guest's hint report never sends its stop and ignores QEMU's: QEMU
 * ends each command at its next sync, the migration completes, and the
 * row shows reports but no finished round. */
static void test_hint_endless(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;
    g_autofree char *version = NULL;

    if (!have_fault_driver()) {
        return;
    }
    if (!fpb_testbed_qemu_has_tcg_dirty_fix(&version)) {
        fpb_testbed_skip_without_fixed_qemu("hints under TCG need the dirty-tracking fix");
        return;
    }
    scenario(&g, &bed, "hint_endless", 0, 600, 128);
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, "hint", 0);
    g_test_message(
        "hint reports %" G_GINT64_FORMAT ", finished rounds %" G_GINT64_FORMAT ", migration %.1f s",
        orch_json_int(out, "hint_stats.reports"), orch_json_int(out, "hint_stats.rounds"),
        (double)orch_json_int(out, "migration.total_ms") / 1000.0);
    assert_row(&bed, out, "done", NULL);
    g_assert_cmpstr(orch_json_str(out, "hints"), ==, "on");
    g_assert_cmpint(orch_json_int(out, "hint_stats.reports"), >, 0);
    g_assert_cmpint(orch_json_int(out, "hint_stats.rounds"), ==, 0);
    assert_whole(bed.dst);
    assert_no_oom(&bed);
    bed_free(&bed);
}

/* Honest stats until 300 MiB are in the balloon, then 16 MiB free (as if
 * its workload took its memory), the balloon still creeping on (no stall
 * to see): the inflation stops on the guest's first fresh report (2 s
 * polling), long before the 10 s budget, and gives the margin back. */
static void test_stats_jump(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;

    if (!have_fault_driver()) {
        return;
    }
    scenario(&g, &bed, "stats_jump", 300, 600, 128);
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, "balloon", 0);
    print_prepare(out);
    assert_no_oom(&bed);
    assert_row(&bed, out, "done", "guest-low");
    assert_whole(bed.dst);
    assert_no_oom(&bed);
    bed_free(&bed);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    orch_set_fpbctl(argc, argv);
    g_test_add_func("/guest-lies/free-lie", test_free_lie);
    g_test_add_func("/guest-lies/stats-frozen", test_stats_frozen);
    g_test_add_func("/guest-lies/stats-silent", test_stats_silent);
    g_test_add_func("/guest-lies/ack-no-pages", test_ack_no_pages);
    g_test_add_func("/guest-lies/hint-endless", test_hint_endless);
    g_test_add_func("/guest-lies/stats-jump", test_stats_jump);
    return g_test_run();
}
