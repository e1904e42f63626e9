/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-orch-demo: the demo's driver (scripts/demo). Boots a source guest with
 * free memory worth skipping and an incoming destination, runs
 * `fpbctl explain` and `fpbctl migrate --mode auto` on them, then repeats
 * the migration with every forced mode on fresh guest pairs. Each
 * destination must verify its memory. Ends with the outcome of every mode
 * next to its prediction. fpbctl's own output is shown as it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "fpb-testbed.h"
#include "orch-helpers.h"

static int mem_mib = 2048, free_mib = 1500, hold_mib = 200;
static char *fpbctl_bin, *db;

static const GOptionEntry options[] = {
    {"fpbctl", 0, 0, G_OPTION_ARG_FILENAME, &fpbctl_bin, "the fpbctl to run (required)", "PATH"},
    {"db", 0, 0, G_OPTION_ARG_FILENAME, &db, "the journal (required)", "PATH"},
    {"mem", 0, 0, G_OPTION_ARG_INT, &mem_mib, "guest RAM in MiB (default 2048)", "MIB"},
    {"free", 0, 0, G_OPTION_ARG_INT, &free_mib, "MiB the guest writes and frees (default 1500)",
     "MIB"},
    {"hold", 0, 0, G_OPTION_ARG_INT, &hold_mib, "MiB the guest holds and verifies (default 200)",
     "MIB"},
    G_OPTION_ENTRY_NULL,
};

typedef struct {
    const char *mode;
    json_object *out; /* the journal row as JSON */
    gboolean verified;
    gboolean refused; /* fpbctl refused the mode (exit 2): nothing was done */
    char *error;
} DemoRun;

/* Runs fpbctl with its output on the terminal; returns the exit status. */
static int run_visible(const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_ptr_array_add(argv, fpbctl_bin);
    g_print("\n$ fpbctl");
    for (gsize i = 0; args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
        g_print(" %s", args[i]);
    }
    g_print("\n");
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
                      NULL, NULL, &status, &error)) {
        g_printerr("fpb-orch-demo: cannot run fpbctl: %s\n", error->message);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_object *newest_row(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(db, &error);
    g_autoptr(GPtrArray) rows = j ? fpb_journal_list(j, NULL, 1, &error) : NULL;

    return rows && rows->len ? fpb_outcome_to_json(rows->pdata[0]) : NULL;
}

static gboolean boot_pair(FpbTestbed *tb, FpbTestbedVm **src, FpbTestbedVm **dst, GError **error)
{
    FpbTestbedGuest g;

    fpb_testbed_guest_init(&g);
    g.mem_mib = (guint)mem_mib;
    g.free_mib = (guint)free_mib;
    g.hold_mib = (guint)hold_mib;
    g.free_page_hint = TRUE;
    /* The stock driver's hints corrupt init_on_alloc=1 guests under TCG
     * (docs/stock-hint-crash.md); fpbctl reads this from -append. */
    g.init_on_alloc = 0;
    *src = fpb_testbed_start_source(tb, "demo", &g, error);
    *dst = *src ? fpb_testbed_start_destination(tb, "demo-dst", &g, FALSE, error) : NULL;
    return *dst != NULL && fpb_testbed_vm_wait_ready(*src, 300, error);
}

static void run_mode(DemoRun *run, gboolean explain_first)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    FpbTestbedVm *src = NULL, *dst = NULL;

    g_print("\n=== mode %s: booting a %d MiB guest (writes and frees %d MiB, holds %d MiB) and "
            "an incoming destination ===\n",
            run->mode, mem_mib, free_mib, hold_mib);
    if (tb == NULL || !boot_pair(tb, &src, &dst, &error)) {
        run->error = g_strdup(error->message);
        return;
    }
    const char *explain[] = {"explain",
                             "--qmp",
                             fpb_testbed_vm_qmp_path(src),
                             "--dest-qmp",
                             fpb_testbed_vm_qmp_path(dst),
                             "--db",
                             db,
                             NULL};
    const char *migrate[] = {"migrate",
                             "--qmp",
                             fpb_testbed_vm_qmp_path(src),
                             "--dest-qmp",
                             fpb_testbed_vm_qmp_path(dst),
                             "--to",
                             fpb_testbed_vm_incoming_uri(dst),
                             "--mode",
                             run->mode,
                             "--db",
                             db,
                             NULL};
    if (explain_first) {
        run_visible(explain);
    }
    int status = run_visible(migrate);
    run->out = newest_row();
    if (status == 2) {
        /* A refusal is an answer, e.g. hints on a QEMU that would corrupt. */
        run->refused = TRUE;
        run->error = g_strdup("refused by fpbctl (reason above), nothing done");
        return;
    }
    if (status != 0) {
        run->error = g_strdup_printf("fpbctl migrate exited with %d", status);
        return;
    }
    g_print("verifying the destination's memory...\n");
    run->verified = fpb_testbed_vm_wait_verified(dst, 2, 180, &error);
    if (!run->verified) {
        run->error = g_strdup(error->message);
    }
}

static void print_cell(double predicted, double actual, const char *fmt)
{
    g_autofree char *p = predicted < 0 ? g_strdup("-") : g_strdup_printf(fmt, predicted);
    g_autofree char *a = actual < 0 ? g_strdup("-") : g_strdup_printf(fmt, actual);
    g_autofree char *cell = g_strdup_printf("%s / %s", p, a);

    g_print(" %15s", cell);
}

static double run_total_seconds(const DemoRun *run)
{
    double mig = orch_json_num(run->out, "migration.total_ms") / 1000;

    if (!run->verified || mig < 0) {
        return -1;
    }
    return MAX(orch_json_num(run->out, "prepare.seconds"), 0) + mig +
           MAX(orch_json_num(run->out, "restore.seconds"), 0);
}

static double run_bytes(const DemoRun *run)
{
    return run->verified ? orch_json_num(run->out, "migration.transferred_bytes") : -1;
}

/* The fewest bytes and the shortest total of the runs that verified. */
static void best_of(const DemoRun *runs, gsize n, double *ret_bytes, double *ret_seconds)
{
    *ret_bytes = *ret_seconds = -1;
    for (gsize i = 0; i < n; i++) {
        double b = run_bytes(&runs[i]), t = run_total_seconds(&runs[i]);

        if (b > 0 && (*ret_bytes < 0 || b < *ret_bytes)) {
            *ret_bytes = b;
        }
        if (t > 0 && (*ret_seconds < 0 || t < *ret_seconds)) {
            *ret_seconds = t;
        }
    }
}

static void print_ratio(double value, double best)
{
    g_autofree char *cell =
        value > 0 && best > 0 ? g_strdup_printf("%.2fx", value / best) : g_strdup("-");
    g_print(" %8s", cell);
}

/* auto (runs[0]) against the best forced mode of the same run. */
static void print_auto_verdict(const DemoRun *runs, gsize n)
{
    double best_bytes, best_seconds;
    const char *decided = orch_json_str(runs[0].out, "decision.mode");

    best_of(runs, n, &best_bytes, &best_seconds);
    if (run_bytes(&runs[0]) <= 0 || best_bytes <= 0 || best_seconds <= 0) {
        g_print("\nauto did not complete a verified migration: no verdict\n");
        return;
    }
    g_print("\nauto picked %s: %.2fx the fewest bytes any mode sent, %.2fx the best total time "
            "(fpb's goal: both at most 1.15x)\n",
            decided ? decided : "?", run_bytes(&runs[0]) / best_bytes,
            run_total_seconds(&runs[0]) / best_seconds);
}

static void print_table(DemoRun *runs, gsize n)
{
    double best_bytes, best_seconds;

    best_of(runs, n, &best_bytes, &best_seconds);
    g_print("\n=== every mode on the same guest, predicted / actual (MB = 10^6 bytes); "
            "x: actual as a multiple of the best verified run ===\n");
    g_print("%-28s %15s %8s %15s %15s %15s %15s %8s  %s\n", "mode (decided)", "sent MB", "x fewest",
            "prepare s", "migrate s", "restore s", "total s", "x best", "destination");
    for (gsize i = 0; i < n; i++) {
        json_object *o = runs[i].out;
        const char *decided = orch_json_str(o, "decision.mode");
        g_autofree char *label = g_strdup_printf("%s (%s)", runs[i].mode, decided ? decided : "-");
        g_autofree char *pred = g_strdup_printf("predictions.%s.", decided ? decided : "none");
        g_autofree char *k_bytes = g_strconcat(pred, "bytes", NULL);
        g_autofree char *k_prep = g_strconcat(pred, "prep_seconds", NULL);
        g_autofree char *k_mig = g_strconcat(pred, "migrate_seconds", NULL);
        g_autofree char *k_res = g_strconcat(pred, "restore_seconds", NULL);
        g_autofree char *k_tot = g_strconcat(pred, "total_seconds", NULL);
        double prep = MAX(orch_json_num(o, "prepare.seconds"), 0),
               res = MAX(orch_json_num(o, "restore.seconds"), 0);
        double mig = orch_json_num(o, "migration.total_ms") / 1000;

        g_print("%-28s", label);
        print_cell(orch_json_num(o, k_bytes) / 1e6,
                   orch_json_num(o, "migration.transferred_bytes") / 1e6, "%.0f");
        print_ratio(run_bytes(&runs[i]), best_bytes);
        print_cell(orch_json_num(o, k_prep), prep, "%.1f");
        print_cell(orch_json_num(o, k_mig), mig, "%.1f");
        print_cell(orch_json_num(o, k_res), res, "%.1f");
        print_cell(orch_json_num(o, k_tot), mig < 0 ? -1 : prep + mig + res, "%.1f");
        print_ratio(run_total_seconds(&runs[i]), best_seconds);
        g_print("  %s\n", runs[i].verified ? "memory verified"
                          : runs[i].error  ? runs[i].error
                                           : "not verified");
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("- fpb's demo driver");
    g_autoptr(GError) error = NULL;
    DemoRun runs[] = {{.mode = "auto"},
                      {.mode = "none"},
                      {.mode = "hint"},
                      {.mode = "balloon"},
                      {.mode = "hint+balloon"}};
    gboolean ok = TRUE;

    g_option_context_add_main_entries(ctx, options, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || !fpbctl_bin || !db) {
        g_printerr("fpb-orch-demo: %s\n",
                   error ? error->message : "--fpbctl and --db are required");
        return 2;
    }
    g_autofree char *qemu_version = NULL;
    gboolean fixed = fpb_testbed_qemu_has_tcg_dirty_fix(&qemu_version);
    g_print("fpb demo: QEMU %s (%s)\n", qemu_version,
            fixed ? "with the TCG dirty-tracking fix: every mode can run"
                  : "WITHOUT the TCG dirty-tracking fix: hint modes will be refused; "
                    "scripts/install-deps installs fpb's QEMU");
    for (gsize i = 0; i < G_N_ELEMENTS(runs); i++) {
        run_mode(&runs[i], i == 0);
        ok = ok && (runs[i].verified || runs[i].refused);
    }
    print_table(runs, G_N_ELEMENTS(runs));
    print_auto_verdict(runs, G_N_ELEMENTS(runs));
    for (gsize i = 0; i < G_N_ELEMENTS(runs); i++) {
        g_clear_pointer(&runs[i].out, json_object_put);
        g_free(runs[i].error);
    }
    return ok ? 0 : 1;
}
