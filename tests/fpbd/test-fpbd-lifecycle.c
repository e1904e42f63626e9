/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's lifecycle (docs/libvirt.md, "fpbd"), against the real fpbd
 * binary ($FPBD) on libvirt's test driver (no libvirtd): journal rows
 * left open by a dead process are recovered at start, rows of a live one
 * are left alone; SIGTERM is bounded by stop-timeout-seconds and
 * stop-restore-seconds; the journal fpbd creates is 0600 in a 0700
 * directory, its -wal and -shm too; the metrics textfile and endpoint
 * after a recovery pass.
 *
 * Cleanup also on failure: fpbd dies with the test process
 * (PR_SET_PDEATHSIG), and a supervising parent removes the temporary
 * directory whatever happened to the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
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
#include "fpb-journal.h"
#include "fpb-recover.h"

static char *dir;

static const char node_xml[] = "<node>\n"
                               "  <domain type='test'><name>vm-a</name>"
                               "<uuid>4e6d7f0a-5b1c-4c2e-9a11-000000000a0a</uuid>\n"
                               "    <memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                               "</domain>\n"
                               "</node>\n";

typedef struct {
    pid_t pid;
    char *sock;
    char *log;
    char *journal;
} Fpbd;

static gboolean log_has(Fpbd *f, const char *fragment)
{
    g_autofree char *text = NULL;

    return g_file_get_contents(f->log, &text, NULL, NULL) && strstr(text, fragment) != NULL;
}

static gboolean wait_log(Fpbd *f, const char *fragment, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 50 && !log_has(f, fragment); i++) {
        g_usleep(50000);
    }
    return log_has(f, fragment);
}

/* fpbd on its own journal (@journal_rel under dir) with @extra in [daemon]. */
static Fpbd *fpbd_start(const char *journal_rel, const char *extra)
{
    static int n;
    Fpbd *f = g_new0(Fpbd, 1);
    g_autofree char *conf = g_strdup_printf("%s/fpbd-%d.conf", dir, ++n);
    g_autofree char *text = NULL;
    const char *bin = g_getenv("FPBD");

    g_assert_nonnull(bin);
    f->sock = g_strdup_printf("%s/fpbd-%d.sock", dir, n);
    f->log = g_strdup_printf("%s/fpbd-%d.log", dir, n);
    f->journal = g_strdup_printf("%s/%s", dir, journal_rel);
    text = g_strdup_printf("[daemon]\nuri=test://%s/node.xml\nsocket=%s\njournal=%s\n"
                           "reconnect-seconds=1\n%s",
                           dir, f->sock, f->journal, extra);
    g_assert_true(g_file_set_contents(conf, text, -1, NULL));
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
    g_assert_true(wait_log(f, "connected to libvirt", 5000));
    return f;
}

/* Waits up to @timeout_ms for fpbd to exit; its exit status, -1 if it
 * had to be killed. */
static int fpbd_wait(Fpbd *f, int timeout_ms)
{
    int status = 0;
    pid_t r = 0;

    for (int i = 0; i < timeout_ms / 50 && (r = waitpid(f->pid, &status, WNOHANG)) == 0; i++) {
        g_usleep(50000);
    }
    if (r == 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void fpbd_free(Fpbd *f)
{
    g_free(f->sock);
    g_free(f->log);
    g_free(f->journal);
    g_free(f);
}

static void fpbd_stop(Fpbd *f)
{
    kill(f->pid, SIGTERM);
    g_assert_cmpint(fpbd_wait(f, 5000), ==, 0);
    fpbd_free(f);
}

/* ---- the control socket, just enough ---- */

static int client(Fpbd *f)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(a.sun_path, f->sock, sizeof(a.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    return fd;
}

/* Sends @line and returns the first reply line that is no progress line. */
static char *ask(int fd, const char *line, int timeout_ms)
{
    g_autoptr(GString) buf = g_string_new(NULL);
    g_autofree char *req = g_strdup_printf("%s\n", line);
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000;

    g_assert_cmpint(send(fd, req, strlen(req), MSG_NOSIGNAL), ==, (ssize_t)strlen(req));
    while (g_get_monotonic_time() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char chunk[4096];
        char *nl;
        ssize_t n;

        while ((nl = strchr(buf->str, '\n')) != NULL) {
            g_autofree char *one = g_strndup(buf->str, nl - buf->str);

            g_string_erase(buf, 0, nl - buf->str + 1);
            if (strstr(one, "\"progress\"") == NULL) {
                return g_steal_pointer(&one);
            }
        }
        if (poll(&p, 1, 100) == 1 && (n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
            g_string_append_len(buf, chunk, n);
        } else if (p.revents & (POLLHUP | POLLERR)) {
            break;
        }
    }
    return NULL;
}

/* ---- journal rows ---- */

/* A PID that surely is no process any more: a child that exited. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return pid;
}

static gint64 open_row(FpbJournal *j, const char *vm, const char *mode, gint64 owner_pid,
                       gint64 owner_start)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbOutcome) o = fpb_outcome_new();
    g_autofree char *source = g_strdup_printf("libvirt:test://%s/node.xml#%s", dir, vm);

    fpb_outcome_set(&o->vm, vm);
    fpb_outcome_set(&o->source_qmp, source);
    fpb_outcome_set(&o->backend, "libvirt");
    /* refused at once: the guest can only be on the source */
    fpb_outcome_set(&o->uri, "qemu+tcp://127.0.0.1:1/system");
    fpb_outcome_set(&o->requested_mode, mode);
    fpb_outcome_set(&o->mode, mode);
    fpb_outcome_set(&o->phase, FPB_PHASE_MIGRATING);
    o->start_us = g_get_real_time();
    o->owner_pid = owner_pid;
    o->owner_start = owner_start;
    o->prep_original_bytes = 64 * 1024 * 1024;
    g_assert_true(fpb_journal_insert(j, o, &error));
    g_assert_no_error(error);
    return o->id;
}

static FpbOutcome *row_by_id(const char *path, gint64 id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(path, &error);
    g_autoptr(GPtrArray) rows = j ? fpb_journal_list(j, NULL, 0, &error) : NULL;

    g_assert_no_error(error);
    for (guint i = 0; i < rows->len; i++) {
        FpbOutcome *o = rows->pdata[i];

        if (o->id == id) {
            return g_ptr_array_steal_index(rows, i);
        }
    }
    g_assert_not_reached();
}

/* ---- metrics (docs/metrics.md), just enough ---- */

static gboolean file_has(const char *path, const char *line)
{
    g_autofree char *text = NULL;
    g_autofree char *all = NULL;
    g_autofree char *want = g_strdup_printf("\n%s\n", line);

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return FALSE;
    }
    all = g_strdup_printf("\n%s", text);
    return strstr(all, want) != NULL;
}

/* GET /metrics on the port fpbd logged; the whole reply. */
static char *scrape(Fpbd *f)
{
    g_autofree char *log = NULL;
    const char *at;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    GString *reply = g_string_new(NULL);
    char buf[4096];
    ssize_t n;
    int fd;

    g_assert_true(g_file_get_contents(f->log, &log, NULL, NULL));
    at = strstr(log, "metrics: serving http://127.0.0.1:");
    g_assert_nonnull(at);
    a.sin_port = htons(
        (guint16)g_ascii_strtoull(at + strlen("metrics: serving http://127.0.0.1:"), NULL, 10));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(send(fd, req, strlen(req), MSG_NOSIGNAL), ==, (ssize_t)strlen(req));
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        g_string_append_len(reply, buf, n);
    }
    close(fd);
    return g_string_free(reply, FALSE);
}

/* ---- tests ---- */

/* A row of a dead fpbctl is recovered at start (no balloon: the
 * migration is ended, nothing to give back); a ballooned one gets its
 * memory back on the source (the test driver's balloon follows at once);
 * one of a live process is left open. */
static void test_recover_at_start(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_strdup_printf("%s/recover.db", dir);
    g_autoptr(FpbJournal) j = fpb_journal_open(path, &error);
    gint64 dead = open_row(j, "vm-a", "none", dead_pid(), -1);
    gint64 ballooned = open_row(j, "vm-a", "balloon", dead_pid(), -1);
    gint64 live = open_row(j, "vm-a", "none", getpid(), fpb_recover_process_start_time(getpid()));
    g_autoptr(FpbOutcome) r = NULL;
    g_autofree char *prom = g_strdup_printf("%s/recover.prom", dir);
    g_autofree char *extra =
        g_strdup_printf("metrics-listen=127.0.0.1:0\nmetrics-textfile=%s\n", prom);
    g_autofree char *metrics = NULL;
    Fpbd *f;

    g_clear_pointer(&j, fpb_journal_free);
    f = fpbd_start("recover.db", extra);
    g_assert_true(wait_log(f, "recovering 2 journal rows left open", 5000));
    /* the second row's give-back waits for the test driver's balloon */
    for (int i = 0; i < 2; i++) {
        g_autofree char *want = g_strdup_printf("journal row %" G_GINT64_FORMAT ": fpbctl (PID",
                                                i == 0 ? dead : ballooned);

        g_assert_true(wait_log(f, want, 150000));
    }
    r = row_by_id(path, dead);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    g_assert_cmpstr(r->restore_status, ==, "not-needed");
    g_assert_nonnull(strstr(r->error, "died during phase 'migrating'; recovered by PID"));
    g_clear_pointer(&r, fpb_outcome_free);
    r = row_by_id(path, ballooned);
    g_test_message("ballooned row: phase %s, restore %s: %s", r->phase, r->restore_status,
                   r->error);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    g_assert_cmpstr(r->restore_status, ==, "done");
    g_assert_cmpstr(r->restore_where, ==, "source");
    g_assert_nonnull(strstr(r->error, "source memory back to 64 MiB (done)"));
    g_clear_pointer(&r, fpb_outcome_free);
    r = row_by_id(path, live);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_MIGRATING);
    g_assert_true(log_has(f, "fpbd: recovered: VM 'vm-a'"));
    /* the metrics after the recovery pass: the textfile is rewritten when
     * it ends; the live row still holds its VM's gauge */
    for (int i = 0; i < 100 && !file_has(prom, "fpb_recoveries_total{vm=\"vm-a\"} 2"); i++) {
        g_usleep(100000);
    }
    g_assert_true(file_has(prom, "fpb_recoveries_total{vm=\"vm-a\"} 2"));
    g_assert_true(file_has(
        prom, "fpb_migrations_total{vm=\"vm-a\",mode=\"balloon\",outcome=\"recovered\"} 1"));
    g_assert_true(file_has(prom, "fpb_balloon_taken_bytes{vm=\"vm-a\"} 0"));
    metrics = scrape(f);
    g_assert_true(g_str_has_prefix(metrics, "HTTP/1.0 200 OK\r\n"));
    g_assert_nonnull(strstr(metrics, "\nfpb_recoveries_total{vm=\"vm-a\"} 2\n"));
    g_assert_nonnull(strstr(metrics, "\nfpb_journal_rows 3\n"));
    fpbd_stop(f);
}

static gint64 open_evacuation(FpbJournal *j, gint64 owner_pid, gint64 owner_start)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbEvacuationRow) e = fpb_evacuation_row_new();

    fpb_evacuation_row_set(&e->status, FPB_EVACUATION_RUNNING);
    e->start_us = g_get_real_time();
    e->owner_pid = owner_pid;
    e->owner_start = owner_start;
    e->vms = 1;
    g_assert_true(fpb_journal_insert_evacuation(j, e, &error));
    g_assert_no_error(error);
    return e->id;
}

static char *evacuation_status(const char *path, gint64 id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = fpb_journal_open(path, &error);
    g_autoptr(GPtrArray) rows = j ? fpb_journal_list_evacuations(j, FALSE, &error) : NULL;

    g_assert_no_error(error);
    for (guint i = 0; i < rows->len; i++) {
        const FpbEvacuationRow *e = rows->pdata[i];

        if (e->id == id) {
            return g_strdup(e->status);
        }
    }
    g_assert_not_reached();
}

/* An evacuation whose process was killed (an fpbd with -9: its owner is
 * gone) is closed at start once its VM row is repaired; one of a live
 * process stays running; with no VM row open, the evacuation alone makes
 * fpbd look. */
static void test_recover_evacuation_at_start(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_strdup_printf("%s/recover-ev.db", dir);
    g_autoptr(FpbJournal) j = fpb_journal_open(path, &error);
    pid_t killed = dead_pid();
    gint64 dead_ev = open_evacuation(j, killed, -1);
    gint64 vm_row = open_row(j, "vm-a", "none", killed, -1);
    gint64 live_ev = open_evacuation(j, getpid(), fpb_recover_process_start_time(getpid()));
    g_autoptr(FpbOutcome) r = NULL;
    g_autofree char *status = NULL;
    Fpbd *f;

    g_assert_true(fpb_journal_set_evacuation(j, vm_row, dead_ev, &error));
    g_clear_pointer(&j, fpb_journal_free);
    f = fpbd_start("recover-ev.db", "");
    g_assert_true(wait_log(f, "recovered: evacuation", 20000));
    r = row_by_id(path, vm_row);
    g_assert_cmpstr(r->phase, ==, FPB_PHASE_RECOVERED);
    status = evacuation_status(path, dead_ev);
    g_assert_cmpstr(status, ==, FPB_EVACUATION_ABANDONED);
    g_clear_pointer(&status, g_free);
    status = evacuation_status(path, live_ev);
    g_assert_cmpstr(status, ==, FPB_EVACUATION_RUNNING);
    g_clear_pointer(&status, g_free);
    fpbd_stop(f);

    /* no VM row open: the dead evacuation alone is found */
    j = fpb_journal_open(path, &error);
    dead_ev = open_evacuation(j, dead_pid(), -1);
    g_clear_pointer(&j, fpb_journal_free);
    f = fpbd_start("recover-ev.db", "");
    g_assert_true(wait_log(f, "(an evacuation's) left open", 5000));
    for (int i = 0; i < 100; i++) {
        g_clear_pointer(&status, g_free);
        status = evacuation_status(path, dead_ev);
        if (g_strcmp0(status, FPB_EVACUATION_ABANDONED) == 0) {
            break;
        }
        g_usleep(100000);
    }
    g_assert_cmpstr(status, ==, FPB_EVACUATION_ABANDONED);
    fpbd_stop(f);
}

/* A migration that never ends (its destination accepts and says nothing):
 * SIGTERM refuses new ones, cancels it after stop-timeout-seconds and
 * exits stop-restore-seconds later however it stands. */
static void test_stop_bounded(void)
{
    Fpbd *f = fpbd_start("stop.db", "stop-timeout-seconds=1\nstop-restore-seconds=2\n");
    int port = 0;
    int listener = fpbd_harness_silent_listener(&port);
    g_autofree char *req = g_strdup_printf(
        "{\"op\":\"migrate\",\"domain\":\"vm-a\",\"dest\":\"qemu+tcp://127.0.0.1:%d/system\","
        "\"options\":{\"mode\":\"none\"}}",
        port);
    g_autofree char *again = NULL;
    int runner = client(f);
    int other = client(f);
    gint64 t0;

    g_assert_cmpint(send(runner, req, strlen(req), MSG_NOSIGNAL), >, 0);
    g_assert_cmpint(send(runner, "\n", 1, MSG_NOSIGNAL), ==, 1);
    g_assert_true(wait_log(f, "VM 'vm-a': migrating to", 5000));
    t0 = g_get_monotonic_time();
    kill(f->pid, SIGTERM);
    g_assert_true(wait_log(f, "fpbd: stopping after 1 running migration", 2000));
    again = ask(other, req, 2000);
    g_assert_nonnull(again);
    g_assert_nonnull(strstr(again, "fpbd is stopping, not starting a migration"));
    g_assert_cmpint(waitpid(f->pid, NULL, WNOHANG), ==, 0); /* still finishing */
    g_assert_true(wait_log(f, "stop-timeout-seconds (1) reached, cancelling 1 migration", 3000));
    g_assert_cmpint(fpbd_wait(f, 6000), ==, 0);
    /* 1 s to the cancel, 2 s for the restore: not sooner, not much later */
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 2800000);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 6000000);
    g_assert_true(log_has(f, "still running 2 s after cancelling, stopping anyway"));
    close(runner);
    close(other);
    close(listener);
    fpbd_free(f);
}

static int mode_of(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_mode & 07777;
}

/* The journal fpbd creates (under the loosest umask) is root's alone. */
static void test_journal_modes(void)
{
    mode_t old = umask(0);
    Fpbd *f = fpbd_start("state/journal.db", "");
    g_autofree char *state = g_strdup_printf("%s/state", dir);
    g_autofree char *wal = g_strdup_printf("%s-wal", f->journal);
    g_autofree char *shm = g_strdup_printf("%s-shm", f->journal);

    umask(old);
    g_assert_cmpint(mode_of(state), ==, 0700);
    g_assert_cmpint(mode_of(f->journal), ==, 0600);
    g_assert_cmpint(mode_of(wal), ==, 0600);
    g_assert_cmpint(mode_of(shm), ==, 0600);
    fpbd_stop(f);
}

/* ---- main ---- */

static int run_tests(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/lifecycle/recover-at-start", test_recover_at_start);
    g_test_add_func("/fpbd/lifecycle/recover-evacuation-at-start",
                    test_recover_evacuation_at_start);
    g_test_add_func("/fpbd/lifecycle/stop-bounded", test_stop_bounded);
    g_test_add_func("/fpbd/lifecycle/journal-modes", test_journal_modes);
    return g_test_run();
}

int main(int argc, char **argv)
{
    return fpbd_harness_main("/tmp/fpbd-life.XXXXXX", FALSE, node_xml, &dir, run_tests, argc, argv);
}
