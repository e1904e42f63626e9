/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Round-trip latency of query-status on a real QEMU: the fpb client (raw
 * execute and the typed helper) next to a raw blocking socket sending the
 * same bytes (the floor for any client; the difference is the client's own
 * cost), a raw socket sending no id at all (what the id costs), and socat,
 * both as a persistent relay and as one process per command (what a shell
 * script, or `virsh qemu-monitor-command`, pays). Not a test: prints numbers
 * and the load average before and after.
 *
 * Usage: bench-qmp-latency [--socket PATH] [--count N] [--rounds R] [--running]
 * Without --socket it starts its own QEMU (TCG, 128 MiB) and kills it after;
 * paused (-S) unless --running. The methods take turns in R rounds so that
 * load from other users hits them alike. See docs/qmp-client.md, "Latency",
 * for where the time goes (mostly QEMU reading the request byte by byte).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fpb-qmp.h"
#include "qmp-test-util.h"

#define WARMUP 200
#define ONESHOT_COUNT 200

static gint64 now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a;
    gint64 y = *(const gint64 *)b;

    return (x > y) - (x < y);
}

static void report(const char *what, GArray *ns)
{
    double sum = 0;

    g_array_sort(ns, cmp_i64);
    for (guint i = 0; i < ns->len; i++) {
        sum += (double)g_array_index(ns, gint64, i);
    }
    printf("%-36s %7u %10.1f %10.1f %10.1f %10.1f\n", what, ns->len,
           g_array_index(ns, gint64, ns->len / 2) / 1000.0,
           g_array_index(ns, gint64, (ns->len * 99) / 100) / 1000.0, sum / ns->len / 1000.0,
           g_array_index(ns, gint64, 0) / 1000.0);
}

static void bench_client(const char *socket, guint count, gboolean typed, GArray *ns)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpClient) client = fpb_qmp_client_connect(socket, 10000, &error);

    if (client == NULL) {
        g_error("%s", error->message);
    }
    for (guint i = 0; i < WARMUP + count; i++) {
        gint64 start = now_ns();
        gint64 elapsed;

        if (typed) {
            g_autoptr(FpbQmpStatus) status = fpb_qmp_query_status(client, &error);

            if (status == NULL) {
                g_error("%s", error->message);
            }
        } else {
            g_autoptr(json_object) value =
                fpb_qmp_client_execute(client, "query-status", NULL, 10000, &error);

            if (value == NULL) {
                g_error("%s", error->message);
            }
        }
        elapsed = now_ns() - start;
        if (i >= WARMUP) {
            g_array_append_val(ns, elapsed);
        }
    }
}

/* Reads up to and including a newline from @fd into @buf. */
static void read_line(int fd, GString *buf)
{
    char c;

    g_string_truncate(buf, 0);
    for (;;) {
        ssize_t n = read(fd, &c, 1);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_error("socat closed its output");
        }
        g_string_append_c(buf, c);
        if (c == '\n') {
            return;
        }
    }
}

static void write_str(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
        g_error("write: %s", g_strerror(errno));
    }
}

#define NO_ID_REQUEST "{\"execute\":\"query-status\"}\n"

/* What fpb_qmp_client_execute() sends for query-status as its @id-th command. */
static char *request_line(guint id)
{
    return g_strdup_printf("{\"execute\":\"query-status\",\"id\":%u}\n", id);
}

/* Reads from @fd into @buf until it ends with a newline. */
static void raw_read_reply(int fd, char *buf, gsize size)
{
    gsize have = 0;

    for (;;) {
        ssize_t n = read(fd, buf + have, size - have);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_error("raw socket: QEMU closed the connection");
        }
        have += (gsize)n;
        if (buf[have - 1] == '\n') {
            return;
        }
        if (have == size) {
            g_error("raw socket: reply longer than %" G_GSIZE_FORMAT " bytes", size);
        }
    }
}

/* The floor for any client: a blocking UNIX socket, one write() and one
 * read() per command, no JSON parsing, no allocation, the same bytes as the
 * client sends (or, @with_id FALSE, no id at all). The difference to
 * bench_client is the client's own cost. */
static void bench_raw_socket(const char *socket_path, guint count, gboolean with_id, GArray *ns)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    const char *caps = "{\"execute\":\"qmp_capabilities\",\"id\":1}\n";
    char buf[4096];
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(addr.sun_path, socket_path, sizeof(addr.sun_path));
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        g_error("raw socket: cannot connect to '%s': %s", socket_path, g_strerror(errno));
    }
    raw_read_reply(fd, buf, sizeof(buf)); /* greeting */
    write_str(fd, caps);
    raw_read_reply(fd, buf, sizeof(buf));
    for (guint i = 0; i < WARMUP + count; i++) {
        g_autofree char *cmd = with_id ? request_line(i + 2) : g_strdup(NO_ID_REQUEST);
        gint64 start = now_ns();
        gint64 elapsed;

        write_str(fd, cmd);
        raw_read_reply(fd, buf, sizeof(buf));
        elapsed = now_ns() - start;
        if (i >= WARMUP) {
            g_array_append_val(ns, elapsed);
        }
    }
    close(fd);
}

/* One socat process relaying many commands. */
static void bench_socat_relay(const char *socket, guint count, GArray *ns)
{
    g_autofree char *target = g_strdup_printf("UNIX-CONNECT:%s", socket);
    const char *argv[] = {"socat", "-", target, NULL};
    g_autoptr(GString) line = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    int in_fd;
    int out_fd;
    GPid pid;

    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                  &in_fd, &out_fd, NULL, &error)) {
        g_error("%s", error->message);
    }
    read_line(out_fd, line); /* greeting */
    write_str(in_fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
    read_line(out_fd, line);
    for (guint i = 0; i < WARMUP + count; i++) {
        g_autofree char *cmd = request_line(i + 2);
        gint64 start = now_ns();
        gint64 elapsed;

        write_str(in_fd, cmd);
        read_line(out_fd, line);
        elapsed = now_ns() - start;
        if (i >= WARMUP) {
            g_array_append_val(ns, elapsed);
        }
    }
    close(in_fd);
    close(out_fd);
    qmp_test_qemu_kill(pid); /* reaps socat, whatever it is doing */
}

/* One socat process per command, handshake included. */
static void bench_socat_oneshot(const char *socket, guint count, GArray *ns)
{
    g_autofree char *cmd =
        g_strdup_printf("printf '%%s\\n' '{\"execute\": \"qmp_capabilities\"}' "
                        "'{\"execute\": \"query-status\"}' | socat -t 2 - UNIX-CONNECT:%s | "
                        "grep -q '\"status\"'",
                        socket);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

    for (guint i = 0; i < count; i++) {
        g_autoptr(GError) error = NULL;
        gint64 start = now_ns();
        gint64 elapsed;
        int status = 0;

        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                          &status, &error) ||
            !g_spawn_check_wait_status(status, &error)) {
            g_error("socat one-shot: %s", error ? error->message : "failed");
        }
        elapsed = now_ns() - start;
        g_array_append_val(ns, elapsed);
    }
}

static const char *const method_names[] = {
    "raw socket, no id (26 bytes)", "raw socket, same bytes as fpb",
    "fpb_qmp_client_execute",       "fpb_qmp_query_status (typed)",
    "socat relay (one process)",    "socat per command (+handshake)",
};

/* Each round runs every method for a share of the calls, so a load that
 * comes and goes (other users boot guests) hits every method alike. */
static void run_round(const char *socket, guint count, GArray **results)
{
    bench_raw_socket(socket, count, FALSE, results[0]);
    bench_raw_socket(socket, count, TRUE, results[1]);
    bench_client(socket, count, FALSE, results[2]);
    bench_client(socket, count, TRUE, results[3]);
    bench_socat_relay(socket, count, results[4]);
    bench_socat_oneshot(socket, MAX(count / 50, 4), results[5]);
}

static char *load_average(void)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;

    if (!g_file_get_contents("/proc/loadavg", &text, NULL, NULL)) {
        return g_strdup("?");
    }
    fields = g_strsplit(text, " ", 4);
    return g_strv_length(fields) >= 3 ? g_strjoin(" ", fields[0], fields[1], fields[2], NULL)
                                      : g_strdup("?");
}

int main(int argc, char **argv)
{
    g_autofree char *socket = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *load_before = NULL;
    g_autofree char *load_after = NULL;
    gint count = 10000;
    gint rounds = 5;
    gboolean running = FALSE;
    const char *paused_args[] = {"-S", NULL};
    GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &socket, "QMP socket of a running QEMU", "PATH"},
        {"count", 'n', 0, G_OPTION_ARG_INT, &count, "round trips per method (10000)", "N"},
        {"rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "interleaved rounds (5)", "N"},
        {"running", 'r', 0, G_OPTION_ARG_NONE, &running, "let the started QEMU run", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- QMP round-trip latency");
    g_autoptr(GError) error = NULL;
    GPid pid = 0;
    GArray *results[G_N_ELEMENTS(method_names)];

    g_option_context_add_main_entries(options, entries, NULL);
    if (!g_option_context_parse(options, &argc, &argv, &error) || count < 100 || rounds < 1 ||
        count / rounds < 100) {
        fprintf(stderr, "%s\n",
                error ? error->message : "--count must be >= 100 per round (--rounds)");
        return 2;
    }
    if (socket == NULL) {
        dir = qmp_test_tmpdir_new();
        pid = qmp_test_qemu_start(dir, "bench", running ? NULL : paused_args, &socket, &error);
        if (pid == 0) {
            fprintf(stderr, "cannot start QEMU: %s\n", error ? error->message : "not found");
            return 1;
        }
    }
    for (gsize m = 0; m < G_N_ELEMENTS(results); m++) {
        results[m] = g_array_sized_new(FALSE, FALSE, sizeof(gint64), count);
    }
    load_before = load_average();
    for (gint r = 0; r < rounds; r++) {
        run_round(socket, count / rounds, results);
    }
    load_after = load_average();
    printf("query-status round trip, microseconds (QEMU %s%s)\n", socket,
           pid == 0  ? ""
           : running ? ", running"
                     : ", paused with -S");
    printf("load average before: %s, after: %s; %d interleaved rounds\n", load_before, load_after,
           rounds);
    printf("%-36s %7s %10s %10s %10s %10s\n", "method", "calls", "median", "p99", "mean", "min");
    for (gsize m = 0; m < G_N_ELEMENTS(results); m++) {
        report(method_names[m], results[m]);
        g_array_unref(results[m]);
    }
    qmp_test_qemu_kill(pid);
    if (dir != NULL) {
        qmp_test_tmpdir_remove(dir);
    }
    return 0;
}
