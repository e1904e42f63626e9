/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FakeQmpServer: a scripted QMP server on a UNIX socket, run in a thread, for
 * the error paths a real QEMU will not produce on demand. Scripts are mostly
 * built from exchanges recorded from the real QEMU (record-qmp.sh).
 *
 * Build the script, call fake_qmp_server_start(), connect a client to
 * fake_qmp_server_get_path(), and call fake_qmp_server_join() to wait for the
 * script to finish and learn whether the client behaved as expected. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FakeQmpServer FakeQmpServer;

typedef enum {
    FAKE_WRITE_WHOLE,  /* one write per message */
    FAKE_WRITE_BYTES,  /* one write per byte, with a pause between */
    FAKE_WRITE_MERGED, /* everything between two requests in one write */
} FakeWriteMode;

FakeQmpServer *fake_qmp_server_new(void);
/* Joins the thread, removes socket and directory. Accepts NULL. */
void fake_qmp_server_free(FakeQmpServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FakeQmpServer, fake_qmp_server_free)

const char *fake_qmp_server_get_path(FakeQmpServer *server);
void fake_qmp_server_set_write_mode(FakeQmpServer *server, FakeWriteMode mode);

/* Script steps, run in order. */
/* Sends @len bytes (-1: strlen) as they are. */
void fake_qmp_server_send(FakeQmpServer *server, const char *data, gssize len);
/* Sends a JSON message; "id" is replaced by the id of the last request read. */
void fake_qmp_server_reply(FakeQmpServer *server, const char *json);
/* Reads one request and checks that it executes @command (NULL: any). */
void fake_qmp_server_expect(FakeQmpServer *server, const char *command);
void fake_qmp_server_sleep(FakeQmpServer *server, guint ms);
/* Closes the connection (the client sees EOF). */
void fake_qmp_server_hangup(FakeQmpServer *server);
/* Appends a recording: tests/qmp/recordings/@name. */
void fake_qmp_server_load(FakeQmpServer *server, const char *name);
/* The standard greeting and qmp_capabilities exchange from the recordings. */
void fake_qmp_server_handshake(FakeQmpServer *server);

void fake_qmp_server_start(FakeQmpServer *server);
/* Waits for the script; returns NULL if all went as scripted, else what did
 * not (owned). Without a hangup step, the server waits for the client to
 * close (at most 10 s). */
char *fake_qmp_server_join(FakeQmpServer *server);
/* The requests read, as JSON text (valid after join). */
GPtrArray *fake_qmp_server_get_requests(FakeQmpServer *server);

/* How many requests arrived while a previous one was still unanswered
 * (valid after join). */
guint fake_qmp_server_get_pipelined(FakeQmpServer *server);

G_END_DECLS
