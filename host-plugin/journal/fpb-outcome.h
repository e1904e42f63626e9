/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbOutcome: everything one migration attempt did, from the intent to the
 * record: one journal row (docs/journal.md), one JSON line. A flat struct so
 * that the journal and the JSON writer walk the same field table
 * (fpb_outcome_fields()); adding a field is one line there plus the member.
 *
 * Conventions: integers -1 = unknown (SQL NULL, JSON null), doubles < 0 =
 * unknown, strings NULL = unknown. Times are microseconds since the epoch.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "fpb-qmp-hints.h"
#include "fpb-qmp-json.h"

G_BEGIN_DECLS

/* The phases of a row. Open phases mean "fpbctl was working on it": a row
 * left open by a dead fpbctl is what `fpbctl recover` repairs. */
#define FPB_PHASE_INTENT "intent"       /* decided, nothing changed yet */
#define FPB_PHASE_PREPARING "preparing" /* the balloon may be inflating */
#define FPB_PHASE_MIGRATING "migrating"
#define FPB_PHASE_RESTORING "restoring"
#define FPB_PHASE_DONE "done"           /* migrated, memory given back */
#define FPB_PHASE_FAILED "failed"       /* did not migrate (or not cleanly); see error */
#define FPB_PHASE_REFUSED "refused"     /* nothing was done: bad input or policy refusal */
#define FPB_PHASE_RECOVERED "recovered" /* left open by a dead fpbctl, repaired later */

gboolean fpb_outcome_phase_is_open(const char *phase);

typedef struct {
    gint64 id; /* journal row id, -1 before the row exists */
    char *vm;
    char *source_qmp;
    char *dest_qmp;
    char *uri;
    char *requested_mode; /* a request name (fpb-policy-mode.h): auto or a mode */
    char *phase;
    gint64 start_us;
    gint64 end_us;
    gint64 owner_pid;   /* the fpbctl that works on the row */
    gint64 owner_start; /* its start time (/proc/PID/stat field 22), against PID reuse */
    char *qemu_version;
    json_object *facts;         /* fpb_facts_json_from_facts() */
    json_object *decision;      /* fpb_facts_json_from_decision() */
    json_object *predictions;   /* fpb_facts_json_from_predictions() */
    char *mode;                 /* decided mode, NULL before/without a decision */
    char *hints;                /* "on", "off" (postcopy-ram trick), "not negotiated" */
    gint64 prep_original_bytes; /* balloon actual before anything was done */
    gint64 prep_target_bytes;
    gint64 prep_reached_bytes;
    double prep_seconds;
    char *prep_stopped; /* target, no-progress, budget, error, not-needed,
                         * trial, abandoned (docs/journal.md) */
    char *mig_status;   /* QEMU's MigrationStatus, or "not-started" */
    gint64 mig_total_ms;
    gint64 mig_downtime_ms;
    gint64 mig_setup_ms;
    gint64 mig_transferred_bytes;
    gint64 mig_normal_pages;
    gint64 mig_normal_bytes;
    gint64 mig_zero_pages;
    gint64 mig_dirty_sync_count;
    double mig_throughput_mbps;
    char *restore_status; /* done, partial, failed, not-needed */
    char *restore_where;  /* destination, source */
    double restore_seconds;
    gint64 restore_final_bytes; /* balloon actual after restoring */
    /* What the guest's free-page hints did in this migration, as fpb's QEMU
     * counts it on the source (x-fpb-query-hint-stats); -1 on a QEMU
     * without the counters, or when hints did not run. */
    gint64 hint_reported_bytes; /* the guest said these were free (untrusted) */
    gint64 hint_reports;        /* buffers of free pages QEMU acted on */
    gint64 hint_cleared_bytes;  /* dirty bits QEMU cleared because of them */
    gint64 hint_report_ms;      /* the guest's reporting time, summed over rounds */
    gint64 hint_rounds;         /* hint commands the guest finished */
    char *error;
    char *backend; /* the backend that wrote the row: FpbBackendOps.name */
} FpbOutcome;

typedef enum {
    FPB_OUTCOME_FIELD_INT,
    FPB_OUTCOME_FIELD_REAL,
    FPB_OUTCOME_FIELD_TEXT,
    FPB_OUTCOME_FIELD_JSON,
} FpbOutcomeFieldType;

typedef struct {
    const char *column;     /* journal column */
    const char *json_group; /* NULL = top level, else "prepare", "migration", "restore" */
    const char *json_key;
    FpbOutcomeFieldType type;
    gsize offset;
} FpbOutcomeField;

/* The field table (static, never freed); *ret_n is its length. */
const FpbOutcomeField *fpb_outcome_fields(gsize *ret_n);

/* All unknown, id -1. Free with fpb_outcome_free() (accepts NULL). */
FpbOutcome *fpb_outcome_new(void);
void fpb_outcome_free(FpbOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbOutcome, fpb_outcome_free)

/* Replaces the string field at @field (e.g. &o->phase) by a copy of @value. */
void fpb_outcome_set(char **field, const char *value);
/* Sets o->error unless one is already set: the first error is the cause. */
void fpb_outcome_set_error(FpbOutcome *outcome, const char *message);

/* Copies fpb's QEMU's hint counters of the migration into hint_*. */
void fpb_outcome_take_hint_stats(FpbOutcome *outcome, const FpbQmpHintStats *stats);

/* The outcome as a JSON object (transfer full); docs/journal.md. */
json_object *fpb_outcome_to_json(const FpbOutcome *outcome);

/* A few lines for people: phase, error, prepare, migration, restore.
 * (transfer full) */
char *fpb_outcome_summary(const FpbOutcome *outcome);

G_END_DECLS
