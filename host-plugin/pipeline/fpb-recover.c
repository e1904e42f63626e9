/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-recover"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fpb-recover.h"

gint64 fpb_recover_process_start_time(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *after_comm;
    gint64 start = -1;

    if (pid <= 0 || !g_file_get_contents(path, &text, NULL, NULL)) {
        return -1;
    }
    /* comm (field 2) may hold spaces and parentheses: start after the last ')'. */
    after_comm = strrchr(text, ')');
    if (after_comm == NULL) {
        return -1;
    }
    fields = g_strsplit(after_comm + 2, " ", 0);
    /* fields[0] is field 3 (state), so field 22 (starttime) is fields[19]. */
    if (g_strv_length(fields) < 20 ||
        !g_ascii_string_to_signed(fields[19], 10, 0, G_MAXINT64, &start, NULL)) {
        return -1;
    }
    return start;
}

/* The process @pid started at @owner_start (< 0: unknown) still runs. */
static gboolean owner_alive(gint64 pid, gint64 owner_start)
{
    gint64 start;

    if (pid <= 0 || pid > G_MAXINT) {
        return FALSE;
    }
    start = fpb_recover_process_start_time((GPid)pid);
    return start >= 0 && (owner_start < 0 || start == owner_start);
}

gboolean fpb_recover_row_owner_alive(const FpbOutcome *row)
{
    return owner_alive(row->owner_pid, row->owner_start);
}

gboolean fpb_recover_row_used_balloon(const FpbOutcome *row)
{
    FpbPolicyMode mode;

    /* a trial inflation (fpb-policy-prep.h) asks for a size before the
     * row's mode inflates, or under a mode that never does */
    if (row->prep_target_bytes >= 0 && row->prep_original_bytes > 0 &&
        row->prep_target_bytes < row->prep_original_bytes) {
        return TRUE;
    }
    return row->mode != NULL && fpb_policy_mode_from_string(row->mode, &mode) &&
           fpb_policy_mode_uses_balloon(mode);
}

void fpb_recover_note_restore(FpbOutcome *row, const char *where, const FpbBalloonStep *step,
                              const GError *error, GString *notes)
{
    if (error != NULL) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; giving memory back on the %s failed: %s", where,
                               error->message);
        return;
    }
    row->restore_seconds = step->seconds;
    row->restore_final_bytes = step->reached_bytes;
    fpb_outcome_set(&row->restore_status,
                    g_strcmp0(step->stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ? "done" : "partial");
    g_string_append_printf(notes, "; %s memory back to %" G_GINT64_FORMAT " MiB (%s)", where,
                           step->reached_bytes / (1024 * 1024), row->restore_status);
}

/* Hands @row to the backend that wrote it; @held serves it when it is an
 * open object of that backend. */
static void repair(FpbOutcome *row, FpbBackend *held, const FpbBackendOps *const *backends,
                   gboolean open, GString *notes)
{
    const FpbBackendOps *ops = fpb_backend_find(backends, row->backend);

    if (ops == NULL) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes,
                               "; written through the '%s' backend, which this program "
                               "cannot drive: recover it with fpbctl",
                               row->backend ? row->backend : "?");
        return;
    }
    ops->repair_row(held != NULL && held->ops == ops ? held : NULL, row, open, notes);
}

gboolean fpb_recover_row(FpbJournal *j, FpbOutcome *row, FpbBackend *held,
                         const FpbBackendOps *const *backends, char **ret_summary, GError **error)
{
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *phase = g_strdup(row->phase);
    g_autofree char *message = NULL;

    repair(row, held, backends, TRUE, notes);
    message = g_strdup_printf("fpbctl (PID %" G_GINT64_FORMAT ") died during phase '%s'; "
                              "recovered by PID %d%s",
                              row->owner_pid, phase ? phase : "?", (int)getpid(), notes->str);
    fpb_outcome_set(&row->phase, g_strcmp0(row->restore_status, "failed") == 0
                                     ? FPB_PHASE_FAILED
                                     : FPB_PHASE_RECOVERED);
    row->end_us = g_get_real_time();
    /* the attempt's own error stays first: recovery only says what followed */
    if (row->error != NULL && *row->error != '\0') {
        g_autofree char *both = g_strdup_printf("%s; %s", row->error, message);

        fpb_outcome_set(&row->error, both);
    } else {
        fpb_outcome_set(&row->error, message);
    }
    if (!fpb_journal_update(j, row, error)) {
        return FALSE;
    }
    *ret_summary =
        g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT ": %s", row->vm, row->id, message);
    return TRUE;
}

gboolean fpb_recover_all(FpbJournal *j, const char *source, FpbBackend *held,
                         const FpbBackendOps *const *backends, GPtrArray *summaries,
                         guint *ret_failed, GError **error)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list_open(j, source, error);
    guint failed = 0;

    if (rows == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < rows->len; i++) {
        FpbOutcome *row = rows->pdata[i];
        char *summary = NULL;

        if (fpb_recover_row_owner_alive(row)) {
            g_ptr_array_add(summaries, g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT
                                                       " is in use by fpbctl PID %" G_GINT64_FORMAT
                                                       ", skipping",
                                                       row->vm, row->id, row->owner_pid));
            continue;
        }
        if (!fpb_recover_row(j, row, held, backends, &summary, error)) {
            return FALSE;
        }
        g_ptr_array_add(summaries, summary);
        failed += g_strcmp0(row->phase, FPB_PHASE_FAILED) == 0;
    }
    if (ret_failed != NULL) {
        *ret_failed = failed;
    }
    return TRUE;
}

/* ---- rows that ended with memory still taken (issue 20) ---- */

#define RETRY_NOTE "; memory not all given back"

gboolean fpb_recover_row_memory_missing(const FpbOutcome *row)
{
    if (fpb_outcome_phase_is_open(row->phase) || !fpb_recover_row_used_balloon(row) ||
        row->prep_original_bytes <= 0) {
        return FALSE;
    }
    if (g_strcmp0(row->restore_status, "failed") == 0 ||
        g_strcmp0(row->restore_status, "partial") == 0) {
        return TRUE;
    }
    /* "done" rows are trusted only as far as their final size says */
    return row->restore_final_bytes >= 0 &&
           row->restore_final_bytes < row->prep_original_bytes - FPB_BALLOON_TOLERANCE_BYTES;
}

static gboolean row_names(const FpbOutcome *row, const char *source)
{
    return source == NULL || g_strcmp0(row->source_qmp, source) == 0 ||
           g_strcmp0(row->dest_qmp, source) == 0;
}

/* Another attempt on the same VM is running or was left open: it owns the
 * balloon now, giving memory back under it would fight it. */
static gboolean vm_has_open_row(GPtrArray *rows, const char *vm)
{
    for (guint i = 0; i < rows->len; i++) {
        const FpbOutcome *r = rows->pdata[i];

        if (fpb_outcome_phase_is_open(r->phase) && g_strcmp0(r->vm, vm) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Asks again for the full size of a closed row. The phase stays what it
 * was (the attempt's outcome does not change); restore_status becomes
 * "done" once the memory is back, so the row is not retried again. */
static gboolean retry_give_back(FpbJournal *j, FpbOutcome *row,
                                const FpbBackendOps *const *backends, char **ret_summary,
                                GError **error)
{
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *before = g_strdup(row->restore_status ? row->restore_status : "?");
    g_autofree char *message = NULL;
    g_autofree char *cause = g_strdup(row->error ? row->error : "");
    char *earlier = strstr(cause, RETRY_NOTE);

    /* keep the attempt's own error, and only the latest retry's notes */
    if (earlier != NULL) {
        *earlier = '\0';
    }
    repair(row, NULL, backends, FALSE, notes);
    message = g_strdup_printf("%s" RETRY_NOTE " (restore %s); retried by PID %d%s", cause, before,
                              (int)getpid(), notes->str);
    fpb_outcome_set(&row->error, message);
    if (!fpb_journal_update(j, row, error)) {
        return FALSE;
    }
    *ret_summary = g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT
                                   ": memory not all given back (restore %s), asked again: %s%s",
                                   row->vm, row->id, before, row->restore_status, notes->str);
    return TRUE;
}

gboolean fpb_recover_missing_memory(FpbJournal *j, const char *source,
                                    const FpbBackendOps *const *backends, GPtrArray *summaries,
                                    guint *ret_failed, GError **error)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list(j, NULL, 0, error);
    guint failed = 0;

    if (rows == NULL) {
        return FALSE;
    }
    /* oldest first, like open rows: the newest attempt has the last word */
    for (guint i = rows->len; i-- > 0;) {
        FpbOutcome *row = rows->pdata[i];
        char *summary = NULL;

        if (!row_names(row, source) || !fpb_recover_row_memory_missing(row)) {
            continue;
        }
        if (vm_has_open_row(rows, row->vm)) {
            g_ptr_array_add(summaries, g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT
                                                       " left memory taken, but another attempt "
                                                       "is open, skipping",
                                                       row->vm, row->id));
            continue;
        }
        if (!retry_give_back(j, row, backends, &summary, error)) {
            return FALSE;
        }
        g_ptr_array_add(summaries, summary);
        failed += fpb_recover_row_memory_missing(row);
    }
    if (ret_failed != NULL) {
        *ret_failed = failed;
    }
    return TRUE;
}

/* ---- evacuations whose fpbctl died ---- */

gboolean fpb_recover_evacuation_owner_alive(const FpbEvacuationRow *row)
{
    return owner_alive(row->owner_pid, row->owner_start);
}

/* "3 VM rows (12 done, 13 recovered, 14 failed)"; *ret_open counts the
 * rows still open. (transfer full) */
static char *evacuation_vm_rows(GPtrArray *rows, guint *ret_open)
{
    GString *s = g_string_new(NULL);

    *ret_open = 0;
    g_string_append_printf(s, "%u VM row%s", rows->len, rows->len == 1 ? "" : "s");
    for (guint i = 0; i < rows->len; i++) {
        const FpbOutcome *r = rows->pdata[i];

        *ret_open += fpb_outcome_phase_is_open(r->phase);
        g_string_append_printf(s, "%s%" G_GINT64_FORMAT " %s", i == 0 ? " (" : ", ", r->id,
                               r->phase ? r->phase : "?");
    }
    if (rows->len > 0) {
        g_string_append_c(s, ')');
    }
    return g_string_free(s, FALSE);
}

/* One abandoned evacuation: named rows, then closed unless one is open. */
static gboolean close_evacuation(FpbJournal *j, FpbEvacuationRow *row, char **ret_summary,
                                 gboolean *ret_left, GError **error)
{
    g_autoptr(GPtrArray) rows = NULL;
    g_autofree char *vm_rows = NULL;
    g_autofree char *note = NULL;
    guint open = 0;

    if (!fpb_journal_adopt_evacuation_rows(j, row, error) ||
        (rows = fpb_journal_list_by_evacuation(j, row->id, error)) == NULL) {
        return FALSE;
    }
    vm_rows = evacuation_vm_rows(rows, &open);
    *ret_left = open > 0;
    if (open > 0) {
        *ret_summary =
            g_strdup_printf("evacuation %" G_GINT64_FORMAT ": its process (PID %" G_GINT64_FORMAT
                            ") died, but %u of its %s %s still open: left running",
                            row->id, row->owner_pid, open, vm_rows, open == 1 ? "is" : "are");
        return TRUE;
    }
    note =
        g_strdup_printf("its process (PID %" G_GINT64_FORMAT ") died during the evacuation; closed "
                        "by PID %d: %s",
                        row->owner_pid, (int)getpid(), vm_rows);
    fpb_evacuation_row_set(&row->status, FPB_EVACUATION_ABANDONED);
    fpb_evacuation_row_set(&row->error, note);
    row->end_us = g_get_real_time();
    if (!fpb_journal_update_evacuation(j, row, error)) {
        return FALSE;
    }
    *ret_summary = g_strdup_printf("evacuation %" G_GINT64_FORMAT ": abandoned: %s", row->id, note);
    return TRUE;
}

gboolean fpb_recover_evacuations(FpbJournal *j, GPtrArray *summaries, guint *ret_left,
                                 GError **error)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list_evacuations(j, TRUE, error);
    guint left = 0;

    if (rows == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < rows->len; i++) {
        FpbEvacuationRow *row = rows->pdata[i];
        char *summary = NULL;
        gboolean still = FALSE;

        if (fpb_recover_evacuation_owner_alive(row)) {
            g_ptr_array_add(summaries,
                            g_strdup_printf("evacuation %" G_GINT64_FORMAT
                                            " is run by PID %" G_GINT64_FORMAT " (alive), skipping",
                                            row->id, row->owner_pid));
            continue;
        }
        if (!close_evacuation(j, row, &summary, &still, error)) {
            return FALSE;
        }
        g_ptr_array_add(summaries, summary);
        left += still;
    }
    if (ret_left != NULL) {
        *ret_left = left;
    }
    return TRUE;
}
