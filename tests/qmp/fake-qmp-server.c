/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fake-qmp-server.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp-test-util.h"

#define IO_TIMEOUT_MS 10000

typedef enum { STEP_SEND, STEP_REPLY, STEP_EXPECT, STEP_SLEEP, STEP_HANGUP } StepType;

typedef struct {
    StepType type;
    GBytes *data;  /* SEND: bytes; REPLY: JSON text */
    char *command; /* EXPECT */
    guint ms;      /* SLEEP */
} Step;

struct _FakeQmpServer {
    char *dir;
    char *path;
    int listen_fd;
    int fd;
    FakeWriteMode mode;
    GPtrArray *steps;
    GThread *thread;
    GString *failures;
    GPtrArray *requests;
    GString *inbuf;
    guint pipelined;
    GString *pending; /* MERGED mode: output not yet written */
    json_object *last_id;
};

static void step_free(gpointer data)
{
    Step *step = data;

    g_clear_pointer(&step->data, g_bytes_unref);
    g_free(step->command);
    g_free(step);
}

FakeQmpServer *fake_qmp_server_new(void)
{
    FakeQmpServer *server = g_new0(FakeQmpServer, 1);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    server->dir = qmp_test_tmpdir_new();
    server->path = g_build_filename(server->dir, "fake.sock", NULL);
    g_assert_cmpuint(strlen(server->path), <, sizeof(addr.sun_path));
    g_strlcpy(addr.sun_path, server->path, sizeof(addr.sun_path));
    server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(server->listen_fd, >=, 0);
    g_assert_cmpint(bind(server->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(server->listen_fd, 4), ==, 0);
    server->fd = -1;
    server->steps = g_ptr_array_new_with_free_func(step_free);
    server->failures = g_string_new(NULL);
    server->requests = g_ptr_array_new_with_free_func(g_free);
    server->inbuf = g_string_new(NULL);
    server->pending = g_string_new(NULL);
    return server;
}

void fake_qmp_server_free(FakeQmpServer *server)
{
    if (server == NULL) {
        return;
    }
    g_free(fake_qmp_server_join(server));
    close(server->listen_fd);
    if (server->fd >= 0) {
        close(server->fd);
    }
    qmp_test_tmpdir_remove(server->dir);
    g_free(server->dir);
    g_free(server->path);
    g_ptr_array_unref(server->steps);
    g_string_free(server->failures, TRUE);
    g_ptr_array_unref(server->requests);
    g_string_free(server->inbuf, TRUE);
    g_string_free(server->pending, TRUE);
    json_object_put(server->last_id);
    g_free(server);
}

const char *fake_qmp_server_get_path(FakeQmpServer *server)
{
    return server->path;
}

void fake_qmp_server_set_write_mode(FakeQmpServer *server, FakeWriteMode mode)
{
    server->mode = mode;
}

static Step *add_step(FakeQmpServer *server, StepType type)
{
    Step *step = g_new0(Step, 1);

    step->type = type;
    g_ptr_array_add(server->steps, step);
    return step;
}

void fake_qmp_server_send(FakeQmpServer *server, const char *data, gssize len)
{
    add_step(server, STEP_SEND)->data = g_bytes_new(data, len < 0 ? strlen(data) : (gsize)len);
}

void fake_qmp_server_reply(FakeQmpServer *server, const char *json)
{
    /* With its NUL: parsed as a C string when sent. */
    add_step(server, STEP_REPLY)->data = g_bytes_new(json, strlen(json) + 1);
}

void fake_qmp_server_expect(FakeQmpServer *server, const char *command)
{
    add_step(server, STEP_EXPECT)->command = g_strdup(command);
}

void fake_qmp_server_sleep(FakeQmpServer *server, guint ms)
{
    add_step(server, STEP_SLEEP)->ms = ms;
}

void fake_qmp_server_hangup(FakeQmpServer *server)
{
    add_step(server, STEP_HANGUP);
}

static void load_lines(FakeQmpServer *server, const char *name, guint max_lines)
{
    g_autofree char *path = qmp_test_recording_path(name);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) error = NULL;

    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL && i < max_lines; i++) {
        json_object *line = json_tokener_parse(lines[i]);
        json_object *dir = NULL;
        json_object *msg = NULL;
        json_object *execute = NULL;

        if (line == NULL) {
            continue;
        }
        g_assert_true(json_object_object_get_ex(line, "dir", &dir));
        g_assert_true(json_object_object_get_ex(line, "msg", &msg));
        if (g_str_equal(json_object_get_string(dir), "c2s")) {
            g_assert_true(json_object_object_get_ex(msg, "execute", &execute));
            fake_qmp_server_expect(server, json_object_get_string(execute));
        } else if (json_object_object_get_ex(msg, "id", NULL)) {
            fake_qmp_server_reply(server, json_object_to_json_string(msg));
        } else {
            g_autofree char *text_line = g_strconcat(
                json_object_to_json_string_ext(msg, JSON_C_TO_STRING_NOSLASHESCAPE), "\r\n", NULL);
            fake_qmp_server_send(server, text_line, -1);
        }
        json_object_put(line);
    }
}

void fake_qmp_server_load(FakeQmpServer *server, const char *name)
{
    load_lines(server, name, G_MAXUINT);
}

void fake_qmp_server_handshake(FakeQmpServer *server)
{
    /* Greeting, qmp_capabilities, its reply. */
    load_lines(server, "queries.jsonl", 3);
}

/* ---- the thread --------------------------------------------------------- */

static void fail(FakeQmpServer *server, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void fail(FakeQmpServer *server, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(server->failures, fmt, ap);
    va_end(ap);
    g_string_append_c(server->failures, '\n');
}

static gboolean wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};

    return poll(&p, 1, IO_TIMEOUT_MS) == 1;
}

static gboolean write_all(FakeQmpServer *server, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = send(server->fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail(server, "write: %s", g_strerror(errno));
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static gboolean flush_pending(FakeQmpServer *server)
{
    gboolean ok = write_all(server, server->pending->str, server->pending->len);

    g_string_truncate(server->pending, 0);
    return ok;
}

static gboolean output(FakeQmpServer *server, const char *data, gsize len)
{
    if (server->mode == FAKE_WRITE_MERGED) {
        g_string_append_len(server->pending, data, len);
        return TRUE;
    }
    if (server->mode == FAKE_WRITE_WHOLE) {
        return write_all(server, data, len);
    }
    /* The line end goes with the closing brace: a client that has its reply
     * may close before a lone "\r\n" would be written. */
    while (len > 0) {
        gsize n = (len <= 3 && g_ascii_isspace(data[len - 1])) ? len : 1;

        if (!write_all(server, data, n)) {
            return FALSE;
        }
        data += n;
        len -= n;
        g_usleep(100);
    }
    return TRUE;
}

static gboolean send_reply(FakeQmpServer *server, GBytes *json)
{
    json_object *msg = json_tokener_parse(g_bytes_get_data(json, NULL));
    g_autofree char *text = NULL;

    g_assert_nonnull(msg);
    if (server->last_id != NULL) {
        json_object_object_add(msg, "id", json_object_get(server->last_id));
    } else {
        json_object_object_del(msg, "id");
    }
    text = g_strconcat(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_NOSLASHESCAPE), "\r\n",
                       NULL);
    json_object_put(msg);
    return output(server, text, strlen(text));
}

/* Reads up to a newline; FALSE on EOF or timeout. */
static char *read_line(FakeQmpServer *server)
{
    char buf[4096];
    char *nl;

    while ((nl = memchr(server->inbuf->str, '\n', server->inbuf->len)) == NULL) {
        ssize_t n;

        if (!wait_fd(server->fd, POLLIN)) {
            return NULL;
        }
        n = read(server->fd, buf, sizeof(buf));
        if (n <= 0) {
            return NULL;
        }
        g_string_append_len(server->inbuf, buf, n);
    }
    {
        char *line = g_strndup(server->inbuf->str, nl - server->inbuf->str);

        g_string_erase(server->inbuf, 0, nl - server->inbuf->str + 1);
        server->pipelined += server->inbuf->len > 0;
        return line;
    }
}

static gboolean expect_request(FakeQmpServer *server, const char *command)
{
    g_autofree char *line = NULL;
    json_object *msg;
    json_object *execute = NULL;

    if (!flush_pending(server)) {
        return FALSE;
    }
    line = read_line(server);
    if (line == NULL) {
        fail(server, "expected '%s', got EOF or nothing", command ? command : "(any)");
        return FALSE;
    }
    g_ptr_array_add(server->requests, g_strdup(line));
    msg = json_tokener_parse(line);
    if (msg == NULL || !json_object_object_get_ex(msg, "execute", &execute)) {
        fail(server, "request is not a command: %s", line);
        json_object_put(msg);
        return FALSE;
    }
    g_clear_pointer(&server->last_id, json_object_put);
    if (json_object_object_get_ex(msg, "id", &server->last_id)) {
        json_object_get(server->last_id);
    }
    if (command != NULL && g_strcmp0(json_object_get_string(execute), command) != 0) {
        fail(server, "expected '%s', got '%s'", command, line);
        json_object_put(msg);
        return FALSE;
    }
    json_object_put(msg);
    return TRUE;
}

static gboolean run_step(FakeQmpServer *server, Step *step)
{
    gsize len = 0;
    const char *data = step->data ? g_bytes_get_data(step->data, &len) : NULL;

    switch (step->type) {
    case STEP_SEND:
        return output(server, data, len);
    case STEP_REPLY:
        return send_reply(server, step->data);
    case STEP_EXPECT:
        return expect_request(server, step->command);
    case STEP_SLEEP:
        return flush_pending(server) && (g_usleep(step->ms * 1000), TRUE);
    case STEP_HANGUP:
        flush_pending(server);
        close(server->fd);
        server->fd = -1;
        return FALSE;
    }
    return FALSE;
}

/* Waits until the client closes, so it never sees an EOF we did not script. */
static void wait_for_client_close(FakeQmpServer *server)
{
    char buf[4096];

    while (server->fd >= 0 && wait_fd(server->fd, POLLIN)) {
        ssize_t n = read(server->fd, buf, sizeof(buf));

        if (n <= 0) {
            break;
        }
        g_ptr_array_add(server->requests, g_strndup(buf, n));
    }
}

static gpointer run(gpointer data)
{
    FakeQmpServer *server = data;

    if (!wait_fd(server->listen_fd, POLLIN)) {
        fail(server, "no client connected");
        return NULL;
    }
    server->fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (server->fd < 0) {
        fail(server, "accept: %s", g_strerror(errno));
        return NULL;
    }
    for (guint i = 0; i < server->steps->len; i++) {
        if (!run_step(server, server->steps->pdata[i])) {
            return NULL;
        }
    }
    if (flush_pending(server)) {
        wait_for_client_close(server);
    }
    return NULL;
}

void fake_qmp_server_start(FakeQmpServer *server)
{
    server->thread = g_thread_new("fake-qmp-server", run, server);
}

char *fake_qmp_server_join(FakeQmpServer *server)
{
    if (server->thread != NULL) {
        g_thread_join(g_steal_pointer(&server->thread));
    }
    if (server->fd >= 0) {
        close(server->fd);
        server->fd = -1;
    }
    return server->failures->len ? g_strdup(server->failures->str) : NULL;
}

GPtrArray *fake_qmp_server_get_requests(FakeQmpServer *server)
{
    return server->requests;
}

guint fake_qmp_server_get_pipelined(FakeQmpServer *server)
{
    return server->pipelined;
}
