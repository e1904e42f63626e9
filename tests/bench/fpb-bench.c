/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-bench: the benchmark matrix of issue 9. Every scenario × every
 * bandwidth × every mode, on test-bed guests (TCG), one guest pair at a
 * time, each migration done by `fpbctl migrate --json` (as
 * tests/orchestrator/fpb-orch-demo.c does) and each destination verified by
 * the guest's own workload. Before the first run of each VM (scenario,
 * bandwidth, guest driver) one calibration migration (auto, or the mode of
 * --calibrate-mode) feeds fpbctl's per-VM history in the run's own journal,
 * so the predictions judged are calibrated ones.
 *
 * Writes OUTPUT/{runs.csv,runs.json,medians.md,chart.svg} after every run
 * (a cut-short run leaves what it had), fpbctl's stderr in
 * OUTPUT/fpbctl.log, its journal in OUTPUT/journal.db (started afresh), and
 * prints the derived figures at the end. docs/benchmarks.md tells how to
 * run it. Exit status: 0 when no destination failed to verify, 1 otherwise,
 * 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench-report.h"
#include "bench-run.h"
#include "bench-svg.h"
#include "fpb-qmp-json.h"
#include "fpb-testbed.h"

typedef struct {
    char *fpbctl, *qemu, *output, *scenarios, *modes, *bandwidths, *driver, *calibrate_mode;
    int reps, mem_mib, verify_passes, timeout_s, init_on_alloc;
    gboolean no_calibrate;
} Options;

static Options opt = {
    .reps = 1,
    .mem_mib = 1024,
    .verify_passes = 1,
    .timeout_s = 300,
    .init_on_alloc = -1,
};

static const GOptionEntry entries[] = {
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &opt.qemu,
     "QEMU binary for the guests (sets FPB_QEMU; default: FPB_QEMU, else fpb's QEMU package, "
     "else qemu-system-x86_64)",
     "PATH"},
    {"scenarios", 0, 0, G_OPTION_ARG_STRING, &opt.scenarios,
     "Comma-separated: idle-free,writer,fragmented,low-free,fresh (default all)", "LIST"},
    {"modes", 0, 0, G_OPTION_ARG_STRING, &opt.modes,
     "Comma-separated: none,hint-stock,hint-fpb,balloon,hint+balloon,auto (default all)", "LIST"},
    {"reps", 0, 0, G_OPTION_ARG_INT, &opt.reps, "Repetitions of each mode (default 1)", "N"},
    {"mem", 0, 0, G_OPTION_ARG_INT, &opt.mem_mib, "Guest RAM in MiB (default 1024)", "MIB"},
    {"bandwidths", 0, 0, G_OPTION_ARG_STRING, &opt.bandwidths,
     "Comma-separated caps in MB/s, 'unlimited' for none (default unlimited,125)", "LIST"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output,
     "Output directory (default bench-results)", "DIR"},
    {"driver", 0, 0, G_OPTION_ARG_STRING, &opt.driver,
     "Guest driver of none, balloon, hint+balloon and auto: fpb or stock (default fpb when the "
     "guest has it)",
     "KIND"},
    {"init-on-alloc", 0, 0, G_OPTION_ARG_INT, &opt.init_on_alloc,
     "Guest init_on_alloc: 0, 1, or -1 for the kernel's default (default -1, i.e. 1 on Debian)",
     "N"},
    {"no-calibrate", 0, 0, G_OPTION_ARG_NONE, &opt.no_calibrate,
     "No calibration migration before each VM's first run", NULL},
    {"calibrate-mode", 0, 0, G_OPTION_ARG_STRING, &opt.calibrate_mode,
     "Mode of the calibration migrations: auto, none, balloon or hint+balloon (default auto; "
     "only none and balloon show the model the zero share of free memory)",
     "MODE"},
    {"verify-passes", 0, 0, G_OPTION_ARG_INT, &opt.verify_passes,
     "Verification passes each destination must finish (default 1)", "N"},
    {"timeout", 0, 0, G_OPTION_ARG_INT, &opt.timeout_s,
     "fpbctl --timeout: cancel a migration after this long (default 300)", "S"},
    {"fpbctl", 0, 0, G_OPTION_ARG_FILENAME, &opt.fpbctl, "fpbctl to run (default: the built one)",
     "PATH"},
    G_OPTION_ENTRY_NULL,
};

/* The first line a command prints, or "" (for the record only). */
static char *first_line_of(const char *const *argv)
{
    g_autofree char *out = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, &out, NULL, NULL, NULL)) {
        return g_strdup("");
    }
    g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", 2);
    return g_strdup(lines[0] ? lines[0] : "");
}

static gboolean guest_has_fpb_driver(void)
{
    g_autofree char *path = g_build_filename(g_getenv("FPB_GUEST_DIR"), "guest-modules", NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return FALSE;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        if (g_str_equal(g_strstrip(*l), "fpb_balloon")) {
            return TRUE;
        }
    }
    return FALSE;
}

static GStrv split_list(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    for (char **p = parts; *p != NULL; p++) {
        if (*g_strstrip(*p) != '\0') {
            g_strv_builder_add(b, *p);
        }
    }
    return g_strv_builder_end(b);
}

static GStrv all_names(gboolean scenarios)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    gsize n = 0;

    if (scenarios) {
        const BenchScenario *s = bench_scenarios(&n);
        for (gsize i = 0; i < n; i++) {
            g_strv_builder_add(b, s[i].name);
        }
    } else {
        const BenchMode *m = bench_modes(&n);
        for (gsize i = 0; i < n; i++) {
            g_strv_builder_add(b, m[i].label);
        }
    }
    return g_strv_builder_end(b);
}

/* "unlimited" -> 0, "125" -> 125e6 bytes/s; FALSE on anything else. */
static gboolean parse_bandwidths(const char *text, GArray *ret, GError **error)
{
    g_auto(GStrv) parts = split_list(text);

    for (char **p = parts; *p != NULL; p++) {
        gint64 bw = 0;
        guint64 mbps = 0;
        if (!g_str_equal(*p, "unlimited")) {
            if (!g_ascii_string_to_unsigned(*p, 10, 1, 1000000, &mbps, NULL)) {
                g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--bandwidths: '%s' is neither 'unlimited' nor MB/s (1..1000000)", *p);
                return FALSE;
            }
            bw = (gint64)mbps * 1000000;
        }
        g_array_append_val(ret, bw);
    }
    return ret->len > 0;
}

static gboolean check_names(GStrv names, gboolean scenarios, GError **error)
{
    for (char **n = names; *n != NULL; n++) {
        if (scenarios ? bench_scenario_find(*n) == NULL : bench_mode_find(*n) == NULL) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: unknown '%s'",
                        scenarios ? "scenarios" : "modes", *n);
            return FALSE;
        }
    }
    return names[0] != NULL;
}

static char *read_first(const char *path, const char *prefix)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return g_strdup("");
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        if (prefix == NULL || g_str_has_prefix(*l, prefix)) {
            const char *colon = prefix ? strchr(*l, ':') : NULL;
            return g_strstrip(g_strdup(colon ? colon + 1 : *l));
        }
    }
    return g_strdup("");
}

static json_object *host_json(void)
{
    json_object *h = json_object_new_object();
    struct utsname u;
    g_autofree char *cpu = read_first("/proc/cpuinfo", "model name");
    g_autofree char *mem = read_first("/proc/meminfo", "MemTotal");
    g_autofree char *load = read_first("/proc/loadavg", NULL);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format_iso8601(now);

    json_object_object_add(h, "kernel", json_object_new_string(uname(&u) == 0 ? u.release : ""));
    json_object_object_add(h, "cpu", json_object_new_string(cpu));
    json_object_object_add(h, "cpus", json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_object_add(h, "memory", json_object_new_string(mem));
    json_object_object_add(h, "loadavg", json_object_new_string(load));
    json_object_object_add(h, "date", json_object_new_string(date));
    return h;
}

static json_object *meta_json(const char *qemu_version, gboolean has_fpb)
{
    json_object *m = json_object_new_object();
    g_autofree char *qemu = fpb_testbed_qemu_binary(NULL);
    const char *git[] = {"git",     "-C", FPB_BENCH_SOURCE_ROOT, "describe", "--always",
                         "--dirty", NULL};
    g_autofree char *commit = first_line_of(git);

    json_object_object_add(m, "qemu", json_object_new_string(qemu ? qemu : "none"));
    json_object_object_add(m, "qemu_version", json_object_new_string(qemu_version));
    json_object_object_add(m, "fpb_commit", json_object_new_string(commit));
    json_object_object_add(m, "guest_mem_mib", json_object_new_int(opt.mem_mib));
    json_object_object_add(m, "guest_has_fpb_driver", json_object_new_boolean(has_fpb));
    json_object_object_add(m, "default_driver", json_object_new_string(opt.driver));
    json_object_object_add(m, "init_on_alloc", json_object_new_int(opt.init_on_alloc));
    json_object_object_add(m, "reps", json_object_new_int(opt.reps));
    json_object_object_add(m, "calibrate", json_object_new_boolean(!opt.no_calibrate));
    json_object_object_add(m, "calibrate_mode", json_object_new_string(opt.calibrate_mode));
    json_object_object_add(m, "verify_passes", json_object_new_int(opt.verify_passes));
    json_object_object_add(m, "host", host_json());
    return m;
}

static char *subtitle(json_object *meta)
{
    json_object *q = NULL, *h = NULL, *d = NULL;

    json_object_object_get_ex(meta, "qemu_version", &q);
    json_object_object_get_ex(meta, "host", &h);
    json_object_object_get_ex(h, "date", &d);
    return g_strdup_printf("%d MiB TCG guests, %d repetition(s), %s, %s", opt.mem_mib, opt.reps,
                           json_object_get_string(q), json_object_get_string(d));
}

static void write_outputs(GPtrArray *runs, json_object *meta)
{
    g_autoptr(GPtrArray) cells = bench_report_cells(runs);
    g_autoptr(GError) error = NULL;
    g_autofree char *csv = g_build_filename(opt.output, "runs.csv", NULL);
    g_autofree char *json = g_build_filename(opt.output, "runs.json", NULL);
    g_autofree char *md_path = g_build_filename(opt.output, "medians.md", NULL);
    g_autofree char *svg_path = g_build_filename(opt.output, "chart.svg", NULL);
    g_autofree char *md = bench_report_markdown(cells, runs);
    g_autofree char *sub = subtitle(meta);
    g_autofree char *svg = bench_svg_chart(cells, sub);

    if (!bench_report_write_csv(runs, csv, &error) ||
        !bench_report_write_json(runs, meta, json, &error) ||
        !g_file_set_contents(md_path, md, -1, &error) ||
        !g_file_set_contents(svg_path, svg, -1, &error)) {
        g_printerr("fpb-bench: cannot write the results: %s\n", error->message);
    }
}

typedef struct {
    BenchSetup setup;
    GPtrArray *runs;        /* BenchRun* */
    GHashTable *calibrated; /* VM names */
    json_object *meta;
} Bench;

static void print_run(const BenchRun *r)
{
    g_autofree char *bw = bench_report_bandwidth_label(r->bandwidth);
    g_autofree char *got = r->total_s < 0 ? g_strdup("")
                                          : g_strdup_printf(" -> %s %.0f MB %.1f s (predicted "
                                                            "%.0f MB %.1f s)",
                                                            r->decided, r->bytes / 1e6, r->total_s,
                                                            r->pred_bytes / 1e6, r->pred_total_s);

    printf("%-10s %-9s %-12s%s rep %u: %s%s%s%s\n", r->scenario, bw, r->mode,
           r->calibration ? " (calibration)" : "", r->rep, r->status, got, r->reason ? ": " : "",
           r->reason ? r->reason : "");
    fflush(stdout);
}

static void run_one(Bench *b, BenchRun *run)
{
    bench_run_execute(&b->setup, run);
    print_run(run);
    g_ptr_array_add(b->runs, run);
    write_outputs(b->runs, b->meta);
}

static void run_mode(Bench *b, const char *scenario, gint64 bw, const BenchMode *m, guint rep)
{
    const char *driver = m->driver ? m->driver : b->setup.default_driver;
    g_autofree char *bwl = bench_report_bandwidth_label(bw);
    g_autofree char *vm = g_strdup_printf("bench-%s-%s-%s", scenario, bwl, driver);

    g_strdelimit(vm, " /", '-');
    if (!opt.no_calibrate && !g_hash_table_contains(b->calibrated, vm) &&
        (!g_str_equal(driver, "fpb") || b->setup.guest_has_fpb_driver)) {
        g_hash_table_add(b->calibrated, g_strdup(vm));
        run_one(b, bench_run_new(scenario, opt.calibrate_mode, driver, vm, bw, 0, TRUE));
    }
    run_one(b, bench_run_new(scenario, m->label, driver, vm, bw, rep, FALSE));
}

static void run_matrix(Bench *b, GStrv scenarios, GStrv modes, GArray *bandwidths)
{
    for (char **s = scenarios; *s != NULL; s++) {
        for (guint i = 0; i < bandwidths->len; i++) {
            for (int rep = 1; rep <= opt.reps; rep++) {
                for (char **m = modes; *m != NULL; m++) {
                    run_mode(b, *s, g_array_index(bandwidths, gint64, i), bench_mode_find(*m),
                             (guint)rep);
                }
            }
        }
    }
}

static void fresh_output(void)
{
    const char *files[] = {"journal.db", "journal.db-wal", "journal.db-shm", "fpbctl.log"};

    g_mkdir_with_parents(opt.output, 0755);
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *p = g_build_filename(opt.output, files[i], NULL);
        unlink(p);
    }
}

/* Writes the final outputs, prints the derived figures, frees @b; returns
 * the exit status. */
static int finish(Bench *b)
{
    g_autofree char *load_end = read_first("/proc/loadavg", NULL);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date_end = g_date_time_format_iso8601(now);
    gboolean bad = FALSE;

    json_object_object_add(b->meta, "loadavg_end", json_object_new_string(load_end));
    json_object_object_add(b->meta, "date_end", json_object_new_string(date_end));
    write_outputs(b->runs, b->meta);
    g_autoptr(GPtrArray) cells = bench_report_cells(b->runs);
    g_autofree char *derived = bench_report_derived(cells, b->runs);
    /* stdio, not g_print: the tables are UTF-8 whatever the locale */
    printf("\n=== derived figures ===\n%s", derived);
    for (guint i = 0; i < b->runs->len; i++) {
        BenchRun *r = b->runs->pdata[i];
        bad = bad || g_str_equal(r->status, "corrupted") || g_str_equal(r->status, "unverified");
    }
    g_ptr_array_unref(b->runs);
    g_hash_table_unref(b->calibrated);
    json_object_put(b->meta);
    return bad ? 1 : 0;
}

/* The calibration runs on the VM's own driver: the modes that name a
 * driver (hint-stock, hint-fpb) would change it. */
static gboolean calibrate_mode_valid(const char *label)
{
    const BenchMode *m = bench_mode_find(label);

    return m != NULL && m->driver == NULL;
}

static gboolean parse_options(int *argc, char ***argv, GError **error)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("- fpb's benchmark matrix");

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, argc, argv, error)) {
        return FALSE;
    }
    opt.calibrate_mode = opt.calibrate_mode ? opt.calibrate_mode : g_strdup("auto");
    if (opt.reps < 1 || opt.mem_mib < 256 || opt.verify_passes < 1 || opt.timeout_s < 10 ||
        opt.init_on_alloc < -1 || opt.init_on_alloc > 1 ||
        (opt.driver && !g_str_equal(opt.driver, "fpb") && !g_str_equal(opt.driver, "stock")) ||
        !calibrate_mode_valid(opt.calibrate_mode)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "bad value: need --reps >= 1, --mem >= 256, --verify-passes >= 1, "
                    "--timeout >= 10, --init-on-alloc -1|0|1, --driver fpb|stock, "
                    "--calibrate-mode auto|none|balloon|hint+balloon");
        return FALSE;
    }
    if (opt.qemu) {
        g_setenv("FPB_QEMU", opt.qemu, TRUE);
    }
    /* Defaults from the build, so the built program runs as it is. */
    g_setenv("FPB_GUEST_DIR", FPB_BENCH_GUEST_DIR, FALSE);
    opt.fpbctl = opt.fpbctl ? opt.fpbctl : g_strdup(FPB_BENCH_FPBCTL);
    opt.output = opt.output ? opt.output : g_strdup("bench-results");
    return TRUE;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) bandwidths = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_auto(GStrv) scenarios = NULL, modes = NULL;

    if (!parse_options(&argc, &argv, &error) ||
        !check_names(scenarios = opt.scenarios ? split_list(opt.scenarios) : all_names(TRUE), TRUE,
                     &error) ||
        !check_names(modes = opt.modes ? split_list(opt.modes) : all_names(FALSE), FALSE, &error) ||
        !parse_bandwidths(opt.bandwidths ? opt.bandwidths : "unlimited,125", bandwidths, &error)) {
        g_printerr("fpb-bench: %s\n", error ? error->message : "nothing to run");
        return 2;
    }
    gboolean has_fpb = guest_has_fpb_driver();
    g_autofree char *qemu = fpb_testbed_qemu_binary(&error);
    if (!qemu) {
        g_printerr("fpb-bench: %s\n", error->message);
        return 2;
    }
    const char *qv_argv[] = {qemu, "--version", NULL};
    g_autofree char *qemu_version = first_line_of(qv_argv);
    opt.driver = opt.driver ? opt.driver : g_strdup(has_fpb ? "fpb" : "stock");
    fresh_output();
    g_autofree char *db = g_build_filename(opt.output, "journal.db", NULL);
    g_autofree char *log = g_build_filename(opt.output, "fpbctl.log", NULL);
    Bench b = {
        .setup = {.fpbctl = opt.fpbctl,
                  .db = db,
                  .log_path = log,
                  .mem_mib = (guint)opt.mem_mib,
                  .init_on_alloc = opt.init_on_alloc,
                  .default_driver = opt.driver,
                  .guest_has_fpb_driver = has_fpb,
                  .verify_passes = (guint)opt.verify_passes,
                  .timeout_s = (guint)opt.timeout_s},
        .runs = g_ptr_array_new_with_free_func((GDestroyNotify)bench_run_free),
        .calibrated = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .meta = meta_json(qemu_version, has_fpb),
    };
    printf("fpb-bench: QEMU %s (%s); guest %d MiB, driver %s%s; results in %s\n", qemu,
           qemu_version, opt.mem_mib, opt.driver,
           has_fpb ? "" : " (no fpb_balloon.ko: hint-fpb skipped)", opt.output);
    fflush(stdout);
    run_matrix(&b, scenarios, modes, bandwidths);
    return finish(&b);
}
