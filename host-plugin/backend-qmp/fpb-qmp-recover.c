/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Repairing a journal row of a VM on bare QEMU (fpb-backend-qmp.h). */
#define G_LOG_DOMAIN "fpb-backend-qmp"

#include "fpb-backend-qmp-priv.h"
#include "fpb-balloon-step.h"
#include "fpb-migration-step.h"
#include "fpb-recover.h"

#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000
#define CANCEL_WAIT_US (15 * G_USEC_PER_SEC)

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

/* A client @held already has on @path (QMP serves one client at a time),
 * else NULL. */
static FpbQmpClient *held_client(FpbBackend *held, const char *path)
{
    FpbBackendQmp *b = (FpbBackendQmp *)held;

    if (b == NULL || path == NULL) {
        return NULL;
    }
    if (b->src != NULL && g_strcmp0(b->target.source_qmp, path) == 0) {
        return b->src;
    }
    if (b->dst != NULL && g_strcmp0(b->target.dest_qmp, path) == 0) {
        return b->dst;
    }
    return NULL;
}

void fpb_backend_qmp_repair_row(FpbBackend *held, FpbOutcome *row, gboolean open, GString *notes)
{
    FpbQmpClient *src = held_client(held, row->source_qmp);
    g_autoptr(FpbQmpClient) own_src = src ? NULL : try_connect(row->source_qmp, notes);
    g_autoptr(FpbQmpClient) own_dst = NULL;
    FpbQmpClient *dst = NULL;
    gboolean moved;

    src = src ? src : own_src;
    /* A closed row's migration ended long ago: a migration running now is
     * someone else's. */
    if (src != NULL && open) {
        cancel_unattended(src, notes);
    }
    /* The guest moved if the source says so, or if the source is gone and
     * the destination runs it. */
    moved = vm_status_is(src, "postmigrate");
    if (moved || src == NULL) {
        dst = held_client(held, row->dest_qmp);
        dst = dst ? dst : (own_dst = try_connect(row->dest_qmp, notes));
        moved = moved || (dst != NULL && vm_status_is(dst, "running"));
    }
    if (open && !moved && src != NULL && g_strcmp0(row->hints, "off") == 0) {
        fpb_migration_step_set_postcopy(src, FALSE, NULL);
        /* and fpb's own switch, back to its default; a QEMU without it
         * refuses, which changes nothing */
        fpb_qmp_hints_set_switch(src, TRUE, NULL);
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
