/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration pipeline (host-plugin/pipeline/fpb-pipeline.c) against a
 * fake backend (fake-backend.h), issue 19: each path through
 * fpb_pipeline_migrate() (the result, the outcome, the journal row as read
 * back, the exact calls made to the backend, the VM history), explain,
 * and crash recovery after the process died in each open phase (a forked
 * child _exit()s inside the step; the parent recovers). No QEMU, no
 * libvirt, no real backend: the pipeline alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fake-backend.h"
#include "fpb-pipeline.h"
#include "fpb-recover.h"
#include "fpb-vm-lock.h"

#define MIB FAKE_MIB
#define ORIGINAL FAKE_GUEST_RAM_BYTES

/* ---- the fixture: a private directory, removed whatever happens ---- */

typedef struct {
    char *dir;
    char *db;
    FpbJournal *journal;
    FakeWorld *world;
    FpbPipelineRequest req;
    GPtrArray *progress; /* char*: what the pipeline reported */
} Fixture;

/* The files a journal leaves, removed by the abort handler too: a failed
 * g_assert aborts the process before any teardown runs. */
static const char *const journal_files[] = {"journal.db", "journal.db-wal", "journal.db-shm"};
static char abort_paths[G_N_ELEMENTS(journal_files) + 1][4096];
static gboolean abort_armed;

/* The pipeline's locks/ (opendir is not async-signal-safe: accepted, the
 * process dies right after, as in the test bed's handler). */
static void remove_locks_on_abort(const char *dir)
{
    char locks[4096 + 8];
    DIR *d;
    struct dirent *e;

    g_snprintf(locks, sizeof(locks), "%s/locks", dir);
    if ((d = opendir(locks)) == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    rmdir(locks);
}

static void remove_on_abort(int sig)
{
    if (abort_armed) {
        for (gsize i = 0; i < G_N_ELEMENTS(journal_files); i++) {
            unlink(abort_paths[i + 1]);
        }
        remove_locks_on_abort(abort_paths[0]);
        rmdir(abort_paths[0]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void arm_abort_cleanup(const char *dir)
{
    g_strlcpy(abort_paths[0], dir, sizeof(abort_paths[0]));
    for (gsize i = 0; i < G_N_ELEMENTS(journal_files); i++) {
        g_snprintf(abort_paths[i + 1], sizeof(abort_paths[i + 1]), "%s/%s", dir, journal_files[i]);
    }
    abort_armed = TRUE;
    signal(SIGABRT, remove_on_abort);
}

static void collect_progress(const char *message, gpointer data)
{
    g_ptr_array_add(data, g_strdup(message));
}

/* The journal syncs every write (synchronous=FULL): on a tmpfs that costs
 * nothing, which keeps 40 runs fast on a busy disk. TMPDIR still wins. */
static char *make_private_dir(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *shm = g_strdup("/dev/shm/fpb-pipeline-XXXXXX");
    char *dir = NULL;

    if (g_getenv("TMPDIR") == NULL && access("/dev/shm", W_OK | X_OK) == 0 &&
        g_mkdtemp(shm) != NULL) {
        return g_steal_pointer(&shm);
    }
    dir = g_dir_make_tmp("fpb-pipeline-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    (void)data;
    f->dir = make_private_dir();
    arm_abort_cleanup(f->dir);
    f->db = g_build_filename(f->dir, journal_files[0], NULL);
    f->journal = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    f->world = fake_world_new();
    f->progress = g_ptr_array_new_with_free_func(g_free);
    fpb_pipeline_request_init(&f->req);
    f->req.progress = collect_progress;
    f->req.progress_data = f->progress;
}

/* The VM locks (fpb-vm-lock.h) the pipeline left beside the journal. */
static void remove_lock_dir(const char *dir)
{
    g_autofree char *locks = g_build_filename(dir, "locks", NULL);
    g_autoptr(GDir) d = g_dir_open(locks, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(locks, name, NULL);

        g_assert_cmpint(g_unlink(p), ==, 0);
    }
    g_rmdir(locks);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    (void)data;
    g_clear_pointer(&f->journal, fpb_journal_free);
    for (gsize i = 0; i < G_N_ELEMENTS(journal_files); i++) {
        g_autofree char *p = g_build_filename(f->dir, journal_files[i], NULL);

        g_unlink(p);
    }
    remove_lock_dir(f->dir);
    g_assert_cmpint(g_rmdir(f->dir), ==, 0);
    abort_armed = FALSE;
    fake_world_free(f->world);
    g_ptr_array_unref(f->progress);
    g_free(f->db);
    g_free(f->dir);
}

/* ---- helpers ---- */

#define assert_has(haystack, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (haystack);                                                               \
        const char *n_ = (needle);                                                                 \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                                                \
            g_autofree char *m_ =                                                                  \
                g_strdup_printf("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_);             \
            g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, m_);                  \
        }                                                                                          \
    } while (0)

#define assert_calls(f, expected)                                                                  \
    do {                                                                                           \
        g_autofree char *c_ = fake_world_calls((f)->world);                                        \
        g_assert_cmpstr(c_, ==, (expected));                                                       \
    } while (0)

#define assert_phases(f, expected)                                                                 \
    do {                                                                                           \
        g_autofree char *p_ = fake_world_phases((f)->world);                                       \
        g_assert_cmpstr(p_, ==, (expected));                                                       \
    } while (0)

static void force_mode(Fixture *f, FpbPolicyRequest mode, const char *name)
{
    f->req.facts.policy.mode = mode;
    f->req.requested_mode = name;
}

static FpbOutcome *run_pipeline(Fixture *f, const FpbBackendOps *ops, FpbMigrateResult *ret)
{
    g_autoptr(FpbBackend) be = fake_backend_new(f->world, ops, f->journal);

    return fpb_pipeline_migrate(f->journal, be, &f->req, ret);
}

/* Every row, newest first. */
static GPtrArray *journal_rows(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *rows = fpb_journal_list(f->journal, NULL, 0, &error);

    g_assert_no_error(error);
    g_assert_nonnull(rows);
    return rows;
}

static guint history_migrations(Fixture *f, const char *vm)
{
    g_autoptr(GError) error = NULL;
    FpbPolicyHistory h;

    g_assert_true(fpb_journal_load_history(f->journal, vm, &h, &error));
    g_assert_no_error(error);
    return h.migrations;
}

/* The balloon target the policy decides for the guest as it is now. */
static gint64 decided_target(Fixture *f)
{
    g_autoptr(FpbBackend) be = fake_backend_new(f->world, NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVmFacts) vf = be->ops->collect_facts(be, &f->req.facts, &error);
    g_autoptr(FpbPolicyDecision) d = NULL;

    g_assert_no_error(error);
    d = fpb_policy_decide(&vf->facts, &error);
    g_assert_no_error(error);
    fake_world_forget_calls(f->world);
    g_assert_cmpint(d->inflate_bytes, >=, (gint64)FPB_COST_MIN_INFLATE_BYTES);
    /* the preparation asks for the ceiling (fpb-policy-prep.h); here, at
     * the KVM prior's rate, the budget does not bind and they agree */
    g_assert_cmpint(d->balloon_ceiling_target_bytes, <=, d->balloon_target_bytes);
    return d->balloon_ceiling_target_bytes;
}

static void assert_no_warnings(Fixture *f)
{
    for (guint i = 0; i < f->progress->len; i++) {
        const char *m = f->progress->pdata[i];

        if (g_str_has_prefix(m, "warning")) {
            g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, m);
        }
    }
}

/* The journal holds exactly @o, as the pipeline returned it. */
static void assert_row_is(Fixture *f, const FpbOutcome *o)
{
    g_autoptr(GPtrArray) rows = journal_rows(f);
    const FpbOutcome *r;

    g_assert_cmpuint(rows->len, ==, 1);
    r = rows->pdata[0];
    g_assert_cmpint(r->id, ==, o->id);
    g_assert_cmpstr(r->vm, ==, o->vm);
    g_assert_cmpstr(r->phase, ==, o->phase);
    g_assert_cmpstr(r->error, ==, o->error);
    g_assert_cmpstr(r->mode, ==, o->mode);
    g_assert_cmpstr(r->hints, ==, o->hints);
    g_assert_cmpstr(r->requested_mode, ==, o->requested_mode);
    g_assert_cmpint(r->prep_original_bytes, ==, o->prep_original_bytes);
    g_assert_cmpint(r->prep_target_bytes, ==, o->prep_target_bytes);
    g_assert_cmpint(r->prep_reached_bytes, ==, o->prep_reached_bytes);
    g_assert_cmpstr(r->prep_stopped, ==, o->prep_stopped);
    g_assert_cmpstr(r->mig_status, ==, o->mig_status);
    g_assert_cmpint(r->mig_transferred_bytes, ==, o->mig_transferred_bytes);
    g_assert_cmpstr(r->restore_status, ==, o->restore_status);
    g_assert_cmpstr(r->restore_where, ==, o->restore_where);
    g_assert_cmpint(r->restore_final_bytes, ==, o->restore_final_bytes);
    g_assert_cmpstr(r->backend, ==, FAKE_BACKEND_NAME);
    g_assert_cmpstr(r->source_qmp, ==, FAKE_SOURCE);
    g_assert_cmpstr(r->dest_qmp, ==, FAKE_DEST);
    g_assert_cmpstr(r->uri, ==, FAKE_URI);
    g_assert_cmpint(r->owner_pid, ==, getpid());
    g_assert_cmpint(r->end_us, >=, r->start_us);
    g_assert_false(fpb_outcome_phase_is_open(r->phase));
}

static void assert_guest(Fixture *f, FpbEnd end, gint64 actual)
{
    g_assert_cmpint(f->world->runs_on, ==, end);
    g_assert_cmpint(f->world->actual_bytes, ==, actual);
    g_assert_false(f->world->migration_running);
}

/* A SQLite trigger on the journal's table (docs/journal.md), from another
 * connection, as a full disk or an I/O error would fail the statement. */
static void journal_sql(Fixture *f, const char *statement)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    g_assert_cmpint(sqlite3_open(f->db, &db), ==, SQLITE_OK);
    if (sqlite3_exec(db, statement, NULL, NULL, &err) != SQLITE_OK) {
        g_autofree char *m = g_strdup_printf("'%s': %s", statement, err ? err : "?");

        sqlite3_free(err);
        sqlite3_close(db);
        g_assertion_message(G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, m);
    }
    sqlite3_close(db);
}

#define FAIL_INSERTS                                                                               \
    "CREATE TRIGGER test_fail_insert BEFORE INSERT ON migrations "                                 \
    "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
#define FAIL_UPDATES                                                                               \
    "CREATE TRIGGER test_fail_update BEFORE UPDATE ON migrations "                                 \
    "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"

/* ---- refused: nothing was done ---- */

static void assert_refused_row(Fixture *f, const FpbOutcome *o, FpbMigrateResult result)
{
    g_assert_cmpint(result, ==, FPB_MIGRATE_REFUSED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_REFUSED);
    g_assert_null(o->mode);
    g_assert_null(o->mig_status); /* an intent row says "not-started" */
    g_assert_null(o->restore_status);
    g_assert_cmpint(o->prep_target_bytes, ==, -1);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    assert_no_warnings(f);
}

static void test_refused_open(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.open_fails = TRUE;
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    g_assert_cmpstr(o->vm, ==, FAKE_FALLBACK_NAME);
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_FALLBACK_NAME "': cannot reach the source QMP socket '" FAKE_SOURCE
                    "': scripted");
    g_assert_null(o->facts);
    assert_calls(f, "open");
    g_assert_cmpuint(history_migrations(f, FAKE_FALLBACK_NAME), ==, 0);
}

static void test_refused_facts(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.facts_fail = TRUE;
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    /* the backend's message did not name the VM: the pipeline does */
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_FALLBACK_NAME "': cannot read the RAM size: scripted");
    g_assert_null(o->facts);
    assert_calls(f, "open|facts");
    assert_phases(f, "-|-");
}

static void test_refused_policy(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_HINT, "hint"); /* the guest negotiated no hints */
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    g_assert_cmpstr(o->vm, ==, FAKE_VM_NAME);
    g_assert_true(
        g_str_has_prefix(o->error, "VM '" FAKE_VM_NAME "': policy mode 'hint' cannot run"));
    assert_has(o->error, "did not negotiate free-page hints");
    g_assert_cmpstr(o->requested_mode, ==, "hint");
    g_assert_nonnull(o->facts); /* what the refusal was based on */
    g_assert_null(o->decision);
    g_assert_cmpint(o->prep_original_bytes, ==, ORIGINAL);
    assert_calls(f, "open|facts");
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

static void test_refused_no_restore_path(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.no_restore_path = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    assert_has(o->error, "VM '" FAKE_VM_NAME "': policy mode 'balloon' cannot run");
    assert_has(o->error, "no way to give the memory back");
    assert_calls(f, "open|facts");
}

/* ---- the journal: no change without a record ---- */

static void test_intent_not_written(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(GPtrArray) rows = NULL;

    (void)data;
    f->world->script.free_page_hint = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_HINT_BALLOON, "hint+balloon");
    journal_sql(f, FAIL_INSERTS);
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpint(o->id, ==, -1);
    g_assert_true(g_str_has_prefix(o->error, "VM '" FAKE_VM_NAME
                                             "': cannot journal the intent, nothing done: "));
    assert_has(o->error, "disk I/O error (test)");
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    g_assert_cmpint(o->prep_target_bytes, ==, -1);
    /* the guest was never touched */
    assert_calls(f, "open|facts");
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 0);
    /* the complete failed row could not be written either: reported */
    g_assert_cmpuint(f->progress->len, >, 0);
    assert_has(f->progress->pdata[f->progress->len - 1], "warning: ");
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

/* A really full disk (a 1 MiB tmpfs in a private mount namespace, filled
 * after the journal opened): the intent cannot be written, so nothing is
 * done to the guest, and the error says why. Root only (mount). */
static void fill_disk(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "filler", NULL);
    char block[4096] = {1};
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    g_assert_cmpint(fd, >=, 0);
    while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block)) {
    }
    g_assert_cmpint(errno, ==, ENOSPC);
    close(fd);
}

static void test_disk_full(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    if (!g_test_subprocess()) {
        if (geteuid() != 0) {
            g_test_skip("needs root: mounts a small tmpfs in a private mount namespace");
            return;
        }
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
        g_test_trap_assert_passed();
        return;
    }
    g_clear_pointer(&f->journal, fpb_journal_free);
    g_assert_cmpint(unshare(CLONE_NEWNS), ==, 0);
    g_assert_cmpint(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
    g_assert_cmpint(mount("fpb-test", f->dir, "tmpfs", 0, "size=1m,mode=0700"), ==, 0);
    f->journal = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
    fill_disk(f->dir);
    f->world->script.free_page_hint = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpint(o->id, ==, -1);
    assert_has(o->error, "cannot journal the intent, nothing done: ");
    assert_has(o->error, "database or disk is full");
    assert_calls(f, "open|facts");
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_clear_pointer(&f->journal, fpb_journal_free);
    g_assert_cmpint(umount2(f->dir, MNT_DETACH), ==, 0);
    f->journal = fpb_journal_open(f->db, &error); /* for the teardown */
    g_assert_no_error(error);
}

/* ---- prepare: the inflation ---- */

static void test_inflate_nothing(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.inflate.how = FAKE_BALLOON_STALL;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_true(g_str_has_prefix(o->error, "VM '" FAKE_VM_NAME "': the guest gave 0 MiB of "));
    assert_has(o->error, "(no-progress): it does not answer the balloon; not migrated");
    g_assert_cmpint(o->prep_target_bytes, ==, target);
    g_assert_cmpint(o->prep_reached_bytes, ==, ORIGINAL);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_NO_PROGRESS);
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    /* nothing was taken: nothing to give back */
    g_assert_cmpstr(o->restore_status, ==, "not-needed");
    g_assert_null(o->restore_where);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT, target);
    assert_calls(f, calls);
    assert_phases(f, "-|-|preparing");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
    assert_no_warnings(f);
}

static void test_inflate_too_little(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.inflate = (FakeBalloonScript){FAKE_BALLOON_PART, 32 * MIB};
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_true(g_str_has_prefix(o->error, "VM '" FAKE_VM_NAME "': the guest gave 32 MiB of "));
    assert_has(o->error, "it does not answer the balloon; not migrated");
    g_assert_cmpint(o->prep_reached_bytes, ==, ORIGINAL - 32 * MIB);
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    /* the 32 MiB it gave go back, on the source */
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "source");
    g_assert_cmpint(o->restore_final_bytes, ==, ORIGINAL);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|alive source|balloon source %" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_phases(f, "-|-|preparing|restoring|restoring");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

/* A guest that runs out of free memory 32 MiB in (guest-short) answered:
 * forced to balloon, it migrates with what it gave, which comes back on
 * the destination. */
static void test_inflate_guest_short(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.inflate = (FakeBalloonScript){FAKE_BALLOON_SHORT, 32 * MIB};
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_DONE);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_GUEST_SHORT);
    g_assert_cmpint(o->prep_reached_bytes, ==, ORIGINAL - 32 * MIB);
    g_assert_cmpstr(o->mig_status, ==, "completed");
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
}

static void test_inflate_error(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    /* the guest gave 300 MiB before the backend lost track of it */
    f->world->script.inflate = (FakeBalloonScript){FAKE_BALLOON_ERROR, 300 * MIB};
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': inflating the balloon failed: QMP command "
                    "'query-balloon' failed: scripted I/O error");
    g_assert_cmpstr(o->prep_stopped, ==, "error");
    g_assert_cmpint(o->prep_reached_bytes, ==, -1);
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    /* an unknown reached size is given back anyway */
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "source");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|alive source|balloon source %" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

static void test_inflate_partial_goes_on(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.inflate = (FakeBalloonScript){FAKE_BALLOON_PART, 256 * MIB};
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_DONE);
    g_assert_null(o->error);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_NO_PROGRESS);
    g_assert_cmpint(o->prep_reached_bytes, ==, ORIGINAL - 256 * MIB);
    g_assert_cmpstr(o->mig_status, ==, "completed");
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate|alive destination|balloon destination %" G_GINT64_FORMAT
                            " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
}

/* ---- migrate ---- */

/* A balloon run whose migration fails as @how says: memory back on the
 * source, the migration learnt from when it started. */
static FpbOutcome *run_failing_migration(Fixture *f, FakeMigrateHow how, FpbMigrateResult *ret)
{
    g_autofree char *calls = NULL;
    gint64 target = 0;
    FpbOutcome *o;

    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.migrate = how;
    o = run_pipeline(f, NULL, ret);
    g_assert_cmpint(*ret, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpint(o->prep_reached_bytes, ==, target);
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "source");
    g_assert_cmpint(o->restore_final_bytes, ==, ORIGINAL);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate|alive source|balloon source %" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_phases(f, "-|-|preparing|migrating|restoring|restoring");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    assert_no_warnings(f);
    return o;
}

static void test_migrate_fails(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = run_failing_migration(f, FAKE_MIGRATE_FAIL, &result);

    (void)data;
    g_assert_cmpstr(o->mig_status, ==, "failed");
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': migration failed: Unable to write to socket: "
                    "Connection reset by peer (scripted)");
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
}

static void test_migrate_timeout(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->req.timeout_s = 30;
    o = run_failing_migration(f, FAKE_MIGRATE_TIMEOUT, &result);
    g_assert_cmpstr(o->mig_status, ==, "cancelled");
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': migration cancelled at the timeout (30 s)");
    g_assert_cmpfloat(f->world->migration.timeout_s, ==, 30);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
}

static void test_migrate_not_started(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = run_failing_migration(f, FAKE_MIGRATE_NOT_STARTED, &result);

    (void)data;
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    assert_has(o->error, "'migrate-set-capabilities' failed");
    /* nothing moved: nothing to learn */
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

/* ---- restore: the give-back ---- */

/* A balloon run that migrates; the destination answers the give-back as
 * @give_back says. */
static FpbOutcome *run_migrated(Fixture *f, const FpbBackendOps *ops, FakeBalloonScript give_back,
                                FpbMigrateResult *ret, gint64 *ret_target)
{
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.free_page_hint = TRUE;
    *ret_target = decided_target(f);
    f->world->script.give_back[FPB_END_DESTINATION] = give_back;
    return run_pipeline(f, ops, ret);
}

static void test_restore_fails(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_ERROR, 0}, &result, &target);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(o->mig_status, ==, "completed");
    g_assert_cmpstr(o->restore_status, ==, "failed");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    g_assert_cmpint(o->restore_final_bytes, ==, -1);
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': giving memory back on the destination failed: QMP "
                    "command 'query-balloon' failed: scripted I/O error");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate hints-off|alive destination|balloon destination "
                            "%" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_row_is(f, o);
    /* the guest moved, still small: recovery will find the row */
    assert_guest(f, FPB_END_DESTINATION, target);
    g_assert_true(fpb_recover_row_memory_missing(o));
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
}

static void test_restore_partial(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_PART, 256 * MIB}, &result, &target);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(o->mig_status, ==, "completed");
    g_assert_cmpstr(o->restore_status, ==, "partial");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    g_assert_cmpint(o->restore_final_bytes, ==, target + 256 * MIB);
    assert_has(o->error, "did not take all its memory back");
    assert_has(o->error, "VM '" FAKE_VM_NAME "'");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, target + 256 * MIB);
    g_assert_true(fpb_recover_row_memory_missing(o));
}

static void test_restore_lost_found(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    f->world->script.lost[FPB_END_DESTINATION] = TRUE;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_ERROR, 0}, &result, &target);
    /* the give-back was waited for, not done through the lost connection */
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate hints-off|alive destination|give-back-lost",
                            target);
    assert_calls(f, calls);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_DONE);
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    g_assert_cmpint(o->restore_final_bytes, ==, ORIGINAL);
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': lost the connection to " FAKE_BACKEND_NAME
                    "; found VM '" FAKE_VM_NAME "' again on the destination; "
                    "destination memory back to 2048 MiB (done)");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
}

static void test_restore_lost_not_found(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    gint64 target = 0;

    (void)data;
    f->world->script.lost[FPB_END_DESTINATION] = TRUE;
    f->world->script.lost_give_back_fails = TRUE;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_HONOUR, 0}, &result, &target);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(o->restore_status, ==, "failed");
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': lost the connection to " FAKE_BACKEND_NAME
                    "; VM '" FAKE_VM_NAME "' not found running on either end (scripted)");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, target);
    g_assert_true(fpb_recover_row_memory_missing(o));
}

static void test_restore_lost_no_wait(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    f->world->script.lost[FPB_END_DESTINATION] = TRUE;
    o = run_migrated(f, &fake_backend_ops_no_give_back_lost,
                     (FakeBalloonScript){FAKE_BALLOON_HONOUR, 0}, &result, &target);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->restore_status, ==, "failed");
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': lost the connection to " FAKE_BACKEND_NAME
                    "; the backend cannot find the VM again");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate hints-off|alive destination",
                            target);
    assert_calls(f, calls);
    assert_row_is(f, o);
}

/* The migration's own error stays first; the wait's notes follow it. */
static void test_restore_lost_after_failed_migration(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.migrate = FAKE_MIGRATE_FAIL;
    f->world->script.lost[FPB_END_SOURCE] = TRUE;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->mig_status, ==, "failed");
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "source");
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_VM_NAME "': migration failed: Unable to write to socket: "
                    "Connection reset by peer (scripted); found VM '" FAKE_VM_NAME
                    "' again on the source; source memory back to 2048 MiB (done)");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate|alive source|give-back-lost",
                            target);
    assert_calls(f, calls);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
}

/* ---- success ---- */

static void test_success_balloon(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_HONOUR, 0}, &result, &target);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_DONE);
    g_assert_null(o->error);
    g_assert_cmpstr(o->vm, ==, FAKE_VM_NAME);
    g_assert_cmpstr(o->mode, ==, "balloon");
    g_assert_cmpstr(o->hints, ==, "off");
    g_assert_cmpstr(o->qemu_version, ==, "7.2.0 (fake)");
    g_assert_nonnull(o->facts);
    g_assert_nonnull(o->decision);
    g_assert_nonnull(o->predictions);
    g_assert_cmpint(o->prep_original_bytes, ==, ORIGINAL);
    g_assert_cmpint(o->prep_target_bytes, ==, target);
    g_assert_cmpint(o->prep_reached_bytes, ==, target);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpstr(o->mig_status, ==, "completed");
    g_assert_cmpint(o->mig_total_ms, ==, 2000);
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "destination");
    g_assert_cmpint(o->restore_final_bytes, ==, ORIGINAL);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate hints-off|alive destination|balloon destination "
                            "%" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    /* the guest is touched only under an open row naming the step */
    assert_phases(f, "-|-|preparing|migrating|restoring|restoring");
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    /* what the steps were asked */
    g_assert_cmpfloat(f->world->inflate_budget_s, ==, 10.0); /* policy.max_prep_seconds */
    g_assert_cmpuint(f->world->inflate_stall_ms, ==, 3000);
    g_assert_cmpfloat(f->world->give_back_budget_s, ==, 120.0);
    g_assert_cmpuint(f->world->give_back_stall_ms, ==, 10000);
    g_assert_true(f->world->migration.hints_off);
    g_assert_cmpint(f->world->migration.max_bandwidth, ==, -1);
    g_assert_cmpfloat(f->world->migration.timeout_s, ==, 600);
    g_assert_cmpint(f->world->migration.method, ==, FPB_POLICY_METHOD_PRECOPY);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
    assert_no_warnings(f);
}

static void test_success_hints_only(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.free_page_hint = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_HINT, "hint");
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_DONE);
    g_assert_null(o->error);
    g_assert_cmpstr(o->mode, ==, "hint");
    g_assert_cmpstr(o->hints, ==, "on");
    g_assert_cmpint(o->prep_target_bytes, ==, -1);
    g_assert_cmpstr(o->prep_stopped, ==, "not-needed");
    g_assert_cmpstr(o->restore_status, ==, "not-needed");
    g_assert_null(o->restore_where);
    /* no balloon call at all, hints left on */
    assert_calls(f, "open|facts|migrate");
    assert_phases(f, "-|-|migrating");
    g_assert_false(f->world->migration.hints_off);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 1);
    assert_no_warnings(f);
}

static void test_success_none_hints_off(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.free_page_hint = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_NONE, "none");
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->mode, ==, "none");
    g_assert_cmpstr(o->hints, ==, "off");
    assert_calls(f, "open|facts|migrate hints-off");
    assert_row_is(f, o);
}

/* ---- explain: decides, changes nothing ---- */

/* ---- preparation in the loop (issue 15, items 4 and 6) ---- */

#define PROBE_TARGET (ORIGINAL - FPB_POLICY_PROBE_BYTES)

/* The decision's reasons in the row, as codes joined by spaces. */
static char *row_reason_codes(const FpbOutcome *o)
{
    g_autoptr(GString) s = g_string_new(NULL);
    json_object *reasons = NULL;

    g_assert_true(json_object_object_get_ex(o->decision, "reasons", &reasons));
    for (size_t i = 0; i < json_object_array_length(reasons); i++) {
        json_object *r = json_object_array_get_idx(reasons, i);

        g_string_append_printf(s, "%s ", json_object_get_string(json_object_object_get(r, "code")));
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static double row_measured_rate(const FpbOutcome *o)
{
    json_object *v = NULL;

    g_assert_true(json_object_object_get_ex(o->facts, "measured_inflate_bytes_per_second", &v));
    return json_object_get_double(v);
}

/* A never-seen TCG guest: at the prior rate (66 MB/s) 'none' wins, at
 * 500 MB/s a balloon; a trial of 64 MiB shows the real rate, and the
 * balloon then takes all it may within the budget. */
static void test_probe_fast_guest(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *codes = NULL;
    g_autofree char *calls = NULL;

    (void)data;
    f->world->script.tcg = TRUE;
    f->world->script.inflate_rate = 500e6;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->mode, ==, "balloon");
    codes = row_reason_codes(o);
    assert_has(codes, "INFLATE_RATE_MEASURED");
    g_assert_cmpfloat(row_measured_rate(o), >, 400e6);
    /* trial, then the ceiling: the free memory that is not zero pages
     * (the prior zero share, 0.25), which the 10 s budget now fits */
    g_assert_cmpint(o->prep_target_bytes, <, PROBE_TARGET);
    g_assert_cmpint(o->prep_reached_bytes, ==, o->prep_target_bytes);
    g_assert_cmpint(o->prep_original_bytes - o->prep_reached_bytes, >=,
                    (gint64)(0.9 * 0.75 * (ORIGINAL - FAKE_GUEST_USED_BYTES)));
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|balloon source %" G_GINT64_FORMAT
                            "|migrate|alive destination|balloon destination "
                            "%" G_GINT64_FORMAT " give-back",
                            PROBE_TARGET, o->prep_target_bytes, ORIGINAL);
    assert_calls(f, calls);
    assert_phases(f, "-|-|preparing|preparing|migrating|restoring|restoring");
    g_assert_cmpfloat(o->prep_seconds, <=, 10.0);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    assert_no_warnings(f);
}

/* The same guest inflating at 20 MB/s: the trial shows it, 'none' stays,
 * and the trial's memory goes back before the migration. */
static void test_probe_slow_guest(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *codes = NULL;
    g_autofree char *calls = NULL;
    gint64 reached = ORIGINAL - (gint64)(20e6 * FPB_POLICY_PROBE_SECONDS);

    (void)data;
    f->world->script.tcg = TRUE;
    f->world->script.inflate_rate = 20e6;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->mode, ==, "none");
    codes = row_reason_codes(o);
    assert_has(codes, "INFLATE_RATE_MEASURED");
    g_assert_cmpfloat(row_measured_rate(o), ==, 20e6);
    g_assert_cmpint(o->prep_target_bytes, ==, PROBE_TARGET);
    g_assert_cmpint(o->prep_reached_bytes, ==, reached);
    g_assert_cmpstr(o->prep_stopped, ==, "trial");
    g_assert_cmpfloat(o->prep_seconds, ==, FPB_POLICY_PROBE_SECONDS);
    g_assert_cmpstr(o->restore_where, ==, "source");
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpint(o->restore_final_bytes, ==, ORIGINAL);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|balloon source %" G_GINT64_FORMAT " give-back|migrate",
                            PROBE_TARGET, ORIGINAL);
    assert_calls(f, calls);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    assert_no_warnings(f);
}

/* A balloon asked for (forced) on a guest slower than the prior: the
 * preparation aims at the ceiling and stops at the budget with what fit,
 * no trial (the mode is not the policy's to choose). */
static void test_prep_stops_at_budget(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.tcg = TRUE;
    f->world->script.inflate_rate = 50e6;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->mode, ==, "balloon");
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_BUDGET);
    g_assert_cmpint(o->prep_reached_bytes, ==, ORIGINAL - (gint64)(50e6 * 10.0));
    g_assert_cmpint(o->prep_target_bytes, <, o->prep_reached_bytes);
    g_assert_cmpfloat(row_measured_rate(o), ==, 50e6);
    g_assert_cmpfloat(f->world->inflate_budget_s, ==, 10.0);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    assert_no_warnings(f);
}

/* The same guest at 500 MB/s: it gives all the balloon may take, well
 * past what the prior sized (629 MiB in 10 s at 66 MB/s). */
static void test_prep_takes_past_prior(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(FpbBackend) be = NULL;
    g_autoptr(FpbVmFacts) vf = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.tcg = TRUE;
    f->world->script.inflate_rate = 500e6;
    be = fake_backend_new(f->world, NULL, NULL);
    vf = be->ops->collect_facts(be, &f->req.facts, NULL);
    d = fpb_policy_decide(&vf->facts, NULL);
    fake_world_forget_calls(f->world);
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpstr(o->prep_stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpint(o->prep_target_bytes, ==, d->balloon_ceiling_target_bytes);
    g_assert_cmpint(o->prep_original_bytes - o->prep_reached_bytes, >,
                    d->inflate_bytes + 256 * FAKE_MIB);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
}

/* ---- cancellation (fpbctl evacuate's Ctrl-C) ---- */

/* Cancelled before the run: nothing is done to the guest. */
static void test_cancel_before(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    volatile gint cancel = 1;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->req.cancel = &cancel;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, !=, FPB_MIGRATE_OK);
    assert_has(o->error, "cancelled");
    g_autofree char *calls = fake_world_calls(f->world);

    g_assert_null(strstr(calls, "balloon"));
    g_assert_null(strstr(calls, "migrate"));
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_assert_false(fpb_pipeline_cancelled()); /* only inside a run */
}

/* Cancelled while the balloon inflated: no migration, the memory given
 * back on the source, the row closed failed with the reason. */
static void test_cancel_after_inflate(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;
    g_autofree char *calls = NULL;
    volatile gint cancel = 0;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->req.cancel = &cancel;
    f->world->script.cancel_after_inflate = &cancel;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_FAILED);
    g_assert_cmpstr(o->phase, ==, FPB_PHASE_FAILED);
    assert_has(o->error, "cancelled");
    g_assert_cmpstr(o->mig_status, ==, "not-started");
    g_assert_cmpstr(o->restore_status, ==, "done");
    g_assert_cmpstr(o->restore_where, ==, "source");
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT
                            "|alive source|balloon source %" G_GINT64_FORMAT " give-back",
                            target, ORIGINAL);
    assert_calls(f, calls);
    assert_row_is(f, o);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
}

static void test_explain(Fixture *f, gconstpointer data)
{
    g_autoptr(FpbBackend) be = fake_backend_new(f->world, NULL, f->journal);
    g_autoptr(FpbVmFacts) vf = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    gboolean refused = TRUE;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    g_assert_true(fpb_pipeline_explain(f->journal, be, &f->req, &vf, &d, &refused, &error));
    g_assert_no_error(error);
    g_assert_false(refused);
    g_assert_cmpstr(vf->name, ==, FAKE_VM_NAME);
    g_assert_cmpint(vf->facts.history.migrations, ==, 0);
    g_assert_cmpint(d->mode, ==, FPB_POLICY_MODE_BALLOON);
    g_assert_cmpint(d->balloon_target_bytes, <, ORIGINAL);
    assert_calls(f, "open source-only|facts");
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 0);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    g_assert_cmpuint(history_migrations(f, FAKE_VM_NAME), ==, 0);
}

static void test_explain_refused(Fixture *f, gconstpointer data)
{
    g_autoptr(FpbBackend) be = fake_backend_new(f->world, NULL, f->journal);
    g_autoptr(FpbVmFacts) vf = NULL;
    FpbPolicyDecision *d = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    gboolean refused = FALSE;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_HINT, "hint");
    g_assert_false(fpb_pipeline_explain(f->journal, be, &f->req, &vf, &d, &refused, &error));
    g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE);
    g_assert_true(refused);
    g_assert_nonnull(vf); /* what the refusal was based on */
    g_assert_null(d);
    assert_calls(f, "open source-only|facts");
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 0);
}

static void test_explain_unreachable(Fixture *f, gconstpointer data)
{
    g_autoptr(FpbBackend) be = fake_backend_new(f->world, NULL, f->journal);
    FpbVmFacts *vf = NULL;
    FpbPolicyDecision *d = NULL;
    g_autoptr(GError) error = NULL;
    gboolean refused = TRUE;

    (void)data;
    f->world->script.open_fails = TRUE;
    g_assert_false(fpb_pipeline_explain(f->journal, be, &f->req, &vf, &d, &refused, &error));
    g_assert_nonnull(error);
    assert_has(error->message, "cannot reach the source");
    g_assert_false(refused);
    g_assert_null(vf);
    g_assert_null(d);
    assert_calls(f, "open source-only");
}

/* ---- the process dies: recovery ---- */

static void G_GNUC_NORETURN child_run(Fixture *f)
{
    g_autoptr(FpbBackend) be = NULL;
    FpbJournal *j;
    FpbMigrateResult result;

    signal(SIGABRT, SIG_DFL); /* the directory is the parent's */
    j = fpb_journal_open(f->db, NULL);
    if (j == NULL) {
        _exit(2);
    }
    be = fake_backend_new(f->world, NULL, j);
    fpb_outcome_free(fpb_pipeline_migrate(j, be, &f->req, &result));
    _exit(3); /* it should have died in the step */
}

/* Runs the pipeline in a child that dies where the script says, then
 * reopens the journal. The child's calls end with "died". */
static void run_child_until_death(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *calls = NULL;
    int status = 0;
    pid_t pid;

    g_clear_pointer(&f->journal, fpb_journal_free); /* no SQLite connection across fork */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        child_run(f);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    calls = fake_world_calls(f->world);
    g_assert_true(g_str_has_suffix(calls, "|died"));
    f->journal = fpb_journal_open(f->db, &error);
    g_assert_no_error(error);
}

/* The one row, open in @phase, owned by a dead process. */
static void assert_abandoned(Fixture *f, const char *phase)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) open = fpb_journal_list_open(f->journal, FAKE_SOURCE, &error);
    const FpbOutcome *r;

    g_assert_no_error(error);
    g_assert_cmpuint(open->len, ==, 1);
    r = open->pdata[0];
    g_assert_cmpstr(r->phase, ==, phase);
    g_assert_cmpstr(r->backend, ==, FAKE_BACKEND_NAME);
    g_assert_cmpint(r->owner_pid, !=, getpid());
    g_assert_false(fpb_recover_row_owner_alive(r));
}

/* fpb_recover_all() as `fpbctl recover` runs it; returns the row after. */
static FpbOutcome *recover(Fixture *f, guint expect_failed)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    guint failed = 99;

    fake_world_forget_calls(f->world);
    g_assert_true(
        fpb_recover_all(f->journal, FAKE_SOURCE, NULL, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(summaries->len, ==, 1);
    g_assert_cmpuint(failed, ==, expect_failed);
    assert_has(summaries->pdata[0], "VM '" FAKE_VM_NAME "': journal row ");
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 1);
    return g_ptr_array_steal_index(rows, 0);
}

static void assert_repaired(Fixture *f, const FpbOutcome *r, const char *dead_phase)
{
    g_autofree char *died = g_strdup_printf("died during phase '%s'", dead_phase);

    g_assert_cmpuint(f->world->repairs, ==, 1);
    g_assert_true(f->world->repair_open);
    g_assert_false(f->world->repair_held);
    g_assert_cmpstr(f->world->repair_phase, ==, dead_phase);
    g_assert_cmpint(f->world->repair_row_id, ==, r->id);
    assert_has(r->error, died);
    g_assert_false(fpb_outcome_phase_is_open(r->phase));
    g_assert_cmpint(r->end_us, >, 0);
}

/* The row says "intent" although the step ran: its phase update was lost
 * (the journal refused writes after the insert). Recovery trusts the
 * intent row's mode, not its phase. */
static void crash_in_intent(Fixture *f, FakeDie die, gint64 expect_left)
{
    g_autoptr(FpbOutcome) r = NULL;
    g_autofree char *calls = NULL;
    g_autofree char *repair_calls = NULL;
    gint64 target = 0;

    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.die = die;
    journal_sql(f, FAIL_UPDATES);
    run_child_until_death(f);
    calls = g_strdup_printf("open|facts|balloon source %" G_GINT64_FORMAT "|died", target);
    assert_calls(f, calls);
    assert_phases(f, "-|-|intent|intent");
    g_assert_cmpint(f->world->actual_bytes, ==, expect_left);
    journal_sql(f, "DROP TRIGGER test_fail_update");
    assert_abandoned(f, FPB_PHASE_INTENT);
    r = recover(f, 0);
    assert_repaired(f, r, FPB_PHASE_INTENT);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    g_assert_cmpstr(r->restore_status, ==, "done");
    g_assert_cmpstr(r->restore_where, ==, "source");
    g_assert_cmpint(r->restore_final_bytes, ==, ORIGINAL);
    repair_calls = g_strdup_printf("repair open|repair balloon source %" G_GINT64_FORMAT, ORIGINAL);
    assert_calls(f, repair_calls);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
}

static void test_crash_intent(Fixture *f, gconstpointer data)
{
    (void)data;
    crash_in_intent(f, FAKE_DIE_INFLATE_START, ORIGINAL);
}

static void test_crash_intent_inflated(Fixture *f, gconstpointer data)
{
    (void)data;
    f->world->script.inflate = (FakeBalloonScript){FAKE_BALLOON_PART, 700 * MIB};
    crash_in_intent(f, FAKE_DIE_INFLATE, ORIGINAL - 700 * MIB);
}

/* Dies in a balloon run, recovers, checks where the memory came back. */
static void crash_and_recover(Fixture *f, const char *phase, FpbEnd runs_on,
                              const char *expect_calls)
{
    g_autoptr(FpbOutcome) r = NULL;

    run_child_until_death(f);
    assert_abandoned(f, phase);
    r = recover(f, 0);
    assert_repaired(f, r, phase);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    assert_calls(f, expect_calls);
    if (fpb_recover_row_used_balloon(r)) {
        g_assert_cmpstr(r->restore_status, ==, "done");
        g_assert_cmpstr(r->restore_where, ==, fpb_end_to_string(runs_on));
        g_assert_cmpint(r->restore_final_bytes, ==, ORIGINAL);
    } else {
        g_assert_cmpstr(r->restore_status, ==, "not-needed");
    }
    assert_guest(f, runs_on, ORIGINAL);
}

static void test_crash_preparing(Fixture *f, gconstpointer data)
{
    g_autofree char *calls = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.die = FAKE_DIE_INFLATE;
    calls = g_strdup_printf("repair open|repair balloon source %" G_GINT64_FORMAT, ORIGINAL);
    crash_and_recover(f, FPB_PHASE_PREPARING, FPB_END_SOURCE, calls);
}

/* Killed in the trial inflation, while the row's mode does not inflate:
 * recovery still gives the trial's memory back. */
static void test_crash_probing(Fixture *f, gconstpointer data)
{
    g_autoptr(FpbOutcome) r = NULL;
    g_autofree char *calls = NULL;

    (void)data;
    f->world->script.tcg = TRUE;
    f->world->script.inflate_rate = 500e6;
    f->world->script.die = FAKE_DIE_INFLATE;
    run_child_until_death(f);
    g_assert_cmpint(f->world->actual_bytes, ==, PROBE_TARGET);
    assert_abandoned(f, FPB_PHASE_PREPARING);
    r = recover(f, 0);
    assert_repaired(f, r, FPB_PHASE_PREPARING);
    g_assert_cmpstr(r->mode, ==, "none");
    g_assert_cmpstr(r->restore_status, ==, "done");
    calls = g_strdup_printf("repair open|repair balloon source %" G_GINT64_FORMAT, ORIGINAL);
    assert_calls(f, calls);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
}

static void test_crash_migrating(Fixture *f, gconstpointer data)
{
    g_autofree char *calls = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.die = FAKE_DIE_MIGRATE_RUNNING;
    /* the unattended migration is ended before the memory goes back */
    calls = g_strdup_printf("repair open|repair cancel|repair balloon source %" G_GINT64_FORMAT,
                            ORIGINAL);
    crash_and_recover(f, FPB_PHASE_MIGRATING, FPB_END_SOURCE, calls);
}

static void test_crash_migrating_moved(Fixture *f, gconstpointer data)
{
    g_autofree char *calls = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.die = FAKE_DIE_MIGRATE_COMPLETED;
    calls = g_strdup_printf("repair open|repair balloon destination %" G_GINT64_FORMAT, ORIGINAL);
    crash_and_recover(f, FPB_PHASE_MIGRATING, FPB_END_DESTINATION, calls);
}

static void test_crash_restoring(Fixture *f, gconstpointer data)
{
    g_autofree char *calls = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.give_back[FPB_END_DESTINATION] =
        (FakeBalloonScript){FAKE_BALLOON_PART, 200 * MIB};
    f->world->script.die = FAKE_DIE_GIVE_BACK;
    calls = g_strdup_printf("repair open|repair balloon destination %" G_GINT64_FORMAT, ORIGINAL);
    crash_and_recover(f, FPB_PHASE_RESTORING, FPB_END_DESTINATION, calls);
}

/* Hints only: nothing to give back, the unattended migration is ended. */
static void test_crash_migrating_hints(Fixture *f, gconstpointer data)
{
    (void)data;
    f->world->script.free_page_hint = TRUE;
    force_mode(f, FPB_POLICY_REQUEST_HINT, "hint");
    f->world->script.die = FAKE_DIE_MIGRATE_RUNNING;
    crash_and_recover(f, FPB_PHASE_MIGRATING, FPB_END_SOURCE, "repair open|repair cancel");
}

/* The guest cannot be reached: the row is closed "failed", the memory
 * stays taken, and `fpbctl recover` finds the row again as missing memory. */
static void test_crash_unreachable(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) r = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    const FpbOutcome *after;
    guint failed = 99;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.die = FAKE_DIE_INFLATE;
    f->world->script.repair_unreachable = TRUE;
    run_child_until_death(f);
    assert_abandoned(f, FPB_PHASE_PREPARING);
    r = recover(f, 1);
    assert_repaired(f, r, FPB_PHASE_PREPARING);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(r->restore_status, ==, "failed");
    assert_has(r->error, "the guest could not be reached (scripted)");
    assert_guest(f, FPB_END_SOURCE, target);
    g_assert_true(fpb_recover_row_memory_missing(r));
    /* later the guest answers */
    f->world->script.repair_unreachable = FALSE;
    fake_world_forget_calls(f->world);
    g_assert_true(
        fpb_recover_missing_memory(f->journal, FAKE_SOURCE, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(summaries->len, ==, 1);
    g_assert_cmpuint(failed, ==, 0);
    g_assert_false(f->world->repair_open);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    rows = journal_rows(f);
    after = rows->pdata[0];
    g_assert_cmpstr(after->phase, ==, FPB_PHASE_FAILED); /* the attempt's outcome stays */
    g_assert_cmpstr(after->restore_status, ==, "done");
}

/* The next migration of the VM repairs the abandoned row first, through
 * its own connections, and sees the guest's full size. */
static void test_crash_next_run(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    g_autofree char *calls = NULL;
    const FpbOutcome *old;
    gint64 target = 0;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    target = decided_target(f);
    f->world->script.die = FAKE_DIE_INFLATE;
    run_child_until_death(f);
    g_assert_cmpint(f->world->actual_bytes, ==, target);
    f->world->script.die = FAKE_DIE_NEVER;
    fake_world_forget_calls(f->world);
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpint(o->prep_original_bytes, ==, ORIGINAL);
    calls = g_strdup_printf("open|repair open|repair balloon source %" G_GINT64_FORMAT
                            "|facts|balloon source %" G_GINT64_FORMAT
                            "|migrate|alive destination|balloon destination %" G_GINT64_FORMAT
                            " give-back",
                            ORIGINAL, target, ORIGINAL);
    assert_calls(f, calls);
    g_assert_true(f->world->repair_held);
    g_assert_cmpstr(f->world->repair_phase, ==, FPB_PHASE_PREPARING);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 2);
    old = rows->pdata[1];
    g_assert_cmpstr(old->phase, ==, FPB_PHASE_RECOVERED);
    g_assert_cmpstr(((FpbOutcome *)rows->pdata[0])->phase, ==, FPB_PHASE_DONE);
    g_assert_cmpuint(f->progress->len, >, 0);
    assert_has(f->progress->pdata[0], "recovered: VM '" FAKE_VM_NAME "': journal row ");
}

/* Dead before the intent row: nothing to find, nothing touched. */
static void test_crash_before_intent(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    guint failed = 99;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.die = FAKE_DIE_FACTS;
    run_child_until_death(f);
    assert_calls(f, "open|facts|died");
    rows = journal_rows(f);
    g_assert_cmpuint(rows->len, ==, 0);
    g_assert_true(fpb_recover_all(f->journal, NULL, NULL, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(summaries->len, ==, 0);
    g_assert_cmpuint(failed, ==, 0);
    g_assert_cmpuint(f->world->repairs, ==, 0);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
}

/* The migration failed, then the process died giving the memory back on
 * the source: recovery finishes the give-back, and the row says so. */
static void test_crash_restoring_after_failure(Fixture *f, gconstpointer data)
{
    g_autoptr(FpbOutcome) r = NULL;
    g_autofree char *calls = NULL;

    (void)data;
    force_mode(f, FPB_POLICY_REQUEST_BALLOON, "balloon");
    f->world->script.migrate = FAKE_MIGRATE_FAIL;
    f->world->script.give_back[FPB_END_SOURCE] = (FakeBalloonScript){FAKE_BALLOON_PART, 200 * MIB};
    f->world->script.die = FAKE_DIE_GIVE_BACK;
    run_child_until_death(f);
    assert_abandoned(f, FPB_PHASE_RESTORING);
    r = recover(f, 0);
    calls = g_strdup_printf("repair open|repair balloon source %" G_GINT64_FORMAT, ORIGINAL);
    assert_calls(f, calls);
    g_assert_cmpuint(f->world->repairs, ==, 1);
    g_assert_true(f->world->repair_open);
    g_assert_cmpstr(f->world->repair_phase, ==, FPB_PHASE_RESTORING);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    g_assert_cmpstr(r->restore_status, ==, "done");
    g_assert_cmpstr(r->restore_where, ==, "source");
    g_assert_cmpint(r->restore_final_bytes, ==, ORIGINAL);
    assert_guest(f, FPB_END_SOURCE, ORIGINAL);
    assert_has(r->error, "migration failed");              /* the attempt's own cause stays */
    assert_has(r->error, "died during phase 'restoring'"); /* and what recovery did */
}

/* ---- recovery's bookkeeping around the backends ---- */

/* The PID of a process that has ended. */
static GPid dead_pid(void)
{
    int status = 0;
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        _exit(0);
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return pid;
}

static FpbOutcome *open_row(const char *backend, GPid owner, gint64 owner_start)
{
    FpbOutcome *o = fpb_outcome_new();

    fpb_outcome_set(&o->vm, FAKE_VM_NAME);
    fpb_outcome_set(&o->phase, FPB_PHASE_PREPARING);
    fpb_outcome_set(&o->mode, "balloon");
    fpb_outcome_set(&o->source_qmp, FAKE_SOURCE);
    fpb_outcome_set(&o->backend, backend);
    o->start_us = g_get_real_time();
    o->owner_pid = owner;
    o->owner_start = owner_start;
    o->prep_original_bytes = ORIGINAL;
    return o;
}

/* A row of a backend this program does not have is not handed to another. */
static void test_recover_other_backend(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) row = open_row("libvirt", dead_pid(), -1);
    g_autoptr(GPtrArray) rows = NULL;
    const FpbOutcome *r;
    guint failed = 0;

    (void)data;
    g_assert_true(fpb_journal_insert(f->journal, row, &error));
    g_assert_true(fpb_recover_all(f->journal, NULL, NULL, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(failed, ==, 1);
    g_assert_cmpuint(f->world->repairs, ==, 0);
    rows = journal_rows(f);
    r = rows->pdata[0];
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(r->restore_status, ==, "failed");
    assert_has(r->error, "written through the 'libvirt' backend");
}

/* A row whose owner lives is busy, not abandoned. */
static void test_recover_owner_alive(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) row =
        open_row(FAKE_BACKEND_NAME, getpid(), fpb_recover_process_start_time(getpid()));
    g_autoptr(GPtrArray) rows = NULL;
    guint failed = 99;

    (void)data;
    g_assert_true(fpb_journal_insert(f->journal, row, &error));
    g_assert_true(fpb_recover_all(f->journal, NULL, NULL, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(failed, ==, 0);
    g_assert_cmpuint(summaries->len, ==, 1);
    assert_has(summaries->pdata[0], "is in use by fpbctl PID");
    g_assert_cmpuint(f->world->repairs, ==, 0);
    rows = journal_rows(f);
    g_assert_cmpstr(((FpbOutcome *)rows->pdata[0])->phase, ==, FPB_PHASE_PREPARING);
}

/* A closed row whose give-back stopped part-way: `fpbctl recover` asks
 * again (the row is not open: nothing is cancelled), once done it is not
 * found again. */
static void test_recover_missing_memory(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    g_autofree char *calls = NULL;
    FpbMigrateResult result = FPB_MIGRATE_OK;
    const FpbOutcome *r;
    guint failed = 99;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_PART, 256 * MIB}, &result, &target);
    g_assert_cmpstr(o->restore_status, ==, "partial");
    g_assert_true(fpb_recover_row_memory_missing(o));
    fake_world_forget_calls(f->world);
    g_assert_true(
        fpb_recover_missing_memory(f->journal, FAKE_SOURCE, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(failed, ==, 0);
    g_assert_cmpuint(summaries->len, ==, 1);
    assert_has(summaries->pdata[0],
               "memory not all given back (restore partial), asked again: done");
    calls = g_strdup_printf("repair closed|repair balloon destination %" G_GINT64_FORMAT, ORIGINAL);
    assert_calls(f, calls);
    g_assert_false(f->world->repair_open);
    g_assert_cmpstr(f->world->repair_phase, ==, FPB_PHASE_FAILED);
    assert_guest(f, FPB_END_DESTINATION, ORIGINAL);
    rows = journal_rows(f);
    r = rows->pdata[0];
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(r->restore_status, ==, "done");
    g_assert_cmpint(r->restore_final_bytes, ==, ORIGINAL);
    assert_has(r->error, "memory not all given back (restore partial); retried by PID");
    g_assert_false(fpb_recover_row_memory_missing(r));
    /* found no more */
    g_ptr_array_set_size(summaries, 0);
    g_assert_true(
        fpb_recover_missing_memory(f->journal, FAKE_SOURCE, backends, summaries, &failed, &error));
    g_assert_cmpuint(summaries->len, ==, 0);
    g_assert_cmpuint(f->world->repairs, ==, 1);
}

/* Still short after asking again: counted, found again next time. */
static void test_recover_missing_still_short(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    FpbMigrateResult result = FPB_MIGRATE_OK;
    guint failed = 0;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_PART, 256 * MIB}, &result, &target);
    f->world->script.repair_give_back = (FakeBalloonScript){FAKE_BALLOON_PART, 100 * MIB};
    for (guint pass = 1; pass <= 2; pass++) {
        g_ptr_array_set_size(summaries, 0);
        g_assert_true(
            fpb_recover_missing_memory(f->journal, NULL, backends, summaries, &failed, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(summaries->len, ==, 1);
        g_assert_cmpuint(failed, ==, 1);
        g_assert_cmpuint(f->world->repairs, ==, pass);
        assert_guest(f, FPB_END_DESTINATION, target + (256 + 100 * (gint64)pass) * MIB);
    }
}

/* Another attempt of the VM is open: it owns the balloon now. */
static void test_recover_missing_skipped_while_open(Fixture *f, gconstpointer data)
{
    const FpbBackendOps *const backends[] = {&fake_backend_ops, NULL};
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(FpbOutcome) busy =
        open_row(FAKE_BACKEND_NAME, getpid(), fpb_recover_process_start_time(getpid()));
    FpbMigrateResult result = FPB_MIGRATE_OK;
    guint failed = 99;
    gint64 target = 0;

    (void)data;
    o = run_migrated(f, NULL, (FakeBalloonScript){FAKE_BALLOON_PART, 256 * MIB}, &result, &target);
    g_assert_true(fpb_journal_insert(f->journal, busy, &error));
    g_assert_true(
        fpb_recover_missing_memory(f->journal, NULL, backends, summaries, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(summaries->len, ==, 1);
    assert_has(summaries->pdata[0], "another attempt is open, skipping");
    g_assert_cmpuint(failed, ==, 0);
    g_assert_cmpuint(f->world->repairs, ==, 0);
    assert_guest(f, FPB_END_DESTINATION, target + 256 * MIB);
}

/* ---- one caller per VM (fpb-vm-lock.h) ---- */

static FpbVmLock *take_lock(Fixture *f, const char *key, GError **error)
{
    g_autofree char *dir = fpb_vm_lock_dir(f->db);

    return fpb_vm_lock_take(dir, key, FAKE_VM_NAME, "another-caller", error);
}

/* Another caller holds the VM: refused before any call to the backend,
 * the row says who holds it; once it is gone the VM migrates. */
static void test_lock_busy(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(FpbOutcome) again = NULL;
    g_autofree char *holder = g_strdup_printf("is busy: pid %d (another-caller, since ", getpid());
    FpbVmLock *other = take_lock(f, FAKE_LOCK_KEY, &error);

    (void)data;
    g_assert_no_error(error);
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    assert_has(o->error, "VM '" FAKE_FALLBACK_NAME "' ");
    assert_has(o->error, holder);
    assert_has(o->error, "one migration per VM at a time, nothing done");
    assert_calls(f, "");
    fpb_vm_lock_release(other);
    again = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
}

/* While a run goes on, nobody else gets the VM; after it, anybody. */
static void try_lock_during_run(const char *message, gpointer data)
{
    Fixture *f = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVmLock) lock = take_lock(f, FAKE_LOCK_KEY, &error);

    g_assert_null(lock);
    g_assert_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_BUSY);
    collect_progress(message, f->progress);
}

static void test_lock_held_while_running(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    g_autoptr(FpbVmLock) after = NULL;

    (void)data;
    f->req.progress = try_lock_during_run;
    f->req.progress_data = f;
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
    g_assert_cmpuint(f->progress->len, >, 0); /* the callback ran */
    after = take_lock(f, FAKE_LOCK_KEY, &error);
    g_assert_no_error(error);
    /* another VM was never blocked */
    {
        g_autoptr(FpbVmLock) other = take_lock(f, "fake-uuid:guest2", &error);

        g_assert_no_error(error);
        g_assert_nonnull(other);
    }
}

/* A holder killed with -9 holds nothing: the kernel dropped its lock. */
static void test_lock_holder_killed(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) refused = NULL;
    g_autoptr(FpbOutcome) o = NULL;
    int ready[2];
    char byte = 0;
    int status = 0;
    pid_t pid;

    (void)data;
    g_assert_cmpint(pipe(ready), ==, 0);
    fflush(stdout);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        FpbVmLock *lock = take_lock(f, FAKE_LOCK_KEY, NULL);

        byte = lock != NULL ? 'y' : 'n';
        if (write(ready[1], &byte, 1) != 1) {
            _exit(1);
        }
        pause();
        _exit(0);
    }
    close(ready[1]);
    g_assert_cmpint(read(ready[0], &byte, 1), ==, 1);
    close(ready[0]);
    g_assert_cmpint(byte, ==, 'y');
    refused = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_REFUSED);
    assert_has(refused->error, "is busy: pid ");
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status));
    o = run_pipeline(f, NULL, &result);
    g_assert_cmpint(result, ==, FPB_MIGRATE_OK);
}

static void test_lock_key_unreadable(Fixture *f, gconstpointer data)
{
    FpbMigrateResult result = FPB_MIGRATE_OK;
    g_autoptr(FpbOutcome) o = NULL;

    (void)data;
    f->world->script.lock_key_fails = TRUE;
    o = run_pipeline(f, NULL, &result);
    assert_refused_row(f, o, result);
    g_assert_cmpstr(o->error, ==,
                    "VM '" FAKE_FALLBACK_NAME "': QMP socket '" FAKE_SOURCE "': scripted");
    assert_calls(f, "");
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/pipeline/refused/open-fails", test_refused_open);
    ADD("/pipeline/refused/facts-fail", test_refused_facts);
    ADD("/pipeline/refused/policy", test_refused_policy);
    ADD("/pipeline/refused/no-restore-path", test_refused_no_restore_path);
    ADD("/pipeline/journal/intent-not-written", test_intent_not_written);
    ADD("/pipeline/journal/disk-full", test_disk_full);
    ADD("/pipeline/prepare/gives-nothing", test_inflate_nothing);
    ADD("/pipeline/prepare/gives-too-little", test_inflate_too_little);
    ADD("/pipeline/prepare/guest-short-migrates", test_inflate_guest_short);
    ADD("/pipeline/prepare/error", test_inflate_error);
    ADD("/pipeline/prepare/partial-goes-on", test_inflate_partial_goes_on);
    ADD("/pipeline/migrate/fails", test_migrate_fails);
    ADD("/pipeline/migrate/cancelled-at-timeout", test_migrate_timeout);
    ADD("/pipeline/migrate/not-started", test_migrate_not_started);
    ADD("/pipeline/restore/fails", test_restore_fails);
    ADD("/pipeline/restore/partial", test_restore_partial);
    ADD("/pipeline/restore/lost-connection-found", test_restore_lost_found);
    ADD("/pipeline/restore/lost-connection-not-found", test_restore_lost_not_found);
    ADD("/pipeline/restore/lost-connection-no-give-back-lost", test_restore_lost_no_wait);
    ADD("/pipeline/restore/lost-after-failed-migration", test_restore_lost_after_failed_migration);
    ADD("/pipeline/success/balloon", test_success_balloon);
    ADD("/pipeline/cancel/before", test_cancel_before);
    ADD("/pipeline/cancel/after-inflate", test_cancel_after_inflate);
    ADD("/pipeline/prep/probe-fast-guest", test_probe_fast_guest);
    ADD("/pipeline/prep/probe-slow-guest", test_probe_slow_guest);
    ADD("/pipeline/prep/stops-at-budget", test_prep_stops_at_budget);
    ADD("/pipeline/prep/takes-past-prior", test_prep_takes_past_prior);
    ADD("/pipeline/success/hints-only", test_success_hints_only);
    ADD("/pipeline/success/none-hints-off", test_success_none_hints_off);
    ADD("/pipeline/explain/changes-nothing", test_explain);
    ADD("/pipeline/explain/refused", test_explain_refused);
    ADD("/pipeline/explain/unreachable", test_explain_unreachable);
    ADD("/pipeline/crash/before-intent", test_crash_before_intent);
    ADD("/pipeline/crash/intent", test_crash_intent);
    ADD("/pipeline/crash/intent-inflated", test_crash_intent_inflated);
    ADD("/pipeline/crash/preparing", test_crash_preparing);
    ADD("/pipeline/crash/probing", test_crash_probing);
    ADD("/pipeline/crash/migrating", test_crash_migrating);
    ADD("/pipeline/crash/migrating-moved", test_crash_migrating_moved);
    ADD("/pipeline/crash/migrating-hints", test_crash_migrating_hints);
    ADD("/pipeline/crash/restoring", test_crash_restoring);
    ADD("/pipeline/crash/restoring-after-failed-migration", test_crash_restoring_after_failure);
    ADD("/pipeline/crash/unreachable", test_crash_unreachable);
    ADD("/pipeline/crash/next-run-recovers-first", test_crash_next_run);
    ADD("/pipeline/lock/busy", test_lock_busy);
    ADD("/pipeline/lock/held-while-running", test_lock_held_while_running);
    ADD("/pipeline/lock/holder-killed", test_lock_holder_killed);
    ADD("/pipeline/lock/key-unreadable", test_lock_key_unreadable);
    ADD("/pipeline/recover/other-backend", test_recover_other_backend);
    ADD("/pipeline/recover/owner-alive", test_recover_owner_alive);
    ADD("/pipeline/recover/missing-memory", test_recover_missing_memory);
    ADD("/pipeline/recover/missing-memory-still-short", test_recover_missing_still_short);
    ADD("/pipeline/recover/missing-memory-skipped-while-open",
        test_recover_missing_skipped_while_open);
    return g_test_run();
}
