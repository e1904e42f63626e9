/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When a running migration is cancelled (fpb-migration-watch.h): never
 * for being slow, always for standing still past the stall timeout.
 */
#include <glib.h>

#include "fpb-migration-watch.h"

#define S G_GINT64_CONSTANT(1000000)

/* One byte a second for an hour: slow, never stalled. */
static void test_slow_is_not_stalled(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 10, 0);
    for (gint64 t = 0; t <= 3600; t++) {
        g_assert_false(fpb_migration_watch_stalled(&w, t, t * S));
    }
}

/* Bytes stop: stalled exactly stall_s after the last growth, and again
 * moving ends it. */
static void test_standing_still(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 10, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 1000, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 1000, 10 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 1000, 11 * S - 1));
    g_assert_true(fpb_migration_watch_stalled(&w, 1000, 11 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 1001, 12 * S));
}

/* A job that never starts sending (-1: no statistics yet) stalls from the
 * watch's start, after the setup's allowance (not the stall timeout); a
 * counter that goes back is not progress. */
static void test_never_starts_and_going_back(void)
{
    FpbMigrationWatch w;
    gint64 setup = (gint64)FPB_MIGRATION_WATCH_SETUP_S * S;

    fpb_migration_watch_init(&w, 5, 100 * S);
    g_assert_false(fpb_migration_watch_stalled(&w, -1, 105 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, -1, 100 * S + setup - 1));
    g_assert_true(fpb_migration_watch_stalled(&w, -1, 100 * S + setup));
    g_assert_false(fpb_migration_watch_sent_any(&w));
    fpb_migration_watch_init(&w, 5, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 5000, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 10, 2 * S));
    g_assert_true(fpb_migration_watch_stalled(&w, 4000, 6 * S));
}

/* The setup (the destination's QEMU starting, connections over a lossy
 * link) reports 0 bytes for longer than the stall timeout: not a stall.
 * From the first byte on, the stall timeout applies. */
static void test_slow_setup_is_not_stalled(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 5, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, -1, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 0, 2 * S));
    g_assert_cmpfloat(fpb_migration_watch_bound_s(&w), ==, FPB_MIGRATION_WATCH_SETUP_S);
    g_assert_false(fpb_migration_watch_stalled(&w, 0, 30 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 4096, 31 * S));
    g_assert_true(fpb_migration_watch_sent_any(&w));
    g_assert_cmpfloat(fpb_migration_watch_bound_s(&w), ==, 5);
    g_assert_false(fpb_migration_watch_stalled(&w, 4096, 36 * S - 1));
    g_assert_true(fpb_migration_watch_stalled(&w, 4096, 36 * S));
    /* a stall timeout longer than the allowance is the bound from the start */
    fpb_migration_watch_init(&w, 90, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 0, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 0, 91 * S - 1));
    g_assert_true(fpb_migration_watch_stalled(&w, 0, 91 * S));
}

static void test_zero_is_never(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 0, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 7, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 7, 86400 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, -1, 86400 * S));
    g_assert_cmpfloat(fpb_migration_watch_bound_s(&w), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-watch/slow-is-not-stalled", test_slow_is_not_stalled);
    g_test_add_func("/migration-watch/standing-still", test_standing_still);
    g_test_add_func("/migration-watch/never-starts-and-going-back",
                    test_never_starts_and_going_back);
    g_test_add_func("/migration-watch/slow-setup-is-not-stalled", test_slow_setup_is_not_stalled);
    g_test_add_func("/migration-watch/zero-is-never", test_zero_is_never);
    return g_test_run();
}
