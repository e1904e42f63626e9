/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpStream: splits the byte stream QEMU sends into JSON objects, as bytes
 * arrive. Pure code, no I/O; the fuzz target drives it directly. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

/* Messages above this size mark the connection broken. */
#define FPB_QMP_STREAM_MAX_MESSAGE_DEFAULT (16 * 1024 * 1024)

typedef struct _FpbQmpStream FpbQmpStream;

/* A stream that refuses messages longer than @max_message_size bytes. */
FpbQmpStream *fpb_qmp_stream_new(gsize max_message_size);
void fpb_qmp_stream_free(FpbQmpStream *stream);

/**
 * fpb_qmp_stream_feed:
 * Parses @len bytes of @data, continuing any message cut off by an earlier
 * call. Each complete message (a JSON object) is appended to @messages,
 * which must free its elements with json_object_put. On malformed JSON, a
 * top-level value that is not an object, or a message over the cap, returns
 * FALSE with an FPB_QMP_ERROR_PROTOCOL error; the messages completed before
 * the bad bytes are still appended. After an error the stream refuses all
 * further input.
 */
gboolean fpb_qmp_stream_feed(FpbQmpStream *stream, const char *data, gsize len, GPtrArray *messages,
                             GError **error);

/* TRUE while part of a message has been fed but not its end. */
gboolean fpb_qmp_stream_in_message(const FpbQmpStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpStream, fpb_qmp_stream_free)

G_END_DECLS
