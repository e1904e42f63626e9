/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-recover"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fpb-balloon-step.h"
#include "fpb-migration-step.h"
#include "fpb-recover.h"

#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000
#define CANCEL_WAIT_US (15 * G_USEC_PER_SEC)

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

gboolean fpb_recover_row_owner_alive(const FpbOutcome *row)
{
    gint64 start;

    if (row->owner_pid <= 0 || row->owner_pid > G_MAXINT) {
        return FALSE;
    }
    start = fpb_recover_process_start_time((GPid)row->owner_pid);
    return start >= 0 && (row->owner_start < 0 || start == row->owner_start);
}

static FpbQmpClient *try_connect(const char *path, GString *notes)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *qmp = NULL;

    if (path == NULL) {
        return NULL;
    }
    qmp = fpb_qmp_client_connect(path, FPB_RECOVER_CONNECT_TIMEOUT_MS, &error);
    if (qmp == NULL) {
        g_string_append_printf(notes, "; %s", error->message);
    }
    return qmp;
}

/* A migration fpbctl started and nobody watches any more is cancelled: it
 * would otherwise run without a timeout and without a restore step. */
static void cancel_unattended(FpbQmpClient *src, GString *notes)
{
    gint64 deadline = g_get_monotonic_time() + CANCEL_WAIT_US;
    g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate(src, NULL);

    if (info == NULL || info->status == FPB_QMP_MIGRATION_STATUS_NONE ||
        fpb_qmp_migration_status_is_final(info->status)) {
        return;
    }
    g_string_append(notes, "; cancelled the unattended migration");
    if (!fpb_qmp_migrate_cancel(src, NULL)) {
        return;
    }
    while (g_get_monotonic_time() < deadline) {
        g_autoptr(FpbQmpMigrationInfo) now = fpb_qmp_query_migrate(src, NULL);

        if (now == NULL || fpb_qmp_migration_status_is_final(now->status)) {
            return;
        }
        g_usleep(100 * 1000);
    }
}

static gboolean vm_status_is(FpbQmpClient *qmp, const char *status)
{
    g_autoptr(FpbQmpStatus) st = qmp ? fpb_qmp_query_status(qmp, NULL) : NULL;

    return st != NULL && g_strcmp0(st->status, status) == 0;
}

static gint64 original_size(const FpbOutcome *row, FpbQmpClient *qmp)
{
    g_autoptr(json_object) reply = NULL;
    gint64 base = -1;

    if (row->prep_original_bytes > 0) {
        return row->prep_original_bytes;
    }
    reply = fpb_qmp_client_execute(qmp, "query-memory-size-summary", NULL,
                                   fpb_qmp_client_get_default_timeout(qmp), NULL);
    if (reply == NULL || !fpb_qmp_json_get_int(reply, "query-memory-size-summary", "base-memory", 1,
                                               G_MAXINT64, &base, NULL)) {
        return -1;
    }
    return base;
}

gboolean fpb_recover_row_used_balloon(const FpbOutcome *row)
{
    FpbPolicyMode mode;

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

/* Gives the guest its memory back on @qmp; fills the restore fields. */
static void give_back(FpbOutcome *row, FpbQmpClient *qmp, const char *where, GString *notes)
{
    g_autoptr(GError) error = NULL;
    gint64 original = original_size(row, qmp);
    FpbBalloonStep step;

    fpb_outcome_set(&row->restore_where, where);
    if (original <= 0) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; the original memory size of the %s is unknown", where);
        return;
    }
    fpb_balloon_step_run(qmp, original, RESTORE_BUDGET_S, RESTORE_STALL_MS, &step, &error);
    fpb_recover_note_restore(row, where, &step, error, notes);
}

/* Repairs what can be repaired; @notes collects what was done. */
static void repair(FpbOutcome *row, FpbQmpClient *held, const char *held_path, gboolean open,
                   GString *notes)
{
    gboolean src_held = held != NULL && g_strcmp0(row->source_qmp, held_path) == 0;
    gboolean dst_held = held != NULL && g_strcmp0(row->dest_qmp, held_path) == 0;
    g_autoptr(FpbQmpClient) own_src = src_held ? NULL : try_connect(row->source_qmp, notes);
    g_autoptr(FpbQmpClient) own_dst = NULL;
    FpbQmpClient *src = src_held ? held : own_src;
    FpbQmpClient *dst = NULL;
    gboolean moved;

    /* A closed row's migration ended long ago: a migration running now is
     * someone else's. */
    if (src != NULL && open) {
        cancel_unattended(src, notes);
    }
    /* The guest moved if the source says so, or if the source is gone and
     * the destination runs it. */
    moved = vm_status_is(src, "postmigrate");
    if (moved || src == NULL) {
        dst = dst_held ? held : (own_dst = try_connect(row->dest_qmp, notes));
        moved = moved || (dst != NULL && vm_status_is(dst, "running"));
    }
    if (open && !moved && src != NULL && g_strcmp0(row->hints, "off") == 0) {
        fpb_migration_step_set_postcopy(src, FALSE, NULL);
    }
    if (!fpb_recover_row_used_balloon(row)) {
        fpb_outcome_set(&row->restore_status, "not-needed");
    } else if (moved ? dst != NULL : src != NULL) {
        give_back(row, moved ? dst : src, moved ? "destination" : "source", notes);
    } else {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append(notes, "; the guest could not be reached");
    }
}

gboolean fpb_recover_row(FpbJournal *j, FpbOutcome *row, FpbQmpClient *held, const char *held_path,
                         FpbRecoverRepairFunc libvirt_repair, char **ret_summary, GError **error)
{
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *phase = g_strdup(row->phase);
    g_autofree char *message = NULL;

    if (!g_str_has_prefix(row->source_qmp ? row->source_qmp : "", "libvirt:")) {
        repair(row, held, held_path, TRUE, notes);
    } else if (libvirt_repair != NULL) {
        libvirt_repair(row, notes);
    } else {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append(notes, "; a libvirt domain, recover it with fpbctl");
    }
    message = g_strdup_printf("fpbctl (PID %" G_GINT64_FORMAT ") died during phase '%s'; "
                              "recovered by PID %d%s",
                              row->owner_pid, phase ? phase : "?", (int)getpid(), notes->str);
    fpb_outcome_set(&row->phase, g_strcmp0(row->restore_status, "failed") == 0
                                     ? FPB_PHASE_FAILED
                                     : FPB_PHASE_RECOVERED);
    row->end_us = g_get_real_time();
    fpb_outcome_set_error(row, message);
    if (!fpb_journal_update(j, row, error)) {
        return FALSE;
    }
    *ret_summary =
        g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT ": %s", row->vm, row->id, message);
    return TRUE;
}

gboolean fpb_recover_all(FpbJournal *j, const char *qmp_path, FpbQmpClient *held,
                         FpbRecoverRepairFunc libvirt_repair, GPtrArray *summaries,
                         guint *ret_failed, GError **error)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list_open(j, qmp_path, error);
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
        if (!fpb_recover_row(j, row, held, qmp_path, libvirt_repair, &summary, error)) {
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

static gboolean row_names(const FpbOutcome *row, const char *qmp_path)
{
    return qmp_path == NULL || g_strcmp0(row->source_qmp, qmp_path) == 0 ||
           g_strcmp0(row->dest_qmp, qmp_path) == 0;
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
static gboolean retry_give_back(FpbJournal *j, FpbOutcome *row, FpbRecoverRepairFunc libvirt_repair,
                                char **ret_summary, GError **error)
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
    if (!g_str_has_prefix(row->source_qmp ? row->source_qmp : "", "libvirt:")) {
        repair(row, NULL, NULL, FALSE, notes);
    } else if (libvirt_repair != NULL) {
        libvirt_repair(row, notes);
    } else {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append(notes, "; a libvirt domain, recover it with fpbctl");
    }
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

gboolean fpb_recover_missing_memory(FpbJournal *j, const char *qmp_path,
                                    FpbRecoverRepairFunc libvirt_repair, GPtrArray *summaries,
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

        if (!row_names(row, qmp_path) || !fpb_recover_row_memory_missing(row)) {
            continue;
        }
        if (vm_has_open_row(rows, row->vm)) {
            g_ptr_array_add(summaries, g_strdup_printf("VM '%s': journal row %" G_GINT64_FORMAT
                                                       " left memory taken, but another attempt "
                                                       "is open, skipping",
                                                       row->vm, row->id));
            continue;
        }
        if (!retry_give_back(j, row, libvirt_repair, &summary, error)) {
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
