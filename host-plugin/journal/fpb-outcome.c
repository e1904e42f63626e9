/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-outcome"

#include <math.h>
#include <stddef.h>

#include "fpb-outcome.h"

#define F(col, group, key, type)                                                                   \
    {                                                                                              \
#col, group, key, FPB_OUTCOME_FIELD_##type, offsetof(FpbOutcome, col)                      \
    }

/* The journal's columns and the JSON line's members, in one place. A NULL
 * json_key keeps a column out of the JSON (bookkeeping only). */
static const FpbOutcomeField fields[] = {
    F(vm, NULL, "vm", TEXT),
    F(source_qmp, NULL, "source_qmp", TEXT),
    F(dest_qmp, NULL, "dest_qmp", TEXT),
    F(uri, NULL, "uri", TEXT),
    F(requested_mode, NULL, "requested_mode", TEXT),
    F(phase, NULL, "phase", TEXT),
    F(start_us, NULL, "start_us", INT),
    F(end_us, NULL, "end_us", INT),
    F(owner_pid, NULL, NULL, INT),
    F(owner_start, NULL, NULL, INT),
    F(qemu_version, NULL, "qemu_version", TEXT),
    F(facts, NULL, "facts", JSON),
    F(decision, NULL, "decision", JSON),
    F(predictions, NULL, "predictions", JSON),
    F(mode, NULL, NULL, TEXT), /* JSON: decision.mode */
    F(hints, NULL, "hints", TEXT),
    F(prep_original_bytes, "prepare", "original_bytes", INT),
    F(prep_target_bytes, "prepare", "target_bytes", INT),
    F(prep_reached_bytes, "prepare", "reached_bytes", INT),
    F(prep_seconds, "prepare", "seconds", REAL),
    F(prep_stopped, "prepare", "stopped", TEXT),
    F(mig_status, "migration", "status", TEXT),
    F(mig_total_ms, "migration", "total_ms", INT),
    F(mig_downtime_ms, "migration", "downtime_ms", INT),
    F(mig_setup_ms, "migration", "setup_ms", INT),
    F(mig_transferred_bytes, "migration", "transferred_bytes", INT),
    F(mig_normal_pages, "migration", "normal_pages", INT),
    F(mig_normal_bytes, "migration", "normal_bytes", INT),
    F(mig_zero_pages, "migration", "zero_pages", INT),
    F(mig_dirty_sync_count, "migration", "dirty_sync_count", INT),
    F(mig_throughput_mbps, "migration", "throughput_mbps", REAL),
    F(restore_status, "restore", "status", TEXT),
    F(restore_where, "restore", "where", TEXT),
    F(restore_seconds, "restore", "seconds", REAL),
    F(restore_final_bytes, "restore", "final_bytes", INT),
    F(hint_reported_bytes, "hint_stats", "reported_bytes", INT),
    F(hint_reports, "hint_stats", "reports", INT),
    F(hint_cleared_bytes, "hint_stats", "cleared_bytes", INT),
    F(hint_report_ms, "hint_stats", "report_ms", INT),
    F(hint_rounds, "hint_stats", "rounds", INT),
    F(error, NULL, "error", TEXT),
    F(backend, NULL, NULL, TEXT),
};

#undef F

const FpbOutcomeField *fpb_outcome_fields(gsize *ret_n)
{
    *ret_n = G_N_ELEMENTS(fields);
    return fields;
}

gboolean fpb_outcome_phase_is_open(const char *phase)
{
    static const char *const open_phases[] = {FPB_PHASE_INTENT, FPB_PHASE_PREPARING,
                                              FPB_PHASE_MIGRATING, FPB_PHASE_RESTORING, NULL};

    return phase != NULL && g_strv_contains(open_phases, phase);
}

FpbOutcome *fpb_outcome_new(void)
{
    FpbOutcome *o = g_new0(FpbOutcome, 1);

    o->id = -1;
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        gpointer p = (char *)o + fields[i].offset;

        if (fields[i].type == FPB_OUTCOME_FIELD_INT) {
            *(gint64 *)p = -1;
        } else if (fields[i].type == FPB_OUTCOME_FIELD_REAL) {
            *(double *)p = -1.0;
        }
    }
    return o;
}

void fpb_outcome_free(FpbOutcome *o)
{
    if (o == NULL) {
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        gpointer p = (char *)o + fields[i].offset;

        if (fields[i].type == FPB_OUTCOME_FIELD_TEXT) {
            g_free(*(char **)p);
        } else if (fields[i].type == FPB_OUTCOME_FIELD_JSON && *(json_object **)p != NULL) {
            json_object_put(*(json_object **)p);
        }
    }
    g_free(o);
}

void fpb_outcome_set(char **field, const char *value)
{
    char *copy = g_strdup(value);

    g_free(*field);
    *field = copy;
}

void fpb_outcome_set_error(FpbOutcome *o, const char *message)
{
    if (o->error == NULL) {
        o->error = g_strdup(message);
    }
}

static json_object *field_to_json(const FpbOutcome *o, const FpbOutcomeField *f)
{
    gconstpointer p = (const char *)o + f->offset;

    switch (f->type) {
    case FPB_OUTCOME_FIELD_INT:
        return *(const gint64 *)p < 0 ? NULL : json_object_new_int64(*(const gint64 *)p);
    case FPB_OUTCOME_FIELD_REAL: {
        double v = *(const double *)p;

        /* Rounded to the millisecond / 0.001 unit: more is noise. */
        return (v < 0 || !isfinite(v)) ? NULL : json_object_new_double(round(v * 1000) / 1000);
    }
    case FPB_OUTCOME_FIELD_TEXT:
        return *(char *const *)p == NULL ? NULL : json_object_new_string(*(char *const *)p);
    case FPB_OUTCOME_FIELD_JSON:
    default:
        return *(json_object *const *)p == NULL ? NULL : json_object_get(*(json_object *const *)p);
    }
}

static json_object *group_object(json_object *top, const char *group)
{
    json_object *obj = NULL;

    if (!json_object_object_get_ex(top, group, &obj)) {
        obj = json_object_new_object();
        json_object_object_add(top, group, obj);
    }
    return obj;
}

/* decision is always an object, so "decision.mode" can be read without a
 * null check even when no decision was made. */
static void ensure_decision(json_object *top)
{
    json_object *d = NULL;

    if (!json_object_object_get_ex(top, "decision", &d) || d == NULL) {
        d = json_object_new_object();
        json_object_object_add(d, "mode", NULL);
        json_object_object_add(d, "reasons", json_object_new_array());
        json_object_object_add(top, "decision", d);
    }
}

json_object *fpb_outcome_to_json(const FpbOutcome *o)
{
    json_object *top = json_object_new_object();

    json_object_object_add(top, "id", o->id < 0 ? NULL : json_object_new_int64(o->id));
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
        const FpbOutcomeField *f = &fields[i];

        if (f->json_key == NULL) {
            continue;
        }
        json_object *parent = f->json_group ? group_object(top, f->json_group) : top;
        json_object_object_add(parent, f->json_key, field_to_json(o, f));
    }
    ensure_decision(top);
    return top;
}

static gint64 clamp_count(guint64 v)
{
    return (gint64)MIN(v, (guint64)G_MAXINT64);
}

void fpb_outcome_take_hint_stats(FpbOutcome *o, const FpbQmpHintStats *st)
{
    o->hint_reported_bytes = clamp_count(st->reported_bytes);
    o->hint_reports = clamp_count(st->buffers);
    o->hint_cleared_bytes = clamp_count(st->cleared_bytes);
    o->hint_report_ms = clamp_count(st->report_time_us / 1000);
    o->hint_rounds = clamp_count(st->commands_finished);
}

char *fpb_outcome_summary(const FpbOutcome *o)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "VM '%s': %s (journal row %" G_GINT64_FORMAT ", mode %s, hints %s)\n",
                           o->vm ? o->vm : "?", o->phase, o->id, o->mode ? o->mode : "-",
                           o->hints ? o->hints : "-");
    if (o->error != NULL) {
        g_string_append_printf(s, "  error: %s\n", o->error);
    }
    g_string_append_printf(
        s, "  prepare:   %.1f s, balloon %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " MiB (%s)\n",
        MAX(o->prep_seconds, 0), o->prep_original_bytes >> 20,
        o->prep_reached_bytes >= 0 ? o->prep_reached_bytes >> 20 : o->prep_original_bytes >> 20,
        o->prep_stopped ? o->prep_stopped : "-");
    g_string_append_printf(
        s,
        "  migration: %s, %.1f s, %.1f MB sent (%.1f MB normal pages), downtime %" G_GINT64_FORMAT
        " ms, %" G_GINT64_FORMAT " iterations\n",
        o->mig_status ? o->mig_status : "-", (double)o->mig_total_ms / 1000,
        (double)o->mig_transferred_bytes / 1e6, (double)o->mig_normal_bytes / 1e6,
        o->mig_downtime_ms, o->mig_dirty_sync_count);
    if (o->hint_cleared_bytes >= 0) {
        g_string_append_printf(s,
                               "  hints:     %.1f MB reported in %" G_GINT64_FORMAT
                               " buffers, %.1f MB cleared from the dirty bitmap, %" G_GINT64_FORMAT
                               " ms reporting\n",
                               (double)o->hint_reported_bytes / 1e6, o->hint_reports,
                               (double)o->hint_cleared_bytes / 1e6, o->hint_report_ms);
    }
    g_string_append_printf(s, "  restore:   %s%s%s, %.1f s\n",
                           o->restore_status ? o->restore_status : "-",
                           o->restore_where ? " on the " : "",
                           o->restore_where ? o->restore_where : "", MAX(o->restore_seconds, 0));
    return g_string_free(s, FALSE);
}
