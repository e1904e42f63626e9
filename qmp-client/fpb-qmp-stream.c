/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-stream.h"

#include "fpb-qmp-error.h"

/* QMP replies nest a few levels; leave room for what newer QEMUs add. */
#define STREAM_MAX_DEPTH 64

struct _FpbQmpStream {
    json_tokener *tokener;
    gsize max_message_size;
    gsize message_size; /* bytes of the current message consumed so far */
    gboolean in_message;
    gboolean failed;
};

FpbQmpStream *fpb_qmp_stream_new(gsize max_message_size)
{
    FpbQmpStream *stream = g_new0(FpbQmpStream, 1);

    stream->tokener = json_tokener_new_ex(STREAM_MAX_DEPTH);
    /* Strict: QEMU emits standard JSON, so anything else is garbage. Trailing
     * characters are the next message, not an error. */
    json_tokener_set_flags(stream->tokener, JSON_TOKENER_STRICT |
                                                JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                                JSON_TOKENER_VALIDATE_UTF8);
    stream->max_message_size = max_message_size;
    return stream;
}

void fpb_qmp_stream_free(FpbQmpStream *stream)
{
    if (stream == NULL) {
        return;
    }
    json_tokener_free(stream->tokener);
    g_free(stream);
}

gboolean fpb_qmp_stream_in_message(const FpbQmpStream *stream)
{
    return stream->in_message;
}

static gboolean all_space(const char *data, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isspace(data[i])) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean fail(FpbQmpStream *stream, GError **error, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean fail(FpbQmpStream *stream, GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    stream->failed = TRUE;
    g_set_error_literal(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, msg);
    return FALSE;
}

/* Accounts @consumed bytes to the current message; FALSE if over the cap. */
static gboolean account(FpbQmpStream *stream, gsize consumed, GError **error)
{
    stream->message_size += consumed;
    if (stream->message_size > stream->max_message_size) {
        return fail(stream, error, "message exceeds the limit of %" G_GSIZE_FORMAT " bytes",
                    stream->max_message_size);
    }
    return TRUE;
}

static gboolean take_message(FpbQmpStream *stream, json_object *obj, GPtrArray *messages,
                             GError **error)
{
    stream->message_size = 0;
    stream->in_message = FALSE;
    json_tokener_reset(stream->tokener);
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return fail(stream, error, "message is not a JSON object");
    }
    g_ptr_array_add(messages, obj);
    return TRUE;
}

gboolean fpb_qmp_stream_feed(FpbQmpStream *stream, const char *data, gsize len, GPtrArray *messages,
                             GError **error)
{
    if (stream->failed) {
        return fail(stream, error, "stream is unusable after an earlier error");
    }
    while (len > 0) {
        /* json-c takes an int length; feed huge buffers in slices. */
        int chunk = (int)MIN(len, (gsize)G_MAXINT / 2);
        json_object *obj = json_tokener_parse_ex(stream->tokener, data, chunk);
        enum json_tokener_error jerr = json_tokener_get_error(stream->tokener);
        gsize consumed = json_tokener_get_parse_end(stream->tokener);

        if (obj == NULL && jerr == json_tokener_success) {
            /* A complete top-level JSON null. */
            return fail(stream, error, "message is not a JSON object");
        }
        if (obj == NULL && jerr != json_tokener_continue) {
            return fail(stream, error, "malformed JSON: %s", json_tokener_error_desc(jerr));
        }
        if (consumed == 0 || consumed > (gsize)chunk) {
            /* json-c promises progress; do not loop forever if it breaks that. */
            consumed = (gsize)chunk;
        }
        if (!account(stream, consumed, error)) {
            json_object_put(obj);
            return FALSE;
        }
        if (obj == NULL) {
            stream->in_message = stream->in_message || !all_space(data, consumed);
        } else if (!take_message(stream, obj, messages, error)) {
            return FALSE;
        }
        data += consumed;
        len -= consumed;
    }
    return TRUE;
}
