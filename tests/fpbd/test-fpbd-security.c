/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's control socket security (docs/libvirt.md, "Control socket
 * security"), against the real fpbd binary ($FPBD) on a temporary socket,
 * config and journal. Its libvirt is libvirt's test driver (a node file
 * with two running domains), so no libvirtd is needed. Peers of other
 * uids and groups are forked children that set their groups and uid, then
 * connect and hand the connected socket back (SCM_RIGHTS): the kernel
 * keeps the credentials of connect() time. No user or group is created:
 * the socket-group is an existing group, the other uid is 65534.
 *
 * Needs root (skipped otherwise). Cleanup also on failure: fpbd dies with
 * the test process (PR_SET_PDEATHSIG), and a supervising parent removes
 * the temporary directory whatever happened to the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fpbd-harness.h"

#define OTHER_UID 65534
#define OTHER_GID 65534
#define FPBD_TEST_CHUNK (64 * 1024)
#define UUID_A "4e6d7f0a-5b1c-4c2e-9a11-000000000a0a"

static char *dir;       /* the temporary directory */
static gid_t group_gid; /* fpbd's socket-group for the tests */
static char *group_name;

typedef struct {
    pid_t pid;
    char *sock;
    char *log;
} Fpbd;

typedef struct {
    int fd;
    GString *buf;
    gboolean eof;
} Conn;

/* ---- fpbd ---- */

static const char node_xml[] = "<node>\n"
                               "  <domain type='test'><name>vm-a</name><uuid>" UUID_A "</uuid>\n"
                               "    <memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                               "</domain>\n"
                               "  <domain type='test'><name>vm-b</name>"
                               "<uuid>4e6d7f0a-5b1c-4c2e-9a11-000000000b0b</uuid>\n"
                               "    <memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                               "</domain>\n"
                               "</node>\n";

static void write_file(const char *path, const char *text, int mode)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_set_contents(path, text, -1, &error));
    g_assert_no_error(error);
    g_assert_cmpint(chmod(path, mode), ==, 0);
}

static gboolean status_has(Fpbd *f, const char *fragment);

/* fpbd with @extra lines in [daemon], connected to its test libvirt. */
static Fpbd *fpbd_start(const char *extra)
{
    static int n;
    Fpbd *f = g_new0(Fpbd, 1);
    g_autofree char *conf = g_strdup_printf("%s/fpbd-%d.conf", dir, ++n);
    g_autofree char *text = NULL;
    const char *bin = g_getenv("FPBD");

    g_assert_nonnull(bin);
    f->sock = g_strdup_printf("%s/fpbd-%d.sock", dir, n);
    f->log = g_strdup_printf("%s/fpbd-%d.log", dir, n);
    text = g_strdup_printf("[daemon]\nuri=test://%s/node.xml\nsocket=%s\nsocket-group=%s\n"
                           "journal=%s/journal-%d.db\nreconnect-seconds=1\n%s",
                           dir, f->sock, group_name, dir, n, extra);
    write_file(conf, text, 0644);
    f->pid = fork();
    g_assert_cmpint(f->pid, >=, 0);
    if (f->pid == 0) {
        int log = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
        dup2(log, 1);
        dup2(log, 2);
        execl(bin, bin, "--config", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !status_has(f, "\"connected\":true"); i++) {
        g_usleep(50000);
    }
    g_assert_true(status_has(f, "\"connected\":true"));
    return f;
}

/* SIGTERM; fpbd must be gone within 5 s with status 0. */
static void fpbd_stop(Fpbd *f)
{
    int status = 0;
    pid_t r = 0;

    kill(f->pid, SIGTERM);
    for (int i = 0; i < 100 && (r = waitpid(f->pid, &status, WNOHANG)) == 0; i++) {
        g_usleep(50000);
    }
    if (r == 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &status, 0);
        g_error("fpbd did not stop on SIGTERM within 5 s");
    }
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_free(f->sock);
    g_free(f->log);
    g_free(f);
}

static gboolean log_has(Fpbd *f, const char *fragment)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(f->log, &text, NULL, NULL) && strstr(text, fragment) != NULL;
}

static long rss_kib(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "VmRSS:");
    g_assert_nonnull(p);
    return strtol(p + strlen("VmRSS:"), NULL, 10);
}

/* ---- peers ---- */

static int raw_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int err = errno;

        close(fd);
        return -err;
    }
    return fd;
}

/* In the child: @fd (or -@err) to the parent over @sp. */
static void pass_fd(int sp, int fd)
{
    int err = fd < 0 ? -fd : 0;
    struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

    if (fd >= 0) {
        m.msg_control = ctl;
        m.msg_controllen = sizeof(ctl);
        CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
        CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
        CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
    }
    if (sendmsg(sp, &m, 0) < 0) {
        _exit(3);
    }
}

static int receive_fd(int sp)
{
    int err = 0;
    int fd = -1;
    struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};

    g_assert_cmpint(recvmsg(sp, &m, 0), ==, sizeof(err));
    if (err != 0) {
        return -err;
    }
    g_assert_nonnull(CMSG_FIRSTHDR(&m));
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
    return fd;
}

/* Connects as uid @uid, primary group @gid, supplementary @groups (@n):
 * the socket, or -errno when connect() failed. */
static int connect_as(const char *path, uid_t uid, gid_t gid, const gid_t *groups, int n)
{
    int sp[2];
    pid_t pid;
    int status = 0;
    int fd;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(sp[0]);
        if (setgroups(n, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0) {
            _exit(2);
        }
        pass_fd(sp[1], raw_connect(path));
        _exit(0);
    }
    close(sp[1]);
    fd = receive_fd(sp[0]);
    close(sp[0]);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return fd;
}

static Conn *conn_new(int fd)
{
    Conn *c = g_new0(Conn, 1);

    g_assert_cmpint(fd, >=, 0);
    c->fd = fd;
    c->buf = g_string_new(NULL);
    return c;
}

static Conn *conn_root(Fpbd *f)
{
    return conn_new(raw_connect(f->sock));
}

/* A group member by supplementary group only: uid and gid 65534. */
static Conn *conn_member(Fpbd *f)
{
    return conn_new(connect_as(f->sock, OTHER_UID, OTHER_GID, &group_gid, 1));
}

static void conn_free(Conn *c)
{
    close(c->fd);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

static void conn_send(Conn *c, const char *text)
{
    gsize len = strlen(text);

    for (gsize done = 0; done < len;) {
        ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);

        g_assert_cmpint(n, >, 0);
        done += (gsize)n;
    }
}

/* The next line, or NULL at EOF or after @timeout_ms. (transfer full) */
static char *conn_line(Conn *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000;

    for (;;) {
        char *nl = memchr(c->buf->str, '\n', c->buf->len);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        char chunk[4096];
        ssize_t n;
        int left = (int)((end - g_get_monotonic_time()) / 1000);

        if (nl != NULL) {
            char *line = g_strndup(c->buf->str, nl - c->buf->str);

            g_string_erase(c->buf, 0, nl - c->buf->str + 1);
            return line;
        }
        if (c->eof || left <= 0 || poll(&p, 1, left) <= 0) {
            return NULL;
        }
        n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            c->eof = TRUE;
            continue;
        }
        g_string_append_len(c->buf, chunk, n);
    }
}

/* Sends @request (a newline is added) and returns the next line. */
static char *ask(Conn *c, const char *request)
{
    g_autofree char *line = g_strdup_printf("%s\n", request);

    conn_send(c, line);
    return conn_line(c, 5000);
}

/* fpbd closed the connection within @timeout_ms (lines before are read). */
static gboolean conn_closed(Conn *c, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000;

    while (!c->eof && g_get_monotonic_time() < end) {
        g_free(conn_line(c, 100));
    }
    return c->eof;
}

#define assert_has(text, fragment)                                                                 \
    do {                                                                                           \
        const char *t_ = (text);                                                                   \
        if (t_ == NULL || strstr(t_, (fragment)) == NULL) {                                        \
            g_error("%s:%d: '%s' lacks '%s'", __FILE__, __LINE__, t_ ? t_ : "(nothing)",           \
                    (fragment));                                                                   \
        }                                                                                          \
    } while (0)

static gboolean status_has(Fpbd *f, const char *fragment)
{
    int fd = raw_connect(f->sock);
    Conn *c;
    g_autofree char *reply = NULL;

    if (fd < 0) {
        return FALSE;
    }
    c = conn_new(fd);
    reply = ask(c, "{\"op\":\"status\"}");
    conn_free(c);
    return reply != NULL && strstr(reply, fragment) != NULL;
}

/* ---- tests ---- */

static void test_peers(void)
{
    Fpbd *f = fpbd_start("");
    Conn *c;
    char *r;
    int fd;

    c = conn_root(f);
    r = ask(c, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    conn_free(c);
    /* supplementary member (not its primary group): served */
    c = conn_member(f);
    r = ask(c, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    conn_free(c);
    /* primary-group member */
    c = conn_new(connect_as(f->sock, OTHER_UID, group_gid, NULL, 0));
    r = ask(c, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    conn_free(c);
    /* an outsider: the socket's mode keeps it out ... */
    fd = connect_as(f->sock, OTHER_UID, OTHER_GID, NULL, 0);
    g_assert_cmpint(fd, ==, -EACCES);
    /* ... and with the mode opened, the credential check still does */
    g_assert_cmpint(chmod(f->sock, 0666), ==, 0);
    c = conn_new(connect_as(f->sock, OTHER_UID, OTHER_GID, NULL, 0));
    r = conn_line(c, 5000);
    assert_has(r, "not allowed: uid 65534 is neither root nor a member of fpbd's socket-group");
    g_free(r);
    g_assert_true(conn_closed(c, 2000));
    conn_free(c);
    fpbd_stop(f);
}

/* Issue 20's exploit: qemu+ext's command= ran as root. */
static void test_dest_ext_exploit(void)
{
    Fpbd *f = fpbd_start("");
    g_autofree char *marker = g_strdup_printf("%s/marker", dir);
    g_autofree char *script = g_strdup_printf("%s/x", dir);
    g_autofree char *body = g_strdup_printf("#!/bin/sh\ntouch '%s'\n", marker);
    g_autofree char *req = g_strdup_printf(
        "{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+ext:///system?command=%s\"}",
        script);
    Conn *member = NULL;
    Conn *root = NULL;
    char *r;

    write_file(script, body, 0755);
    member = conn_member(f);
    r = ask(member, req);
    assert_has(r, "\"ok\":false");
    assert_has(r, "VM 'vm-a': migrate to 'qemu+ext:");
    assert_has(r, "transport 'ext' runs a program on this host: never accepted");
    g_free(r);
    root = conn_root(f);
    r = ask(root, req);
    assert_has(r, "transport 'ext' runs a program");
    g_free(r);
    /* the same program behind ssh's command= */
    g_free(req);
    req = g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":"
                          "\"qemu+ssh://127.0.0.1/system?command=%s\"}",
                          script);
    r = ask(member, req);
    assert_has(r, "URI parameter 'command' is never accepted");
    g_free(r);
    g_usleep(500000);
    g_assert_false(g_file_test(marker, G_FILE_TEST_EXISTS));
    g_assert_true(status_has(f, "\"migrating\":[],\"migrations\":0"));
    conn_free(member);
    conn_free(root);
    fpbd_stop(f);
    g_assert_false(g_file_test(marker, G_FILE_TEST_EXISTS));
}

static void test_dest_allow_list(void)
{
    Fpbd *f = fpbd_start("allowed-destinations=qemu+tls\n");
    Conn *member = conn_member(f);
    Conn *root = conn_root(f);
    g_autofree char *local = g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":"
                                             "\"qemu+unix:///system?socket=%s/nowhere\"}",
                                             dir);
    char *r;

    r = ask(member,
            "{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+tcp://127.0.0.1/system\"}");
    assert_has(r, "transport 'qemu+tcp' is not in allowed-destinations (qemu+tls)");
    g_free(r);
    r = ask(member, local);
    assert_has(r, "no host: a local libvirt is not a migration destination");
    g_free(r);
    /* root may name a local libvirt by its socket: the migration runs and
     * is refused by libvirt (no such socket), nothing done to the VM */
    r = ask(root, local);
    while (r != NULL && strstr(r, "\"progress\"") != NULL) {
        g_free(r);
        r = conn_line(root, 10000);
    }
    assert_has(r, "\"result\":\"refused\"");
    g_free(r);
    conn_free(member);
    conn_free(root);
    fpbd_stop(f);
}

static void test_root_only_options(void)
{
    Fpbd *f = fpbd_start("");
    Conn *member = conn_member(f);
    Conn *root = conn_root(f);
    char *r;

    r = ask(member, "{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+tls://h/system\","
                    "\"options\":{\"qemu-tcg-dirty-tracking\":\"fixed\"}}");
    assert_has(r,
               "VM 'vm-a': migrate: option 'qemu-tcg-dirty-tracking' is accepted from root only");
    g_free(r);
    r = ask(member, "{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+tls://h/system\","
                    "\"options\":{\"migrate-uri\":\"tcp://192.0.2.1:4444\"}}");
    assert_has(r, "option 'migrate-uri' is accepted from root only");
    g_free(r);
    /* root passes these checks (and the guard): what stops it is the domain */
    r = ask(root, "{\"op\":\"migrate\",\"domain\":\"no-such-vm\",\"dest\":\"qemu+tls://h/system\","
                  "\"options\":{\"qemu-tcg-dirty-tracking\":\"fixed\"}}");
    assert_has(r, "VM 'no-such-vm': not found");
    g_free(r);
    g_assert_true(log_has(f, "option 'qemu-tcg-dirty-tracking' from uid 65534 refused"));
    conn_free(member);
    conn_free(root);
    fpbd_stop(f);
}

static void test_size_cap(void)
{
    Fpbd *f = fpbd_start("");
    Conn *c = conn_root(f);
    g_autofree char *big = g_malloc(FPBD_TEST_CHUNK);
    long before = rss_kib(f->pid);
    gsize sent = 0;
    char *r;

    memset(big, 'a', FPBD_TEST_CHUNK);
    /* 64 MiB without a newline: fpbd must answer and hang up after 64 KiB */
    while (sent < 64 * 1024 * 1024) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        ssize_t n;

        if (poll(&p, 1, 2000) <= 0 || (n = send(c->fd, big, FPBD_TEST_CHUNK, MSG_NOSIGNAL)) < 0) {
            break;
        }
        sent += (gsize)n;
    }
    g_assert_cmpuint(sent, <, 64 * 1024 * 1024);
    r = conn_line(c, 5000);
    assert_has(r, "request line longer than 64 KiB, disconnecting");
    g_free(r);
    g_assert_true(conn_closed(c, 2000));
    g_assert_cmpint(rss_kib(f->pid) - before, <, 8 * 1024);
    conn_free(c);
    fpbd_stop(f);
}

/* Sends @n status requests without reading a reply; stops when the
 * socket takes no more for 1 s or fpbd hung up. Returns how many went. */
static int flood(Conn *c, int n)
{
    static const char req[] = "{\"op\":\"status\"}\n";
    int i;

    for (i = 0; i < n; i++) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};

        if (poll(&p, 1, 1000) <= 0 || (p.revents & (POLLERR | POLLHUP)) ||
            send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(req) - 1) {
            break;
        }
    }
    return i;
}

/* A client that never reads is cut off; meanwhile, and after, fpbd
 * serves others and stops on SIGTERM. */
static void test_slow_reader(void)
{
    Fpbd *f = fpbd_start("");
    Conn *slow = conn_root(f);
    Conn *other = conn_root(f);
    Conn *idle_reader = NULL;
    gint64 t0;
    char *r;

    flood(slow, 200); /* fills the socket buffer: fpbd queues the rest */
    t0 = g_get_monotonic_time();
    r = ask(other, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    flood(slow, 20000);
    g_assert_true(conn_closed(slow, 10000));
    g_assert_true(log_has(f, "of replies unread, disconnecting"));
    r = ask(other, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    /* another that does not read, with fpbd's queue for it not empty */
    idle_reader = conn_root(f);
    flood(idle_reader, 300);
    conn_free(slow);
    conn_free(other);
    fpbd_stop(f); /* within 5 s, status 0 */
    conn_free(idle_reader);
}

static void test_max_clients(void)
{
    Fpbd *f = fpbd_start("max-clients=2\n");
    Conn *a = conn_root(f);
    Conn *b = conn_member(f);
    Conn *c;
    char *r;

    r = ask(a, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    r = ask(b, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    c = conn_root(f);
    r = conn_line(c, 5000);
    assert_has(r, "fpbd serves 2 clients already (max-clients), try again later");
    g_free(r);
    g_assert_true(conn_closed(c, 2000));
    conn_free(c);
    conn_free(b);
    g_usleep(200000);
    c = conn_root(f);
    r = ask(c, "{\"op\":\"ping\"}");
    assert_has(r, "\"ok\":true");
    g_free(r);
    conn_free(c);
    conn_free(a);
    fpbd_stop(f);
}

static void test_idle(void)
{
    Fpbd *f = fpbd_start("client-idle-seconds=1\n");
    Conn *c = conn_member(f);
    char *r;

    conn_send(c, "{\"op\":"); /* a partial line does not keep it open */
    r = conn_line(c, 3000);
    assert_has(r, "no request within 1 s, disconnecting");
    g_free(r);
    g_assert_true(conn_closed(c, 2000));
    conn_free(c);
    fpbd_stop(f);
}

static void test_grammar(void)
{
    static const char *const bad[][2] = {
        {"{\"op\":\"ping\"} x", "data after its JSON object"},
        {"{\"op\":\"ping\"}{\"op\":\"status\"}", "data after its JSON object"},
        {"{\"op\":\"ping\",\"extra\":1}", "ping: unknown key 'extra'"},
        {"{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+tls://h/system\",\"x\":1}",
         "migrate: unknown key 'x'"},
        {"{\"op\":\"migrate\",\"domain\":[\"vm-a\"],\"dest\":\"qemu+tls://h/system\"}",
         "migrate: 'domain' must be a string"},
        {"{\"op\":\"hook\",\"domain\":\"vm-a\",\"action\":\"x\"}", "are required"},
        {"[{\"op\":\"ping\"}]", "not a JSON object"},
        {"{\"op\":\"ping\"", "not a JSON object: incomplete"},
    };
    Fpbd *f = fpbd_start("");
    Conn *c = conn_member(f);
    char *r;

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        r = ask(c, bad[i][0]);
        assert_has(r, "\"ok\":false");
        assert_has(r, bad[i][1]);
        g_free(r);
    }
    /* two requests in one write: two replies, in order */
    conn_send(c, "{\"op\":\"ping\"}\n{\"op\":\"status\"}\n");
    r = conn_line(c, 5000);
    g_assert_cmpstr(r, ==, "{\"ok\":true}");
    g_free(r);
    r = conn_line(c, 5000);
    assert_has(r, "\"running\":[");
    g_free(r);
    conn_free(c);
    fpbd_stop(f);
}

/* A migration running for vm-a refuses a second one by UUID or by name;
 * max-migrations=1 refuses one for vm-b. */
static void test_identity_and_max_migrations(void)
{
    Fpbd *f = fpbd_start("max-migrations=1\n");
    int port = 0;
    int listener = fpbd_harness_silent_listener(&port);
    g_autofree char *dest = g_strdup_printf("qemu+tcp://127.0.0.1:%d/system", port);
    g_autofree char *first = g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"%"
                                             "s\",\"options\":{\"mode\":\"none\"}}\n",
                                             dest);
    g_autofree char *by_uuid =
        g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"" UUID_A "\",\"dest\":\"%s\"}", dest);
    g_autofree char *by_name =
        g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"%s\"}", dest);
    g_autofree char *vm_b =
        g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"vm-b\",\"dest\":\"%s\"}", dest);
    Conn *runner = conn_root(f);
    Conn *member = conn_member(f);
    char *r;

    conn_send(runner, first);
    for (int i = 0; i < 100 && !status_has(f, "\"migrating\":[\"vm-a\"]"); i++) {
        g_usleep(50000);
    }
    g_assert_true(status_has(f, "\"migrating\":[\"vm-a\"]"));
    r = ask(member, by_uuid);
    assert_has(r, "VM '" UUID_A "': fpbd is migrating it already (as 'vm-a', UUID " UUID_A ")");
    g_free(r);
    r = ask(member, by_name);
    assert_has(r, "VM 'vm-a': fpbd is migrating it already");
    g_free(r);
    r = ask(member, vm_b);
    assert_has(r, "VM 'vm-b': fpbd runs 1 migrations already (max-migrations)");
    g_free(r);
    close(listener); /* the destination goes away: the migration is refused */
    do {
        r = conn_line(runner, 20000);
        g_assert_nonnull(r);
        if (strstr(r, "\"progress\"") == NULL) {
            break;
        }
        g_free(r);
    } while (TRUE);
    assert_has(r, "\"result\":\"refused\"");
    assert_has(r, "\"vm\":\"vm-a\"");
    g_free(r);
    g_assert_true(status_has(f, "\"migrating\":[],\"migrations\":1"));
    conn_free(member);
    conn_free(runner);
    fpbd_stop(f);
}

/* ---- main ---- */

/* An existing group to be the socket-group, none of the test uid's own. */
static gboolean pick_group(void)
{
    static const char *const names[] = {"users", "adm", "staff", "daemon", "bin", "sys"};

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        struct group *g = getgrnam(names[i]);

        if (g != NULL && g->gr_gid != 0 && g->gr_gid != OTHER_GID) {
            group_gid = g->gr_gid;
            group_name = g_strdup(names[i]);
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- evacuate ---- */

/* The next line of a running request that is not an interim one ({"progress"},
 * {"output"}, {"tick"}, {"done"}); @seen gets the interim ones. (transfer full) */
static char *evacuate_reply(Conn *c, GString *seen, int timeout_ms)
{
    for (;;) {
        char *r = conn_line(c, timeout_ms);

        if (r == NULL ||
            (!g_str_has_prefix(r, "{\"progress\":") && !g_str_has_prefix(r, "{\"output\":") &&
             !g_str_has_prefix(r, "{\"tick\":") && !g_str_has_prefix(r, "{\"done\":"))) {
            return r;
        }
        g_string_append_printf(seen, "%s\n", r);
        g_free(r);
    }
}

/* An evacuation is refused, for every VM of it, where a migration of one
 * of them would be: the destination guard, root-only options, a domain
 * that does not exist, the same domain twice, more slots than
 * max-migrations leaves; nothing is journaled or started. */
static void test_evacuate_refusals(void)
{
    Fpbd *f = fpbd_start("allowed-destinations=qemu+tls\nmax-migrations=2\n");
    Conn *member = conn_member(f);
    Conn *root = conn_root(f);
    char *r;

    r = ask(member, "{\"op\":\"evacuate\",\"dest\":\"qemu+tcp://127.0.0.1/system\"}");
    assert_has(r, "every running VM: evacuate to 'qemu+tcp:\\/\\/127.0.0.1\\/system' refused: "
                  "transport 'qemu+tcp' is not in allowed-destinations (qemu+tls); nothing was "
                  "done");
    g_free(r);
    r = ask(member, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"domains\":[\"vm-a\","
                    "\"vm-b\"],\"options\":{\"guest-init-on-alloc\":\"0\"}}");
    assert_has(r, "VMs 'vm-a', 'vm-b': evacuate: option 'guest-init-on-alloc' is accepted from "
                  "root only");
    g_free(r);
    r = ask(member, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"domains\":[\"vm-a\"],"
                    "\"options\":{\"migrate-uri\":\"tcp://192.0.2.1:4444\"}}");
    assert_has(r, "VM 'vm-a': evacuate: option 'migrate-uri' is accepted from root only");
    g_free(r);
    r = ask(member, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"x\":1}");
    assert_has(r, "evacuate: unknown key 'x'");
    g_free(r);
    r = ask(member, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"domains\":[\"vm-a\","
                    "\"no-such-vm\"]}");
    assert_has(r, "VM 'no-such-vm': not found");
    g_free(r);
    r = ask(member,
            "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"domains\":[\"vm-a\",\"" UUID_A
            "\"]}");
    assert_has(r, "VM '" UUID_A "': evacuate: named twice (also as 'vm-a', UUID " UUID_A ")");
    g_free(r);
    r = ask(root, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"options\":"
                  "{\"parallel\":\"3\"}}");
    assert_has(r, "evacuate: --parallel 3 is more than fpbd may run now: max-migrations 2, 0 "
                  "running, 2 free; nothing was done");
    g_free(r);
    g_assert_true(log_has(f, "uid 65534: VMs 'vm-a', 'vm-b': evacuate: option "
                             "'guest-init-on-alloc' is accepted from root only"));
    g_assert_true(
        status_has(f, "\"migrating\":[],\"migrations\":0,\"evacuated\":0,\"evacuations\":0"));
    conn_free(member);
    conn_free(root);
    fpbd_stop(f);
}

/* A socket-group member evacuates both VMs one at a time to a destination
 * that hangs: the evacuation holds both VMs and its slot (a migration of
 * either, another evacuation, are refused), the second VM waits; the
 * member's end of the request cancels it: the second VM never starts, the
 * outcome and exit status 1 still come. */
static void test_evacuate_run_and_cancel(void)
{
    Fpbd *f = fpbd_start("max-migrations=1\n");
    int port = 0;
    int listener = fpbd_harness_silent_listener(&port);
    g_autofree char *dest = g_strdup_printf("qemu+tcp://127.0.0.1:%d/system", port);
    g_autofree char *evacuate = g_strdup_printf(
        "{\"op\":\"evacuate\",\"dest\":\"%s\",\"options\":{\"parallel\":\"1\"}}\n", dest);
    g_autoptr(GString) seen = g_string_new(NULL);
    g_autofree char *migrate = NULL;
    const char *waiting;
    Conn *runner = conn_member(f);
    Conn *other = conn_root(f);
    char *r;

    conn_send(runner, evacuate);
    r = evacuate_reply(runner, seen, 1000);
    for (int i = 0; i < 100 && r == NULL && strstr(seen->str, "] starting at") == NULL; i++) {
        r = evacuate_reply(runner, seen, 100);
    }
    g_assert_null(r);
    assert_has(seen->str, "{\"output\":\"Plan (predicted, seconds from the start):");
    /* the plan chooses which goes first; the other waits */
    waiting = strstr(seen->str, "[vm-a] starting at") != NULL ? "vm-b" : "vm-a";
    g_assert_true(status_has(f, "\"evacuations\":1"));
    g_assert_true(status_has(f, "\"vm-a\"") && status_has(f, "\"vm-b\""));
    migrate =
        g_strdup_printf("{\"op\":\"migrate\",\"domain\":\"%s\",\"dest\":\"%s\"}", waiting, dest);
    r = ask(other, migrate);
    assert_has(r, "fpbd is evacuating it already (as '");
    g_free(r);
    r = ask(other, "{\"op\":\"evacuate\",\"dest\":\"qemu+tls://h/system\",\"domains\":[\"vm-b\"]}");
    assert_has(r, "VM 'vm-b': evacuate: fpbd is migrating it already");
    g_free(r);
    /* fpbctl's Ctrl-C: the end of its sending side */
    g_assert_cmpint(shutdown(runner->fd, SHUT_WR), ==, 0);
    for (int i = 0; i < 100 && !log_has(f, "cancelled (the client ended its request)"); i++) {
        g_usleep(50000);
    }
    g_assert_true(log_has(f, "cancelled (the client ended its request)"));
    g_usleep(500000); /* a tick of the run: it sees the cancel while a VM runs */
    close(listener);  /* the hanging destination goes: the running VM's run ends */
    r = evacuate_reply(runner, seen, 30000);
    g_assert_nonnull(r);
    g_assert_cmpstr(r, ==, "{\"ok\":true,\"exit\":1}");
    g_free(r);
    assert_has(seen->str, "interrupted: starting no more VMs");
    assert_has(seen->str, "not started");
    assert_has(seen->str, "evacuation cancelled");
    g_free(migrate);
    migrate = g_strdup_printf("[%s] starting at", waiting);
    g_assert_null(strstr(seen->str, migrate));
    /* the one that started counts as evacuated (its pipeline ran), not as a migration */
    g_assert_true(
        status_has(f, "\"migrating\":[],\"migrations\":0,\"evacuated\":1,\"evacuations\":0"));
    conn_free(other);
    conn_free(runner);
    fpbd_stop(f);
}

static int run_tests(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/security/peers", test_peers);
    g_test_add_func("/fpbd/security/dest/ext-exploit", test_dest_ext_exploit);
    g_test_add_func("/fpbd/security/dest/allow-list", test_dest_allow_list);
    g_test_add_func("/fpbd/security/options/root-only", test_root_only_options);
    g_test_add_func("/fpbd/security/size-cap", test_size_cap);
    g_test_add_func("/fpbd/security/slow-reader", test_slow_reader);
    g_test_add_func("/fpbd/security/max-clients", test_max_clients);
    g_test_add_func("/fpbd/security/idle", test_idle);
    g_test_add_func("/fpbd/security/grammar", test_grammar);
    g_test_add_func("/fpbd/security/identity-and-max-migrations", test_identity_and_max_migrations);
    g_test_add_func("/fpbd/security/evacuate/refusals", test_evacuate_refusals);
    g_test_add_func("/fpbd/security/evacuate/run-and-cancel", test_evacuate_run_and_cancel);
    return g_test_run();
}

int main(int argc, char **argv)
{
    if (getuid() != 0 || !pick_group()) {
        printf("1..0 # SKIP needs root and an existing group (users, adm, ...)\n");
        return 0;
    }
    return fpbd_harness_main("/tmp/fpbd-sec.XXXXXX", TRUE, node_xml, &dir, run_tests, argc, argv);
}
