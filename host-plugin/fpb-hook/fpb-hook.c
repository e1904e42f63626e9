/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-hook: libvirt's QEMU hook, installed as /etc/libvirt/hooks/qemu.d/fpb
 * (fpb-hook(8), docs/libvirt.md "The hook"). libvirt runs it as
 *   fpb DOMAIN OPERATION SUBOPERATION EXTRA   (domain XML on stdin)
 * It tells fpbd about the event over the control socket and exits 0, always
 * and within 1 s: it never calls the libvirt API (libvirt forbids it from a
 * hook: deadlock), never fails the VM operation, and never writes to stdout
 * (for some operations libvirt would take stdout as a replacement domain
 * XML). One line goes to syslog (and stderr, which libvirt logs).
 *
 * Optional leading options, for a wrapper script: --socket PATH (default:
 * fpbd.conf's socket), --config FILE (default /etc/fpb/fpbd.conf).
 */
#define G_LOG_DOMAIN "fpb-hook"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "fpb-conf-daemon.h"

#define BUDGET_MS 700 /* libvirt waits for us: stay under 1 s */
#define MAX_STDIN (16 * 1024 * 1024)

static gint64 deadline_us;

static int remaining_ms(void)
{
    gint64 left = deadline_us - g_get_monotonic_time();

    return left > 0 ? (int)(left / 1000) : 0;
}

/* Reads (and drops) the domain XML so libvirt's writer never blocks. */
static void drain_stdin(void)
{
    char buf[65536];
    gsize total = 0;
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

    while (total < MAX_STDIN && poll(&p, 1, remaining_ms()) > 0) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

        if (n <= 0) {
            return;
        }
        total += (gsize)n;
    }
}

/* -errno on failure. */
static int connect_bounded(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct pollfd p;
    int fd;
    int err = 0;
    socklen_t len = sizeof(err);

    if (strlen(path) >= sizeof(addr.sun_path)) {
        return -ENAMETOOLONG;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        return fd;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        err = errno;
        close(fd);
        return -err;
    }
    p = (struct pollfd){.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, remaining_ms()) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
        err != 0) {
        close(fd);
        return -(err ? err : ETIMEDOUT);
    }
    return fd;
}

/* Sends @line and waits for one reply line. -errno on failure. */
static int exchange(int fd, const char *line, char *reply, gsize size)
{
    gsize off = 0;
    gsize len = strlen(line);
    gsize got = 0;

    while (off < len) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        ssize_t n;

        if (poll(&p, 1, remaining_ms()) <= 0) {
            return -ETIMEDOUT;
        }
        n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            return -errno;
        }
        off += n > 0 ? (gsize)n : 0;
    }
    while (got + 1 < size && memchr(reply, '\n', got) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, remaining_ms()) <= 0) {
            return -ETIMEDOUT;
        }
        n = recv(fd, reply + got, size - 1 - got, 0);
        if (n == 0) {
            return -ECONNRESET;
        }
        if (n < 0 && errno != EAGAIN) {
            return -errno;
        }
        got += n > 0 ? (gsize)n : 0;
    }
    reply[got] = '\0';
    return 0;
}

static char *request_line(char **args)
{
    g_autoptr(GString) s = g_string_new(NULL);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "op", json_object_new_string("hook"));
    json_object_object_add(o, "domain", json_object_new_string(args[0]));
    json_object_object_add(o, "action", json_object_new_string(args[1]));
    json_object_object_add(o, "subaction", json_object_new_string(args[2]));
    json_object_object_add(o, "extra", json_object_new_string(args[3] ? args[3] : "-"));
    g_string_append_printf(s, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return g_strdup(s->str);
}

static void say(int priority, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void say(int priority, const char *fmt, ...)
{
    g_autofree char *m = NULL;
    va_list ap;

    va_start(ap, fmt);
    m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    syslog(priority, "%s", m);
    fprintf(stderr, "fpb-hook: %s\n", m);
}

/* The socket: --socket, else fpbd.conf's (a bad file: the default). */
static char *socket_path(const char *opt_socket, const char *opt_config)
{
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    if (opt_socket != NULL) {
        return g_strdup(opt_socket);
    }
    if (!fpb_conf_daemon_load_file(conf, opt_config ? opt_config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   TRUE, &error)) {
        say(LOG_WARNING, "%s, using the default socket", error->message);
        return g_strdup(FPB_CONF_DAEMON_DEFAULT_SOCKET);
    }
    return g_strdup(conf->socket_path);
}

int main(int argc, char **argv)
{
    const char *opt_socket = NULL;
    const char *opt_config = NULL;
    g_autofree char *path = NULL;
    g_autofree char *line = NULL;
    char reply[4096] = "";
    int i = 1;
    int fd;
    int rc;

    deadline_us = g_get_monotonic_time() + BUDGET_MS * 1000;
    openlog("fpb-hook", LOG_PID, LOG_DAEMON);
    for (; i + 1 < argc && g_str_has_prefix(argv[i], "--"); i += 2) {
        if (g_str_equal(argv[i], "--socket")) {
            opt_socket = argv[i + 1];
        } else if (g_str_equal(argv[i], "--config")) {
            opt_config = argv[i + 1];
        }
    }
    if (argc - i < 3) {
        say(LOG_WARNING, "expected DOMAIN OPERATION SUBOPERATION [EXTRA], ignoring");
        return 0;
    }
    drain_stdin();
    path = socket_path(opt_socket, opt_config);
    line = request_line(argv + i);
    fd = connect_bounded(path);
    if (fd < 0) {
        say(LOG_INFO, "VM '%s' %s %s: fpbd not reachable at '%s' (%s), ignoring", argv[i],
            argv[i + 1], argv[i + 2], path, g_strerror(-fd));
        return 0;
    }
    rc = exchange(fd, line, reply, sizeof(reply));
    close(fd);
    if (rc < 0) {
        say(LOG_WARNING, "VM '%s' %s %s: no answer from fpbd at '%s' (%s), ignoring", argv[i],
            argv[i + 1], argv[i + 2], path, g_strerror(-rc));
        return 0;
    }
    say(LOG_INFO, "VM '%s' %s %s: told fpbd", argv[i], argv[i + 1], argv[i + 2]);
    return 0;
}
