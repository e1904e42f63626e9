/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Baseline migrations on the test bed, without fpb's logic: one without
 * free-page hints, one with the stock driver's hints in a guest booted
 * init_on_alloc=0. Each passes only when the destination guest verifies every
 * page it holds after the migration; each prints what was sent.
 */
#include <string.h>

#include "fpb-policy.h"
#include "fpb-qmp.h"
#include "fpb-testbed.h"

#define BOOT_TIMEOUT_S 180
#define MIGRATE_TIMEOUT_S 300
#define VERIFY_TIMEOUT_S 120
#define VERIFY_PASSES 3

static void scenario(FpbTestbedGuest *g, gboolean hints)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = 1024;
    g->free_mib = 600;
    g->hold_mib = 128;
    g->dirty_mib = 16;
    g->dirty_rate_mibps = 8;
    g->free_page_hint = hints;
}

static void migrate_and_verify(const char *label, FpbTestbedGuest *g,
                               FpbTestbedMigration *ret_stats)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", g, &error);
    g_assert_no_error(error);
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", g, FALSE, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);

    FpbTestbedMigration stats = {0};
    g_assert_true(fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, &stats, &error));
    g_assert_no_error(error);
    fpb_testbed_migration_print(label, &stats);
    g_assert_cmpstr(stats.status, ==, "completed");
    g_assert_cmpuint(stats.transferred_bytes, >, 0);

    /* Completed is not correct: the destination must verify every page. */
    g_assert_true(fpb_testbed_vm_wait_verified(dst, VERIFY_PASSES, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
    *ret_stats = stats;
}

static FpbTestbedMigration no_hints;

static void test_no_hints(void)
{
    FpbTestbedGuest g;
    g_autofree char *version = NULL;
    scenario(&g, FALSE);
    if (!fpb_testbed_qemu_has_tcg_dirty_fix(&version)) {
        /* Seen in CI: the writer made a 4th dirty sync and the destination
         * lost writes, hints or not (docs/hint-safety.md). Without the
         * writer these migrations take 3 syncs; the writer runs on fpb's
         * QEMU (installed by scripts/install-deps) or another fixed one. */
        g_test_message("QEMU %s lacks the TCG dirty-tracking fix: no writer", version);
        g.dirty_mib = 0;
    }
    migrate_and_verify("no hints", &g, &no_hints);
    /* Every freed page still holds data, so it all moves. */
    g_assert_cmpuint(no_hints.normal_bytes, >, (guint64)(600 + 128) * 1024 * 1024);
}

static void test_stock_hints_init_on_alloc_0(void)
{
    FpbTestbedGuest g;
    FpbTestbedMigration stats = {0};
    g_autofree char *version = NULL;
    if (!fpb_testbed_qemu_has_tcg_dirty_fix(&version)) {
        /* Seen in CI: 4 dirty syncs, then a destination that failed to
         * verify. QEMU < 9.0 under TCG loses writes in live iterations
         * (docs/hint-safety.md) and fpb refuses hints there; fpb's QEMU
         * (scripts/install-deps) or FPB_QEMU naming a fixed one runs it. */
        g_autofree char *why = g_strdup_printf("QEMU %s lacks the TCG dirty-tracking fix "
                                               "(03bfc2188f): hinted migrations can lose writes",
                                               version);
        fpb_testbed_skip_without_fixed_qemu(why);
        return;
    }
    scenario(&g, TRUE);
    g.init_on_alloc = 0;
    migrate_and_verify("stock hints, init_on_alloc=0", &g, &stats);
    /* The freed 600 MiB are hinted and skipped: far less than without. */
    g_assert_cmpuint(stats.normal_bytes, <, (guint64)400 * 1024 * 1024);
    if (no_hints.normal_bytes) {
        g_test_message("hints sent %.0f%% of the bytes sent without hints",
                       100.0 * (double)stats.transferred_bytes /
                           (double)no_hints.transferred_bytes);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/baseline/no-hints", test_no_hints);
    g_test_add_func("/migration/baseline/stock-hints-init-on-alloc-0",
                    test_stock_hints_init_on_alloc_0);
    return g_test_run();
}
