/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics responder (host-plugin/fpbd/fpbd-metrics-http.h) on a free
 * loopback port: the answer to each kind of request, a request that
 * arrives in pieces, the size and connection limits, a body that cannot
 * be made. The responder runs in this thread's main loop; the client
 * runs in a thread of its own with plain blocking sockets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fpbd-metrics-http.h"

#define BODY "fpb_journal_rows 0\n"

typedef struct {
    guint port;
    gboolean fail_body;
    guint bodies;
    GMainLoop *loop;
    GThreadFunc client;
} Fixture;

static char *make_body(gpointer data, GError **error)
{
    Fixture *f = data;

    f->bodies++;
    if (f->fail_body) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "journal 'x': disk on fire");
        return NULL;
    }
    return g_strdup(BODY);
}

static int connect_to(Fixture *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    return fd;
}

static void send_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        g_assert_cmpint(n, >, 0);
        data += n;
        len -= (gsize)n;
    }
}

/* Everything until the server closes. (transfer full) */
static char *read_all(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(s, buf, n);
    }
    close(fd);
    return g_string_free(s, FALSE);
}

static char *request_len(Fixture *f, const char *text, gsize len)
{
    int fd = connect_to(f);

    send_all(fd, text, len);
    return read_all(fd);
}

static char *request(Fixture *f, const char *text)
{
    return request_len(f, text, strlen(text));
}

static gpointer run_client(gpointer data)
{
    Fixture *f = data;

    f->client(f);
    g_main_loop_quit(f->loop);
    return NULL;
}

static void with_responder(GThreadFunc client, gboolean fail_body)
{
    g_autoptr(GError) error = NULL;
    Fixture f = {.fail_body = fail_body, .client = client};
    g_autoptr(FpbdMetricsHttp) http = fpbd_metrics_http_new(
        "127.0.0.1", 0, "text/plain; version=0.0.4; charset=utf-8", make_body, &f, &error);
    GThread *t;

    g_assert_no_error(error);
    g_assert_nonnull(http);
    f.port = fpbd_metrics_http_port(http);
    g_assert_cmpuint(f.port, >, 0);
    f.loop = g_main_loop_new(NULL, FALSE);
    t = g_thread_new("client", run_client, &f);
    g_main_loop_run(f.loop);
    g_thread_join(t);
    g_main_loop_unref(f.loop);
}

static gpointer client_answers(gpointer data)
{
    Fixture *f = data;
    g_autofree char *ok = request(f, "GET /metrics HTTP/1.0\r\n\r\n");
    g_autofree char *query =
        request(f, "GET /metrics?name[]=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
    g_autofree char *lf = request(f, "GET /metrics HTTP/1.0\n\n");
    g_autofree char *other = request(f, "GET /metrics/x HTTP/1.0\r\n\r\n");
    g_autofree char *post = request(f, "POST /metrics HTTP/1.0\r\n\r\n");
    g_autofree char *junk = request(f, "hello\r\n\r\n");
    const char with_nul[] = "GET /metr\0ics HTTP/1.0\r\n\r\n";
    g_autofree char *nul = request_len(f, with_nul, sizeof(with_nul) - 1);

    g_assert_cmpstr(ok, ==,
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                    "Content-Length: 19\r\nConnection: close\r\n\r\n" BODY);
    g_assert_true(g_str_has_prefix(query, "HTTP/1.0 200 OK\r\n"));
    g_assert_true(g_str_has_suffix(query, "\r\n\r\n" BODY));
    g_assert_true(g_str_has_prefix(lf, "HTTP/1.0 200 OK\r\n"));
    g_assert_true(g_str_has_prefix(other, "HTTP/1.0 404 Not Found\r\n"));
    g_assert_true(g_str_has_prefix(post, "HTTP/1.0 405 Method Not Allowed\r\n"));
    g_assert_nonnull(strstr(post, "\r\nAllow: GET\r\n"));
    g_assert_true(g_str_has_prefix(junk, "HTTP/1.0 400 Bad Request\r\n"));
    g_assert_true(g_str_has_prefix(nul, "HTTP/1.0 400 Bad Request\r\n"));
    g_assert_cmpuint(f->bodies, ==, 3);
    return NULL;
}

static void test_answers(void)
{
    with_responder(client_answers, FALSE);
}

/* A request in pieces, byte by byte, is one request. */
static gpointer client_pieces(gpointer data)
{
    Fixture *f = data;
    const char text[] = "GET /metrics HTTP/1.0\r\nUser-Agent: slow\r\n\r\n";
    int fd = connect_to(f);
    g_autofree char *reply = NULL;

    for (gsize i = 0; i < sizeof(text) - 1; i++) {
        send_all(fd, text + i, 1);
        g_usleep(1000);
    }
    reply = read_all(fd);
    g_assert_true(g_str_has_suffix(reply, "\r\n\r\n" BODY));
    return NULL;
}

static void test_pieces(void)
{
    with_responder(client_pieces, FALSE);
}

/* More than the request limit without the blank line: 431, nothing read
 * past the limit; the body is never made. */
static gpointer client_too_large(gpointer data)
{
    Fixture *f = data;
    g_autofree char *big = g_strnfill(FPBD_METRICS_HTTP_MAX_REQUEST, 'a');
    int fd = connect_to(f);
    g_autofree char *reply = NULL;

    send_all(fd, "GET /metrics HTTP/1.0\r\nX: ", 26);
    send_all(fd, big, FPBD_METRICS_HTTP_MAX_REQUEST - 26);
    reply = read_all(fd);
    g_assert_true(g_str_has_prefix(reply, "HTTP/1.0 431 Request Header Fields Too Large\r\n"));
    g_assert_cmpuint(f->bodies, ==, 0);
    return NULL;
}

static void test_too_large(void)
{
    with_responder(client_too_large, FALSE);
}

/* FPBD_METRICS_HTTP_MAX_CLIENTS idle connections: one more is closed at
 * once; when they go, requests are served again. */
static gpointer client_limit(gpointer data)
{
    Fixture *f = data;
    int idle[FPBD_METRICS_HTTP_MAX_CLIENTS];
    g_autofree char *refused = NULL;
    g_autofree char *again = NULL;

    for (int i = 0; i < FPBD_METRICS_HTTP_MAX_CLIENTS; i++) {
        idle[i] = connect_to(f);
        send_all(idle[i], "G", 1); /* accepted and being read */
    }
    g_usleep(200000);
    /* closed without a word */
    refused = read_all(connect_to(f));
    g_assert_cmpstr(refused, ==, "");
    for (int i = 0; i < FPBD_METRICS_HTTP_MAX_CLIENTS; i++) {
        close(idle[i]);
    }
    g_usleep(200000);
    again = request(f, "GET /metrics HTTP/1.0\r\n\r\n");
    g_assert_true(g_str_has_prefix(again, "HTTP/1.0 200 OK\r\n"));
    return NULL;
}

static void test_limit(void)
{
    with_responder(client_limit, FALSE);
}

static gpointer client_body_fails(gpointer data)
{
    Fixture *f = data;
    g_autofree char *reply = request(f, "GET /metrics HTTP/1.0\r\n\r\n");

    g_assert_true(g_str_has_prefix(reply, "HTTP/1.0 500 Internal Server Error\r\n"));
    return NULL;
}

static void test_body_fails(void)
{
    g_test_expect_message("fpbd", G_LOG_LEVEL_WARNING,
                          "metrics: journal 'x': disk on fire, answering 500");
    with_responder(client_body_fails, TRUE);
    g_test_assert_expected_messages();
}

/* A port in use, a bad address: the error says which. */
static void test_listen_errors(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbdMetricsHttp) a =
        fpbd_metrics_http_new("127.0.0.1", 0, "text/plain", make_body, NULL, &error);
    g_autoptr(FpbdMetricsHttp) b = NULL;
    g_autoptr(FpbdMetricsHttp) c = NULL;
    g_autofree char *want = NULL;

    g_assert_no_error(error);
    b = fpbd_metrics_http_new("127.0.0.1", fpbd_metrics_http_port(a), "text/plain", make_body, NULL,
                              &error);
    g_assert_null(b);
    want = g_strdup_printf("metrics: cannot listen on '127.0.0.1' port %u: ",
                           fpbd_metrics_http_port(a));
    g_assert_true(g_str_has_prefix(error->message, want));
    g_clear_error(&error);
    c = fpbd_metrics_http_new("localhost", 9723, "text/plain", make_body, NULL, &error);
    g_assert_null(c);
    g_assert_cmpstr(error->message, ==,
                    "metrics: 'localhost' port 9723 is not an IP address and port");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/metrics-http/answers", test_answers);
    g_test_add_func("/fpbd/metrics-http/pieces", test_pieces);
    g_test_add_func("/fpbd/metrics-http/too-large", test_too_large);
    g_test_add_func("/fpbd/metrics-http/client-limit", test_limit);
    g_test_add_func("/fpbd/metrics-http/body-fails", test_body_fails);
    g_test_add_func("/fpbd/metrics-http/listen-errors", test_listen_errors);
    return g_test_run();
}
