/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the journal (SQLite), the outcome's JSON, the facts helpers
 * that need no VM, and the crash-recovery bookkeeping.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fpb-journal.h"
#include "fpb-recover.h"
#include "fpb-vm-facts.h"
#include "orch-helpers.h"

typedef struct {
    char *dir;
    char *db;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    (void)data;
    f->dir = g_dir_make_tmp("fpb-journal-XXXXXX", NULL);
    f->db = g_build_filename(f->dir, "sub", "journal.db", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
    const char *suffixes[] = {"", "-wal", "-shm"};

    (void)data;
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        g_autofree char *p = g_strconcat(f->db, suffixes[i], NULL);
        g_unlink(p);
    }
    g_rmdir(sub);
    g_rmdir(f->dir);
    g_free(f->db);
    g_free(f->dir);
}

static FpbOutcome *sample_outcome(const char *vm, const char *phase)
{
    FpbOutcome *o = fpb_outcome_new();

    fpb_outcome_set(&o->vm, vm);
    fpb_outcome_set(&o->phase, phase);
    fpb_outcome_set(&o->source_qmp, "/run/vm/a.qmp");
    fpb_outcome_set(&o->mode, "balloon");
    o->start_us = 1700000000000000;
    o->prep_original_bytes = 2147483648;
    o->prep_seconds = 1.25;
    o->decision = json_tokener_parse("{\"mode\": \"balloon\", \"reasons\": []}");
    return o;
}

/* A new file gets its directory, WAL and the current schema version. */
static void test_open_creates(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    (void)data;
    g_assert_no_error(error);
    g_assert_nonnull(j);
    g_assert_true(g_file_test(f->db, G_FILE_TEST_EXISTS));
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "wal");
    sqlite3_finalize(stmt);
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &stmt, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), ==, FPB_JOURNAL_SCHEMA_VERSION);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void test_newer_schema_refused(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    sqlite3 *db = NULL;

    (void)data;
    g_assert_no_error(error);
    g_clear_pointer(&j, fpb_journal_free);
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL),
                    ==, SQLITE_OK);
    sqlite3_close(db);
    j = fpb_journal_open(f->db, &error);
    g_assert_null(j);
    g_assert_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_SCHEMA);
    g_assert_nonnull(strstr(error->message, "schema version 99"));
}

/* A damaged file (random bytes, or a valid header over garbage pages):
 * refused with the path and what to do, never overwritten. */
static void test_damaged_refused(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autofree char *before = NULL, *after = NULL;
    gsize before_len = 0, after_len = 0;
    char junk[8192];

    (void)data;
    g_assert_no_error(error);
    g_clear_pointer(&j, fpb_journal_free);
    for (gsize i = 0; i < sizeof(junk); i++) {
        junk[i] = (char)g_test_rand_int_range(0, 256);
    }
    for (int header = 0; header < 2; header++) {
        /* header 1: SQLite's 16-byte magic kept, everything after it junk */
        if (header == 1) {
            memcpy(junk, "SQLite format 3", 16);
        }
        g_assert_true(g_file_set_contents_full(f->db, junk, sizeof(junk), G_FILE_SET_CONTENTS_NONE,
                                               0600, &error));
        g_assert_true(g_file_get_contents(f->db, &before, &before_len, NULL));
        j = fpb_journal_open(f->db, &error);
        g_assert_null(j);
        g_assert_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_SQL);
        g_test_message("%s", error->message);
        g_assert_true(g_str_has_prefix(error->message, "journal '"));
        g_assert_nonnull(strstr(error->message, f->db));
        g_assert_nonnull(strstr(error->message, "the journal file is damaged: move it aside"));
        g_assert_true(g_file_get_contents(f->db, &after, &after_len, NULL));
        g_assert_cmpmem(before, before_len, after, after_len);
        g_clear_error(&error);
        g_clear_pointer(&before, g_free);
        g_clear_pointer(&after, g_free);
    }
}

static void test_insert_update_list(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autoptr(FpbOutcome) a = sample_outcome("vm1", FPB_PHASE_PREPARING);
    g_autoptr(FpbOutcome) b = sample_outcome("vm2", FPB_PHASE_DONE);
    g_autoptr(GPtrArray) rows = NULL;
    FpbOutcome *r;

    (void)data;
    g_assert_true(fpb_journal_insert(j, a, &error));
    g_assert_true(fpb_journal_insert(j, b, &error));
    g_assert_no_error(error);
    g_assert_cmpint(b->id, >, a->id);
    a->mig_transferred_bytes = 321000000;
    fpb_outcome_set(&a->phase, FPB_PHASE_DONE);
    g_assert_true(fpb_journal_update(j, a, &error));
    rows = fpb_journal_list(j, NULL, 0, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 2);
    g_assert_cmpint(((FpbOutcome *)rows->pdata[0])->id, ==, b->id); /* newest first */
    r = rows->pdata[1];
    g_assert_cmpstr(r->vm, ==, "vm1");
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_DONE);
    g_assert_cmpint(r->mig_transferred_bytes, ==, 321000000);
    g_assert_cmpint(r->mig_total_ms, ==, -1); /* unknown stays unknown */
    g_assert_cmpfloat_with_epsilon(r->prep_seconds, 1.25, 1e-9);
    g_assert_cmpstr(orch_json_str(r->decision, "mode"), ==, "balloon");
    g_clear_pointer(&rows, g_ptr_array_unref);
    rows = fpb_journal_list(j, "vm2", 1, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_assert_cmpstr(((FpbOutcome *)rows->pdata[0])->vm, ==, "vm2");
}

static void test_open_rows(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    const char *phases[] = {FPB_PHASE_INTENT, FPB_PHASE_MIGRATING, FPB_PHASE_DONE,
                            FPB_PHASE_RECOVERED, FPB_PHASE_REFUSED};
    g_autoptr(GPtrArray) rows = NULL;

    (void)data;
    for (gsize i = 0; i < G_N_ELEMENTS(phases); i++) {
        g_autoptr(FpbOutcome) o = sample_outcome("vm", phases[i]);
        g_assert_true(fpb_journal_insert(j, o, &error));
    }
    rows = fpb_journal_list_open(j, "/run/vm/a.qmp", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 2);
    g_assert_cmpstr(((FpbOutcome *)rows->pdata[0])->phase, ==, FPB_PHASE_INTENT);
    g_clear_pointer(&rows, g_ptr_array_unref);
    rows = fpb_journal_list_open(j, "/run/vm/other.qmp", &error);
    g_assert_cmpuint(rows->len, ==, 0);
}

/* Rows are outside input: garbage reads back as unknown, never a crash. */
static void test_garbage_row(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autoptr(GPtrArray) rows = NULL;
    sqlite3 *db = NULL;
    FpbOutcome *r;

    (void)data;
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db,
                                 "INSERT INTO migrations (vm, phase, start_us, facts, "
                                 "mig_total_ms, prep_seconds) VALUES ('x', 'done', 1, "
                                 "'{not json', 'lots', 'fast')",
                                 NULL, NULL, NULL),
                    ==, SQLITE_OK);
    sqlite3_close(db);
    rows = fpb_journal_list(j, NULL, 0, &error);
    g_assert_no_error(error);
    r = rows->pdata[0];
    g_assert_null(r->facts);
    g_assert_cmpint(r->mig_total_ms, ==, -1);
    g_assert_cmpfloat(r->prep_seconds, <, 0);
}

static void test_history(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    FpbPolicyHistory h, back;

    (void)data;
    g_assert_true(fpb_journal_load_history(j, "new-vm", &back, &error));
    g_assert_cmpuint(back.migrations, ==, 0);
    g_assert_cmpuint(back.bandwidth.samples, ==, 0);
    fpb_policy_history_init(&h);
    h.migrations = 3;
    fpb_policy_estimate_observe(&h.bandwidth, FPB_POLICY_QUANTITY_BANDWIDTH, 150e6);
    fpb_policy_estimate_observe(&h.inflate_rate, FPB_POLICY_QUANTITY_INFLATE_RATE, 400e6);
    g_assert_true(fpb_journal_save_history(j, "vm", &h, &error));
    g_assert_true(fpb_journal_load_history(j, "vm", &back, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(back.migrations, ==, 3);
    g_assert_cmpuint(back.bandwidth.samples, ==, 1);
    g_assert_cmpfloat_with_epsilon(back.bandwidth.value, 150e6, 1);
    g_assert_cmpfloat_with_epsilon(back.inflate_rate.value, 400e6, 1);
    g_assert_cmpuint(back.zero_share.samples, ==, 0);
    fpb_policy_estimate_observe(&h.used_zero_share, FPB_POLICY_QUANTITY_USED_ZERO_SHARE, 0.04);
    fpb_policy_estimate_observe(&h.zero_page_seconds, FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS, 12e-6);
    g_assert_true(fpb_journal_save_history(j, "vm", &h, &error));
    g_assert_true(fpb_journal_load_history(j, "vm", &back, &error));
    g_assert_cmpuint(back.used_zero_share.samples, ==, 1);
    g_assert_cmpfloat_with_epsilon(back.used_zero_share.value, 0.04, 1e-12);
    g_assert_cmpfloat_with_epsilon(back.zero_page_seconds.value, 12e-6, 1e-15);
}

/* A version 1 journal (before the zero-page quantities) is upgraded in
 * place: its history stays, the new quantities start at their priors. */
static void test_schema_upgrade(Fixture *f, gconstpointer data)
{
    static const char v1[] =
        "CREATE TABLE schema_version (version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES (1);"
        "CREATE TABLE vm_history (vm TEXT PRIMARY KEY, migrations INTEGER NOT NULL,"
        " hint_efficiency REAL, hint_efficiency_samples INTEGER,"
        " inflate_rate REAL, inflate_rate_samples INTEGER,"
        " deflate_rate REAL, deflate_rate_samples INTEGER,"
        " zero_share REAL, zero_share_samples INTEGER,"
        " bandwidth REAL, bandwidth_samples INTEGER);"
        "INSERT INTO vm_history (vm, migrations, bandwidth, bandwidth_samples)"
        " VALUES ('old', 2, 200e6, 2);";
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = NULL;
    g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
    FpbPolicyHistory back;
    sqlite3 *db = NULL;

    (void)data;
    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, v1, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(db);
    /* sqlite3_open() made it 0644 (less the umask) */
    g_test_expect_message("fpb-journal", G_LOG_LEVEL_WARNING, "*tightening to 0600");
    j = fpb_journal_open(f->db, &error);
    g_test_assert_expected_messages();
    g_assert_no_error(error);
    g_assert_true(fpb_journal_load_history(j, "old", &back, &error));
    g_assert_cmpuint(back.migrations, ==, 2);
    g_assert_cmpfloat_with_epsilon(back.bandwidth.value, 200e6, 1);
    g_assert_cmpuint(back.used_zero_share.samples, ==, 0);
    g_assert_cmpuint(back.zero_page_seconds.samples, ==, 0);
    back.zero_page_seconds = (FpbPolicyEstimate){.value = 5e-6, .samples = 1};
    g_assert_true(fpb_journal_save_history(j, "old", &back, &error));
    g_assert_true(fpb_journal_load_history(j, "old", &back, &error));
    g_assert_cmpuint(back.zero_page_seconds.samples, ==, 1);
    g_clear_pointer(&j, fpb_journal_free);
    /* opening it again finds the current version and changes nothing */
    j = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_journal_load_history(j, "old", &back, &error));
    g_assert_cmpuint(back.zero_page_seconds.samples, ==, 1);
}

static int mode_of(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_mode & 07777;
}

/* Rows name VMs and hosts: a new journal is 0600 in a 0700 directory, and
 * so are the -wal and -shm files SQLite creates after it. */
static void test_file_modes(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = NULL;
    g_autoptr(FpbOutcome) o = sample_outcome("vm-a", FPB_PHASE_INTENT);
    g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
    g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);
    g_autofree char *shm = g_strconcat(f->db, "-shm", NULL);
    mode_t old = umask(0); /* the loosest umask: the modes are fpb's own */

    (void)data;
    j = fpb_journal_open(f->db, &error);
    umask(old);
    g_assert_no_error(error);
    g_assert_true(fpb_journal_insert(j, o, &error));
    g_assert_cmpint(mode_of(sub), ==, 0700);
    g_assert_cmpint(mode_of(f->db), ==, 0600);
    g_assert_cmpint(mode_of(wal), ==, 0600);
    g_assert_cmpint(mode_of(shm), ==, 0600);
}

/* fpbd holds its main connection while threads open more: opening one
 * must not drop the locks the others hold (POSIX locks go with any close
 * of the file in the process). Without them, another process's reader
 * believes it is the journal's last user and deletes the -wal and -shm
 * under fpbd, whose next open then fails with a disk I/O error. */
static void test_second_open_keeps_locks(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) first = NULL;
    g_autoptr(FpbJournal) second = NULL;
    g_autoptr(FpbJournal) third = NULL;
    g_autoptr(FpbOutcome) a = sample_outcome("vm-a", FPB_PHASE_INTENT);
    g_autoptr(FpbOutcome) b = sample_outcome("vm-b", FPB_PHASE_INTENT);
    g_autofree char *shm = g_strconcat(f->db, "-shm", NULL);
    g_autofree char *out = NULL;
    const char *argv[] = {"sqlite3", f->db, "select count(*) from migrations;", NULL};
    int status = -1;

    (void)data;
    first = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_journal_insert(first, a, &error));
    second = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    /* another process reads and closes: not the last user */
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_cmpstr(g_strstrip(out), ==, "1");
    g_assert_true(g_file_test(shm, G_FILE_TEST_EXISTS));
    g_assert_true(fpb_journal_insert(first, b, &error));
    g_assert_no_error(error);
    third = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
}

/* An existing world-readable journal (and its -wal) is tightened with a
 * warning; an existing directory is the admin's and keeps its mode. */
static void test_tightened(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = NULL;
    g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
    g_autofree char *wal = g_strconcat(f->db, "-wal", NULL);

    (void)data;
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    g_assert_cmpint(chmod(sub, 0755), ==, 0);
    g_assert_true(g_file_set_contents(f->db, "", 0, NULL));
    g_assert_true(g_file_set_contents(wal, "", 0, NULL));
    g_assert_cmpint(chmod(f->db, 0644), ==, 0);
    g_assert_cmpint(chmod(wal, 0666), ==, 0);
    g_test_expect_message(
        "fpb-journal", G_LOG_LEVEL_WARNING,
        "journal '*journal.db': mode 0644 lets others read it, tightening to 0600");
    g_test_expect_message("fpb-journal", G_LOG_LEVEL_WARNING,
                          "journal '*-wal': mode 0666 lets others read it, tightening to 0600");
    j = fpb_journal_open(f->db, &error);
    g_test_assert_expected_messages();
    g_assert_no_error(error);
    g_assert_cmpint(mode_of(f->db), ==, 0600);
    g_assert_cmpint(mode_of(wal), ==, 0600);
    g_assert_cmpint(mode_of(sub), ==, 0755);
}

/* The JSON names issue 5 fixes. */
static void test_outcome_json(void)
{
    g_autoptr(FpbOutcome) o = sample_outcome("vm", FPB_PHASE_DONE);
    g_autoptr(json_object) json = NULL;

    o->mig_transferred_bytes = 5;
    fpb_outcome_set(&o->mig_status, "completed");
    fpb_outcome_set_error(o, "first");
    fpb_outcome_set_error(o, "second");
    json = fpb_outcome_to_json(o);
    g_assert_cmpstr(orch_json_str(json, "vm"), ==, "vm");
    g_assert_cmpstr(orch_json_str(json, "decision.mode"), ==, "balloon");
    g_assert_cmpint(orch_json_int(json, "migration.transferred_bytes"), ==, 5);
    g_assert_cmpstr(orch_json_str(json, "migration.status"), ==, "completed");
    g_assert_cmpstr(orch_json_str(json, "error"), ==, "first");
    g_assert_true(
        json_object_object_get_ex(json_object_object_get(json, "prepare"), "seconds", NULL));
    g_assert_true(
        json_object_object_get_ex(json_object_object_get(json, "restore"), "status", NULL));
    g_assert_true(json_object_object_get_ex(json, "predictions", NULL));
    g_assert_false(json_object_object_get_ex(json, "owner_pid", NULL));
}

static void test_outcome_json_no_decision(void)
{
    g_autoptr(FpbOutcome) o = fpb_outcome_new();
    g_autoptr(json_object) json = fpb_outcome_to_json(o);
    json_object *reasons = NULL;

    g_assert_true(
        json_object_object_get_ex(json_object_object_get(json, "decision"), "reasons", &reasons));
    g_assert_true(json_object_is_type(reasons, json_type_array));
}

static void test_init_on_alloc(void)
{
    const struct {
        const char *cmdline;
        FpbPolicyInitOnAlloc expect;
    } cases[] = {
        {"console=ttyS0 init_on_alloc=0 quiet", FPB_POLICY_INIT_ON_ALLOC_OFF},
        {"init_on_alloc=1", FPB_POLICY_INIT_ON_ALLOC_ON},
        {"init_on_alloc=off init_on_alloc=on", FPB_POLICY_INIT_ON_ALLOC_ON},
        {"init_on_alloc=y", FPB_POLICY_INIT_ON_ALLOC_ON},
        {"init_on_alloc=maybe", FPB_POLICY_INIT_ON_ALLOC_UNKNOWN},
        {"xinit_on_alloc=0", FPB_POLICY_INIT_ON_ALLOC_UNKNOWN},
        {"", FPB_POLICY_INIT_ON_ALLOC_UNKNOWN},
        {NULL, FPB_POLICY_INIT_ON_ALLOC_UNKNOWN},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpint(fpb_vm_facts_parse_init_on_alloc(cases[i].cmdline), ==, cases[i].expect);
    }
}

static void test_owner_alive(void)
{
    g_autoptr(FpbOutcome) o = fpb_outcome_new();

    o->owner_pid = getpid();
    o->owner_start = fpb_recover_process_start_time(getpid());
    g_assert_cmpint(o->owner_start, >, 0);
    g_assert_true(fpb_recover_row_owner_alive(o));
    o->owner_start += 1; /* the PID was reused by another process */
    g_assert_false(fpb_recover_row_owner_alive(o));
    o->owner_pid = -1;
    g_assert_false(fpb_recover_row_owner_alive(o));
    g_assert_cmpint(fpb_recover_process_start_time(G_MAXINT), ==, -1);
}

/* ---- evacuations (schema 5) ---- */

static FpbEvacuationRow *sample_evacuation(gint64 owner_pid, gint64 owner_start)
{
    FpbEvacuationRow *e = fpb_evacuation_row_new();

    fpb_evacuation_row_set(&e->status, FPB_EVACUATION_RUNNING);
    e->start_us = 1700000000000000;
    e->owner_pid = owner_pid;
    e->owner_start = owner_start;
    fpb_evacuation_row_set(&e->source_uri, "qemu+tcp://a/system");
    fpb_evacuation_row_set(&e->dest_uri, "qemu+tcp://b/system");
    e->plan = json_tokener_parse("{\"makespan_s\": 42.5, \"vms\": [{\"name\": \"vm1\"}]}");
    e->predicted_makespan_seconds = 42.5;
    e->vms = 2;
    return e;
}

/* An evacuation row is written, updated and read back; VM rows name it by
 * id, or by their owner after it died. */
static void test_evacuation_rows(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autoptr(FpbEvacuationRow) e = sample_evacuation(4242, 77);
    g_autoptr(FpbOutcome) a = sample_outcome("vm1", FPB_PHASE_DONE);
    g_autoptr(FpbOutcome) b = sample_outcome("vm2", FPB_PHASE_MIGRATING);
    g_autoptr(FpbOutcome) other = sample_outcome("vm3", FPB_PHASE_DONE);
    g_autoptr(GPtrArray) rows = NULL;
    FpbEvacuationRow *r;

    (void)data;
    g_assert_true(fpb_journal_insert_evacuation(j, e, &error));
    g_assert_no_error(error);
    g_assert_cmpint(e->id, >, 0);
    a->owner_pid = b->owner_pid = 4242;
    a->owner_start = b->owner_start = 77;
    other->owner_pid = 4243; /* another process's row */
    a->start_us = b->start_us = other->start_us = e->start_us + 1;
    g_assert_true(fpb_journal_insert(j, a, &error));
    g_assert_true(fpb_journal_insert(j, b, &error));
    g_assert_true(fpb_journal_insert(j, other, &error));
    g_assert_true(fpb_journal_set_evacuation(j, a->id, e->id, &error));
    rows = fpb_journal_list_by_evacuation(j, e->id, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_clear_pointer(&rows, g_ptr_array_unref);
    /* b was written by the same process since the evacuation began */
    g_assert_true(fpb_journal_adopt_evacuation_rows(j, e, &error));
    rows = fpb_journal_list_by_evacuation(j, e->id, &error);
    g_assert_cmpuint(rows->len, ==, 2);
    g_assert_cmpint(((FpbOutcome *)rows->pdata[1])->id, ==, b->id);
    g_clear_pointer(&rows, g_ptr_array_unref);
    /* the VM rows' own columns are untouched by the evacuation column */
    fpb_outcome_set(&b->phase, FPB_PHASE_DONE);
    g_assert_true(fpb_journal_update(j, b, &error));
    rows = fpb_journal_list_by_evacuation(j, e->id, &error);
    g_assert_cmpuint(rows->len, ==, 2);
    g_clear_pointer(&rows, g_ptr_array_unref);

    rows = fpb_journal_list_evacuations(j, TRUE, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    r = rows->pdata[0];
    g_assert_cmpstr(r->status, ==, FPB_EVACUATION_RUNNING);
    g_assert_cmpstr(r->dest_uri, ==, "qemu+tcp://b/system");
    g_assert_cmpint(r->owner_start, ==, 77);
    g_assert_cmpfloat_with_epsilon(r->predicted_makespan_seconds, 42.5, 1e-9);
    g_assert_cmpfloat(r->actual_makespan_seconds, <, 0); /* unknown stays unknown */
    g_assert_cmpint(r->end_us, ==, -1);
    g_assert_cmpfloat_with_epsilon(orch_json_num(r->plan, "makespan_s"), 42.5, 1e-9);
    g_clear_pointer(&rows, g_ptr_array_unref);

    fpb_evacuation_row_set(&e->status, FPB_EVACUATION_DONE);
    e->actual_makespan_seconds = 51.25;
    e->end_us = e->start_us + 51250000;
    e->migrated = 2;
    e->failed = 0;
    g_assert_true(fpb_journal_update_evacuation(j, e, &error));
    rows = fpb_journal_list_evacuations(j, TRUE, &error);
    g_assert_cmpuint(rows->len, ==, 0);
    g_clear_pointer(&rows, g_ptr_array_unref);
    rows = fpb_journal_list_evacuations(j, FALSE, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    r = rows->pdata[0];
    g_assert_cmpstr(r->status, ==, FPB_EVACUATION_DONE);
    g_assert_cmpfloat_with_epsilon(r->actual_makespan_seconds, 51.25, 1e-9);
    g_assert_cmpint(r->migrated, ==, 2);
}

/* A version 4 journal gets the evacuations table and the migrations'
 * evacuation_id in place; its rows stay. */
static void test_schema_upgrade_5(Fixture *f, gconstpointer data)
{
    static const char to_v4[] = "DROP INDEX migrations_evacuation;"
                                "ALTER TABLE migrations DROP COLUMN evacuation_id;"
                                "DROP TABLE evacuations;"
                                "UPDATE schema_version SET version = 4;";
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autoptr(FpbOutcome) o = sample_outcome("old-vm", FPB_PHASE_DONE);
    g_autoptr(FpbEvacuationRow) e = sample_evacuation(1, 1);
    g_autoptr(GPtrArray) rows = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    (void)data;
    g_assert_true(fpb_journal_insert(j, o, &error));
    g_clear_pointer(&j, fpb_journal_free);
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, to_v4, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(db);
    j = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    rows = fpb_journal_list(j, "old-vm", 0, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_assert_true(fpb_journal_insert_evacuation(j, e, &error));
    g_assert_true(fpb_journal_set_evacuation(j, o->id, e->id, &error));
    g_assert_no_error(error);
    g_clear_pointer(&rows, g_ptr_array_unref);
    rows = fpb_journal_list_by_evacuation(j, e->id, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &stmt, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), ==, 5);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* fpbctl recover closes an evacuation whose fpbctl died once its VM rows
 * are closed; one with a VM row still open stays running; a live one is
 * not touched. */
static void test_recover_evacuations(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(f->db, &error);
    g_autoptr(FpbEvacuationRow) dead = sample_evacuation(G_MAXINT, 5);
    g_autoptr(FpbEvacuationRow) dead_open = sample_evacuation(G_MAXINT - 1, 5);
    g_autoptr(FpbEvacuationRow) live =
        sample_evacuation(getpid(), fpb_recover_process_start_time(getpid()));
    g_autoptr(FpbOutcome) done = sample_outcome("vm1", FPB_PHASE_RECOVERED);
    g_autoptr(FpbOutcome) open = sample_outcome("vm2", FPB_PHASE_PREPARING);
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) rows = NULL;
    guint left = 99;
    FpbEvacuationRow *r;

    (void)data;
    g_assert_true(fpb_journal_insert_evacuation(j, dead, &error));
    g_assert_true(fpb_journal_insert_evacuation(j, dead_open, &error));
    g_assert_true(fpb_journal_insert_evacuation(j, live, &error));
    done->owner_pid = G_MAXINT;
    done->owner_start = 5;
    done->start_us = dead->start_us + 10;
    open->owner_pid = G_MAXINT - 1;
    open->owner_start = 5;
    open->start_us = dead->start_us + 10;
    g_assert_true(fpb_journal_insert(j, done, &error));
    g_assert_true(fpb_journal_insert(j, open, &error));
    g_assert_true(fpb_recover_evacuations(j, summaries, &left, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(left, ==, 1);
    g_assert_cmpuint(summaries->len, ==, 3);
    g_assert_nonnull(strstr(summaries->pdata[0], "abandoned"));
    g_assert_nonnull(strstr(summaries->pdata[1], "still open: left running"));
    g_assert_nonnull(strstr(summaries->pdata[2], "skipping"));
    rows = fpb_journal_list_evacuations(j, FALSE, &error);
    g_assert_cmpuint(rows->len, ==, 3);
    r = rows->pdata[0];
    g_assert_cmpstr(r->status, ==, FPB_EVACUATION_ABANDONED);
    g_assert_cmpint(r->end_us, >, 0);
    g_assert_nonnull(strstr(r->error, "died during the evacuation"));
    g_assert_nonnull(strstr(r->error, "1 VM row ("));
    g_assert_cmpstr(((FpbEvacuationRow *)rows->pdata[1])->status, ==, FPB_EVACUATION_RUNNING);
    g_assert_cmpstr(((FpbEvacuationRow *)rows->pdata[2])->status, ==, FPB_EVACUATION_RUNNING);
    g_clear_pointer(&rows, g_ptr_array_unref);
    /* its VM row now names it */
    rows = fpb_journal_list_by_evacuation(j, dead->id, &error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_assert_cmpint(((FpbOutcome *)rows->pdata[0])->id, ==, done->id);
}

/* The JSON of an evacuation row: unknown is null, the plan an object. */
static void test_evacuation_json(void)
{
    g_autoptr(FpbEvacuationRow) e = sample_evacuation(1, 1);
    g_autoptr(json_object) j = fpb_evacuation_row_to_json(e);
    json_object *v = NULL;

    g_assert_cmpstr(orch_json_str(j, "status"), ==, FPB_EVACUATION_RUNNING);
    g_assert_true(json_object_object_get_ex(j, "actual_makespan_seconds", &v));
    g_assert_null(v);
    g_assert_true(json_object_object_get_ex(j, "plan", &v));
    g_assert_true(json_object_is_type(v, json_type_object));
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

/* A stats sample from before the balloon last grew is not believed. */
static void test_stats_agree_with_balloon(void)
{
    g_autoptr(FpbVmFacts) v = g_new0(FpbVmFacts, 1);
    const gint64 mib = 1024 * 1024;

    v->notes = g_ptr_array_new_with_free_func(g_free);
    fpb_policy_facts_init(&v->facts);
    v->facts.ram_bytes = 1024 * mib;
    v->facts.balloon_actual_bytes = 1024 * mib;
    v->facts.stats.total_bytes = 961 * mib; /* a 1 GiB guest's MemTotal here */
    v->facts.stats.free_bytes = 700 * mib;
    g_assert_true(fpb_vm_facts_stats_agree_with_balloon(&v->facts));
    v->facts.stats.total_bytes = -1; /* unknown: nothing to disagree with */
    g_assert_true(fpb_vm_facts_stats_agree_with_balloon(&v->facts));
    /* measured in a CI run: 654 MiB right after deflating from 466 MiB */
    v->facts.stats.total_bytes = 654 * mib;
    g_assert_false(fpb_vm_facts_stats_agree_with_balloon(&v->facts));
    fpb_vm_facts_forget_stale_stats(v);
    g_assert_cmpint(v->facts.stats.free_bytes, ==, -1);
    g_assert_cmpfloat(v->facts.stats.age_seconds, <, 0);
    g_assert_cmpuint(v->notes->len, ==, 1);
    g_assert_nonnull(strstr(v->notes->pdata[0], "predates the balloon's 1024 MiB"));
    /* inflated to 466 MiB, a matching sample agrees */
    v->facts.balloon_actual_bytes = 466 * mib;
    v->facts.stats.total_bytes = 404 * mib;
    g_assert_true(fpb_vm_facts_stats_agree_with_balloon(&v->facts));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/orchestrator/journal/open-creates", test_open_creates);
    ADD("/orchestrator/journal/newer-schema-refused", test_newer_schema_refused);
    ADD("/orchestrator/journal/damaged-refused", test_damaged_refused);
    ADD("/orchestrator/journal/insert-update-list", test_insert_update_list);
    ADD("/orchestrator/journal/open-rows", test_open_rows);
    ADD("/orchestrator/journal/garbage-row", test_garbage_row);
    ADD("/orchestrator/journal/history", test_history);
    ADD("/orchestrator/journal/schema-upgrade", test_schema_upgrade);
    ADD("/orchestrator/journal/file-modes", test_file_modes);
    ADD("/orchestrator/journal/tightened", test_tightened);
    ADD("/orchestrator/journal/second-open-keeps-locks", test_second_open_keeps_locks);
    ADD("/orchestrator/journal/evacuation-rows", test_evacuation_rows);
    ADD("/orchestrator/journal/schema-upgrade-5", test_schema_upgrade_5);
    ADD("/orchestrator/recover/evacuations", test_recover_evacuations);
    g_test_add_func("/orchestrator/evacuation/json", test_evacuation_json);
    g_test_add_func("/orchestrator/outcome/json", test_outcome_json);
    g_test_add_func("/orchestrator/outcome/json-no-decision", test_outcome_json_no_decision);
    g_test_add_func("/orchestrator/facts/init-on-alloc", test_init_on_alloc);
    g_test_add_func("/orchestrator/facts/stats-agree-with-balloon", test_stats_agree_with_balloon);
    g_test_add_func("/orchestrator/recover/owner-alive", test_owner_alive);
    return g_test_run();
}
