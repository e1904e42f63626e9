/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl's migrate / history / recover / explain --qmp without a guest:
 * usage errors (exit 2, nothing journaled), an unreachable VM (exit 2, one
 * "refused" row), history and recover on an empty or filled journal.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "orch-helpers.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

typedef struct {
    const char *path;
    const char *args[12];
    int status;
    const char *stderr_has;
} UsageCase;

static const UsageCase usage_cases[] = {
    {"/fpbctl/migrate/no-to", {"migrate", "--qmp", "/x.qmp", NULL}, 2, "--to URI is required"},
    {"/fpbctl/migrate/no-qmp", {"migrate", "--to", "unix:/x", NULL}, 2, "--qmp SOCKET is required"},
    {"/fpbctl/migrate/bad-mode",
     {"migrate", "--qmp", "/x", "--to", "unix:/x", "--mode", "fast", NULL},
     2,
     "--mode: 'fast' is not"},
    {"/fpbctl/migrate/bad-init-on-alloc",
     {"migrate", "--qmp", "/x", "--to", "unix:/x", "--guest-init-on-alloc", "2", NULL},
     2,
     "--guest-init-on-alloc"},
    {"/fpbctl/migrate/bad-timeout",
     {"migrate", "--qmp", "/x", "--to", "unix:/x", "--timeout", "-1", NULL},
     2,
     "--timeout"},
    {"/fpbctl/migrate/extra-arg",
     {"migrate", "--qmp", "/x", "--to", "unix:/x", "vm", NULL},
     2,
     "unexpected argument 'vm'"},
    {"/fpbctl/explain/both", {"explain", "--qmp", "/x", "--facts", "/y", NULL}, 2, "one of them"},
    {"/fpbctl/history/bad-last", {"history", "--last", "-3", NULL}, 2, "fpbctl history:"},
    {"/fpbctl/recover/extra-arg", {"recover", "vm1", "vm2", NULL}, 2, "unexpected argument 'vm2'"},
    {"/fpbctl/recover/domain-and-qmp",
     {"recover", "vm1", "--qmp", "/x", NULL},
     2,
     "unexpected argument 'vm1'"},
    {"/fpbctl/recover/connect-alone",
     {"recover", "--connect", "qemu:///system", NULL},
     2,
     "--connect needs a DOMAIN"},
    {"/fpbctl/help-lists-commands", {"--help", NULL}, 0, NULL},
};

static void test_usage(gconstpointer data)
{
    const UsageCase *c = data;
    OrchRun r;

    orch_run_fpbctl(c->args, &r);
    g_assert_cmpint(r.status, ==, c->status);
    if (c->stderr_has) {
        g_assert_nonnull(strstr(r.err, c->stderr_has));
    }
    if (c->status == 0) {
        g_assert_nonnull(strstr(r.out, "migrate"));
        g_assert_nonnull(strstr(r.out, "history"));
        g_assert_nonnull(strstr(r.out, "recover"));
    }
    orch_run_clear(&r);
}

static void test_unreachable_journaled(void)
{
    g_autofree char *db = tmp_path("j1.db");
    g_autofree char *sock = tmp_path("no.qmp");
    const char *args[] = {"migrate", "--qmp", sock,     "--to", "unix:/nowhere", "--name", "web1",
                          "--db",    db,      "--json", NULL};
    const char *hist[] = {"history", "--db", db, "--vm", "web1", "--json", NULL};
    const char *human[] = {"history", "--db", db, NULL};
    g_autoptr(json_object) out = NULL;
    g_autoptr(json_object) row = NULL;
    OrchRun r;

    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 2);
    out = orch_parse_last_line(r.out);
    g_assert_cmpstr(orch_json_str(out, "vm"), ==, "web1");
    g_assert_cmpstr(orch_json_str(out, "phase"), ==, "refused");
    g_assert_nonnull(strstr(orch_json_str(out, "error"), "VM 'web1': cannot reach"));
    g_assert_true(json_object_object_get_ex(json_object_object_get(out, "decision"), "mode", NULL));
    orch_run_clear(&r);

    orch_run_fpbctl(hist, &r);
    g_assert_cmpint(r.status, ==, 0);
    row = orch_parse_last_line(r.out);
    g_assert_cmpint(orch_json_int(row, "id"), ==, orch_json_int(out, "id"));
    g_assert_cmpstr(orch_json_str(row, "error"), ==, orch_json_str(out, "error"));
    orch_run_clear(&r);

    orch_run_fpbctl(human, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "web1"));
    g_assert_nonnull(strstr(r.out, "refused"));
    orch_run_clear(&r);
}

static void test_history_empty(void)
{
    g_autofree char *db = tmp_path("empty.db");
    const char *args[] = {"history", "--db", db, NULL};
    const char *json[] = {"history", "--db", db, "--json", NULL};
    OrchRun r;

    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "no migrations recorded"));
    orch_run_clear(&r);
    orch_run_fpbctl(json, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "");
    orch_run_clear(&r);
}

static void test_recover_nothing(void)
{
    g_autofree char *db = tmp_path("rec.db");
    const char *args[] = {"recover", "--db", db, NULL};
    OrchRun r;

    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "nothing to recover"));
    orch_run_clear(&r);
}

/* A row left open by a dead fpbctl whose VM is gone: recover says so and
 * fails (1); the row is closed as failed, not left open forever. */
static void test_recover_unreachable(void)
{
    g_autofree char *db = tmp_path("rec2.db");
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(db, &error);
    g_autoptr(FpbOutcome) o = fpb_outcome_new();
    g_autoptr(FpbOutcome) row = NULL;
    const char *args[] = {"recover", "--db", db, NULL};
    OrchRun r;

    fpb_outcome_set(&o->vm, "gone");
    fpb_outcome_set(&o->phase, FPB_PHASE_PREPARING);
    fpb_outcome_set(&o->mode, "balloon");
    fpb_outcome_set(&o->source_qmp, "/nonexistent/gone.qmp");
    fpb_outcome_set(&o->backend, "qmp");
    o->start_us = g_get_real_time();
    o->owner_pid = G_MAXINT; /* no such process */
    g_assert_true(fpb_journal_insert(j, o, &error));
    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.out, "died during phase 'preparing'"));
    g_assert_nonnull(strstr(r.out, "could not be reached"));
    row = orch_journal_row(db, o->id);
    g_assert_cmpstr(row->phase, ==, FPB_PHASE_FAILED);
    g_assert_cmpstr(row->restore_status, ==, "failed");
    orch_run_clear(&r);
}

int main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    orch_set_fpbctl(argc, argv);
    tmpdir = g_dir_make_tmp("fpbctl-orch-XXXXXX", NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(usage_cases); i++) {
        g_test_add_data_func(usage_cases[i].path, &usage_cases[i], test_usage);
    }
    g_test_add_func("/fpbctl/migrate/unreachable-journaled", test_unreachable_journaled);
    g_test_add_func("/fpbctl/history/empty", test_history_empty);
    g_test_add_func("/fpbctl/recover/nothing", test_recover_nothing);
    g_test_add_func("/fpbctl/recover/unreachable", test_recover_unreachable);
    status = g_test_run();
    fpb_test_remove_tree(tmpdir);
    g_free(tmpdir);
    return status;
}
