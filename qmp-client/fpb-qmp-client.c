/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-qmp"

#include "fpb-qmp-client.h"

#include <gio/gunixsocketaddress.h>
#include <poll.h>
#include <string.h>

#include "fpb-qmp-message.h"
#include "fpb-qmp-stream.h"

#define READ_CHUNK (64 * 1024)
#define MAX_EARLY_EVENTS 64

typedef struct _Command Command;

/* Where a blocking caller waits for its reply. */
typedef struct {
    gboolean done;
    json_object *value;
    GError *error;
} SyncSlot;
typedef void (*InternalDone)(FpbQmpClient *client, json_object *value, GError *error);

struct _Command {
    FpbQmpClient *client;
    char *name;
    guint64 serial;
    char *line;
    GTask *task;           /* the caller's, or NULL for internal commands */
    InternalDone internal; /* for qmp_capabilities */
    SyncSlot *sync;        /* for blocking callers */
    GSource *timeout_source;
    GSource *cancel_source;
};

struct _FpbQmpClient {
    char *socket_path;
    GMainContext *context;
    GSocket *socket;
    GSource *read_source;
    GSource *write_source;
    GSource *connect_timeout;
    GSource *connect_cancel;
    FpbQmpStream *stream;
    char *read_buf;
    GString *out;
    gsize out_done;
    GQueue queue;          /* Command *, not yet written */
    Command *inflight;     /* written, reply not yet seen */
    GHashTable *abandoned; /* ids (JSON text) of commands whose reply no longer matters */
    guint64 next_serial;
    guint default_timeout_ms;
    GError *broken;
    gboolean closed;
    GTask *connect_task; /* while the greeting / qmp_capabilities are pending */
    FpbQmpVersion *version;
    GStrv capabilities;
    guint64 events_delivered;
    FpbQmpEventFunc event_func;
    gpointer event_data;
    GDestroyNotify event_destroy;
    GQueue early_events;  /* json_object *, events seen before a handler was set */
    GQueue inbox;         /* json_object *, parsed but not handled yet */
    GError *stream_error; /* garbage after the messages in the inbox */
};

static void flush_output(FpbQmpClient *client);
static void pump(FpbQmpClient *client);

/* ---- lifetime -------------------------------------------------------- */

static void destroy_source(GSource **source)
{
    if (*source != NULL) {
        g_source_destroy(*source);
        g_clear_pointer(source, g_source_unref);
    }
}

static void client_clear(gpointer data)
{
    FpbQmpClient *client = data;

    g_free(client->socket_path);
    g_main_context_unref(client->context);
    fpb_qmp_stream_free(client->stream);
    g_free(client->read_buf);
    g_string_free(client->out, TRUE);
    g_hash_table_unref(client->abandoned);
    g_clear_error(&client->broken);
    g_clear_error(&client->stream_error);
    g_queue_clear_full(&client->inbox, fpb_qmp_json_unref);
    fpb_qmp_version_free(client->version);
    g_strfreev(client->capabilities);
}

static FpbQmpClient *client_new(const char *socket_path)
{
    FpbQmpClient *client = g_rc_box_new0(FpbQmpClient);

    client->socket_path = g_strdup(socket_path);
    client->context = g_main_context_ref_thread_default();
    client->stream = fpb_qmp_stream_new(FPB_QMP_STREAM_MAX_MESSAGE_DEFAULT);
    client->read_buf = g_malloc(READ_CHUNK);
    client->out = g_string_new(NULL);
    client->abandoned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    client->next_serial = 1;
    client->default_timeout_ms = FPB_QMP_DEFAULT_TIMEOUT_MS;
    g_queue_init(&client->queue);
    g_queue_init(&client->early_events);
    g_queue_init(&client->inbox);
    return client;
}

static void command_free(Command *cmd)
{
    destroy_source(&cmd->timeout_source);
    destroy_source(&cmd->cancel_source);
    g_clear_object(&cmd->task);
    g_free(cmd->name);
    g_free(cmd->line);
    g_free(cmd);
}

/* ---- completing commands --------------------------------------------- */

/* An asynchronous command's result on its way to its callback. */
typedef struct {
    GTask *task;
    json_object *value;
    GError *error;
} Completion;

static gboolean deliver(gpointer data)
{
    Completion *c = data;

    if (c->error != NULL) {
        g_task_return_error(c->task, g_steal_pointer(&c->error));
    } else {
        g_task_return_pointer(c->task, g_steal_pointer(&c->value), fpb_qmp_json_unref);
    }
    return G_SOURCE_REMOVE;
}

static void completion_free(gpointer data)
{
    Completion *c = data;

    json_object_put(c->value);
    g_clear_error(&c->error);
    g_object_unref(c->task);
    g_free(c);
}

/* Callbacks run in the order the commands completed, whatever completed
 * them: GTask calls back at once from inside a source of its context but
 * from an idle otherwise, so a reply read by a blocking call (no source)
 * was overtaken by a later one read by the socket's source (found by
 * fuzz-qmp-client). Every completion takes an idle of the same priority,
 * and GLib dispatches those in the order they were attached. */
static void return_in_order(GTask *task, json_object *value, GError *error)
{
    Completion *c = g_new0(Completion, 1);
    GSource *idle = g_idle_source_new();

    c->task = g_object_ref(task);
    c->value = value;
    c->error = error;
    g_source_set_priority(idle, G_PRIORITY_DEFAULT);
    g_source_set_callback(idle, deliver, c, completion_free);
    g_source_attach(idle, g_task_get_context(task));
    g_source_unref(idle);
}

/* Hands @value (owned) or @error (owned) to whoever waits for @cmd, and
 * forgets @cmd. */
static void command_finish(Command *cmd, json_object *value, GError *error)
{
    FpbQmpClient *client = cmd->client;

    if (client->inflight == cmd) {
        client->inflight = NULL;
    } else {
        g_queue_remove(&client->queue, cmd);
    }
    if (cmd->internal != NULL) {
        cmd->internal(client, value, error);
        json_object_put(value);
        g_clear_error(&error);
    } else if (cmd->sync != NULL) {
        cmd->sync->value = value;
        cmd->sync->error = error;
        cmd->sync->done = TRUE;
    } else {
        return_in_order(cmd->task, value, error);
    }
    command_free(cmd);
}

static GError *command_error(Command *cmd, FpbQmpError code, const char *detail)
{
    GError *error = g_error_new(FPB_QMP_ERROR, code, "QMP socket '%s': command '%s': %s",
                                cmd->client->socket_path, cmd->name, detail);

    fpb_qmp_error_set_details(error, cmd->name, NULL, NULL);
    return error;
}

static void fail_all(FpbQmpClient *client, FpbQmpError code, const char *detail)
{
    Command *cmd;

    if (client->inflight != NULL) {
        command_finish(client->inflight, NULL, command_error(client->inflight, code, detail));
    }
    while ((cmd = g_queue_peek_head(&client->queue)) != NULL) {
        command_finish(cmd, NULL, command_error(cmd, code, detail));
    }
}

static void stop_io(FpbQmpClient *client)
{
    destroy_source(&client->read_source);
    destroy_source(&client->write_source);
    destroy_source(&client->connect_timeout);
    destroy_source(&client->connect_cancel);
}

static void fail_connect(FpbQmpClient *client, GError *error);

/* Marks the connection unusable for the reason @code / @detail. */
static void break_connection(FpbQmpClient *client, FpbQmpError code, const char *detail)
{
    if (client->broken != NULL || client->closed) {
        return;
    }
    g_debug("QMP socket '%s': connection broken: %s", client->socket_path, detail);
    client->broken = g_error_new(FPB_QMP_ERROR, code, "%s", detail);
    stop_io(client);
    if (client->connect_task != NULL) {
        /* Freeing the client fails the pending qmp_capabilities too. */
        fail_connect(client, g_error_new(FPB_QMP_ERROR,
                                         code == FPB_QMP_ERROR_TIMEOUT ? FPB_QMP_ERROR_TIMEOUT
                                                                       : FPB_QMP_ERROR_CONNECT,
                                         "QMP socket '%s': %s", client->socket_path, detail));
        return;
    }
    fail_all(client, code, detail);
}

/* ---- events ------------------------------------------------------------ */

static void deliver_event(FpbQmpClient *client, json_object *msg)
{
    FpbQmpMessage m;

    if (!fpb_qmp_message_parse(msg, &m, NULL) || m.kind != FPB_QMP_MESSAGE_EVENT) {
        return;
    }
    client->events_delivered++;
    client->event_func(client, m.event, m.value, m.timestamp_us, client->event_data);
}

static void handle_event(FpbQmpClient *client, json_object *msg, const FpbQmpMessage *m)
{
    g_debug("QMP socket '%s': event '%s'", client->socket_path, m->event);
    if (client->event_func != NULL) {
        deliver_event(client, msg);
        return;
    }
    if (g_queue_get_length(&client->early_events) >= MAX_EARLY_EVENTS) {
        json_object_put(g_queue_pop_head(&client->early_events));
    }
    g_queue_push_tail(&client->early_events, json_object_get(msg));
}

void fpb_qmp_client_set_event_handler(FpbQmpClient *client, FpbQmpEventFunc func,
                                      gpointer user_data, GDestroyNotify destroy)
{
    json_object *msg;

    if (client->event_destroy != NULL) {
        client->event_destroy(client->event_data);
    }
    client->event_func = func;
    client->event_data = user_data;
    client->event_destroy = destroy;
    if (func == NULL) {
        return;
    }
    g_rc_box_acquire(client);
    while (!client->closed && (msg = g_queue_pop_head(&client->early_events)) != NULL) {
        deliver_event(client, msg);
        json_object_put(msg);
    }
    g_rc_box_release_full(client, client_clear);
}

/* ---- replies ------------------------------------------------------------ */

static GError *reply_error(Command *cmd, const FpbQmpMessage *m)
{
    GError *error = g_error_new(FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND,
                                "QMP socket '%s': command '%s' failed: %s: %s",
                                cmd->client->socket_path, cmd->name, m->error_class, m->error_desc);

    fpb_qmp_error_set_details(error, cmd->name, m->error_class, m->error_desc);
    return error;
}

static void complete_inflight(FpbQmpClient *client, const FpbQmpMessage *m)
{
    Command *cmd = client->inflight;

    if (m->kind == FPB_QMP_MESSAGE_ERROR) {
        command_finish(cmd, NULL, reply_error(cmd, m));
    } else if (m->value == NULL) {
        command_finish(cmd, NULL,
                       command_error(cmd, FPB_QMP_ERROR_PROTOCOL, "reply's 'return' is null"));
    } else {
        command_finish(cmd, json_object_get(m->value), NULL);
    }
    pump(client);
}

static void handle_reply(FpbQmpClient *client, const FpbQmpMessage *m)
{
    const char *id = m->id ? json_object_to_json_string(m->id) : NULL;
    g_autofree char *detail = NULL;

    /* QEMU omits the id only when it could not parse the request, which can
     * then only be the command in flight. */
    if (client->inflight != NULL &&
        (m->id == NULL || fpb_qmp_message_id_equals(m->id, client->inflight->serial))) {
        complete_inflight(client, m);
        return;
    }
    if (m->id != NULL && json_object_is_type(m->id, json_type_int) &&
        g_hash_table_remove(client->abandoned, id)) {
        g_debug("QMP socket '%s': dropping late reply '%s'", client->socket_path, id);
        return;
    }
    detail = g_strdup_printf("reply with unknown id %s", id ? id : "(none)");
    break_connection(client, FPB_QMP_ERROR_PROTOCOL, detail);
}

/* ---- connecting --------------------------------------------------------- */

static void fail_connect(FpbQmpClient *client, GError *error)
{
    GTask *task = g_steal_pointer(&client->connect_task);

    destroy_source(&client->connect_timeout);
    destroy_source(&client->connect_cancel);
    g_task_return_error(task, error);
    g_object_unref(task);
    fpb_qmp_client_free(client);
}

static void capabilities_done(FpbQmpClient *client, json_object *value, GError *error)
{
    GTask *task;

    (void)value;
    if (client->connect_task == NULL) {
        return; /* failed earlier; fail_connect already ran */
    }
    if (error != NULL) {
        fail_connect(client,
                     g_error_new(FPB_QMP_ERROR,
                                 error->code == FPB_QMP_ERROR_TIMEOUT ? FPB_QMP_ERROR_TIMEOUT
                                                                      : FPB_QMP_ERROR_CONNECT,
                                 "%s", error->message));
        return;
    }
    destroy_source(&client->connect_timeout);
    destroy_source(&client->connect_cancel);
    task = g_steal_pointer(&client->connect_task);
    g_task_return_pointer(task, client, (GDestroyNotify)fpb_qmp_client_free);
    g_object_unref(task);
}

static Command *command_new(FpbQmpClient *client, const char *name, json_object *arguments);

static gboolean parse_greeting(FpbQmpClient *client, json_object *qmp, GError **error)
{
    json_object *version = NULL;

    if (!fpb_qmp_json_get_member(qmp, "QMP greeting", "version", json_type_object, &version,
                                 error)) {
        return FALSE;
    }
    client->version = fpb_qmp_version_parse(version, "QMP greeting: member 'version'", error);
    if (client->version == NULL) {
        return FALSE;
    }
    return !fpb_qmp_json_has(qmp, "capabilities") ||
           fpb_qmp_json_get_strv(qmp, "QMP greeting", "capabilities", &client->capabilities, error);
}

static void handle_greeting(FpbQmpClient *client, const FpbQmpMessage *m)
{
    g_autoptr(GError) error = NULL;
    Command *cmd;

    if (client->connect_task == NULL || client->version != NULL) {
        break_connection(client, FPB_QMP_ERROR_PROTOCOL, "unexpected second greeting");
        return;
    }
    if (!parse_greeting(client, m->value, &error)) {
        break_connection(client, FPB_QMP_ERROR_PROTOCOL, error->message);
        return;
    }
    g_debug("QMP socket '%s': QEMU %" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
            client->socket_path, client->version->major, client->version->minor,
            client->version->micro);
    cmd = command_new(client, "qmp_capabilities", NULL);
    cmd->internal = capabilities_done;
    g_queue_push_tail(&client->queue, cmd);
    pump(client);
}

static void handle_message(FpbQmpClient *client, json_object *msg)
{
    g_autoptr(GError) error = NULL;
    FpbQmpMessage m;

    if (!fpb_qmp_message_parse(msg, &m, &error)) {
        break_connection(client, FPB_QMP_ERROR_PROTOCOL, error->message);
        return;
    }
    if (m.kind == FPB_QMP_MESSAGE_GREETING) {
        handle_greeting(client, &m);
    } else if (client->version == NULL) {
        break_connection(client, FPB_QMP_ERROR_PROTOCOL, "first message is not a greeting");
    } else if (m.kind == FPB_QMP_MESSAGE_EVENT) {
        handle_event(client, msg, &m);
    } else {
        handle_reply(client, &m);
    }
}

/* ---- reading ------------------------------------------------------------ */

static void handle_eof(FpbQmpClient *client)
{
    break_connection(client, FPB_QMP_ERROR_EOF,
                     fpb_qmp_stream_in_message(client->stream)
                         ? "connection closed by QEMU in the middle of a message"
                         : "connection closed by QEMU");
}

/* Handles the parsed messages in order. A handler may run a blocking
 * command, which dispatches from here too (re-entered): the queue, not the
 * read that parsed them, keeps the order. Call with a reference held. */
static void dispatch_inbox(FpbQmpClient *client)
{
    json_object *msg;

    while (client->broken == NULL && !client->closed &&
           (msg = g_queue_pop_head(&client->inbox)) != NULL) {
        handle_message(client, msg);
        json_object_put(msg);
    }
    if (client->stream_error != NULL && g_queue_is_empty(&client->inbox)) {
        g_autoptr(GError) error = g_steal_pointer(&client->stream_error);

        /* Messages before the garbage counted; now the connection breaks. */
        break_connection(client, FPB_QMP_ERROR_PROTOCOL, error->message);
    }
}

/* Reads once and handles every complete message; FALSE if reading stopped. */
static gboolean read_some(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) messages = g_ptr_array_new();
    gssize n;

    if (!g_queue_is_empty(&client->inbox) || client->stream_error != NULL) {
        /* Re-entered from a handler: older messages first, garbage last. */
        dispatch_inbox(client);
        return client->broken == NULL && !client->closed;
    }
    n = g_socket_receive(client->socket, client->read_buf, READ_CHUNK, NULL, &error);
    if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        return TRUE;
    }
    if (n <= 0) {
        /* Replies read earlier but not handled yet still count. */
        dispatch_inbox(client);
        if (n < 0) {
            break_connection(client, FPB_QMP_ERROR_IO, error->message);
        } else {
            handle_eof(client);
        }
        return FALSE;
    }
    if (!fpb_qmp_stream_feed(client->stream, client->read_buf, (gsize)n, messages, &error)) {
        client->stream_error = g_steal_pointer(&error);
    }
    for (guint i = 0; i < messages->len; i++) {
        g_queue_push_tail(&client->inbox, messages->pdata[i]);
    }
    dispatch_inbox(client);
    return client->broken == NULL && !client->closed;
}

static gboolean on_readable(GSocket *socket, GIOCondition condition, gpointer data)
{
    FpbQmpClient *client = g_rc_box_acquire(data);
    gboolean keep;

    (void)socket;
    (void)condition;
    keep = read_some(client);
    g_rc_box_release_full(client, client_clear);
    return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- writing ------------------------------------------------------------ */

static gboolean on_writable(GSocket *socket, GIOCondition condition, gpointer data)
{
    FpbQmpClient *client = g_rc_box_acquire(data);

    (void)socket;
    (void)condition;
    destroy_source(&client->write_source);
    flush_output(client);
    g_rc_box_release_full(client, client_clear);
    return G_SOURCE_REMOVE;
}

static void flush_output(FpbQmpClient *client)
{
    while (client->out_done < client->out->len) {
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_send(client->socket, client->out->str + client->out_done,
                                 client->out->len - client->out_done, NULL, &error);

        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            if (client->write_source == NULL) {
                client->write_source = g_socket_create_source(client->socket, G_IO_OUT, NULL);
                g_source_set_callback(client->write_source, G_SOURCE_FUNC(on_writable), client,
                                      NULL);
                g_source_attach(client->write_source, client->context);
            }
            return;
        }
        if (n < 0) {
            break_connection(client, FPB_QMP_ERROR_IO, error->message);
            return;
        }
        client->out_done += (gsize)n;
    }
}

/* Writes the next queued command if none is in flight. */
static void pump(FpbQmpClient *client)
{
    Command *cmd;

    if (client->broken != NULL || client->closed || client->inflight != NULL) {
        return;
    }
    cmd = g_queue_pop_head(&client->queue);
    if (cmd == NULL) {
        return;
    }
    client->inflight = cmd;
    g_string_assign(client->out, cmd->line);
    client->out_done = 0;
    g_debug("QMP socket '%s': -> %.*s", client->socket_path, (int)strlen(cmd->line) - 1, cmd->line);
    flush_output(client);
}

/* ---- commands ----------------------------------------------------------- */

static Command *command_new(FpbQmpClient *client, const char *name, json_object *arguments)
{
    g_autoptr(json_object) request = json_object_new_object();
    Command *cmd = g_new0(Command, 1);

    cmd->client = client;
    cmd->name = g_strdup(name);
    cmd->serial = client->next_serial++;
    json_object_object_add(request, "execute", json_object_new_string(name));
    if (arguments != NULL) {
        json_object_object_add(request, "arguments", json_object_get(arguments));
    }
    /* A bare integer, the shortest unique id: QEMU 7.2 reads requests one
     * byte per read() and each byte before the closing brace delays the
     * reply (about 10 us a byte here; docs/qmp-client.md, "Latency"). */
    json_object_object_add(request, "id", json_object_new_int64((gint64)cmd->serial));
    /* No "\/" for every slash of a QOM path: each byte costs (see above).
     * QEMU reads JSON, not lines, but a newline keeps transcripts readable. */
    cmd->line = g_strconcat(json_object_to_json_string_ext(
                                request, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            "\n", NULL);
    return cmd;
}

/* Gives up on @cmd: its reply, should it come, is dropped. */
static void command_abandon(Command *cmd, GError *error)
{
    FpbQmpClient *client = cmd->client;

    if (client->inflight == cmd) {
        if (client->out_done < client->out->len) {
            /* Half a request on the wire cannot be taken back. */
            g_error_free(error);
            break_connection(client, FPB_QMP_ERROR_TIMEOUT,
                             "timed out with the request half written");
            return;
        }
        g_hash_table_add(client->abandoned, g_strdup_printf("%" G_GUINT64_FORMAT, cmd->serial));
    }
    command_finish(cmd, NULL, error);
    pump(client);
}

static gboolean on_command_timeout(gpointer data)
{
    Command *cmd = data;
    FpbQmpClient *client = g_rc_box_acquire(cmd->client);

    destroy_source(&cmd->timeout_source);
    command_abandon(cmd, command_error(cmd, FPB_QMP_ERROR_TIMEOUT, "no reply within the timeout"));
    g_rc_box_release_full(client, client_clear);
    return G_SOURCE_REMOVE;
}

static gboolean on_command_cancelled(GCancellable *cancellable, gpointer data)
{
    Command *cmd = data;
    FpbQmpClient *client = g_rc_box_acquire(cmd->client);
    GError *error = NULL;

    destroy_source(&cmd->cancel_source);
    g_cancellable_set_error_if_cancelled(cancellable, &error);
    command_abandon(cmd, error);
    g_rc_box_release_full(client, client_clear);
    return G_SOURCE_REMOVE;
}

static void command_watch(Command *cmd, guint timeout_ms, GCancellable *cancellable)
{
    if (timeout_ms > 0) {
        cmd->timeout_source = g_timeout_source_new(timeout_ms);
        g_source_set_callback(cmd->timeout_source, on_command_timeout, cmd, NULL);
        g_source_attach(cmd->timeout_source, cmd->client->context);
    }
    if (cancellable != NULL) {
        cmd->cancel_source = g_cancellable_source_new(cancellable);
        g_source_set_callback(cmd->cancel_source, G_SOURCE_FUNC(on_command_cancelled), cmd, NULL);
        g_source_attach(cmd->cancel_source, cmd->client->context);
    }
}

/* Why @cmd cannot be sent now, or NULL. */
static GError *command_refused(Command *cmd)
{
    FpbQmpClient *client = cmd->client;
    g_autofree char *detail = NULL;

    if (client->closed) {
        /* Only from a callback run while the client is being freed. */
        return command_error(cmd, FPB_QMP_ERROR_CLOSED, "client closed");
    }
    if (client->broken == NULL && client->connect_task == NULL) {
        return NULL;
    }
    detail = g_strdup_printf("not sent: connection is broken: %s",
                             client->broken ? client->broken->message : "not connected yet");
    return command_error(cmd, FPB_QMP_ERROR_BROKEN, detail);
}

void fpb_qmp_client_execute_async(FpbQmpClient *client, const char *command, json_object *arguments,
                                  guint timeout_ms, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    GError *error;
    Command *cmd;

    g_return_if_fail(client != NULL && command != NULL);
    g_task_set_source_tag(task, fpb_qmp_client_execute_async);
    cmd = command_new(client, command, arguments);
    cmd->task = task;
    error = command_refused(cmd);
    if (error != NULL) {
        g_task_return_error(task, error);
        command_free(cmd);
        return;
    }
    command_watch(cmd, timeout_ms, cancellable);
    g_queue_push_tail(&client->queue, cmd);
    pump(client);
}

json_object *fpb_qmp_client_execute_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- connecting (public) ------------------------------------------------ */

static gboolean on_connect_timeout(gpointer data)
{
    FpbQmpClient *client = g_rc_box_acquire(data);

    destroy_source(&client->connect_timeout);
    break_connection(client, FPB_QMP_ERROR_TIMEOUT,
                     "no QMP greeting within the timeout (is another client connected?)");
    g_rc_box_release_full(client, client_clear);
    return G_SOURCE_REMOVE;
}

static gboolean on_connect_cancelled(GCancellable *cancellable, gpointer data)
{
    FpbQmpClient *client = g_rc_box_acquire(data);
    GError *error = NULL;

    destroy_source(&client->connect_cancel);
    g_cancellable_set_error_if_cancelled(cancellable, &error);
    fail_connect(client, error);
    g_rc_box_release_full(client, client_clear);
    return G_SOURCE_REMOVE;
}

static GSocket *open_socket(const char *socket_path, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) address = NULL;

    socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &local);
    if (socket == NULL) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CONNECT,
                    "QMP socket '%s': cannot create socket: %s", socket_path, local->message);
        return NULL;
    }
    address = g_unix_socket_address_new(socket_path);
    /* A UNIX connect completes at once or fails; only a full backlog would
     * block, and that is a failure too. */
    g_socket_set_blocking(socket, FALSE);
    if (!g_socket_connect(socket, address, NULL, &local)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CONNECT,
                    "QMP socket '%s': cannot connect: %s", socket_path, local->message);
        return NULL;
    }
    return g_steal_pointer(&socket);
}

void fpb_qmp_client_connect_async(const char *socket_path, guint timeout_ms,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    GError *error = NULL;
    FpbQmpClient *client;
    GSocket *socket;

    g_return_if_fail(socket_path != NULL);
    g_task_set_source_tag(task, fpb_qmp_client_connect_async);
    socket = open_socket(socket_path, &error);
    if (socket == NULL) {
        g_task_return_error(task, error);
        return;
    }
    client = client_new(socket_path);
    client->socket = socket;
    client->connect_task = g_steal_pointer(&task);
    client->read_source = g_socket_create_source(socket, G_IO_IN, NULL);
    g_source_set_callback(client->read_source, G_SOURCE_FUNC(on_readable), client, NULL);
    g_source_attach(client->read_source, client->context);
    if (timeout_ms > 0) {
        client->connect_timeout = g_timeout_source_new(timeout_ms);
        g_source_set_callback(client->connect_timeout, on_connect_timeout, client, NULL);
        g_source_attach(client->connect_timeout, client->context);
    }
    if (cancellable != NULL) {
        client->connect_cancel = g_cancellable_source_new(cancellable);
        g_source_set_callback(client->connect_cancel, G_SOURCE_FUNC(on_connect_cancelled), client,
                              NULL);
        g_source_attach(client->connect_cancel, client->context);
    }
}

FpbQmpClient *fpb_qmp_client_connect_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- blocking wrappers -------------------------------------------------- */

static void store_result(GObject *source, GAsyncResult *result, gpointer data)
{
    GAsyncResult **ret = data;

    (void)source;
    *ret = g_object_ref(result);
}

/* Iterates @context until *@result is set. */
static void wait_for(GMainContext *context, GAsyncResult **result)
{
    while (*result == NULL) {
        g_main_context_iteration(context, TRUE);
    }
}

FpbQmpClient *fpb_qmp_client_connect(const char *socket_path, guint timeout_ms, GError **error)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GAsyncResult) result = NULL;
    FpbQmpClient *client;

    g_main_context_push_thread_default(context);
    fpb_qmp_client_connect_async(socket_path, timeout_ms, NULL, store_result, &result);
    wait_for(context, &result);
    client = fpb_qmp_client_connect_finish(result, error);
    g_main_context_pop_thread_default(context);
    return client;
}

/* Waits for the socket once, up to @deadline (monotonic us, -1: none), and
 * reads or writes what it can; abandons @cmd when the deadline passed. */
static void wait_io(FpbQmpClient *client, Command *cmd, gint64 deadline)
{
    struct pollfd p = {.fd = g_socket_get_fd(client->socket), .events = POLLIN};
    int ms = -1;
    int n;

    if (deadline >= 0) {
        ms = (int)CLAMP((deadline - g_get_monotonic_time() + 999) / 1000, 0, G_MAXINT);
    }
    if (!g_queue_is_empty(&client->inbox) || client->stream_error != NULL) {
        dispatch_inbox(client); /* left by a handler that re-entered */
        return;
    }
    if (client->out_done < client->out->len) {
        p.events |= POLLOUT;
    }
    n = ms == 0 ? 0 : poll(&p, 1, ms);
    if (n == 0) {
        command_abandon(cmd,
                        command_error(cmd, FPB_QMP_ERROR_TIMEOUT, "no reply within the timeout"));
        return;
    }
    if (n < 0) {
        return; /* EINTR: poll again */
    }
    if (p.revents & POLLOUT) {
        flush_output(client);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR) && client->broken == NULL && !client->closed) {
        read_some(client);
    }
}

/* Blocking calls wait with poll() on the socket, not by iterating the
 * context: no GTask, no GSource per command, so a round trip costs a send, a
 * poll and a receive. */
json_object *fpb_qmp_client_execute(FpbQmpClient *client, const char *command,
                                    json_object *arguments, guint timeout_ms, GError **error)
{
    gint64 deadline = timeout_ms ? g_get_monotonic_time() + (gint64)timeout_ms * 1000 : -1;
    SyncSlot slot = {FALSE, NULL, NULL};
    Command *cmd = command_new(client, command, arguments);
    GError *refused = command_refused(cmd);

    if (refused != NULL) {
        command_free(cmd);
        g_propagate_error(error, refused);
        return NULL;
    }
    cmd->sync = &slot;
    /* An event handler may free the client while we wait. */
    g_rc_box_acquire(client);
    g_queue_push_tail(&client->queue, cmd);
    pump(client);
    while (!slot.done) {
        wait_io(client, cmd, deadline);
    }
    g_rc_box_release_full(client, client_clear);
    if (slot.error != NULL) {
        g_propagate_error(error, slot.error);
        return NULL;
    }
    return slot.value;
}

static gboolean on_wait_timeout(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

gboolean fpb_qmp_client_wait_event(FpbQmpClient *client, guint timeout_ms)
{
    g_autoptr(GMainContext) context = g_main_context_ref(client->context);
    g_autoptr(GSource) timeout = g_timeout_source_new(timeout_ms);
    guint64 before = client->events_delivered;
    gboolean expired = FALSE;
    gboolean delivered = FALSE;

    g_source_set_callback(timeout, on_wait_timeout, &expired, NULL);
    g_source_attach(timeout, context);
    while (!expired && !client->closed && client->broken == NULL) {
        g_main_context_iteration(context, TRUE);
        if (!client->closed && client->events_delivered != before) {
            delivered = TRUE;
            break;
        }
    }
    g_source_destroy(timeout);
    return delivered;
}

/* ---- the rest ----------------------------------------------------------- */

const FpbQmpVersion *fpb_qmp_client_get_version(FpbQmpClient *client)
{
    return client->version;
}

const char *const *fpb_qmp_client_get_capabilities(FpbQmpClient *client)
{
    static const char *const none[] = {NULL};

    return client->capabilities ? (const char *const *)client->capabilities : none;
}

GPid fpb_qmp_client_get_peer_pid(FpbQmpClient *client)
{
    g_autoptr(GCredentials) cred = NULL;
    pid_t pid;

    if (client->socket == NULL) {
        return -1;
    }
    cred = g_socket_get_credentials(client->socket, NULL);
    pid = cred ? g_credentials_get_unix_pid(cred, NULL) : -1;
    return pid > 0 ? (GPid)pid : -1;
}

const char *fpb_qmp_client_get_socket_path(FpbQmpClient *client)
{
    return client->socket_path;
}

guint fpb_qmp_client_get_default_timeout(FpbQmpClient *client)
{
    return client->default_timeout_ms;
}

void fpb_qmp_client_set_default_timeout(FpbQmpClient *client, guint timeout_ms)
{
    client->default_timeout_ms = timeout_ms;
}

gboolean fpb_qmp_client_is_broken(FpbQmpClient *client)
{
    return client->broken != NULL;
}

void fpb_qmp_client_free(FpbQmpClient *client)
{
    json_object *msg;

    /* A pending command's callback may free the client again: ignore that. */
    if (client == NULL || client->closed) {
        return;
    }
    client->closed = TRUE;
    stop_io(client);
    fail_all(client, FPB_QMP_ERROR_CLOSED, "client closed before the reply");
    if (client->socket != NULL) {
        /* Really close: QEMU serves the next client only after this. */
        g_socket_close(client->socket, NULL);
        g_clear_object(&client->socket);
    }
    while ((msg = g_queue_pop_head(&client->early_events)) != NULL) {
        json_object_put(msg);
    }
    if (client->event_destroy != NULL) {
        client->event_destroy(client->event_data);
        client->event_destroy = NULL;
    }
    client->event_func = NULL;
    g_rc_box_release_full(client, client_clear);
}
