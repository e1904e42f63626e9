/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpClient: one QMP connection to QEMU over a UNIX socket.
 *
 * Threading: a client belongs to the GMainContext that was the thread-default
 * context when it was connected (the blocking connect makes a private one).
 * Call it only from the thread that runs that context. Every callback (event
 * handler, GAsyncReadyCallback) runs in that context.
 *
 * Writers: commands are queued and written one at a time; the next one is
 * written when the previous reply arrived (or it timed out), which is also how
 * QEMU executes them. Events are delivered whenever they arrive, also between
 * a command and its reply.
 *
 * Errors: FPB_QMP_ERROR (fpb-qmp-error.h). Messages name the socket and the
 * command. After EOF, an I/O error or a protocol error the connection is
 * broken: pending commands fail, later ones fail with FPB_QMP_ERROR_BROKEN.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

#include "fpb-qmp-error.h"
#include "fpb-qmp-json.h"
#include "fpb-qmp-version.h"

G_BEGIN_DECLS

typedef struct _FpbQmpClient FpbQmpClient;

/**
 * FpbQmpEventFunc:
 * @event: the event name, e.g. "MIGRATION"
 * @data: the event's "data" object, borrowed, NULL if the event has none
 * @timestamp_us: QEMU's time stamp (microseconds since the epoch), -1 if
 *   QEMU sent none or an invalid one
 * The handler may call fpb_qmp_client_free() on @client, and may run
 * blocking commands on it.
 */
typedef void (*FpbQmpEventFunc)(FpbQmpClient *client, const char *event, json_object *data,
                                gint64 timestamp_us, gpointer user_data);

/**
 * fpb_qmp_client_connect:
 * Blocking: connects to @socket_path, reads the greeting and negotiates
 * qmp_capabilities, within @timeout_ms (0: no limit). The client gets its own
 * GMainContext, iterated only by fpb_qmp_client_wait_event().
 * Returns: (transfer full) the client, or NULL with FPB_QMP_ERROR_CONNECT /
 * FPB_QMP_ERROR_TIMEOUT.
 */
FpbQmpClient *fpb_qmp_client_connect(const char *socket_path, guint timeout_ms, GError **error);

/* Asynchronous connect, bound to the thread-default GMainContext. */
void fpb_qmp_client_connect_async(const char *socket_path, guint timeout_ms,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
/* Returns: (transfer full) the client, or NULL with @error set. */
FpbQmpClient *fpb_qmp_client_connect_finish(GAsyncResult *result, GError **error);

/**
 * fpb_qmp_client_execute:
 * Blocking: runs @command with @arguments (borrowed, may be NULL) and waits
 * at most @timeout_ms (0: no limit) for the reply, with poll() on the socket:
 * events are delivered meanwhile, other sources of the client's context do
 * not run. A command that timed out is abandoned: its late reply is dropped
 * and the connection stays usable.
 * Returns: (transfer full) the "return" value, or NULL with @error set; a QMP
 * error reply is FPB_QMP_ERROR_COMMAND with class and desc.
 */
json_object *fpb_qmp_client_execute(FpbQmpClient *client, const char *command,
                                    json_object *arguments, guint timeout_ms, GError **error);

/* Asynchronous execute; @callback runs in the client's context. */
void fpb_qmp_client_execute_async(FpbQmpClient *client, const char *command, json_object *arguments,
                                  guint timeout_ms, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* Returns: (transfer full) the "return" value. Does not need the client, which
 * may have been freed meanwhile (the command then fails with
 * FPB_QMP_ERROR_CLOSED). */
json_object *fpb_qmp_client_execute_finish(GAsyncResult *result, GError **error);

/**
 * fpb_qmp_client_set_event_handler:
 * Replaces the event handler; @destroy is called on @user_data when replaced
 * or when the client is freed. Events that arrived while no handler was set
 * (at most 64, older ones dropped) are delivered from inside this call.
 */
void fpb_qmp_client_set_event_handler(FpbQmpClient *client, FpbQmpEventFunc func,
                                      gpointer user_data, GDestroyNotify destroy);

/**
 * fpb_qmp_client_wait_event:
 * Blocking: iterates the client's context until at least one event has been
 * delivered to the handler, or @timeout_ms passed, or the connection broke.
 * For blocking users that wait for e.g. MIGRATION instead of polling. The
 * handler must not free the client while this waits.
 * Returns: TRUE if an event was delivered.
 */
gboolean fpb_qmp_client_wait_event(FpbQmpClient *client, guint timeout_ms);

/* The QEMU version from the greeting; owned by the client. */
const FpbQmpVersion *fpb_qmp_client_get_version(FpbQmpClient *client);
/* The greeting's capabilities (e.g. "oob"); owned by the client. */
const char *const *fpb_qmp_client_get_capabilities(FpbQmpClient *client);
const char *fpb_qmp_client_get_socket_path(FpbQmpClient *client);
/* The PID of the process serving the socket (SO_PEERCRED: QEMU itself, or
 * a proxy in front of it), -1 when unknown. */
GPid fpb_qmp_client_get_peer_pid(FpbQmpClient *client);
/* The timeout the typed helpers (fpb-qmp-machine.h, ...) use; 0: none. */
#define FPB_QMP_DEFAULT_TIMEOUT_MS 30000
guint fpb_qmp_client_get_default_timeout(FpbQmpClient *client);
void fpb_qmp_client_set_default_timeout(FpbQmpClient *client, guint timeout_ms);
/* TRUE once the connection is unusable. */
gboolean fpb_qmp_client_is_broken(FpbQmpClient *client);

/**
 * fpb_qmp_client_free:
 * Fails pending commands with FPB_QMP_ERROR_CLOSED (their callbacks run later
 * in the client's context), closes the socket (so QEMU accepts the next
 * client at once) and frees the client. Accepts NULL.
 */
void fpb_qmp_client_free(FpbQmpClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpClient, fpb_qmp_client_free)

G_END_DECLS
