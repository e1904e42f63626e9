/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults, each on real guests: an unreachable QMP socket, a destination that
 * does not listen, a destination killed mid-migration, a guest that does not
 * answer the balloon, a migration that does not converge within the timeout,
 * and fpbctl killed (-9) during inflation, repaired by `fpbctl recover` and
 * by the next run; a second fpbctl on a VM being migrated. Each ends with a clear error, the source
 * VM running with its original memory (verified by its own workload), and a journal row that says
 * what happened.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <glib/gstdio.h>
#include <unistd.h>

#include "fpb-testbed.h"
#include "orch-helpers.h"

#define BOOT_TIMEOUT_S 240
#define VERIFY_TIMEOUT_S 180
#define MIB (1024 * 1024)
#define GUEST_MIB 1024

static void scenario(FpbTestbedGuest *g)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = GUEST_MIB;
    g->free_mib = 600;
    g->hold_mib = 128;
    g->free_page_hint = TRUE;
    g->init_on_alloc = 0;
}

typedef struct {
    FpbTestbed *tb;
    FpbTestbedVm *src;
    FpbTestbedVm *dst;
    char *db;
} Bed;

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
    g_assert_true(fpb_testbed_vm_wait_ready(bed->src, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    bed->db = g_build_filename(fpb_testbed_dir(bed->tb), "journal.db", NULL);
}

static void bed_free(Bed *bed)
{
    g_clear_pointer(&bed->tb, fpb_testbed_free);
    g_clear_pointer(&bed->db, g_free);
}

/* The source still runs the guest, with all its memory, and its workload
 * still verifies every page. */
static void assert_source_intact(Bed *bed)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) st = orch_qmp(fpb_testbed_vm_qmp_path(bed->src), "query-status", NULL);

    g_assert_cmpstr(orch_json_str(st, "status"), ==, "running");
    g_assert_cmpint(orch_balloon_actual(fpb_testbed_vm_qmp_path(bed->src)), ==, GUEST_MIB * MIB);
    g_assert_true(fpb_testbed_vm_wait_verified(bed->src, 1, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
}

/* The journal row of the JSON outcome @out, checked against it. */
static FpbOutcome *assert_row(const char *db, json_object *out, const char *phase)
{
    FpbOutcome *row = orch_journal_row(db, orch_json_int(out, "id"));

    g_assert_nonnull(row);
    g_assert_cmpstr(row->phase, ==, phase);
    g_assert_cmpstr(orch_json_str(out, "phase"), ==, phase);
    g_assert_nonnull(row->error);
    g_assert_cmpstr(row->error, ==, orch_json_str(out, "error"));
    return row;
}

static json_object *migrate(Bed *bed, const char *to, const char *mode, const char *const *extra,
                            int expect_status)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
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
    for (gsize i = 0; extra != NULL && extra[i] != NULL; i++) {
        g_ptr_array_add(args, (gpointer)extra[i]);
    }
    g_ptr_array_add(args, NULL);
    orch_run_fpbctl((const char *const *)args->pdata, &r);
    g_assert_cmpint(r.status, ==, expect_status);
    out = orch_parse_last_line(r.out);
    g_assert_nonnull(out);
    orch_run_clear(&r);
    return out;
}

/* A stale socket file: bound once, nobody listens (QEMU not running). */
static void make_stale_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    close(fd);
}

static void test_unreachable(void)
{
    g_autofree char *dir = g_dir_make_tmp("fpb-orch-XXXXXX", NULL);
    g_autofree char *db = g_build_filename(dir, "journal.db", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing.qmp", NULL);
    g_autofree char *stale = g_build_filename(dir, "stale.qmp", NULL);
    const char *sockets[] = {missing, stale};

    make_stale_socket(stale);
    for (gsize i = 0; i < G_N_ELEMENTS(sockets); i++) {
        const char *args[] = {"migrate", "--qmp", sockets[i], "--to", "unix:/nonexistent",
                              "--db",    db,      "--json",   NULL};
        g_autoptr(json_object) out = NULL;
        g_autoptr(FpbOutcome) row = NULL;
        OrchRun r;

        orch_run_fpbctl(args, &r);
        g_assert_cmpint(r.status, ==, 2);
        g_assert_nonnull(strstr(r.err, "cannot reach the source QMP socket"));
        out = orch_parse_last_line(r.out);
        row = assert_row(db, out, "refused");
        g_assert_nonnull(strstr(row->error, sockets[i]));
        g_assert_null(row->mode);
        orch_run_clear(&r);
    }
    fpb_test_remove_tree(dir);
}

/* balloon mode, so the restore on the source is exercised too */
static void test_dest_not_listening(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autofree char *to = NULL;
    g_autoptr(json_object) out = NULL;
    g_autoptr(FpbOutcome) row = NULL;

    scenario(&g);
    bed_start(&bed, &g, TRUE);
    to = g_strdup_printf("unix:%s/nobody.migrate", fpb_testbed_dir(bed.tb));
    out = migrate(&bed, to, "balloon", NULL, 1);
    g_assert_cmpstr(orch_json_str(out, "migration.status"), ==, "failed");
    g_assert_nonnull(strstr(orch_json_str(out, "error"), "nobody.migrate"));
    g_assert_cmpstr(orch_json_str(out, "restore.where"), ==, "source");
    g_assert_cmpstr(orch_json_str(out, "restore.status"), ==, "done");
    row = assert_row(bed.db, out, "failed");
    g_assert_cmpstr(row->restore_status, ==, "done");
    assert_source_intact(&bed);
    bed_free(&bed);
}

/* Polls the journal until the newest row reaches @phase. */
static gint64 wait_phase(const char *db, const char *phase, guint timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < deadline) {
        g_autoptr(FpbJournal) j =
            g_file_test(db, G_FILE_TEST_EXISTS) ? fpb_journal_open(db, NULL) : NULL;
        g_autoptr(GPtrArray) rows = j ? fpb_journal_list(j, NULL, 1, NULL) : NULL;

        if (rows && rows->len == 1 &&
            g_strcmp0(((FpbOutcome *)rows->pdata[0])->phase, phase) == 0) {
            return ((FpbOutcome *)rows->pdata[0])->id;
        }
        g_usleep(20 * 1000);
    }
    g_error("journal '%s' did not reach phase '%s' within %u s", db, phase, timeout_s);
    return -1;
}

static void test_dest_killed(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(FpbOutcome) row = NULL;
    GPid pid;

    scenario(&g);
    bed_start(&bed, &g, TRUE);
    /* 20 MB/s: the migration lasts long enough to kill the destination. */
    const char *args[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(bed.src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(bed.dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(bed.dst),
                          "--mode",
                          "balloon",
                          "--max-bandwidth",
                          "20000000",
                          "--db",
                          bed.db,
                          "--json",
                          NULL};
    pid = orch_spawn_fpbctl(args, fpb_testbed_dir(bed.tb));
    gint64 id = wait_phase(bed.db, "migrating", 120);
    g_usleep(2 * G_USEC_PER_SEC);
    fpb_testbed_vm_kill(bed.dst);
    g_assert_cmpint(orch_wait(pid), ==, 1);
    row = orch_journal_row(bed.db, id);
    g_assert_cmpstr(row->phase, ==, "failed");
    g_assert_cmpstr(row->mig_status, ==, "failed");
    g_assert_nonnull(row->error);
    g_test_message("error: %s", row->error);
    g_assert_cmpstr(row->restore_where, ==, "source");
    g_assert_cmpstr(row->restore_status, ==, "done");
    assert_source_intact(&bed);
    bed_free(&bed);
}

/* A second fpbctl on the same VM while the first migrates it, through
 * another path to the same socket: refused before it touches the VM, its
 * error names the holder; the first one completes and the destination
 * verifies. */
static void test_second_caller(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) st = NULL;
    g_autofree char *alias = NULL;
    g_autofree char *holder = NULL;
    OrchRun r;
    GPid pid;

    scenario(&g);
    bed_start(&bed, &g, TRUE);
    alias = g_build_filename(fpb_testbed_dir(bed.tb), "same-vm.qmp", NULL);
    g_assert_cmpint(symlink(fpb_testbed_vm_qmp_path(bed.src), alias), ==, 0);
    const char *first[] = {"migrate",
                           "--qmp",
                           fpb_testbed_vm_qmp_path(bed.src),
                           "--dest-qmp",
                           fpb_testbed_vm_qmp_path(bed.dst),
                           "--to",
                           fpb_testbed_vm_incoming_uri(bed.dst),
                           "--mode",
                           "none",
                           "--max-bandwidth",
                           "40000000",
                           "--db",
                           bed.db,
                           "--json",
                           NULL};
    pid = orch_spawn_fpbctl(first, fpb_testbed_dir(bed.tb));
    wait_phase(bed.db, "migrating", 120);
    const char *second[] = {"migrate", "--qmp",   alias,  "--to", "unix:/nonexistent",
                            "--mode",  "balloon", "--db", bed.db, NULL};
    orch_run_fpbctl(second, &r);
    g_test_message("second caller: %s", r.err);
    g_assert_cmpint(r.status, ==, 2);
    holder = g_strdup_printf("is busy: pid %d (fpbctl migrate, since ", (int)pid);
    g_assert_nonnull(strstr(r.err, holder));
    g_assert_nonnull(strstr(r.err, "one migration per VM at a time, nothing done"));
    orch_run_clear(&r);
    /* (the source's monitor takes one client: the first fpbctl's) */
    g_assert_cmpint(orch_wait(pid), ==, 0);
    st = orch_qmp(fpb_testbed_vm_qmp_path(bed.dst), "query-status", NULL);
    g_assert_cmpstr(orch_json_str(st, "status"), ==, "running");
    g_assert_true(fpb_testbed_vm_wait_verified(bed.dst, 2, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_unlink(alias);
    bed_free(&bed);
}

/* A guest whose vCPUs are stopped never answers the balloon. Stats polling
 * is switched on first so the policy sees fresh stats and picks the balloon. */
static void test_guest_ignores_balloon(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;
    g_autoptr(FpbOutcome) row = NULL;
    g_autoptr(json_object) interval = json_object_new_object();

    scenario(&g);
    bed_start(&bed, &g, TRUE);
    json_object_object_add(interval, "path",
                           json_object_new_string("/machine/peripheral/balloon0"));
    json_object_object_add(interval, "property",
                           json_object_new_string("guest-stats-polling-interval"));
    json_object_object_add(interval, "value", json_object_new_int(2));
    json_object_put(orch_qmp(fpb_testbed_vm_qmp_path(bed.src), "qom-set", interval));
    g_usleep(5 * G_USEC_PER_SEC);
    json_object_put(orch_qmp(fpb_testbed_vm_qmp_path(bed.src), "stop", NULL));

    out = migrate(&bed, fpb_testbed_vm_incoming_uri(bed.dst), "balloon", NULL, 1);
    g_assert_cmpstr(orch_json_str(out, "prepare.stopped"), ==, "no-progress");
    g_assert_cmpstr(orch_json_str(out, "migration.status"), ==, "not-started");
    g_assert_nonnull(strstr(orch_json_str(out, "error"), "does not answer the balloon"));
    row = assert_row(bed.db, out, "failed");
    g_assert_cmpstr(row->prep_stopped, ==, "no-progress");
    json_object_put(orch_qmp(fpb_testbed_vm_qmp_path(bed.src), "cont", NULL));
    assert_source_intact(&bed);
    bed_free(&bed);
}

static void test_no_convergence(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(json_object) out = NULL;
    g_autoptr(FpbOutcome) row = NULL;
    const char *extra[] = {"--max-bandwidth", "5000000", "--timeout", "15", NULL};

    scenario(&g);
    g.dirty_mib = 128; /* rewritten faster than 5 MB/s can move it */
    g.dirty_rate_mibps = 64;
    bed_start(&bed, &g, TRUE);
    out = migrate(&bed, fpb_testbed_vm_incoming_uri(bed.dst), "none", extra, 1);
    g_assert_cmpstr(orch_json_str(out, "migration.status"), ==, "cancelled");
    g_assert_nonnull(strstr(orch_json_str(out, "error"), "did not complete within 15 s"));
    row = assert_row(bed.db, out, "failed");
    g_assert_cmpstr(row->mig_status, ==, "cancelled");
    assert_source_intact(&bed);
    bed_free(&bed);
}

/* Starts a balloon migration and kills fpbctl -9 while it inflates.
 * Returns the abandoned row's id; the guest is then (being) inflated. */
static gint64 kill_during_inflation(Bed *bed)
{
    const char *args[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(bed->src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(bed->dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(bed->dst),
                          "--mode",
                          "balloon",
                          "--db",
                          bed->db,
                          "--json",
                          NULL};
    GPid pid = orch_spawn_fpbctl(args, fpb_testbed_dir(bed->tb));
    gint64 id = wait_phase(bed->db, "preparing", 120);

    g_usleep(300 * 1000);
    kill(pid, SIGKILL);
    g_assert_cmpint(orch_wait(pid), ==, -1);
    /* The guest keeps inflating toward the target without fpbctl. */
    g_assert_cmpint(orch_balloon_actual(fpb_testbed_vm_qmp_path(bed->src)), <, GUEST_MIB * MIB);
    return id;
}

static void kill_scenario(FpbTestbedGuest *g)
{
    scenario(g);
    g->free_mib = 800; /* more to inflate: a wider window for the kill */
    g->hold_mib = 64;
}

static void test_kill_then_recover(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(FpbOutcome) row = NULL;
    OrchRun r;

    kill_scenario(&g);
    bed_start(&bed, &g, TRUE);
    gint64 id = kill_during_inflation(&bed);
    const char *args[] = {"recover", "--qmp", fpb_testbed_vm_qmp_path(bed.src),
                          "--db",    bed.db,  NULL};
    orch_run_fpbctl(args, &r);
    g_test_message("recover: %s", r.out);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "died during phase 'preparing'"));
    row = orch_journal_row(bed.db, id);
    g_assert_cmpstr(row->phase, ==, "recovered");
    g_assert_cmpstr(row->restore_where, ==, "source");
    g_assert_cmpstr(row->restore_status, ==, "done");
    assert_source_intact(&bed);
    orch_run_clear(&r);
    bed_free(&bed);
}

static void test_kill_then_next_run(void)
{
    Bed bed = {0};
    FpbTestbedGuest g;
    g_autoptr(FpbOutcome) row = NULL;
    g_autoptr(json_object) out = NULL;
    g_autoptr(GError) error = NULL;

    kill_scenario(&g);
    bed_start(&bed, &g, TRUE);
    gint64 id = kill_during_inflation(&bed);
    /* The next run against the VM repairs the row first, then migrates. */
    out = migrate(&bed, fpb_testbed_vm_incoming_uri(bed.dst), "none", NULL, 0);
    row = orch_journal_row(bed.db, id);
    g_assert_cmpstr(row->phase, ==, "recovered");
    g_assert_cmpstr(row->restore_status, ==, "done");
    g_assert_cmpstr(orch_json_str(out, "phase"), ==, "done");
    g_assert_cmpint(orch_json_int(out, "prepare.original_bytes"), ==, GUEST_MIB * MIB);
    g_assert_true(fpb_testbed_vm_wait_verified(bed.dst, 2, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_assert_cmpint(orch_balloon_actual(fpb_testbed_vm_qmp_path(bed.dst)), ==, GUEST_MIB * MIB);
    bed_free(&bed);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    orch_set_fpbctl(argc, argv);
    g_test_add_func("/orchestrator/fault/unreachable-socket", test_unreachable);
    g_test_add_func("/orchestrator/fault/dest-not-listening", test_dest_not_listening);
    g_test_add_func("/orchestrator/fault/dest-killed", test_dest_killed);
    g_test_add_func("/orchestrator/fault/second-caller", test_second_caller);
    g_test_add_func("/orchestrator/fault/guest-ignores-balloon", test_guest_ignores_balloon);
    g_test_add_func("/orchestrator/fault/no-convergence", test_no_convergence);
    g_test_add_func("/orchestrator/crash/kill-then-recover", test_kill_then_recover);
    g_test_add_func("/orchestrator/crash/kill-then-next-run", test_kill_then_next_run);
    return g_test_run();
}
