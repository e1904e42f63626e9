/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-message.h"

#include <string.h>

#include "fpb-qmp-error.h"
#include "fpb-qmp-json.h"

/* QEMU stamps events with {"seconds", "microseconds"}; it sends -1/-1 when
 * the clock failed, so a bad stamp is not worth breaking the connection. */
static gint64 parse_timestamp(json_object *msg)
{
    json_object *ts = NULL;
    gint64 seconds = 0;
    gint64 micros = 0;

    if (!fpb_qmp_json_has(msg, "timestamp") ||
        !fpb_qmp_json_get_member(msg, "event", "timestamp", json_type_object, &ts, NULL) ||
        !fpb_qmp_json_get_int(ts, "timestamp", "seconds", 0, G_MAXINT64 / G_USEC_PER_SEC - 1,
                              &seconds, NULL) ||
        !fpb_qmp_json_get_int(ts, "timestamp", "microseconds", 0, G_USEC_PER_SEC - 1, &micros,
                              NULL)) {
        return -1;
    }
    return seconds * G_USEC_PER_SEC + micros;
}

static gboolean parse_event(json_object *msg, FpbQmpMessage *ret, GError **error)
{
    if (!fpb_qmp_json_get_string(msg, "QMP event", "event", &ret->event, error)) {
        return FALSE;
    }
    ret->value = NULL;
    if (fpb_qmp_json_has(msg, "data") &&
        !fpb_qmp_json_get_member(msg, "QMP event", "data", json_type_object, &ret->value, error)) {
        return FALSE;
    }
    ret->timestamp_us = parse_timestamp(msg);
    ret->kind = FPB_QMP_MESSAGE_EVENT;
    return TRUE;
}

static gboolean parse_error_reply(json_object *msg, FpbQmpMessage *ret, GError **error)
{
    json_object *err = NULL;

    if (!fpb_qmp_json_get_member(msg, "QMP error reply", "error", json_type_object, &err, error) ||
        !fpb_qmp_json_get_string(err, "QMP error reply", "class", &ret->error_class, error) ||
        !fpb_qmp_json_get_string(err, "QMP error reply", "desc", &ret->error_desc, error)) {
        return FALSE;
    }
    ret->value = err;
    ret->kind = FPB_QMP_MESSAGE_ERROR;
    return TRUE;
}

gboolean fpb_qmp_message_parse(json_object *msg, FpbQmpMessage *ret, GError **error)
{
    FpbQmpMessage m = {0};

    if (!json_object_is_type(msg, json_type_object)) {
        g_set_error_literal(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                            "QMP message is not a JSON object");
        return FALSE;
    }
    m.timestamp_us = -1;
    json_object_object_get_ex(msg, "id", &m.id);
    if (json_object_object_get_ex(msg, "return", &m.value)) {
        m.kind = FPB_QMP_MESSAGE_RETURN;
    } else if (json_object_object_get_ex(msg, "error", NULL)) {
        if (!parse_error_reply(msg, &m, error)) {
            return FALSE;
        }
    } else if (json_object_object_get_ex(msg, "event", NULL)) {
        if (!parse_event(msg, &m, error)) {
            return FALSE;
        }
    } else if (fpb_qmp_json_has(msg, "QMP")) {
        if (!fpb_qmp_json_get_member(msg, "QMP greeting", "QMP", json_type_object, &m.value,
                                     error)) {
            return FALSE;
        }
        m.kind = FPB_QMP_MESSAGE_GREETING;
    } else {
        g_set_error_literal(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                            "QMP message has none of 'return', 'error', 'event', 'QMP'");
        return FALSE;
    }
    *ret = m;
    return TRUE;
}

gboolean fpb_qmp_message_id_equals(json_object *id, guint64 serial)
{
    /* json-c keeps integers as int64 or uint64; a serial fits both. */
    return json_object_is_type(id, json_type_int) && serial <= G_MAXINT64 &&
           json_object_get_int64(id) == (gint64)serial;
}
