/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the orchestrator tests: run the built fpbctl (path given as
 * the test's first argument after --tap), parse its JSON line, read the
 * journal back, ask a VM over QMP.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "fpb-journal.h"
#include "fpb-qmp.h"
#include "fpb-test-tree.h"

G_BEGIN_DECLS

/* Takes the fpbctl path from argv (after g_test_init). */
void orch_set_fpbctl(int argc, char **argv);
const char *orch_fpbctl(void);

typedef struct {
    int status; /* exit status, -1 if killed by a signal */
    char *out;
    char *err;
} OrchRun;

void orch_run_clear(OrchRun *run);

/* Runs fpbctl with NULL-terminated @args (without argv[0]); waits. Its
 * stderr is echoed as TAP comments. */
void orch_run_fpbctl(const char *const *args, OrchRun *ret);
/* Starts fpbctl in the background, stdout/stderr to files in @dir. */
GPid orch_spawn_fpbctl(const char *const *args, const char *dir);
/* Waits for a spawned fpbctl; returns its exit status (-1 on a signal). */
int orch_wait(GPid pid);

/* Parses the last non-empty line of @text as JSON (the --json line). */
json_object *orch_parse_last_line(const char *text);
/* obj.a.b... as a string / int64 / double; NULL / -1 when absent. */
const char *orch_json_str(json_object *obj, const char *path);
gint64 orch_json_int(json_object *obj, const char *path);
/* obj.a.b... as a number (int or double); -1 when absent or not a number. */
double orch_json_num(json_object *obj, const char *path);

/* The journal row @id (from a fresh connection). */
FpbOutcome *orch_journal_row(const char *db, gint64 id);

/* query-balloon actual of the VM behind @qmp_path. */
gint64 orch_balloon_actual(const char *qmp_path);
/* Runs a QMP command without arguments on @qmp_path; returns the reply. */
json_object *orch_qmp(const char *qmp_path, const char *command, json_object *args);

G_END_DECLS
