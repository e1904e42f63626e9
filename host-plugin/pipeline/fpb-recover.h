/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crash recovery: a journal row left in an open phase by an fpbctl that
 * died (kill -9, power cut) says what may still be changed on a guest: a
 * balloon inflated (or inflating), hints switched off, a migration running
 * unattended. fpb_recover_row() hands the row to the backend that wrote it
 * (FpbOutcome.backend), which undoes it wherever the guest runs now: a
 * migration still running is ended; if the guest moved, the destination
 * gets its memory back, else the source does. This module decides which
 * rows need it and writes them back. docs/orchestrator.md, "Crash safety".
 */
#pragma once

#include "fpb-backend.h"
#include "fpb-journal.h"

G_BEGIN_DECLS

#define FPB_RECOVER_CONNECT_TIMEOUT_MS 5000

/* The start time of process @pid (/proc/PID/stat field 22, clock ticks
 * since boot), -1 if there is no such process. */
gint64 fpb_recover_process_start_time(GPid pid);

/* TRUE if the fpbctl that owns @row is still alive (so the row is not
 * abandoned, just busy). */
gboolean fpb_recover_row_owner_alive(const FpbOutcome *row);

/* Writes a restore attempt on @where ("source", "destination") into
 * @row's restore_* fields and "; ..." into @notes: failed with @error, or
 * done/partial from @step. */
void fpb_recover_note_restore(FpbOutcome *row, const char *where, const FpbBalloonStep *step,
                              const GError *error, GString *notes);

/* TRUE if @row asked the balloon for memory (its mode inflates, or a trial
 * inflation ran): memory may be missing. */
gboolean fpb_recover_row_used_balloon(const FpbOutcome *row);

/**
 * fpb_recover_row:
 * @held: an open backend object whose connections the repair may use
 *   (QMP serves one client at a time), or NULL.
 * @backends: the backends this program has (NULL-terminated); a row of
 *   another one fails with a note.
 * Repairs @row (an open row whose owner is dead) and writes it back as
 * "recovered" (or "failed" when the guest could not be reached).
 * @ret_summary: (transfer full) one line for the user.
 * Returns FALSE with @error only when the journal cannot be written.
 */
gboolean fpb_recover_row(FpbJournal *journal, FpbOutcome *row, FpbBackend *held,
                         const FpbBackendOps *const *backends, char **ret_summary, GError **error);

/* Recovers every abandoned open row whose source column is @source (NULL
 * = all); rows whose owner lives are skipped. Appends one summary per row
 * to @summaries; *ret_failed (may be NULL) counts the rows that could not
 * be repaired (now "failed"). */
gboolean fpb_recover_all(FpbJournal *journal, const char *source, FpbBackend *held,
                         const FpbBackendOps *const *backends, GPtrArray *summaries,
                         guint *ret_failed, GError **error);

/* TRUE if @row ended (closed phase) with balloon memory not all given
 * back: its mode inflated and its restore failed, stopped part-way, or
 * ended below the original size (issue 20). */
gboolean fpb_recover_row_memory_missing(const FpbOutcome *row);

/**
 * fpb_recover_missing_memory:
 * Asks again for the full size of every closed row that left memory taken
 * (fpb_recover_row_memory_missing) and names @source (its source or destination column; NULL =
 * all), oldest first; rows of a VM with an open row are skipped (reported). A row whose memory
 * comes back gets restore_status "done" and is not found again; its phase is kept. Appends one
 * summary per row; *ret_failed (may be NULL) counts rows still missing memory. FALSE with @error
 * only when the journal cannot be read or written.
 */
gboolean fpb_recover_missing_memory(FpbJournal *journal, const char *source,
                                    const FpbBackendOps *const *backends, GPtrArray *summaries,
                                    guint *ret_failed, GError **error);

/* TRUE if the fpbctl that owns evacuation @row is still alive. */
gboolean fpb_recover_evacuation_owner_alive(const FpbEvacuationRow *row);

/**
 * fpb_recover_evacuations:
 * Closes every "running" evacuation row whose owner died (fpbctl evacuate
 * killed): its VM rows are named (fpb_journal_adopt_evacuation_rows()); if
 * none of them is still open (fpb_recover_all() repaired them first), the
 * row becomes "abandoned" with a note of what its VM rows say. A row with
 * a VM row still open is left running and reported. Appends one summary
 * per row; *ret_left (may be NULL) counts rows left running. FALSE with
 * @error only when the journal cannot be read or written.
 */
gboolean fpb_recover_evacuations(FpbJournal *journal, GPtrArray *summaries, guint *ret_left,
                                 GError **error);

G_END_DECLS
