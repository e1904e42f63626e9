/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <sys/wait.h>

#include "bench-run.h"
#include "fpb-testbed.h"
#include "orch-helpers.h"

#define MIB (1024.0 * 1024.0)
#define READY_TIMEOUT_S 600
#define VERIFY_TIMEOUT_S 300

static const BenchScenario scenarios[] = {
    {"idle-free", "wrote 70% of RAM and freed it, holds 10%, idle", 70, 0, 10, 0, 0},
    {"writer", "wrote and freed 30%, holds 10%, rewrites 12% at 32 MiB/s", 30, 0, 10, 12, 32},
    {"fragmented", "wrote 60%, freed every other page, holds 10%", 0, 60, 10, 0, 0},
    {"low-free", "wrote and freed 10%, holds 70%", 10, 0, 70, 0, 0},
    {"fresh", "freshly booted, holds 5% (free memory already zero)", 0, 0, 5, 0, 0},
};

static const BenchMode modes[] = {
    {"none", "none", NULL},
    {"hint-stock", "hint", "stock"},
    {"hint-fpb", "hint", "fpb"},
    {"balloon", "balloon", NULL},
    {"hint+balloon", "hint+balloon", NULL},
    {"auto", "auto", NULL},
};

const BenchScenario *bench_scenarios(gsize *ret_n)
{
    *ret_n = G_N_ELEMENTS(scenarios);
    return scenarios;
}

const BenchScenario *bench_scenario_find(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        if (g_str_equal(scenarios[i].name, name)) {
            return &scenarios[i];
        }
    }
    return NULL;
}

const BenchMode *bench_modes(gsize *ret_n)
{
    *ret_n = G_N_ELEMENTS(modes);
    return modes;
}

const BenchMode *bench_mode_find(const char *label)
{
    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (g_str_equal(modes[i].label, label)) {
            return &modes[i];
        }
    }
    return NULL;
}

BenchRun *bench_run_new(const char *scenario, const char *mode, const char *driver, const char *vm,
                        gint64 bandwidth, guint rep, gboolean calibration)
{
    BenchRun *run = g_new0(BenchRun, 1);

    run->scenario = g_strdup(scenario);
    run->mode = g_strdup(mode);
    run->driver = g_strdup(driver);
    run->vm = g_strdup(vm);
    run->bandwidth = bandwidth;
    run->rep = rep;
    run->calibration = calibration;
    run->status = g_strdup("failed");
    /* every number starts unknown */
    run->history_migrations = run->bytes = run->normal_pages = run->zero_pages = -1;
    run->syncs = run->downtime_ms = -1;
    run->prep_s = run->mig_s = run->restore_s = run->total_s = -1;
    run->taken_bytes = run->impact_mib_s = -1;
    run->hint_reported_bytes = run->hint_cleared_bytes = -1;
    run->pred_bytes = run->pred_prep_s = run->pred_mig_s = run->pred_restore_s = -1;
    run->pred_total_s = run->pred_impact_mib_s = run->wall_s = -1;
    return run;
}

void bench_run_free(BenchRun *run)
{
    if (run == NULL) {
        return;
    }
    g_free(run->scenario);
    g_free(run->mode);
    g_free(run->driver);
    g_free(run->vm);
    g_free(run->status);
    g_free(run->reason);
    g_free(run->decided);
    g_free(run->qemu_version);
    g_free(run);
}

static void set_status(BenchRun *run, const char *status, const char *reason)
{
    g_free(run->status);
    run->status = g_strdup(status);
    g_free(run->reason);
    run->reason = reason ? g_strdup(reason) : NULL;
}

static void scenario_guest(const BenchSetup *setup, const BenchRun *run, FpbTestbedGuest *g)
{
    const BenchScenario *s = bench_scenario_find(run->scenario);
    guint m = setup->mem_mib;

    g_assert(s != NULL);
    fpb_testbed_guest_init(g);
    g->mem_mib = m;
    g->free_page_hint = TRUE; /* one device model for every mode */
    g->init_on_alloc = setup->init_on_alloc;
    g->balloon_driver = run->driver;
    g->free_mib = m * s->free_pct / 100;
    g->frag_mib = m * s->frag_pct / 100;
    g->hold_mib = MAX(m * s->hold_pct / 100, 16);
    g->dirty_mib = m * s->dirty_pct / 100;
    if (s->dirty_rate_mibps > 0) {
        g->dirty_rate_mibps = s->dirty_rate_mibps;
    }
}

/* The prediction of the decided mode (or of the forced one). */
static double predicted(json_object *o, const char *mode, const char *field)
{
    g_autofree char *path = g_strdup_printf("predictions.%s.%s", mode, field);

    return orch_json_num(o, path);
}

static void take_predictions(BenchRun *run, json_object *o, const char *mode)
{
    double impact = predicted(o, mode, "guest_impact_byte_seconds");

    run->pred_bytes = predicted(o, mode, "bytes");
    run->pred_prep_s = predicted(o, mode, "prep_seconds");
    run->pred_mig_s = predicted(o, mode, "migrate_seconds");
    run->pred_restore_s = predicted(o, mode, "restore_seconds");
    run->pred_total_s = predicted(o, mode, "total_seconds");
    run->pred_impact_mib_s = impact < 0 ? -1 : impact / MIB;
}

static void take_outcome(BenchRun *run, json_object *o)
{
    const char *decided = orch_json_str(o, "decision.mode");
    const char *requested = orch_json_str(o, "requested_mode");
    double orig = orch_json_num(o, "prepare.original_bytes"),
           reached = orch_json_num(o, "prepare.reached_bytes");

    run->decided = g_strdup(decided);
    run->qemu_version = g_strdup(orch_json_str(o, "qemu_version"));
    run->history_migrations = orch_json_num(o, "facts.history.migrations");
    take_predictions(run, o, decided ? decided : requested ? requested : "none");
    run->bytes = orch_json_num(o, "migration.transferred_bytes");
    run->normal_pages = orch_json_num(o, "migration.normal_pages");
    run->zero_pages = orch_json_num(o, "migration.zero_pages");
    run->hint_reported_bytes = orch_json_num(o, "hint_stats.reported_bytes");
    run->hint_cleared_bytes = orch_json_num(o, "hint_stats.cleared_bytes");
    run->syncs = orch_json_num(o, "migration.dirty_sync_count");
    run->downtime_ms = orch_json_num(o, "migration.downtime_ms");
    run->prep_s = MAX(orch_json_num(o, "prepare.seconds"), 0);
    run->restore_s = MAX(orch_json_num(o, "restore.seconds"), 0);
    run->mig_s = orch_json_num(o, "migration.total_ms") < 0
                     ? -1
                     : orch_json_num(o, "migration.total_ms") / 1000;
    run->total_s = run->mig_s < 0 ? -1 : run->prep_s + run->mig_s + run->restore_s;
    /* Memory the balloon took, as the cost model counts it: ramps during
     * inflation and deflation, all of it while migrating. */
    run->taken_bytes = orig > 0 && reached > 0 && orig > reached ? orig - reached : 0;
    run->impact_mib_s =
        run->mig_s < 0
            ? -1
            : run->taken_bytes * (run->prep_s / 2 + run->mig_s + run->restore_s / 2) / MIB;
}

static void append_log(const char *path, const BenchRun *run, const char *text)
{
    FILE *f = fopen(path, "a");

    if (f == NULL) {
        return;
    }
    fprintf(f, "=== %s %s bw=%" G_GINT64_FORMAT " rep=%u%s\n%s", run->scenario, run->mode,
            run->bandwidth, run->rep, run->calibration ? " (calibration)" : "", text ? text : "");
    fclose(f);
}

/* Runs fpbctl; returns its exit status (-1: killed or not started). */
static int run_fpbctl(const BenchSetup *setup, const BenchRun *run, const char *const *args,
                      char **ret_out, char **ret_err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_ptr_array_add(argv, (gpointer)setup->fpbctl);
    for (gsize i = 0; args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, ret_out,
                      ret_err, &status, &error)) {
        *ret_err = g_strdup(error->message);
        return -1;
    }
    append_log(setup->log_path, run, *ret_err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static gboolean boot_pair(const BenchSetup *setup, const BenchRun *run, FpbTestbed *tb,
                          FpbTestbedVm **ret_src, FpbTestbedVm **ret_dst, GError **error)
{
    FpbTestbedGuest g;

    scenario_guest(setup, run, &g);
    *ret_src = fpb_testbed_start_source(tb, "src", &g, error);
    *ret_dst = *ret_src ? fpb_testbed_start_destination(tb, "dst", &g, FALSE, error) : NULL;
    return *ret_dst != NULL && fpb_testbed_vm_wait_ready(*ret_src, READY_TIMEOUT_S, error);
}

/* The last non-empty line of fpbctl's stderr: its one-line error. */
static char *last_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    const char *last = "";

    for (char **l = lines; *l != NULL; l++) {
        if (**l != '\0') {
            last = *l;
        }
    }
    return g_strdup(last);
}

static void migrate(const BenchSetup *setup, BenchRun *run, FpbTestbedVm *src, FpbTestbedVm *dst)
{
    g_autofree char *bw = g_strdup_printf(
        "%" G_GINT64_FORMAT, run->bandwidth > 0 ? run->bandwidth : G_GINT64_CONSTANT(100000000000));
    g_autofree char *timeout = g_strdup_printf("%u", setup->timeout_s);
    const BenchMode *m = bench_mode_find(run->mode);
    const char *args[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(dst),
                          "--mode",
                          m->fpbctl_mode,
                          "--db",
                          setup->db,
                          "--name",
                          run->vm,
                          "--guest-driver",
                          run->driver,
                          "--max-bandwidth",
                          bw,
                          "--timeout",
                          timeout,
                          "--json",
                          NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status = run_fpbctl(setup, run, args, &out, &err);
    g_autoptr(json_object) o = orch_parse_last_line(out);
    const char *error = orch_json_str(o, "error");
    g_autofree char *why = error ? g_strdup(error) : last_line(err);

    if (o != NULL) {
        take_outcome(run, o);
    }
    if (status == 0) {
        set_status(run, "ok", NULL);
    } else {
        set_status(run, status == 2 ? "refused" : "failed", why);
    }
    if (g_strcmp0(orch_json_str(o, "migration.status"), "completed") != 0) {
        return;
    }
    g_autoptr(GError) verr = NULL;
    run->verified =
        fpb_testbed_vm_wait_verified(dst, setup->verify_passes, VERIFY_TIMEOUT_S, &verr);
    if (!run->verified) {
        gboolean broken = g_error_matches(verr, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED) ||
                          g_error_matches(verr, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED);
        g_auto(GStrv) lines = g_strsplit(verr->message, "\n", 2);
        set_status(run, broken ? "corrupted" : "unverified", lines[0]);
    }
}

void bench_run_execute(const BenchSetup *setup, BenchRun *run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = NULL;
    FpbTestbedVm *src = NULL, *dst = NULL;
    gint64 start = g_get_monotonic_time();

    if (g_str_equal(run->driver, "fpb") && !setup->guest_has_fpb_driver) {
        set_status(run, "skipped", "the test guest has no fpb_balloon.ko");
        return;
    }
    tb = fpb_testbed_new(&error);
    if (tb == NULL || !boot_pair(setup, run, tb, &src, &dst, &error)) {
        g_auto(GStrv) lines = g_strsplit(error->message, "\n", 2);
        set_status(run, "failed", lines[0]);
        return;
    }
    migrate(setup, run, src, dst);
    run->wall_s = (g_get_monotonic_time() - start) / 1e6;
}
