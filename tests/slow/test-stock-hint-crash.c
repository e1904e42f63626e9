/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reproducer for issue 6: stock free-page hints corrupt the destination guest
 * under TCG on QEMU 7.2 (docs/stock-hint-crash.md).
 *
 * Runs K migrations of each configuration and reports the failure rate, the
 * bytes sent, the dirty-bitmap syncs and the time of every run:
 *
 *   hints-init-on-alloc-1  the failing configuration: 2 GiB guest that wrote
 *                          and freed 1200..1500 MiB, holds 200 MiB, stock
 *                          driver, free-page-hint=on, init_on_alloc=1.
 *                          FAILS when any run corrupts the destination.
 *   hints-init-on-alloc-0  the same with init_on_alloc=0 (reported only)
 *   no-hints               the same without hints (reported only)
 *   no-hints-dirty         no hints, guest rewriting 64 MiB at 32 MiB/s
 *                          during the migration: does the TCG dirty-tracking
 *                          bug lose writes without hints? (reported only)
 *   summary                one line per configuration
 *
 * A run fails when the destination's verifier finds a bad page, the guest
 * kernel oopses or panics, or the destination does not complete its
 * verification passes in time (a hung guest).
 *
 * Environment:
 *   FPB_REPRO_RUNS          K for the failing configuration (default 5)
 *   FPB_REPRO_RUNS_CONTROL  K for the other configurations (default FPB_REPRO_RUNS)
 *   FPB_REPRO_STRICT=1      fail the other configurations on corruption too
 *   FPB_QEMU                the QEMU binary (default: fpb's package, else PATH's)
 * Select configurations with -p /stock-hint-crash/NAME (meson test --test-args).
 */
#include <stdlib.h>
#include <string.h>

#include "fpb-testbed.h"

#define BOOT_TIMEOUT_S 400
#define MIGRATE_TIMEOUT_S 400
#define VERIFY_TIMEOUT_S 180
#define VERIFY_PASSES 3

typedef struct {
    const char *name;
    gboolean hints;
    int init_on_alloc;
    guint dirty_mib, dirty_rate;
    gboolean must_pass; /* the failing configuration */
    /* results */
    guint runs, failed, errors;
    guint64 bytes_sum, ms_sum, syncs_min, syncs_max;
    GString *signatures;
} Config;

static Config configs[] = {
    {.name = "hints-init-on-alloc-1", .hints = TRUE, .init_on_alloc = 1, .must_pass = TRUE},
    {.name = "hints-init-on-alloc-0", .hints = TRUE, .init_on_alloc = 0},
    {.name = "no-hints", .hints = FALSE, .init_on_alloc = 1},
    {.name = "no-hints-dirty",
     .hints = FALSE,
     .init_on_alloc = 1,
     .dirty_mib = 64,
     .dirty_rate = 32},
};

static guint env_uint(const char *name, guint def)
{
    const char *v = g_getenv(name);
    if (!v || !*v) {
        return def;
    }
    guint64 n = g_ascii_strtoull(v, NULL, 10);
    return n > 0 && n < 10000 ? (guint)n : def;
}

static const char *qemu_in_use(void)
{
    static char *qemu;
    if (!qemu) {
        qemu = fpb_testbed_qemu_binary(NULL);
    }
    return qemu ? qemu : "none found";
}

/* The first line of a failure that says what went wrong, shortened. */
static char *signature(const char *message)
{
    static const char *const keys[] = {"HUNG",
                                       "QEMU EXITED",
                                       "BUG:",
                                       "Oops:",
                                       "Kernel panic",
                                       "corruption",
                                       "stack-protector",
                                       "stack guard",
                                       "general protection",
                                       "Unable to handle",
                                       "bad=",
                                       "did not",
                                       "exited"};
    g_auto(GStrv) lines = g_strsplit(message, "\n", -1);
    for (gsize k = 0; k < G_N_ELEMENTS(keys); k++) {
        for (gsize i = 0; lines[i]; i++) {
            const char *hit = strstr(lines[i], keys[k]);
            if (hit) {
                const char *start = strstr(lines[i], "| ") ? strstr(lines[i], "| ") + 2 : lines[i];
                return g_strndup(start, 110);
            }
        }
    }
    return g_strndup(message, 110);
}

typedef enum { RUN_OK, RUN_CORRUPTED, RUN_ERROR } RunResult;

static RunResult one_run(Config *c, guint index, FpbTestbedMigration *stats, char **ret_why)
{
    g_autoptr(GError) error = NULL;
    FpbTestbedGuest g;
    fpb_testbed_guest_init(&g);
    g.mem_mib = 2048;
    g.free_mib = 1200 + (index % 4) * 100; /* 1200, 1300, 1400, 1500, 1200, ... */
    g.hold_mib = 200;
    g.balloon_driver = "stock";
    g.free_page_hint = c->hints;
    g.init_on_alloc = c->init_on_alloc;
    g.dirty_mib = c->dirty_mib;
    if (c->dirty_rate) {
        g.dirty_rate_mibps = c->dirty_rate;
    }

    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    if (!tb) {
        *ret_why = g_strdup(error->message);
        return RUN_ERROR;
    }
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", &g, &error);
    FpbTestbedVm *dst = src ? fpb_testbed_start_destination(tb, "dst", &g, FALSE, &error) : NULL;
    if (!dst || !fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error) ||
        !fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, stats, &error)) {
        *ret_why = g_strdup(error->message);
        return RUN_ERROR;
    }
    g_autofree char *label = g_strdup_printf("%s run %u free=%u", c->name, index + 1, g.free_mib);
    fpb_testbed_migration_print(label, stats);
    if (fpb_testbed_vm_wait_verified(dst, VERIFY_PASSES, VERIFY_TIMEOUT_S, &error)) {
        return RUN_OK;
    }
    /* A bad page, an oops, a hang, or the destination QEMU dying after the
     * migration completed: all are the destination guest broken. */
    const char *kind = g_error_matches(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT)
                           ? "HUNG (no verified passes in time)"
                       : g_error_matches(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED)
                           ? "QEMU EXITED"
                           : "GUEST FAILED";
    *ret_why = g_strdup_printf("%s: %s", kind, error->message);
    return RUN_CORRUPTED;
}

static void run_config(gconstpointer data)
{
    Config *c = (Config *)data;
    guint k = c->must_pass ? env_uint("FPB_REPRO_RUNS", 5)
                           : env_uint("FPB_REPRO_RUNS_CONTROL", env_uint("FPB_REPRO_RUNS", 5));
    c->signatures = g_string_new(NULL);
    c->syncs_min = G_MAXUINT64;
    g_test_message("%s: %u runs with %s", c->name, k, qemu_in_use());
    for (guint i = 0; i < k; i++) {
        FpbTestbedMigration stats = {0};
        g_autofree char *why = NULL;
        gint64 t0 = g_get_monotonic_time();
        RunResult r = one_run(c, i, &stats, &why);
        double wall = (double)(g_get_monotonic_time() - t0) / 1e6;
        if (r == RUN_ERROR) {
            c->errors++;
            g_test_message("%s run %u: ERROR (not counted) after %.0f s: %s", c->name, i + 1, wall,
                           why);
            continue;
        }
        c->runs++;
        c->bytes_sum += stats.transferred_bytes;
        c->ms_sum += stats.total_ms;
        c->syncs_min = MIN(c->syncs_min, stats.dirty_sync_count);
        c->syncs_max = MAX(c->syncs_max, stats.dirty_sync_count);
        if (r == RUN_CORRUPTED) {
            c->failed++;
            g_autofree char *sig = signature(why);
            g_string_append_printf(c->signatures, "%s[%s]", c->signatures->len ? " " : "", sig);
            g_test_message("%s run %u: CORRUPTED: migration %" G_GUINT64_FORMAT
                           " ms, %.1f MB, %" G_GUINT64_FORMAT " syncs; %s",
                           c->name, i + 1, stats.total_ms, (double)stats.transferred_bytes / 1e6,
                           stats.dirty_sync_count, sig);
            g_test_message("%s run %u: full report: %s", c->name, i + 1, why);
        } else {
            g_test_message("%s run %u: ok: migration %" G_GUINT64_FORMAT
                           " ms, %.1f MB, %" G_GUINT64_FORMAT " syncs (run %.0f s)",
                           c->name, i + 1, stats.total_ms, (double)stats.transferred_bytes / 1e6,
                           stats.dirty_sync_count, wall);
        }
    }
    if (c->runs == 0) {
        c->syncs_min = 0;
    }
    g_test_message("%s: failed %u of %u runs (%u errors not counted) with %s", c->name, c->failed,
                   c->runs, c->errors, qemu_in_use());
    if (c->errors > 0) {
        g_test_fail_printf("%s: %u runs could not be carried out", c->name, c->errors);
    } else if (c->failed > 0 &&
               (c->must_pass || g_strcmp0(g_getenv("FPB_REPRO_STRICT"), "1") == 0)) {
        g_test_fail_printf("%s: the destination guest was corrupted in %u of %u runs", c->name,
                           c->failed, c->runs);
    }
}

static void summary(void)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        Config *c = &configs[i];
        if (!c->signatures) {
            continue; /* not selected */
        }
        g_string_append_printf(s,
                               "%s%s %u/%u failed (avg %.0f MB, %.1f s, syncs %" G_GUINT64_FORMAT
                               "-%" G_GUINT64_FORMAT ")",
                               s->len ? "; " : "", c->name, c->failed, c->runs,
                               c->runs ? (double)c->bytes_sum / c->runs / 1e6 : 0.0,
                               c->runs ? (double)c->ms_sum / c->runs / 1e3 : 0.0, c->syncs_min,
                               c->syncs_max);
    }
    g_test_message("SUMMARY qemu=%s: %s", qemu_in_use(), s->str);
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        if (configs[i].signatures && configs[i].signatures->len) {
            g_test_message("SUMMARY %s failures: %s", configs[i].name, configs[i].signatures->str);
        }
    }
}

int main(int argc, char **argv)
{
    /* Keep going after a failed configuration, so every one reports. */
    g_autofree char **args = g_new0(char *, argc + 2);
    for (int i = 0; i < argc; i++) {
        args[i] = argv[i];
    }
    args[argc++] = (char *)"--keep-going";
    argv = args;
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        g_autofree char *path = g_strdup_printf("/stock-hint-crash/%s", configs[i].name);
        g_test_add_data_func(path, &configs[i], run_config);
    }
    g_test_add_func("/stock-hint-crash/summary", summary);
    int rc = g_test_run();
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        if (configs[i].signatures) {
            g_string_free(configs[i].signatures, TRUE);
        }
    }
    return rc;
}
