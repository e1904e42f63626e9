/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpMessage: what one QMP server message is (greeting, success reply,
 * error reply, event), checked for shape. Pure code, no I/O. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

typedef enum {
    FPB_QMP_MESSAGE_GREETING,
    FPB_QMP_MESSAGE_RETURN,
    FPB_QMP_MESSAGE_ERROR,
    FPB_QMP_MESSAGE_EVENT,
} FpbQmpMessageKind;

/*
 * Every pointer is borrowed from the json_object passed to
 * fpb_qmp_message_parse() and lives as long as it does.
 */
typedef struct {
    FpbQmpMessageKind kind;
    json_object *id;         /* RETURN / ERROR: the echoed "id", or NULL */
    json_object *value;      /* GREETING: the "QMP" object; RETURN: "return"
                              * (NULL if JSON null); EVENT: "data" or NULL */
    const char *event;       /* EVENT: its name */
    gint64 timestamp_us;     /* EVENT: QEMU's time stamp in microseconds
                              * since the epoch, or -1 if absent/invalid */
    const char *error_class; /* ERROR */
    const char *error_desc;  /* ERROR */
} FpbQmpMessage;

/* Classifies @msg; FPB_QMP_ERROR_PROTOCOL if it has no valid QMP shape. */
gboolean fpb_qmp_message_parse(json_object *msg, FpbQmpMessage *ret, GError **error);

/* TRUE if @id is the id the client sent for command number @serial: the
 * integer @serial itself. (Short on purpose: QEMU 7.2 reads requests one
 * byte per read(), about 10 us a byte on a busy machine; see
 * docs/qmp-client.md.) */
gboolean fpb_qmp_message_id_equals(json_object *id, guint64 serial);

G_END_DECLS
