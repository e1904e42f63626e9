/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the QMP client's state machine (fpb-qmp-client.c)
 * against bytes a QEMU might send. The fuzzer's bytes are the server's
 * side of a real UNIX socket connection (the client connects by path
 * only: one listening socket per process, one connection per input),
 * written in chunks while the client's main context runs: greeting,
 * qmp_capabilities, commands in flight, replies by id or without one,
 * late replies of abandoned commands, events before and after a handler
 * is set, handlers that run commands (blocking ones too, re-entering the
 * reader) or free the client, EOF and garbage. fuzz-qmp-stream covers
 * the parsers of each message; this target the order of things. Beyond
 * no crash, leak, hang or sanitizer report:
 *   - the connect callback runs once; every asynchronous command's
 *     callback runs exactly once, with a value or an FPB_QMP_ERROR (or
 *     G_IO_ERROR_CANCELLED), and the commands not cancelled complete in
 *     the order they were sent;
 *   - after EOF a client is broken.
 * Nothing waits for the server: every byte a call can see is written
 * before the call (one thread), so a run is deterministic; a blocking call
 * whose reply is not there times out after 1 ms (its late reply, if it
 * comes, is dropped).
 *
 * Input: byte 0: the write size (bits 0-5, 1..64 bytes), bit 6 blocking
 * calls after the handshake, bit 7 frees the client before EOF; byte 1:
 * bit 0 an event handler from the start, bit 1 one set after the run
 * (events held until then are delivered from inside the call), bits 2-4
 * asynchronous commands sent once connected, bit 5 cancels the first,
 * bit 6 the handler sends a command on the first event (a blocking one
 * in the blocking part), bit 7 it frees the client on the second; byte
 * 2: the blocking calls to make, one bit each. The rest is the stream,
 * in segments split at 0xff: the first is written before any blocking
 * call, each blocking call gets the next one written just before it,
 * what is left is written after them. See run-fuzz.sh.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fpb-qmp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_COMMANDS 64
/* A blocking call's wait for a reply that is not written yet. */
#define BLOCKING_TIMEOUT_MS 1
#define SEGMENT_END 0xff

static char *dir;
static char *path;
static int listen_fd = -1;
static GMainContext *context;

typedef struct {
    guint8 chunk;
    gboolean blocking;
    gboolean free_first;
    gboolean handler_early;
    gboolean handler_late;
    guint n_async;
    gboolean cancel_first;
    gboolean handler_sends;
    gboolean handler_frees;
    guint8 helpers;
} Plan;

typedef struct {
    Plan plan;
    int server;
    FpbQmpClient *client;
    gboolean connect_done;
    gboolean in_blocking; /* inside the blocking part */
    guint sent;           /* asynchronous commands */
    guint done;
    guint order[MAX_COMMANDS];
    GCancellable *cancel;
    guint cancelled; /* the index of the command given @cancel; G_MAXUINT: none */
    guint events;
} Run;

typedef struct {
    Run *run;
    guint index;
} Pending;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-qmp-client: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void cleanup(void)
{
    if (listen_fd >= 0) {
        close(listen_fd);
    }
    if (path != NULL) {
        unlink(path);
    }
    if (dir != NULL) {
        rmdir(dir);
    }
}

int LLVMFuzzerInitialize(int *argc G_GNUC_UNUSED, char ***argv G_GNUC_UNUSED)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    dir = g_dir_make_tmp("fuzz-qmp-client-XXXXXX", NULL);
    path = dir ? g_build_filename(dir, "qmp.sock", NULL) : NULL;
    if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
        fail("no socket path", path);
    }
    strcpy(sa.sun_path, path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(listen_fd, 4) < 0) {
        fail("cannot listen", g_strerror(errno));
    }
    atexit(cleanup);
    context = g_main_context_new();
    g_main_context_push_thread_default(context);
    return 0;
}

static void plan_read(Plan *p, const uint8_t *h)
{
    p->chunk = (guint8)(h[0] % 64 + 1);
    p->blocking = (h[0] & 0x40) != 0;
    p->free_first = (h[0] & 0x80) != 0;
    p->handler_early = (h[1] & 0x01) != 0;
    p->handler_late = (h[1] & 0x02) != 0;
    p->n_async = (h[1] >> 2) & 0x07;
    p->cancel_first = (h[1] & 0x20) != 0;
    p->handler_sends = (h[1] & 0x40) != 0;
    p->handler_frees = (h[1] & 0x80) != 0;
    p->helpers = h[2];
}

static void drain(void)
{
    while (g_main_context_iteration(context, FALSE)) {
    }
}

static void on_reply(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
    Pending *p = data;
    Run *r = p->run;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = fpb_qmp_client_execute_finish(result, &error);

    if ((value == NULL) == (error == NULL) ||
        (error != NULL && error->domain != FPB_QMP_ERROR &&
         !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))) {
        fail("a command completed with neither or both of a value and an FPB_QMP_ERROR",
             error ? error->message : NULL);
    }
    if (r->done >= r->sent) {
        fail("more completions than commands", NULL);
    }
    r->order[r->done++] = p->index;
    g_free(p);
}

static void send_async(Run *r, const char *command, GCancellable *cancel)
{
    Pending *p = g_new0(Pending, 1);

    if (r->sent >= MAX_COMMANDS) {
        g_free(p);
        return;
    }
    p->run = r;
    p->index = r->sent++;
    if (cancel != NULL) {
        r->cancelled = p->index;
    }
    fpb_qmp_client_execute_async(r->client, command, NULL, 0, cancel, on_reply, p);
}

static void on_event(FpbQmpClient *client, const char *event, json_object *data G_GNUC_UNUSED,
                     gint64 timestamp_us G_GNUC_UNUSED, gpointer user_data)
{
    Run *r = user_data;

    if (event == NULL || client != r->client) {
        fail("an event without a name, or for another client", event);
    }
    r->events++;
    if (r->events == 1 && r->plan.handler_sends) {
        if (r->in_blocking) {
            json_object_put(
                fpb_qmp_client_execute(client, "query-status", NULL, BLOCKING_TIMEOUT_MS, NULL));
        } else {
            send_async(r, "query-status", NULL);
        }
    }
    if (r->events == 2 && r->plan.handler_frees) {
        r->client = NULL;
        fpb_qmp_client_free(client);
    }
}

static void set_handler(Run *r)
{
    if (r->client != NULL) {
        fpb_qmp_client_set_event_handler(r->client, on_event, r, NULL);
    }
}

static void on_connected(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
    Run *r = data;
    g_autoptr(GError) error = NULL;

    if (r->connect_done) {
        fail("the connect callback ran twice", NULL);
    }
    r->connect_done = TRUE;
    r->client = fpb_qmp_client_connect_finish(result, &error);
    if ((r->client == NULL) == (error == NULL)) {
        fail("connect gave neither or both of a client and an error", NULL);
    }
    if (r->client == NULL) {
        return;
    }
    if (r->plan.handler_early) {
        set_handler(r);
    }
    for (guint i = 0; i < r->plan.n_async && r->client != NULL; i++) {
        send_async(r, i % 2 ? "query-balloon" : "query-status",
                   i == 0 && r->plan.cancel_first ? r->cancel : NULL);
    }
    if (r->plan.cancel_first) {
        g_cancellable_cancel(r->cancel);
    }
}

/* Writes what the socket takes now; FALSE once it takes no more. */
static gboolean server_write(Run *r, const uint8_t *data, size_t n)
{
    while (n > 0) {
        ssize_t w = send(r->server, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w <= 0) {
            return FALSE; /* the client does not read: the rest is lost */
        }
        data += w;
        n -= (size_t)w;
    }
    return TRUE;
}

/* The next segment of @data (advanced past it and its end mark). */
static size_t next_segment(const uint8_t **data, size_t *size)
{
    const uint8_t *end = memchr(*data, SEGMENT_END, *size);
    size_t n = end ? (size_t)(end - *data) : *size;

    *data += n;
    *size -= n;
    if (end != NULL) {
        (*data)++;
        (*size)--;
    }
    return n;
}

/* Writes @n bytes in the plan's chunks, running the client after each. */
static void feed(Run *r, const uint8_t *data, size_t n)
{
    while (n > 0) {
        size_t c = MIN(n, r->plan.chunk);

        if (!server_write(r, data, c)) {
            return;
        }
        data += c;
        n -= c;
        drain();
    }
}

static void run_helper(Run *r, guint i)
{
    g_autoptr(GError) error = NULL;
    guint64 actual = 0;
    FpbQmpHintsSupport support;
    g_autofree char *name = NULL;

    switch (i) {
    case 0:
        json_object_put(
            fpb_qmp_client_execute(r->client, "query-status", NULL, BLOCKING_TIMEOUT_MS, &error));
        break;
    case 1:
        fpb_qmp_status_free(fpb_qmp_query_status(r->client, &error));
        break;
    case 2:
        fpb_qmp_query_balloon(r->client, &actual, &error);
        break;
    case 3:
        fpb_qmp_migration_info_free(fpb_qmp_query_migrate(r->client, &error));
        break;
    case 4:
        fpb_qmp_hints_query_support(r->client, &support, &error);
        break;
    case 5:
        fpb_qmp_query_name(r->client, &name, &error);
        break;
    case 6:
        fpb_qmp_guest_driver_free(
            fpb_qmp_query_guest_driver(r->client, "/machine/peripheral/balloon0", &error));
        break;
    default:
        fpb_qmp_client_wait_event(r->client, BLOCKING_TIMEOUT_MS);
        break;
    }
}

/* The blocking calls byte 2 picks, in order, each after its segment,
 * until the client is gone. */
static void run_blocking(Run *r, const uint8_t **data, size_t *size)
{
    r->in_blocking = TRUE;
    if (r->client != NULL) {
        fpb_qmp_client_set_default_timeout(r->client, BLOCKING_TIMEOUT_MS);
    }
    for (guint i = 0; i < 8 && r->client != NULL; i++) {
        const uint8_t *segment = *data;
        size_t n;

        if (!(r->plan.helpers & (1u << i))) {
            continue;
        }
        n = next_segment(data, size);
        server_write(r, segment, n);
        run_helper(r, i);
    }
    r->in_blocking = FALSE;
}

static void fail_order(const Run *r)
{
    g_autoptr(GString) seen = g_string_new("completion order:");

    for (guint j = 0; j < r->done; j++) {
        g_string_append_printf(seen, " %u", r->order[j]);
    }
    fail("commands completed out of order", seen->str);
}

static void check_end(Run *r)
{
    guint last = 0;
    gboolean any = FALSE;

    /* The cancelled one completes when its cancellation is seen, not in
     * order; it is not always the first sent (a handler may send first). */
    for (guint i = 0; i < r->done; i++) {
        if (r->order[i] == r->cancelled) {
            continue;
        }
        if (any && r->order[i] < last) {
            fail_order(r);
        }
        last = r->order[i];
        any = TRUE;
    }
    if (!r->connect_done || r->done != r->sent) {
        fail("a callback never ran", !r->connect_done ? "connect" : "command");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Run r = {.server = -1, .cancelled = G_MAXUINT};
    int fd;

    if (size < 3) {
        return 0;
    }
    plan_read(&r.plan, data);
    r.cancel = g_cancellable_new();
    fpb_qmp_client_connect_async(path, 0, NULL, on_connected, &r);
    /* a UNIX connect is complete (or failed): accept does not wait */
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        fail("accept", g_strerror(errno));
    }
    r.server = fd;
    data += 3;
    size -= 3;
    drain();
    {
        const uint8_t *first = data;
        size_t n = next_segment(&data, &size);

        feed(&r, first, n);
    }
    if (r.plan.blocking) {
        run_blocking(&r, &data, &size);
    }
    while (size > 0) {
        const uint8_t *segment = data;
        size_t n = next_segment(&data, &size);

        feed(&r, segment, n);
    }
    if (r.plan.free_first && r.client != NULL) {
        fpb_qmp_client_free(g_steal_pointer(&r.client));
    }
    shutdown(r.server, SHUT_WR);
    drain();
    if (r.client != NULL && !fpb_qmp_client_is_broken(r.client)) {
        fail("a client is not broken after EOF", NULL);
    }
    if (r.plan.handler_late) {
        set_handler(&r);
    }
    fpb_qmp_client_free(g_steal_pointer(&r.client));
    drain();
    check_end(&r);
    close(r.server);
    g_object_unref(r.cancel);
    return 0;
}
