/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpClient against the fake QMP server: handshake, replies, errors,
 * events, framing, broken connections, timeouts, the async API. */
#include <string.h>

#include "fake-qmp-server.h"
#include "fpb-qmp.h"
#include "fpb-qmp-stream.h"
#include "qmp-test-util.h"

#define TIMEOUT 5000

static FpbQmpClient *connect_ok(FakeQmpServer *server)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *client =
        fpb_qmp_client_connect(fake_qmp_server_get_path(server), TIMEOUT, &error);

    g_assert_no_error(error);
    g_assert_nonnull(client);
    return client;
}

/* Frees the client (the server waits for it to close), then checks the
 * script ran as written. */
static void finish(FakeQmpServer *server, FpbQmpClient *client)
{
    g_autofree char *failures = NULL;

    fpb_qmp_client_free(client);
    failures = fake_qmp_server_join(server);
    if (failures != NULL) {
        g_error("fake QMP server: %s", failures);
    }
}

static void assert_message_has(const GError *error, const char *part)
{
    g_assert_nonnull(error);
    if (strstr(error->message, part) == NULL) {
        g_error("'%s' not in '%s'", part, error->message);
    }
}

/* ---- connecting ------------------------------------------------------- */

static void test_connect_greeting(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    FpbQmpClient *client;
    const FpbQmpVersion *version;

    fake_qmp_server_handshake(server);
    fake_qmp_server_start(server);
    client = connect_ok(server);
    version = fpb_qmp_client_get_version(client);
    g_assert_cmpint(version->major, ==, 7);
    g_assert_cmpint(version->minor, ==, 2);
    g_assert_true(g_str_has_prefix(version->package, "Debian"));
    g_assert_true(fpb_qmp_version_at_least(version, 7, 2, 0));
    g_assert_false(fpb_qmp_version_at_least(version, 8, 0, 0));
    g_assert_true(g_strv_contains(fpb_qmp_client_get_capabilities(client), "oob"));
    g_assert_false(fpb_qmp_client_is_broken(client));
    finish(server, client);
}

static void test_connect_no_socket(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autofree char *path = g_build_filename(dir, "none.sock", NULL);
    FpbQmpClient *client = fpb_qmp_client_connect(path, TIMEOUT, &error);

    g_assert_null(client);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CONNECT);
    assert_message_has(error, path);
    qmp_test_tmpdir_remove(dir);
}

/* Connects expecting failure @code with @part in the message. */
static void connect_fails(FakeQmpServer *server, guint timeout, int code, const char *part)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *client;

    fake_qmp_server_start(server);
    client = fpb_qmp_client_connect(fake_qmp_server_get_path(server), timeout, &error);
    g_assert_null(client);
    g_assert_error(error, FPB_QMP_ERROR, code);
    assert_message_has(error, fake_qmp_server_get_path(server));
    assert_message_has(error, part);
    g_free(fake_qmp_server_join(server));
}

static void test_connect_timeout(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    /* Like QEMU busy with another client: accepted, but silent. */
    fake_qmp_server_sleep(server, 500);
    connect_fails(server, 100, FPB_QMP_ERROR_TIMEOUT, "no QMP greeting");
}

static void test_connect_garbage(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    fake_qmp_server_send(server, "SSH-2.0-OpenSSH\r\n", -1);
    connect_fails(server, TIMEOUT, FPB_QMP_ERROR_CONNECT, "malformed JSON");
}

static void test_connect_not_greeting(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    fake_qmp_server_send(server, "{\"return\": {}}\r\n", -1);
    connect_fails(server, TIMEOUT, FPB_QMP_ERROR_CONNECT, "first message is not a greeting");
}

static void test_connect_bad_version(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    fake_qmp_server_send(server, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": -7}}}}\r\n", -1);
    connect_fails(server, TIMEOUT, FPB_QMP_ERROR_CONNECT, "major");
}

static void test_connect_capabilities_error(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    fake_qmp_server_send(server,
                         "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                         "\"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}\r\n",
                         -1);
    fake_qmp_server_expect(server, "qmp_capabilities");
    fake_qmp_server_reply(server, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                                  "\"Capabilities negotiation is already complete\"}}");
    connect_fails(server, TIMEOUT, FPB_QMP_ERROR_CONNECT, "already complete");
}

static void test_connect_eof(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();

    fake_qmp_server_hangup(server);
    connect_fails(server, TIMEOUT, FPB_QMP_ERROR_CONNECT, "connection closed by QEMU");
}

/* ---- replies -------------------------------------------------------------- */

/* Replays @recording, executing every recorded request and checking the
 * reply (or error) against the recorded one. Returns the number of events. */
static guint replay(const char *recording, FakeWriteMode mode);

typedef struct {
    GPtrArray *names;
    GArray *stamps;
    guint during_execute;
} EventLog;

static gboolean in_execute;

static void log_event(FpbQmpClient *client, const char *event, json_object *data,
                      gint64 timestamp_us, gpointer user_data)
{
    EventLog *log = user_data;

    (void)client;
    (void)data;
    g_ptr_array_add(log->names, g_strdup(event));
    g_array_append_val(log->stamps, timestamp_us);
    log->during_execute += in_execute;
}

static void check_reply(json_object *expected, json_object *value, const GError *error)
{
    json_object *ret = NULL;
    json_object *err = NULL;

    if (json_object_object_get_ex(expected, "return", &ret)) {
        g_assert_no_error(error);
        g_assert_true(json_object_equal(ret, value));
        return;
    }
    g_assert_true(json_object_object_get_ex(expected, "error", &err));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_cmpstr(fpb_qmp_error_get_class(error), ==,
                    json_object_get_string(json_object_object_get(err, "class")));
    g_assert_cmpstr(fpb_qmp_error_get_desc(error), ==,
                    json_object_get_string(json_object_object_get(err, "desc")));
}

static guint replay(const char *recording, FakeWriteMode mode)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autofree char *path = qmp_test_recording_path(recording);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    EventLog log = {g_ptr_array_new_with_free_func(g_free), g_array_new(FALSE, FALSE, 8), 0};
    FpbQmpClient *client;
    json_object *request = NULL;
    guint events;

    fake_qmp_server_set_write_mode(server, mode);
    fake_qmp_server_load(server, recording);
    fake_qmp_server_start(server);
    client = connect_ok(server);
    fpb_qmp_client_set_event_handler(client, log_event, &log, NULL);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 3; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        g_autoptr(json_object) line = json_tokener_parse(lines[i]);
        json_object *msg = json_object_object_get(line, "msg");

        if (g_str_equal(json_object_get_string(json_object_object_get(line, "dir")), "c2s")) {
            request = msg;
            json_object_get(request);
        } else if (request != NULL && json_object_object_get_ex(msg, "id", NULL)) {
            g_autoptr(GError) error = NULL;
            g_autoptr(json_object) value = NULL;

            in_execute = TRUE;
            value = fpb_qmp_client_execute(
                client, json_object_get_string(json_object_object_get(request, "execute")),
                json_object_object_get(request, "arguments"), TIMEOUT, &error);
            in_execute = FALSE;
            check_reply(msg, value, error);
            g_clear_pointer(&request, json_object_put);
        }
    }
    finish(server, client);
    events = log.names->len;
    g_assert_cmpuint(log.during_execute, ==, events);
    g_ptr_array_unref(log.names);
    g_array_unref(log.stamps);
    return events;
}

static void test_reply_queries(void)
{
    g_assert_cmpuint(replay("queries.jsonl", FAKE_WRITE_WHOLE), ==, 0);
}

static void test_reply_split_bytes(void)
{
    g_assert_cmpuint(replay("events.jsonl", FAKE_WRITE_BYTES), ==, 2);
}

static void test_reply_merged(void)
{
    g_assert_cmpuint(replay("migration.jsonl", FAKE_WRITE_MERGED), >=, 5);
    g_assert_cmpuint(replay("incoming.jsonl", FAKE_WRITE_MERGED), >=, 4);
}

static void test_reply_error_class(void)
{
    /* check_reply compares class and desc with what QEMU 7.2 sent. */
    replay("errors.jsonl", FAKE_WRITE_WHOLE);
}

static void test_reply_error_message(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    g_autofree char *expected = NULL;
    FpbQmpClient *client;

    fake_qmp_server_load(server, "errors.jsonl");
    fake_qmp_server_start(server);
    client = connect_ok(server);
    value = fpb_qmp_client_execute(client, "no-such-command", NULL, TIMEOUT, &error);
    g_assert_null(value);
    expected = g_strdup_printf("QMP socket '%s': command 'no-such-command' failed: "
                               "CommandNotFound: The command no-such-command has not been found",
                               fake_qmp_server_get_path(server));
    g_assert_cmpstr(error->message, ==, expected);
    g_assert_cmpstr(fpb_qmp_error_get_command(error), ==, "no-such-command");
    /* The extended error data survives a copy. */
    {
        g_autoptr(GError) copy = g_error_copy(error);

        g_assert_cmpstr(fpb_qmp_error_get_class(copy), ==, "CommandNotFound");
    }
    g_assert_false(fpb_qmp_client_is_broken(client));
    fpb_qmp_client_free(client);
    g_free(fake_qmp_server_join(server)); /* the rest of the script did not run */
}

/* ---- broken connections ------------------------------------------------ */

/* After the handshake, query-status is answered with @raw (NULL: nothing);
 * @hangup closes afterwards. Checks the error and that the connection is then
 * broken for good. */
static void broken_reply(const char *raw, gboolean hangup, int code, const char *part)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) again = NULL;
    g_autoptr(json_object) value = NULL;
    g_autofree char *cmd_part = NULL;
    FpbQmpClient *client;

    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "query-status");
    if (raw != NULL) {
        fake_qmp_server_send(server, raw, -1);
    }
    if (hangup) {
        fake_qmp_server_hangup(server);
    }
    fake_qmp_server_start(server);
    client = connect_ok(server);
    value = fpb_qmp_client_execute(client, "query-status", NULL, TIMEOUT, &error);
    g_assert_null(value);
    g_assert_error(error, FPB_QMP_ERROR, code);
    cmd_part = g_strdup_printf("QMP socket '%s': command 'query-status': ",
                               fake_qmp_server_get_path(server));
    assert_message_has(error, cmd_part);
    assert_message_has(error, part);
    g_assert_true(fpb_qmp_client_is_broken(client));
    value = fpb_qmp_client_execute(client, "query-name", NULL, TIMEOUT, &again);
    g_assert_error(again, FPB_QMP_ERROR, FPB_QMP_ERROR_BROKEN);
    assert_message_has(again, "command 'query-name': not sent: connection is broken");
    assert_message_has(again, part);
    /* The server may fail writing to a client that gave up: not checked. */
    fpb_qmp_client_free(client);
    g_free(fake_qmp_server_join(server));
}

static void test_broken_garbage(void)
{
    broken_reply("{\"return\": {}, \"id\": }\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL, "malformed JSON");
}

static void test_broken_not_object(void)
{
    broken_reply("[\"return\"]\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL, "not a JSON object");
}

static void test_broken_shape(void)
{
    broken_reply("{\"retour\": {}}\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL,
                 "none of 'return', 'error', 'event', 'QMP'");
}

static void test_broken_error_shape(void)
{
    broken_reply("{\"error\": \"no\"}\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL, "field 'error'");
}

static void test_broken_unknown_id(void)
{
    broken_reply("{\"return\": {}, \"id\": \"fpb-999\"}\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL,
                 "reply with unknown id \"fpb-999\"");
}

static void test_broken_second_greeting(void)
{
    broken_reply("{\"QMP\": {}}\r\n", FALSE, FPB_QMP_ERROR_PROTOCOL, "second greeting");
}

static void test_broken_eof(void)
{
    broken_reply(NULL, TRUE, FPB_QMP_ERROR_EOF, "connection closed by QEMU");
}

static void test_broken_eof_mid_message(void)
{
    broken_reply("{\"return\": {\"status\": \"runn", TRUE, FPB_QMP_ERROR_EOF,
                 "in the middle of a message");
}

static void test_broken_oversize(void)
{
    gsize size = FPB_QMP_STREAM_MAX_MESSAGE_DEFAULT + 1;
    g_autofree char *big = g_malloc(size + 1);

    memset(big, ' ', size);
    memcpy(big, "{\"return\": \"", 12);
    memset(big + 12, 'x', size - 12);
    big[size] = '\0';
    broken_reply(big, FALSE, FPB_QMP_ERROR_PROTOCOL, "exceeds the limit of 16777216 bytes");
}

static void test_reply_without_id(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    FpbQmpClient *client;

    /* QEMU answers without an id when it could not parse the request. */
    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "query-status");
    fake_qmp_server_send(server,
                         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
                         "expecting value\"}}\r\n",
                         -1);
    fake_qmp_server_start(server);
    client = connect_ok(server);
    value = fpb_qmp_client_execute(client, "query-status", NULL, TIMEOUT, &error);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_false(fpb_qmp_client_is_broken(client));
    finish(server, client);
}

static void test_reply_null_return(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    FpbQmpClient *client;

    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "query-status");
    fake_qmp_server_reply(server, "{\"return\": null, \"id\": 0}");
    fake_qmp_server_start(server);
    client = connect_ok(server);
    value = fpb_qmp_client_execute(client, "query-status", NULL, TIMEOUT, &error);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    assert_message_has(error, "'return' is null");
    finish(server, client);
}

/* ---- timeouts ------------------------------------------------------------ */

static void test_timeout_late_reply(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    g_autoptr(json_object) name = NULL;
    FpbQmpClient *client;

    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "query-status");
    fake_qmp_server_sleep(server, 300);
    fake_qmp_server_reply(server, "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
                                  "\"running\": true}, \"id\": 0}");
    fake_qmp_server_expect(server, "query-name");
    fake_qmp_server_reply(server, "{\"return\": {\"name\": \"vm\"}, \"id\": 0}");
    fake_qmp_server_start(server);
    client = connect_ok(server);
    value = fpb_qmp_client_execute(client, "query-status", NULL, 100, &error);
    g_assert_null(value);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT);
    assert_message_has(error, "command 'query-status': no reply within the timeout");
    g_clear_error(&error);
    /* The late query-status reply is dropped; query-name gets its own. */
    name = fpb_qmp_client_execute(client, "query-name", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(name, "name")), ==, "vm");
    g_assert_false(fpb_qmp_client_is_broken(client));
    finish(server, client);
}

/* ---- events -------------------------------------------------------------- */

static void test_event_early(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    EventLog log = {g_ptr_array_new_with_free_func(g_free), g_array_new(FALSE, FALSE, 8), 0};
    FpbQmpClient *client;

    /* Events in the same write as the capabilities reply, before any handler. */
    fake_qmp_server_set_write_mode(server, FAKE_WRITE_MERGED);
    fake_qmp_server_handshake(server);
    fake_qmp_server_send(server,
                         "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
                         "\"event\": \"STOP\"}\r\n{\"timestamp\": {\"seconds\": 3, "
                         "\"microseconds\": 4}, \"event\": \"RESUME\"}\r\n",
                         -1);
    fake_qmp_server_start(server);
    client = connect_ok(server);
    fpb_qmp_client_set_event_handler(client, log_event, &log, NULL);
    g_assert_cmpuint(log.names->len, ==, 2);
    g_assert_cmpstr(log.names->pdata[0], ==, "STOP");
    g_assert_cmpstr(log.names->pdata[1], ==, "RESUME");
    g_assert_cmpint(g_array_index(log.stamps, gint64, 0), ==, 1000002);
    g_assert_cmpint(g_array_index(log.stamps, gint64, 1), ==, 3000004);
    finish(server, client);
    g_ptr_array_unref(log.names);
    g_array_unref(log.stamps);
}

static void test_event_wait(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    EventLog log = {g_ptr_array_new_with_free_func(g_free), g_array_new(FALSE, FALSE, 8), 0};
    FpbQmpClient *client;

    fake_qmp_server_handshake(server);
    fake_qmp_server_sleep(server, 200);
    fake_qmp_server_send(server, "{\"event\": \"RESUME\"}\r\n", -1);
    fake_qmp_server_start(server);
    client = connect_ok(server);
    fpb_qmp_client_set_event_handler(client, log_event, &log, NULL);
    g_assert_false(fpb_qmp_client_wait_event(client, 50));
    g_assert_true(fpb_qmp_client_wait_event(client, TIMEOUT));
    g_assert_cmpuint(log.names->len, ==, 1);
    g_assert_cmpint(g_array_index(log.stamps, gint64, 0), ==, -1);
    finish(server, client);
    g_ptr_array_unref(log.names);
    g_array_unref(log.stamps);
}

static void query_on_event(FpbQmpClient *client, const char *event, json_object *data,
                           gint64 timestamp_us, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;

    (void)event;
    (void)data;
    (void)timestamp_us;
    value = fpb_qmp_client_execute(client, "query-status", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    *(char **)user_data = g_strdup(json_object_to_json_string(value));
}

static void test_event_blocking_call_in_handler(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    g_autofree char *inner = NULL;
    FpbQmpClient *client;

    /* STOP and stop's reply in one read: the handler's command must wait for
     * the reply that was read with the event, not for new bytes. */
    fake_qmp_server_set_write_mode(server, FAKE_WRITE_MERGED);
    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "stop");
    fake_qmp_server_send(server, "{\"event\": \"STOP\"}\r\n", -1);
    fake_qmp_server_reply(server, "{\"return\": {}, \"id\": 0}");
    fake_qmp_server_expect(server, "query-status");
    fake_qmp_server_reply(server, "{\"return\": 7, \"id\": 0}");
    fake_qmp_server_start(server);
    client = connect_ok(server);
    fpb_qmp_client_set_event_handler(client, query_on_event, &inner, NULL);
    value = fpb_qmp_client_execute(client, "stop", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(inner, ==, "7");
    finish(server, client);
}

static void free_client_on_event(FpbQmpClient *client, const char *event, json_object *data,
                                 gint64 timestamp_us, gpointer user_data)
{
    (void)event;
    (void)data;
    (void)timestamp_us;
    *(gboolean *)user_data = TRUE;
    fpb_qmp_client_free(client);
}

static void test_event_free_in_handler(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    gboolean freed = FALSE;
    FpbQmpClient *client;

    fake_qmp_server_set_write_mode(server, FAKE_WRITE_MERGED);
    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "stop");
    fake_qmp_server_send(server, "{\"event\": \"STOP\"}\r\n", -1);
    fake_qmp_server_reply(server, "{\"return\": {}, \"id\": 0}");
    fake_qmp_server_start(server);
    client = connect_ok(server);
    fpb_qmp_client_set_event_handler(client, free_client_on_event, &freed, NULL);
    value = fpb_qmp_client_execute(client, "stop", NULL, TIMEOUT, &error);
    g_assert_true(freed);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CLOSED);
    g_free(fake_qmp_server_join(server));
}

/* ---- the async API ------------------------------------------------------- */

typedef struct {
    GMainLoop *loop;
    guint pending;
    GPtrArray *results; /* "ok:<status>" or "err:<code>" in completion order */
} AsyncLog;

static void on_executed(GObject *source, GAsyncResult *result, gpointer data)
{
    AsyncLog *log = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = fpb_qmp_client_execute_finish(result, &error);

    (void)source;
    g_ptr_array_add(log->results, value
                                      ? g_strdup_printf("ok:%s", json_object_to_json_string(value))
                                      : g_strdup_printf("err:%d", error->code));
    if (--log->pending == 0) {
        g_main_loop_quit(log->loop);
    }
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer data)
{
    FpbQmpClient **ret = data;
    g_autoptr(GError) error = NULL;

    (void)source;
    *ret = fpb_qmp_client_connect_finish(result, &error);
    g_assert_no_error(error);
}

static FpbQmpClient *connect_async(FakeQmpServer *server, GMainContext *context)
{
    FpbQmpClient *client = NULL;

    fpb_qmp_client_connect_async(fake_qmp_server_get_path(server), TIMEOUT, NULL, on_connected,
                                 &client);
    while (client == NULL) {
        g_main_context_iteration(context, TRUE);
    }
    return client;
}

static void store_connect_result(GObject *source, GAsyncResult *result, gpointer data)
{
    GError **ret = data;
    FpbQmpClient *client = fpb_qmp_client_connect_finish(result, ret);

    (void)source;
    g_assert_null(client);
}

static void test_async_connect_cancel(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    GError *error = NULL;

    g_main_context_push_thread_default(context);
    fake_qmp_server_sleep(server, 300); /* no greeting yet */
    fake_qmp_server_start(server);
    fpb_qmp_client_connect_async(fake_qmp_server_get_path(server), TIMEOUT, cancellable,
                                 store_connect_result, &error);
    g_cancellable_cancel(cancellable);
    while (error == NULL) {
        g_main_context_iteration(context, TRUE);
    }
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&error);
    g_free(fake_qmp_server_join(server));
    g_main_context_pop_thread_default(context);
}

static void test_async_queue(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GMainLoop) loop = g_main_loop_new(context, FALSE);
    AsyncLog log = {loop, 3, g_ptr_array_new_with_free_func(g_free)};
    FpbQmpClient *client;

    g_main_context_push_thread_default(context);
    fake_qmp_server_handshake(server);
    for (int i = 1; i <= 3; i++) {
        g_autofree char *reply = g_strdup_printf("{\"return\": %d, \"id\": 0}", i);

        fake_qmp_server_expect(server, "query-balloon");
        fake_qmp_server_sleep(server, 20);
        fake_qmp_server_reply(server, reply);
    }
    fake_qmp_server_start(server);
    client = connect_async(server, context);
    for (int i = 0; i < 3; i++) {
        fpb_qmp_client_execute_async(client, "query-balloon", NULL, TIMEOUT, NULL, on_executed,
                                     &log);
    }
    g_main_loop_run(loop);
    g_assert_cmpstr(log.results->pdata[0], ==, "ok:1");
    g_assert_cmpstr(log.results->pdata[1], ==, "ok:2");
    g_assert_cmpstr(log.results->pdata[2], ==, "ok:3");
    finish(server, client);
    /* One writer at a time: no request was sent before the previous reply. */
    g_assert_cmpuint(fake_qmp_server_get_pipelined(server), ==, 0);
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(log.results);
}

static void test_async_free_pending(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GMainLoop) loop = g_main_loop_new(context, FALSE);
    AsyncLog log = {loop, 2, g_ptr_array_new_with_free_func(g_free)};
    FpbQmpClient *client;

    g_main_context_push_thread_default(context);
    fake_qmp_server_handshake(server);
    fake_qmp_server_start(server);
    client = connect_async(server, context);
    fpb_qmp_client_execute_async(client, "query-status", NULL, TIMEOUT, NULL, on_executed, &log);
    fpb_qmp_client_execute_async(client, "query-name", NULL, TIMEOUT, NULL, on_executed, &log);
    fpb_qmp_client_free(client);
    g_main_loop_run(loop);
    g_assert_cmpstr(log.results->pdata[0], ==, "err:7"); /* FPB_QMP_ERROR_CLOSED */
    g_assert_cmpstr(log.results->pdata[1], ==, "err:7");
    g_free(fake_qmp_server_join(server));
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(log.results);
}

static void test_async_cancel(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GMainLoop) loop = g_main_loop_new(context, FALSE);
    AsyncLog log = {loop, 2, g_ptr_array_new_with_free_func(g_free)};
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    FpbQmpClient *client;

    g_main_context_push_thread_default(context);
    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "query-status");
    fake_qmp_server_sleep(server, 200);
    fake_qmp_server_reply(server, "{\"return\": {}, \"id\": 0}");
    fake_qmp_server_expect(server, "query-name");
    fake_qmp_server_reply(server, "{\"return\": 5, \"id\": 0}");
    fake_qmp_server_start(server);
    client = connect_async(server, context);
    fpb_qmp_client_execute_async(client, "query-status", NULL, TIMEOUT, cancellable, on_executed,
                                 &log);
    fpb_qmp_client_execute_async(client, "query-name", NULL, TIMEOUT, NULL, on_executed, &log);
    g_cancellable_cancel(cancellable);
    g_main_loop_run(loop);
    g_assert_cmpstr(log.results->pdata[0], ==, "err:19"); /* G_IO_ERROR_CANCELLED */
    g_assert_cmpstr(log.results->pdata[1], ==, "ok:5");
    finish(server, client);
    g_main_context_pop_thread_default(context);
    g_ptr_array_unref(log.results);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/connect/greeting", test_connect_greeting);
    g_test_add_func("/qmp/connect/no-socket", test_connect_no_socket);
    g_test_add_func("/qmp/connect/timeout", test_connect_timeout);
    g_test_add_func("/qmp/connect/garbage", test_connect_garbage);
    g_test_add_func("/qmp/connect/not-greeting", test_connect_not_greeting);
    g_test_add_func("/qmp/connect/bad-version", test_connect_bad_version);
    g_test_add_func("/qmp/connect/capabilities-error", test_connect_capabilities_error);
    g_test_add_func("/qmp/connect/eof", test_connect_eof);
    g_test_add_func("/qmp/reply/recorded-queries", test_reply_queries);
    g_test_add_func("/qmp/reply/split-one-byte-writes", test_reply_split_bytes);
    g_test_add_func("/qmp/reply/merged-writes", test_reply_merged);
    g_test_add_func("/qmp/reply/error-class", test_reply_error_class);
    g_test_add_func("/qmp/reply/error-message", test_reply_error_message);
    g_test_add_func("/qmp/reply/without-id", test_reply_without_id);
    g_test_add_func("/qmp/reply/null-return", test_reply_null_return);
    g_test_add_func("/qmp/broken/garbage", test_broken_garbage);
    g_test_add_func("/qmp/broken/not-object", test_broken_not_object);
    g_test_add_func("/qmp/broken/wrong-shape", test_broken_shape);
    g_test_add_func("/qmp/broken/error-shape", test_broken_error_shape);
    g_test_add_func("/qmp/broken/unknown-id", test_broken_unknown_id);
    g_test_add_func("/qmp/broken/second-greeting", test_broken_second_greeting);
    g_test_add_func("/qmp/broken/eof", test_broken_eof);
    g_test_add_func("/qmp/broken/eof-mid-message", test_broken_eof_mid_message);
    g_test_add_func("/qmp/broken/oversize", test_broken_oversize);
    g_test_add_func("/qmp/timeout/late-reply-dropped", test_timeout_late_reply);
    g_test_add_func("/qmp/event/before-handler", test_event_early);
    g_test_add_func("/qmp/event/free-in-handler", test_event_free_in_handler);
    g_test_add_func("/qmp/event/wait", test_event_wait);
    g_test_add_func("/qmp/event/blocking-call-in-handler", test_event_blocking_call_in_handler);
    g_test_add_func("/qmp/async/connect-cancel", test_async_connect_cancel);
    g_test_add_func("/qmp/async/queue", test_async_queue);
    g_test_add_func("/qmp/async/free-pending", test_async_free_pending);
    g_test_add_func("/qmp/async/cancel", test_async_cancel);
    return g_test_run();
}
