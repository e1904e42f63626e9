/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics responder (fpbd-metrics-http.h). One Client per connection:
 * read until the blank line that ends the headers (a GET has no body, and
 * closing with request bytes unread would make the kernel reset the
 * connection under the reply), answer, close. Every step is a GIO async
 * call with the client's cancellable, which the timeout and the
 * responder's end cancel; the callback of the cancelled step frees the
 * client.
 */
#define G_LOG_DOMAIN "fpbd"

#include <gio/gio.h>
#include <string.h>

#include "fpbd-metrics-http.h"

struct _FpbdMetricsHttp {
    GSocketService *service;
    guint port;
    char *content_type;
    FpbdMetricsHttpBody body;
    gpointer data;
    GHashTable *clients; /* (element-type Client) the connections being served */
};

typedef struct {
    FpbdMetricsHttp *http; /* NULL once the responder is gone */
    GSocketConnection *conn;
    GCancellable *cancel;
    guint timeout_id;
    char buf[FPBD_METRICS_HTTP_MAX_REQUEST + 1];
    gsize len;
    char *reply;
    gsize reply_len;
} Client;

static void client_free(Client *c)
{
    if (c->timeout_id != 0) {
        g_source_remove(c->timeout_id);
    }
    if (c->http != NULL) {
        g_hash_table_remove(c->http->clients, c);
    }
    /* a socket's close does not block (no SO_LINGER) */
    g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
    g_object_unref(c->conn);
    g_object_unref(c->cancel);
    g_free(c->reply);
    g_free(c);
}

static gboolean on_timeout(gpointer data)
{
    Client *c = data;

    c->timeout_id = 0;
    g_debug("metrics: a client took more than %d s, disconnecting",
            FPBD_METRICS_HTTP_TIMEOUT_SECONDS);
    g_cancellable_cancel(c->cancel);
    return G_SOURCE_REMOVE;
}

static void on_written(GObject *stream, GAsyncResult *res, gpointer data)
{
    Client *c = data;
    g_autoptr(GError) error = NULL;

    if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(stream), res, NULL, &error)) {
        g_debug("metrics: writing the reply: %s", error->message);
    }
    client_free(c);
}

static void send_reply(Client *c, guint status, const char *reason, const char *type,
                       const char *extra_header, char *owned_body)
{
    g_autofree char *body = owned_body;
    gsize len = strlen(body);

    c->reply =
        g_strdup_printf("HTTP/1.0 %u %s\r\nContent-Type: %s\r\nContent-Length: %" G_GSIZE_FORMAT
                        "\r\nConnection: close\r\n%s\r\n%s",
                        status, reason, type, len, extra_header ? extra_header : "", body);
    c->reply_len = strlen(c->reply);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(c->conn)), c->reply,
                                    c->reply_len, G_PRIORITY_DEFAULT, c->cancel, on_written, c);
}

static void send_error(Client *c, guint status, const char *reason, const char *extra_header)
{
    send_reply(c, status, reason, "text/plain; charset=utf-8", extra_header,
               g_strdup_printf("%u %s\n", status, reason));
}

static void send_metrics(Client *c)
{
    g_autoptr(GError) error = NULL;
    char *body = c->http->body(c->http->data, &error);

    if (body == NULL) {
        g_warning("metrics: %s, answering 500", error->message);
        send_error(c, 500, "Internal Server Error", NULL);
        return;
    }
    send_reply(c, 200, "OK", c->http->content_type, NULL, body);
}

/* The request line of the complete request in c->buf: METHOD TARGET
 * HTTP/x.y; the query string of the target is ignored. */
static void answer(Client *c)
{
    gsize n = strcspn(c->buf, "\r\n");
    g_autofree char *line = g_strndup(c->buf, n);
    g_auto(GStrv) words = g_strsplit(line, " ", -1);
    g_autofree char *path = NULL;

    if (n == 0 || memchr(c->buf, '\0', c->len) != NULL || g_strv_length(words) != 3 ||
        !g_str_has_prefix(words[2], "HTTP/") || words[1][0] != '/') {
        send_error(c, 400, "Bad Request", NULL);
        return;
    }
    path = g_strndup(words[1], strcspn(words[1], "?"));
    if (!g_str_equal(words[0], "GET")) {
        send_error(c, 405, "Method Not Allowed", "Allow: GET\r\n");
    } else if (!g_str_equal(path, "/metrics")) {
        send_error(c, 404, "Not Found", NULL);
    } else {
        send_metrics(c);
    }
}

/* The blank line after the headers (CRLF CRLF, or LF LF from a lax client). */
static gboolean complete(const Client *c)
{
    for (gsize i = 0; i + 1 < c->len; i++) {
        if (c->buf[i] == '\n' &&
            (c->buf[i + 1] == '\n' ||
             (i + 2 < c->len && c->buf[i + 1] == '\r' && c->buf[i + 2] == '\n'))) {
            return TRUE;
        }
    }
    return FALSE;
}

static void read_more(Client *c);

static void on_read(GObject *stream, GAsyncResult *res, gpointer data)
{
    Client *c = data;
    g_autoptr(GError) error = NULL;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(stream), res, &error);

    if (n <= 0 || c->http == NULL) {
        g_debug("metrics: client gone before a complete request: %s",
                error ? error->message : "end of stream");
        client_free(c);
        return;
    }
    c->len += (gsize)n;
    c->buf[c->len] = '\0';
    if (complete(c)) {
        answer(c);
    } else if (c->len == FPBD_METRICS_HTTP_MAX_REQUEST) {
        send_error(c, 431, "Request Header Fields Too Large", NULL);
    } else {
        read_more(c);
    }
}

static void read_more(Client *c)
{
    g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(c->conn)), c->buf + c->len,
                              FPBD_METRICS_HTTP_MAX_REQUEST - c->len, G_PRIORITY_DEFAULT, c->cancel,
                              on_read, c);
}

static gboolean on_incoming(GSocketService *service G_GNUC_UNUSED, GSocketConnection *conn,
                            GObject *source G_GNUC_UNUSED, gpointer data)
{
    FpbdMetricsHttp *http = data;
    Client *c;

    if (g_hash_table_size(http->clients) >= FPBD_METRICS_HTTP_MAX_CLIENTS) {
        g_debug("metrics: %d clients already, disconnecting one more",
                FPBD_METRICS_HTTP_MAX_CLIENTS);
        g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        return TRUE;
    }
    c = g_new0(Client, 1);
    c->http = http;
    c->conn = g_object_ref(conn);
    c->cancel = g_cancellable_new();
    c->timeout_id = g_timeout_add_seconds(FPBD_METRICS_HTTP_TIMEOUT_SECONDS, on_timeout, c);
    g_hash_table_add(http->clients, c);
    read_more(c);
    return TRUE;
}

FpbdMetricsHttp *fpbd_metrics_http_new(const char *host, guint port, const char *content_type,
                                       FpbdMetricsHttpBody body, gpointer data, GError **error)
{
    g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host);
    g_autoptr(GSocketAddress) where = NULL;
    g_autoptr(GSocketAddress) effective = NULL;
    g_autoptr(GError) local = NULL;
    FpbdMetricsHttp *http;

    if (addr == NULL || port > 65535) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "metrics: '%s' port %u is not an IP address and port", host, port);
        return NULL;
    }
    where = g_inet_socket_address_new(addr, (guint16)port);
    http = g_new0(FpbdMetricsHttp, 1);
    http->service = g_socket_service_new();
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(http->service), where,
                                       G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                       &effective, &local)) {
        g_set_error(error, G_IO_ERROR, local->code, "metrics: cannot listen on '%s' port %u: %s",
                    host, port, local->message);
        g_object_unref(http->service);
        g_free(http);
        return NULL;
    }
    http->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
    http->content_type = g_strdup(content_type);
    http->body = body;
    http->data = data;
    http->clients = g_hash_table_new(NULL, NULL);
    g_signal_connect(http->service, "incoming", G_CALLBACK(on_incoming), http);
    g_socket_service_start(http->service);
    return http;
}

guint fpbd_metrics_http_port(FpbdMetricsHttp *http)
{
    return http->port;
}

void fpbd_metrics_http_free(FpbdMetricsHttp *http)
{
    GHashTableIter it;
    gpointer key;

    if (http == NULL) {
        return;
    }
    g_socket_service_stop(http->service);
    g_socket_listener_close(G_SOCKET_LISTENER(http->service));
    g_signal_handlers_disconnect_by_data(http->service, http);
    g_object_unref(http->service);
    /* Each client goes in the callback of its cancelled step. */
    g_hash_table_iter_init(&it, http->clients);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        Client *c = key;

        c->http = NULL;
        if (c->timeout_id != 0) {
            g_source_remove(c->timeout_id);
            c->timeout_id = 0;
        }
        g_cancellable_cancel(c->cancel);
    }
    g_hash_table_unref(http->clients);
    g_free(http->content_type);
    g_free(http);
}
