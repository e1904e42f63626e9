/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crash recovery: a journal row left in an open phase by an fpbctl that
 * died (kill -9, power cut) says what may still be changed on a guest: a
 * balloon inflated (or inflating), postcopy-ram set to switch hints off, a
 * migration running unattended. fpb_recover_row() undoes it wherever the
 * guest runs now: a migration still running is cancelled; if the guest
 * moved, the destination gets its memory back, else the source does.
 * docs/orchestrator.md, "Crash safety".
 */
#pragma once

#include "fpb-balloon-step.h"
#include "fpb-journal.h"
#include "fpb-qmp.h"

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

/* TRUE if @row's mode inflated the balloon (memory may be missing). */
gboolean fpb_recover_row_used_balloon(const FpbOutcome *row);

/* Repairs a row whose source is not a QMP socket ("libvirt:URI#NAME"):
 * fills the restore_* fields, appends "; what was done" to @notes. */
typedef void (*FpbRecoverRepairFunc)(FpbOutcome *row, GString *notes);

/**
 * fpb_recover_row:
 * @held: a client the caller holds on @held_path (QMP serves one client at
 *   a time), used when the row's source or destination is that socket;
 *   other sockets are connected to. Both may be NULL.
 * @libvirt_repair: repairs rows of libvirt domains (NULL: such rows fail).
 * Repairs @row (an open row whose owner is dead) and writes it back as
 * "recovered" (or "failed" when the guest could not be reached).
 * @ret_summary: (transfer full) one line for the user.
 * Returns FALSE with @error only when the journal cannot be written.
 */
gboolean fpb_recover_row(FpbJournal *journal, FpbOutcome *row, FpbQmpClient *held,
                         const char *held_path, FpbRecoverRepairFunc libvirt_repair,
                         char **ret_summary, GError **error);

/* Recovers every abandoned open row that names @qmp_path (a QMP socket or
 * a libvirt source id; NULL = all);
 * rows whose owner lives are skipped. @held: a client on @qmp_path or NULL.
 * Appends one summary per row to @summaries; *ret_failed (may be NULL)
 * counts the rows that could not be repaired (now "failed"). */
gboolean fpb_recover_all(FpbJournal *journal, const char *qmp_path, FpbQmpClient *held,
                         FpbRecoverRepairFunc libvirt_repair, GPtrArray *summaries,
                         guint *ret_failed, GError **error);

/* TRUE if @row ended (closed phase) with balloon memory not all given
 * back: its mode inflated and its restore failed, stopped part-way, or
 * ended below the original size (issue 20). */
gboolean fpb_recover_row_memory_missing(const FpbOutcome *row);

/**
 * fpb_recover_missing_memory:
 * Asks again for the full size of every closed row that left memory taken
 * (fpb_recover_row_memory_missing) and names @qmp_path (NULL = all), oldest
 * first; rows of a VM with an open row are skipped (reported). A row whose
 * memory comes back gets restore_status "done" and is not found again; its
 * phase is kept. Appends one summary per row; *ret_failed (may be NULL)
 * counts rows still missing memory. FALSE with @error only when the
 * journal cannot be read or written.
 */
gboolean fpb_recover_missing_memory(FpbJournal *journal, const char *qmp_path,
                                    FpbRecoverRepairFunc libvirt_repair, GPtrArray *summaries,
                                    guint *ret_failed, GError **error);

G_END_DECLS
