/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "orch-helpers.h"

static char *fpbctl_path;

void orch_set_fpbctl(int argc, char **argv)
{
    if (argc < 2) {
        g_printerr("usage: %s [--tap] FPBCTL\n", argv[0]);
        exit(2);
    }
    fpbctl_path = g_strdup(argv[1]);
}

const char *orch_fpbctl(void)
{
    return fpbctl_path;
}

void orch_run_clear(OrchRun *run)
{
    g_clear_pointer(&run->out, g_free);
    g_clear_pointer(&run->err, g_free);
}

static GPtrArray *full_argv(const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();

    g_ptr_array_add(argv, (gpointer)fpbctl_path);
    for (gsize i = 0; args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    return argv;
}

static void echo_stderr(const char *err)
{
    g_auto(GStrv) lines = g_strsplit(err ? err : "", "\n", -1);

    for (char **l = lines; *l != NULL; l++) {
        if (**l != '\0') {
            g_test_message("fpbctl: %s", *l);
        }
    }
}

void orch_run_fpbctl(const char *const *args, OrchRun *ret)
{
    g_autoptr(GPtrArray) argv = full_argv(args);
    g_autoptr(GError) error = NULL;
    int wait_status = 0;

    memset(ret, 0, sizeof(*ret));
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &ret->out,
                      &ret->err, &wait_status, &error)) {
        g_error("cannot run %s: %s", fpbctl_path, error->message);
    }
    echo_stderr(ret->err);
    ret->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

GPid orch_spawn_fpbctl(const char *const *args, const char *dir)
{
    g_autoptr(GPtrArray) argv = full_argv(args);
    g_autoptr(GError) error = NULL;
    g_autofree char *out_path = g_build_filename(dir, "fpbctl.out", NULL);
    g_autofree char *err_path = g_build_filename(dir, "fpbctl.err", NULL);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    GPid pid = 0;

    if (!g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, -1, out, err, &error)) {
        g_error("cannot start %s: %s", fpbctl_path, error->message);
    }
    close(out);
    close(err);
    return pid;
}

int orch_wait(GPid pid)
{
    int status = 0;

    if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json_object *orch_parse_last_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);
    const char *last = NULL;

    for (char **l = lines; *l != NULL; l++) {
        if (**l != '\0') {
            last = *l;
        }
    }
    return last ? json_tokener_parse(last) : NULL;
}

static json_object *lookup(json_object *obj, const char *path)
{
    g_auto(GStrv) keys = g_strsplit(path, ".", -1);
    json_object *v = obj;

    for (char **k = keys; *k != NULL; k++) {
        if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, *k, &v)) {
            return NULL;
        }
    }
    return v;
}

const char *orch_json_str(json_object *obj, const char *path)
{
    json_object *v = lookup(obj, path);

    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

gint64 orch_json_int(json_object *obj, const char *path)
{
    json_object *v = lookup(obj, path);

    return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

double orch_json_num(json_object *obj, const char *path)
{
    json_object *v = lookup(obj, path);

    return (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
               ? json_object_get_double(v)
               : -1;
}

FpbOutcome *orch_journal_row(const char *db, gint64 id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(db, &error);
    g_autoptr(GPtrArray) rows = NULL;

    g_assert_no_error(error);
    rows = fpb_journal_list(j, NULL, 0, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < rows->len; i++) {
        FpbOutcome *o = rows->pdata[i];

        if (o->id == id) {
            return g_ptr_array_steal_index(rows, i);
        }
    }
    return NULL;
}

json_object *orch_qmp(const char *qmp_path, const char *command, json_object *args)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(qmp_path, 5000, &error);
    json_object *reply = NULL;

    g_assert_no_error(error);
    reply = fpb_qmp_client_execute(qmp, command, args, 10000, &error);
    g_assert_no_error(error);
    return reply;
}

gint64 orch_balloon_actual(const char *qmp_path)
{
    g_autoptr(json_object) reply = orch_qmp(qmp_path, "query-balloon", NULL);
    json_object *actual = NULL;

    g_assert_true(json_object_object_get_ex(reply, "actual", &actual));
    return json_object_get_int64(actual);
}
