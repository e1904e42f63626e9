/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `fpbctl recover` finds closed rows that left memory taken (issue 20):
 * the predicate, and fpb_recover_missing_memory() on a journal whose guest
 * is gone (the row stays "missing", keeps its phase, is found again).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "fpb-journal.h"
#include "fpb-backend-qmp.h"
#include "fpb-recover.h"

#define MIB (1024 * 1024LL)

static FpbOutcome *balloon_row(const char *phase, const char *restore_status, gint64 final)
{
    FpbOutcome *o = fpb_outcome_new();

    fpb_outcome_set(&o->vm, "vm1");
    fpb_outcome_set(&o->phase, phase);
    fpb_outcome_set(&o->mode, "balloon");
    fpb_outcome_set(&o->restore_status, restore_status);
    fpb_outcome_set(&o->source_qmp, "/nonexistent/fpb-test/src.sock");
    fpb_outcome_set(&o->backend, "qmp");
    o->start_us = g_get_real_time();
    o->prep_original_bytes = 2048 * MIB;
    o->restore_final_bytes = final;
    return o;
}

static void test_predicate(void)
{
    g_autoptr(FpbOutcome) partial = balloon_row(FPB_PHASE_FAILED, "partial", 1536 * MIB);
    g_autoptr(FpbOutcome) failed = balloon_row(FPB_PHASE_DONE, "failed", -1);
    g_autoptr(FpbOutcome) short_done = balloon_row(FPB_PHASE_DONE, "done", 1024 * MIB);
    g_autoptr(FpbOutcome) done = balloon_row(FPB_PHASE_DONE, "done", 2048 * MIB);
    g_autoptr(FpbOutcome) open = balloon_row(FPB_PHASE_RESTORING, "partial", 1536 * MIB);
    g_autoptr(FpbOutcome) hint = balloon_row(FPB_PHASE_FAILED, "failed", -1);

    fpb_outcome_set(&hint->mode, "hint");
    g_assert_true(fpb_recover_row_memory_missing(partial));
    g_assert_true(fpb_recover_row_memory_missing(failed));
    g_assert_true(fpb_recover_row_memory_missing(short_done));
    g_assert_false(fpb_recover_row_memory_missing(done));
    g_assert_false(fpb_recover_row_memory_missing(open)); /* open rows: fpb_recover_all */
    g_assert_false(fpb_recover_row_memory_missing(hint));
}

static void test_unreachable_stays_missing(void)
{
    const FpbBackendOps *const backends[] = {&fpb_backend_qmp_ops, NULL};
    g_autofree char *dir = g_dir_make_tmp("fpb-recover-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "journal.db", NULL);
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    FpbJournal *j = fpb_journal_open(path, &error);
    g_autoptr(FpbOutcome) row = balloon_row(FPB_PHASE_FAILED, "partial", 1536 * MIB);
    g_autoptr(FpbOutcome) done = balloon_row(FPB_PHASE_DONE, "done", 2048 * MIB);
    g_autoptr(GPtrArray) rows = NULL;
    guint failed = 0;

    g_assert_no_error(error);
    fpb_journal_insert(j, row, &error);
    g_assert_no_error(error);
    fpb_journal_insert(j, done, &error);
    g_assert_no_error(error);
    for (int pass = 0; pass < 2; pass++) {
        g_ptr_array_set_size(summaries, 0);
        g_assert_true(fpb_recover_missing_memory(j, NULL, backends, summaries, &failed, &error));
        g_assert_cmpuint(summaries->len, ==, 1);
        g_assert_cmpuint(failed, ==, 1);
        g_assert_nonnull(strstr(summaries->pdata[0], "memory not all given back"));
    }
    rows = fpb_journal_list(j, "vm1", 0, &error);
    g_assert_nonnull(rows);
    for (guint i = 0; i < rows->len; i++) {
        FpbOutcome *r = rows->pdata[i];

        if (r->id == row->id) {
            g_assert_cmpstr(r->phase, ==, FPB_PHASE_FAILED);
            g_assert_true(fpb_recover_row_memory_missing(r));
            /* the retry note is replaced, not piled up */
            g_assert_null(strstr(strstr(r->error, "memory not all") + 1, "memory not all"));
        }
    }
    fpb_journal_free(j);
    for (const char *const *f =
             (const char *const[]){"journal.db", "journal.db-wal", "journal.db-shm", NULL};
         *f != NULL; f++) {
        g_autofree char *p = g_build_filename(dir, *f, NULL);

        g_unlink(p);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recover/missing/predicate", test_predicate);
    g_test_add_func("/recover/missing/unreachable-stays-missing", test_unreachable_stays_missing);
    return g_test_run();
}
