/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Issue 14, item 4: which migration methods keep a writing guest's memory
 * intact on a QEMU whose TCG dirty tracking is broken (QEMU < 9.0 without
 * fpb's patch, e.g. Debian 12's 7.2; docs/hint-safety.md, "Migration
 * methods on an unfixed TCG QEMU").
 *
 * Each method migrates K fresh 1 GiB guests (no hints) whose workload
 * rewrites a 64 MiB region at 32 MiB/s during the migration, then waits for
 * the destination's verifier:
 *
 *   precopy              plain live precopy (the control: expected to lose
 *                        writes once it needs a live iteration, 4+ syncs)
 *   postcopy-after-pass  postcopy-ram on both ends, migrate-start-postcopy
 *                        once query-migrate shows the sync after the bulk
 *                        pass (dirty-sync-count >= 2)
 *   postcopy-at-start    the same, migrate-start-postcopy right after
 *                        `migrate` (QEMU switches during the bulk pass)
 *   paused               `stop` on the source, migrate, `cont` on the
 *                        destination (downtime = the whole migration)
 *   auto-converge        precopy with the auto-converge capability
 *   summary              one line per method
 *
 * A run fails when the destination's verifier finds a bad page, the guest
 * kernel oopses or panics, or no verified passes arrive in time.
 *
 * Environment: FPB_TCG_RUNS (K, default 4), FPB_QEMU (the QEMU binary; set
 * it to /usr/bin/qemu-system-x86_64 to measure Debian's). Select methods
 * with -p /tcg-safe-migration/NAME. Reports only, fails on run errors, or
 * on corruption when FPB_TCG_STRICT=1 (for the methods other than precopy).
 */
#include <string.h>

#include "fpb-qmp.h"
#include "fpb-testbed.h"

#define BOOT_TIMEOUT_S 300
#define MIGRATE_TIMEOUT_S 300
#define VERIFY_TIMEOUT_S 180
#define VERIFY_PASSES 3
#define POLL_MS 50
#define QMP_TIMEOUT_MS 10000

typedef enum {
    METHOD_PRECOPY,
    METHOD_POSTCOPY_AFTER_PASS,
    METHOD_POSTCOPY_AT_START,
    METHOD_PAUSED,
    METHOD_AUTO_CONVERGE,
} Method;

typedef struct {
    const char *name;
    Method method;
    /* results */
    guint runs, failed, errors;
    guint64 bytes_sum, ms_sum, downtime_sum, syncs_min, syncs_max;
    GString *rows; /* per run: "syncs/MB/s/downtime ms/verdict" */
} Config;

static Config configs[] = {
    {.name = "precopy", .method = METHOD_PRECOPY},
    {.name = "postcopy-after-pass", .method = METHOD_POSTCOPY_AFTER_PASS},
    {.name = "postcopy-at-start", .method = METHOD_POSTCOPY_AT_START},
    {.name = "paused", .method = METHOD_PAUSED},
    {.name = "auto-converge", .method = METHOD_AUTO_CONVERGE},
};

typedef struct {
    guint64 total_ms, downtime_ms, bytes, syncs, postcopy_requests;
    gboolean postcopy_started;
} RunStats;

static guint env_uint(const char *name, guint def)
{
    const char *v = g_getenv(name);
    guint64 n = v && *v ? g_ascii_strtoull(v, NULL, 10) : 0;
    return n > 0 && n < 1000 ? (guint)n : def;
}

static const char *qemu_in_use(void)
{
    const char *q = g_getenv("FPB_QEMU");
    return q && *q ? q : "qemu-system-x86_64 (PATH)";
}

static gboolean run_void(FpbQmpClient *qmp, const char *command, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_client_execute(qmp, command, NULL, QMP_TIMEOUT_MS, error);
    return reply != NULL;
}

static gboolean set_cap(const char *qmp_path, const char *cap, GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(qmp_path, 5000, error);
    const FpbQmpMigrationCapability c = {.name = cap, .state = TRUE};
    return qmp && fpb_qmp_migrate_set_capabilities(qmp, &c, 1, error);
}

static void take(const FpbQmpMigrationInfo *info, RunStats *s)
{
    s->total_ms = info->has_total_time ? (guint64)MAX(info->total_time, 0) : 0;
    s->downtime_ms = info->has_downtime ? (guint64)MAX(info->downtime, 0) : 0;
    if (info->has_ram) {
        s->bytes = info->ram.transferred;
        s->syncs = info->ram.dirty_sync_count;
        s->postcopy_requests = info->ram.postcopy_requests;
    }
}

/* Polls the source until "completed"; starts postcopy where the method says. */
static gboolean poll_migration(FpbQmpClient *src, Method m, RunStats *s, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)MIGRATE_TIMEOUT_S * G_USEC_PER_SEC;
    for (;;) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate_settled(src, error);
        if (!info) {
            return FALSE;
        }
        take(info, s);
        if (info->status == FPB_QMP_MIGRATION_STATUS_COMPLETED) {
            return TRUE;
        }
        if (fpb_qmp_migration_status_is_final(info->status)) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION, "migration %s: %s",
                        fpb_qmp_migration_status_to_string(info->status),
                        info->error_desc ? info->error_desc : "no error-desc");
            return FALSE;
        }
        if (m == METHOD_POSTCOPY_AFTER_PASS && !s->postcopy_started &&
            info->status == FPB_QMP_MIGRATION_STATUS_ACTIVE && info->has_ram &&
            info->ram.dirty_sync_count >= 2) {
            if (!run_void(src, "migrate-start-postcopy", error)) {
                return FALSE;
            }
            s->postcopy_started = TRUE;
            g_test_message("postcopy started at sync %" G_GUINT64_FORMAT ", %.1f MB sent",
                           info->ram.dirty_sync_count, (double)info->ram.transferred / 1e6);
        }
        if (g_get_monotonic_time() > deadline) {
            fpb_qmp_migrate_cancel(src, NULL);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "migration did not finish within %d s (cancelled)", MIGRATE_TIMEOUT_S);
            return FALSE;
        }
        g_usleep(POLL_MS * 1000);
    }
}

/* The destination leaves "inmigrate" once the incoming side is done. */
static gboolean cont_destination(FpbTestbedVm *dst, GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(dst), 5000, error);
    if (!qmp) {
        return FALSE;
    }
    for (guint i = 0; i < 600; i++) {
        g_autoptr(FpbQmpStatus) st = fpb_qmp_query_status(qmp, error);
        if (!st) {
            return FALSE;
        }
        if (g_strcmp0(st->status, "inmigrate") != 0) {
            return run_void(qmp, "cont", error);
        }
        g_usleep(POLL_MS * 1000);
    }
    g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                "destination still 'inmigrate' 30 s after the source completed");
    return FALSE;
}

static gboolean migrate(FpbTestbedVm *src_vm, FpbTestbedVm *dst_vm, Method m, RunStats *s,
                        GError **error)
{
    gboolean postcopy = m == METHOD_POSTCOPY_AFTER_PASS || m == METHOD_POSTCOPY_AT_START;
    if (postcopy && (!set_cap(fpb_testbed_vm_qmp_path(dst_vm), "postcopy-ram", error) ||
                     !set_cap(fpb_testbed_vm_qmp_path(src_vm), "postcopy-ram", error))) {
        return FALSE;
    }
    if (m == METHOD_AUTO_CONVERGE &&
        !set_cap(fpb_testbed_vm_qmp_path(src_vm), "auto-converge", error)) {
        return FALSE;
    }
    g_autoptr(FpbQmpClient) src =
        fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(src_vm), 5000, error);
    if (!src) {
        return FALSE;
    }
    gint64 t_stop = g_get_monotonic_time();
    if (m == METHOD_PAUSED && !run_void(src, "stop", error)) {
        return FALSE;
    }
    if (!fpb_qmp_migrate(src, fpb_testbed_vm_incoming_uri(dst_vm), error)) {
        return FALSE;
    }
    if (m == METHOD_POSTCOPY_AT_START) {
        if (!run_void(src, "migrate-start-postcopy", error)) {
            return FALSE;
        }
        s->postcopy_started = TRUE;
    }
    if (!poll_migration(src, m, s, error)) {
        return FALSE;
    }
    if (m == METHOD_PAUSED) {
        if (!cont_destination(dst_vm, error)) {
            return FALSE;
        }
        /* What the guest sees: stopped from `stop` to `cont`. */
        s->downtime_ms = (guint64)((g_get_monotonic_time() - t_stop) / 1000);
    }
    return TRUE;
}

typedef enum { RUN_OK, RUN_CORRUPTED, RUN_ERROR } RunResult;

static RunResult one_run(Config *c, guint index, RunStats *s, char **ret_why)
{
    g_autoptr(GError) error = NULL;
    FpbTestbedGuest g;
    fpb_testbed_guest_init(&g);
    g.mem_mib = 1024;
    g.free_mib = 400 + (index % 3) * 100; /* old data to send: a longer bulk pass */
    g.hold_mib = 128;
    g.dirty_mib = 64;
    g.dirty_rate_mibps = 32;

    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    FpbTestbedVm *src = tb ? fpb_testbed_start_source(tb, "src", &g, &error) : NULL;
    FpbTestbedVm *dst = src ? fpb_testbed_start_destination(tb, "dst", &g, FALSE, &error) : NULL;
    if (!dst || !fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error) ||
        !migrate(src, dst, c->method, s, &error)) {
        *ret_why = g_strdup(error->message);
        return RUN_ERROR;
    }
    if (fpb_testbed_vm_wait_verified(dst, VERIFY_PASSES, VERIFY_TIMEOUT_S, &error)) {
        return RUN_OK;
    }
    const char *kind = g_error_matches(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT) ? "HUNG"
                       : g_error_matches(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED)
                           ? "QEMU EXITED"
                           : "GUEST FAILED";
    *ret_why = g_strdup_printf("%s: %s", kind, error->message);
    return RUN_CORRUPTED;
}

static void record(Config *c, const RunStats *s, RunResult r)
{
    c->runs++;
    c->bytes_sum += s->bytes;
    c->ms_sum += s->total_ms;
    c->downtime_sum += s->downtime_ms;
    c->syncs_min = MIN(c->syncs_min, s->syncs);
    c->syncs_max = MAX(c->syncs_max, s->syncs);
    c->failed += r == RUN_CORRUPTED;
    g_string_append_printf(c->rows, "%s%" G_GUINT64_FORMAT "/%.0f/%.1f/%" G_GUINT64_FORMAT "/%s",
                           c->rows->len ? " " : "", s->syncs, (double)s->bytes / 1e6,
                           (double)s->total_ms / 1e3, s->downtime_ms,
                           r == RUN_OK ? "ok" : "BROKEN");
}

static void run_config(gconstpointer data)
{
    Config *c = (Config *)data;
    guint k = env_uint("FPB_TCG_RUNS", 4);
    c->rows = g_string_new(NULL);
    c->syncs_min = G_MAXUINT64;
    g_test_message("%s: %u runs with %s", c->name, k, qemu_in_use());
    for (guint i = 0; i < k; i++) {
        RunStats s = {0};
        g_autofree char *why = NULL;
        RunResult r = one_run(c, i, &s, &why);
        if (r == RUN_ERROR) {
            c->errors++;
            g_test_message("%s run %u: ERROR (not counted): %s", c->name, i + 1, why);
            continue;
        }
        record(c, &s, r);
        g_test_message("%s run %u: %s: %" G_GUINT64_FORMAT
                       " syncs, %.1f MB, %.1f s, downtime %" G_GUINT64_FORMAT
                       " ms, postcopy requests %" G_GUINT64_FORMAT "%s%s",
                       c->name, i + 1, r == RUN_OK ? "ok" : "CORRUPTED", s.syncs,
                       (double)s.bytes / 1e6, (double)s.total_ms / 1e3, s.downtime_ms,
                       s.postcopy_requests, why ? "; " : "", why ? why : "");
    }
    if (c->runs == 0) {
        c->syncs_min = 0;
    }
    g_test_message("%s: broken %u of %u (%u errors) with %s", c->name, c->failed, c->runs,
                   c->errors, qemu_in_use());
    if (c->errors > 0) {
        g_test_fail_printf("%s: %u runs could not be carried out", c->name, c->errors);
    } else if (c->failed > 0 && c->method != METHOD_PRECOPY &&
               g_strcmp0(g_getenv("FPB_TCG_STRICT"), "1") == 0) {
        g_test_fail_printf("%s: destination broken in %u of %u runs", c->name, c->failed, c->runs);
    }
}

static void summary(void)
{
    g_test_message("SUMMARY qemu=%s (per run: syncs/MB/s/downtime ms/verdict)", qemu_in_use());
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        Config *c = &configs[i];
        if (!c->rows) {
            continue;
        }
        double n = c->runs ? c->runs : 1;
        g_test_message("SUMMARY %s: broken %u/%u, syncs %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                       ", avg %.0f MB, %.1f s, downtime %.0f ms; runs: %s",
                       c->name, c->failed, c->runs, c->syncs_min, c->syncs_max,
                       (double)c->bytes_sum / n / 1e6, (double)c->ms_sum / n / 1e3,
                       (double)c->downtime_sum / n, c->rows->str);
    }
}

int main(int argc, char **argv)
{
    /* Keep going after a failed method, so every one reports. */
    g_autofree char **args = g_new0(char *, argc + 2);
    for (int i = 0; i < argc; i++) {
        args[i] = argv[i];
    }
    args[argc++] = (char *)"--keep-going";
    argv = args;
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        g_autofree char *path = g_strdup_printf("/tcg-safe-migration/%s", configs[i].name);
        g_test_add_data_func(path, &configs[i], run_config);
    }
    g_test_add_func("/tcg-safe-migration/summary", summary);
    int rc = g_test_run();
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        if (configs[i].rows) {
            g_string_free(configs[i].rows, TRUE);
        }
    }
    return rc;
}
