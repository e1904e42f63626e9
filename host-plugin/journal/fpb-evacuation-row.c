/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-journal"

#include "fpb-evacuation-row.h"

FpbEvacuationRow *fpb_evacuation_row_new(void)
{
    FpbEvacuationRow *row = g_new0(FpbEvacuationRow, 1);

    row->id = -1;
    row->start_us = -1;
    row->end_us = -1;
    row->owner_pid = -1;
    row->owner_start = -1;
    row->predicted_makespan_seconds = -1;
    row->actual_makespan_seconds = -1;
    row->vms = -1;
    row->migrated = -1;
    row->failed = -1;
    return row;
}

void fpb_evacuation_row_free(FpbEvacuationRow *row)
{
    if (row == NULL) {
        return;
    }
    g_free(row->status);
    g_free(row->source_uri);
    g_free(row->dest_uri);
    if (row->plan != NULL) {
        json_object_put(row->plan);
    }
    g_free(row->error);
    g_free(row);
}

void fpb_evacuation_row_set(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

gboolean fpb_evacuation_row_is_open(const FpbEvacuationRow *row)
{
    return g_strcmp0(row->status, FPB_EVACUATION_RUNNING) == 0;
}

static json_object *int_or_null(gint64 v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *double_or_null(double v)
{
    return v < 0 ? NULL : json_object_new_double(v);
}

static json_object *string_or_null(const char *s)
{
    return s == NULL ? NULL : json_object_new_string(s);
}

json_object *fpb_evacuation_row_to_json(const FpbEvacuationRow *row)
{
    json_object *j = json_object_new_object();

    json_object_object_add(j, "id", int_or_null(row->id));
    json_object_object_add(j, "status", string_or_null(row->status));
    json_object_object_add(j, "start_us", int_or_null(row->start_us));
    json_object_object_add(j, "end_us", int_or_null(row->end_us));
    json_object_object_add(j, "source_uri", string_or_null(row->source_uri));
    json_object_object_add(j, "dest_uri", string_or_null(row->dest_uri));
    json_object_object_add(j, "predicted_makespan_seconds",
                           double_or_null(row->predicted_makespan_seconds));
    json_object_object_add(j, "actual_makespan_seconds",
                           double_or_null(row->actual_makespan_seconds));
    json_object_object_add(j, "vms", int_or_null(row->vms));
    json_object_object_add(j, "migrated", int_or_null(row->migrated));
    json_object_object_add(j, "failed", int_or_null(row->failed));
    json_object_object_add(j, "error", string_or_null(row->error));
    json_object_object_add(j, "plan", row->plan ? json_object_get(row->plan) : NULL);
    return j;
}
