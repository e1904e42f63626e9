/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbJournal: the outcome journal, an SQLite database (WAL) with one row
 * per migration attempt and the calibrated cost-model history per VM.
 * docs/journal.md documents the schema.
 *
 * Rows are written before anything changes a guest (the intent) and updated
 * at every phase, so a row left in an open phase by a dead fpbctl tells
 * `fpbctl recover` what to undo. Several fpbctl processes may use one
 * database: writes wait up to 10 s for the lock.
 *
 * Rows read back are outside input: nothing here asserts on their contents.
 * Not thread-safe: one journal per thread.
 */
#pragma once

#include <glib.h>

#include "fpb-evacuation-row.h"
#include "fpb-outcome.h"
#include "fpb-policy.h"

G_BEGIN_DECLS

#define FPB_JOURNAL_DEFAULT_PATH "/var/lib/fpb/journal.db"
/* 2: vm_history gained used_zero_share and zero_page_seconds; 3: the
 * backend column; 4: hint_*; 5: the evacuations table and
 * migrations.evacuation_id */
#define FPB_JOURNAL_SCHEMA_VERSION 5

#define FPB_JOURNAL_ERROR (fpb_journal_error_quark())
GQuark fpb_journal_error_quark(void);

typedef enum {
    FPB_JOURNAL_ERROR_OPEN,   /* cannot create or open the database */
    FPB_JOURNAL_ERROR_SCHEMA, /* a schema version this fpb does not know */
    FPB_JOURNAL_ERROR_SQL,    /* a statement failed */
} FpbJournalError;

typedef struct _FpbJournal FpbJournal;

/* Opens (creating the file, its directory and the schema if needed) the
 * journal at @path. The file (and SQLite's -wal/-shm after it) is 0600, a
 * directory it creates 0700; an existing file readable by others is
 * tightened with a warning. Returns (transfer full) or NULL with @error. */
FpbJournal *fpb_journal_open(const char *path, GError **error);
void fpb_journal_free(FpbJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbJournal, fpb_journal_free)

const char *fpb_journal_path(FpbJournal *journal);

/* Inserts @outcome as a new row and sets outcome->id. */
gboolean fpb_journal_insert(FpbJournal *journal, FpbOutcome *outcome, GError **error);
/* Writes every field of @outcome to its row (outcome->id). */
gboolean fpb_journal_update(FpbJournal *journal, const FpbOutcome *outcome, GError **error);

/* Rows newest first; @vm NULL = all VMs; @last 0 = all.
 * Returns (transfer full) (element-type FpbOutcome). */
GPtrArray *fpb_journal_list(FpbJournal *journal, const char *vm, guint last, GError **error);
/* Rows in an open phase (fpb_outcome_phase_is_open), oldest first, whose
 * source or destination QMP socket is @qmp_path (NULL = all). */
GPtrArray *fpb_journal_list_open(FpbJournal *journal, const char *qmp_path, GError **error);

/* Every row with id > @after_id, oldest first, with the facts and decision
 * columns (the largest) left unread (NULL): for summaries that read the
 * whole journal, such as fpbd's metrics. Read-only.
 * Returns (transfer full) (element-type FpbOutcome). */
GPtrArray *fpb_journal_list_summary(FpbJournal *journal, gint64 after_id, GError **error);
/* SQLite's PRAGMA data_version: it changes when another connection (another
 * process, another FpbJournal) commits, not for this one's own writes. */
gboolean fpb_journal_data_version(FpbJournal *journal, gint64 *ret_version, GError **error);

/* The cost-model history of @vm; fpb_policy_history_init() when none. */
gboolean fpb_journal_load_history(FpbJournal *journal, const char *vm,
                                  FpbPolicyHistory *ret_history, GError **error);
gboolean fpb_journal_save_history(FpbJournal *journal, const char *vm,
                                  const FpbPolicyHistory *history, GError **error);

/* ---- evacuations (fpbctl evacuate; docs/journal.md) ---- */

/* Inserts @row as a new evacuation row and sets row->id. */
gboolean fpb_journal_insert_evacuation(FpbJournal *journal, FpbEvacuationRow *row, GError **error);
/* Writes every column of @row to its row (row->id). */
gboolean fpb_journal_update_evacuation(FpbJournal *journal, const FpbEvacuationRow *row,
                                       GError **error);
/* Evacuation rows, oldest first; @open_only: only "running" ones.
 * Returns (transfer full) (element-type FpbEvacuationRow). */
GPtrArray *fpb_journal_list_evacuations(FpbJournal *journal, gboolean open_only, GError **error);
/* Names evacuation @evacuation_id on migration row @migration_id. */
gboolean fpb_journal_set_evacuation(FpbJournal *journal, gint64 migration_id, gint64 evacuation_id,
                                    GError **error);
/* Names @row's evacuation on the migration rows its owner (PID and start
 * time) wrote since it started and that name none yet: the VM rows of an
 * evacuation whose fpbctl died before it could name them. */
gboolean fpb_journal_adopt_evacuation_rows(FpbJournal *journal, const FpbEvacuationRow *row,
                                           GError **error);
/* The migration rows of evacuation @evacuation_id, oldest first.
 * Returns (transfer full) (element-type FpbOutcome). */
GPtrArray *fpb_journal_list_by_evacuation(FpbJournal *journal, gint64 evacuation_id,
                                          GError **error);

G_END_DECLS
