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
 * watch's start; a counter that goes back is not progress. */
static void test_never_starts_and_going_back(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 5, 100 * S);
    g_assert_false(fpb_migration_watch_stalled(&w, -1, 104 * S));
    g_assert_true(fpb_migration_watch_stalled(&w, -1, 105 * S));
    fpb_migration_watch_init(&w, 5, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 5000, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 10, 2 * S));
    g_assert_true(fpb_migration_watch_stalled(&w, 4000, 6 * S));
}

static void test_zero_is_never(void)
{
    FpbMigrationWatch w;

    fpb_migration_watch_init(&w, 0, 0);
    g_assert_false(fpb_migration_watch_stalled(&w, 7, 1 * S));
    g_assert_false(fpb_migration_watch_stalled(&w, 7, 86400 * S));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-watch/slow-is-not-stalled", test_slow_is_not_stalled);
    g_test_add_func("/migration-watch/standing-still", test_standing_still);
    g_test_add_func("/migration-watch/never-starts-and-going-back",
                    test_never_starts_and_going_back);
    g_test_add_func("/migration-watch/zero-is-never", test_zero_is_never);
    return g_test_run();
}
