/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbEvacuationRow: one `fpbctl evacuate` run, one row of the journal's
 * `evacuations` table (docs/journal.md): when, from where to where, the
 * plan it ran (JSON), the predicted and the actual makespan, how it ended,
 * and who ran it (PID + process start time, as migration rows). Each VM's
 * own migration row names the evacuation (migrations.evacuation_id).
 *
 * Conventions as FpbOutcome: integers -1 = unknown (SQL NULL), doubles < 0
 * = unknown, strings NULL = unknown. Times are microseconds since the
 * epoch; makespans are seconds since the plan's start.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

/* The statuses of an evacuation row. "running" is open: a running row
 * whose owner died is what `fpbctl recover` closes (as "abandoned"). */
#define FPB_EVACUATION_RUNNING "running"
#define FPB_EVACUATION_DONE "done"           /* every VM migrated */
#define FPB_EVACUATION_FAILED "failed"       /* at least one VM did not migrate */
#define FPB_EVACUATION_CANCELLED "cancelled" /* stopped by a signal (SIGINT, SIGTERM) */
#define FPB_EVACUATION_ABANDONED "abandoned" /* its fpbctl died; closed by recovery */
#define FPB_EVACUATION_REFUSED "refused"     /* the plan refused every VM: nothing started */

typedef struct {
    gint64 id; /* -1 before the row exists */
    char *status;
    gint64 start_us;
    gint64 end_us;
    gint64 owner_pid;
    gint64 owner_start;
    char *source_uri;
    char *dest_uri;
    json_object *plan;                 /* the plan it started with */
    double predicted_makespan_seconds; /* the plan's makespan */
    double actual_makespan_seconds;    /* the last VM's end, since the plan's start */
    gint64 vms;                        /* VMs in the evacuation */
    gint64 migrated;                   /* of them, migrated */
    gint64 failed;                     /* of them, not migrated (failed, refused, cancelled) */
    char *error;                       /* why it did not end done; recovery's note */
} FpbEvacuationRow;

/* An empty row: everything unknown. (transfer full) */
FpbEvacuationRow *fpb_evacuation_row_new(void);
void fpb_evacuation_row_free(FpbEvacuationRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbEvacuationRow, fpb_evacuation_row_free)

/* Replaces the string *@field with a copy of @value (NULL allowed). */
void fpb_evacuation_row_set(char **field, const char *value);

/* TRUE for "running". */
gboolean fpb_evacuation_row_is_open(const FpbEvacuationRow *row);

/* The row as JSON (the columns; plan as an object). (transfer full) */
json_object *fpb_evacuation_row_to_json(const FpbEvacuationRow *row);

G_END_DECLS
