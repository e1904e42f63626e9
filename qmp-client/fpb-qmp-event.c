/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-event.h"

#include "fpb-qmp-json.h"

static gboolean parse_migration(json_object *data, FpbQmpEvent *event, GError **error)
{
    const char *status = NULL;

    if (!fpb_qmp_json_get_string(data, "event 'MIGRATION': data", "status", &status, error)) {
        return FALSE;
    }
    event->migration_status = fpb_qmp_migration_status_from_string(status);
    return TRUE;
}

static gboolean parse_shutdown(json_object *data, FpbQmpEvent *event, GError **error)
{
    const char *reason = NULL;

    if (!fpb_qmp_json_get_bool(data, "event 'SHUTDOWN': data", "guest", &event->shutdown_guest,
                               error) ||
        !fpb_qmp_json_get_string(data, "event 'SHUTDOWN': data", "reason", &reason, error)) {
        return FALSE;
    }
    event->shutdown_reason = g_strdup(reason);
    return TRUE;
}

static gboolean parse_data(json_object *data, FpbQmpEvent *event, GError **error)
{
    switch (event->type) {
    case FPB_QMP_EVENT_MIGRATION:
        return parse_migration(data, event, error);
    case FPB_QMP_EVENT_MIGRATION_PASS:
        return fpb_qmp_json_get_int(data, "event 'MIGRATION_PASS': data", "pass", 0, G_MAXINT64,
                                    &event->pass, error);
    case FPB_QMP_EVENT_BALLOON_CHANGE:
        return fpb_qmp_json_get_uint(data, "event 'BALLOON_CHANGE': data", "actual", G_MAXINT64,
                                     &event->balloon_actual, error);
    case FPB_QMP_EVENT_SHUTDOWN:
        return parse_shutdown(data, event, error);
    default:
        return TRUE;
    }
}

FpbQmpEvent *fpb_qmp_event_parse(const char *name, json_object *data, gint64 timestamp_us,
                                 GError **error)
{
    static const struct {
        const char *name;
        FpbQmpEventType type;
    } types[] = {
        {"MIGRATION", FPB_QMP_EVENT_MIGRATION},
        {"MIGRATION_PASS", FPB_QMP_EVENT_MIGRATION_PASS},
        {"BALLOON_CHANGE", FPB_QMP_EVENT_BALLOON_CHANGE},
        {"STOP", FPB_QMP_EVENT_STOP},
        {"RESUME", FPB_QMP_EVENT_RESUME},
        {"SHUTDOWN", FPB_QMP_EVENT_SHUTDOWN},
    };
    g_autoptr(FpbQmpEvent) event = g_new0(FpbQmpEvent, 1);

    event->name = g_strdup(name);
    event->timestamp_us = timestamp_us;
    for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
        if (g_strcmp0(types[i].name, name) == 0) {
            event->type = types[i].type;
        }
    }
    if (!parse_data(data, event, error)) {
        return NULL;
    }
    return g_steal_pointer(&event);
}

void fpb_qmp_event_free(FpbQmpEvent *event)
{
    if (event == NULL) {
        return;
    }
    g_free(event->name);
    g_free(event->shutdown_reason);
    g_free(event);
}
