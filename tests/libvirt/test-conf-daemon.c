/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbd.conf (conf/fpb-conf-daemon.h): defaults, keys, line-precise errors. */
#include <glib/gstdio.h>

#include "fpb-conf-daemon.h"

static gboolean load(FpbConfDaemon *c, const char *text, GError **error)
{
    return fpb_conf_daemon_load_data(c, "fpbd.conf", text, strlen(text), error);
}

static void test_defaults(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();

    g_assert_cmpstr(c->uri, ==, "qemu:///system");
    g_assert_cmpstr(c->socket_path, ==, "/run/fpb/fpbd.sock");
    g_assert_null(c->socket_group);
    g_assert_cmpstr(c->journal_path, ==, "/var/lib/fpb/journal.db");
    g_assert_true(c->record_observed);
    g_assert_cmpuint(c->reconnect_seconds, ==, 5);
    g_assert_true(fpb_conf_policy_is_empty(&c->policy));
    g_assert_cmpuint(g_strv_length(c->allowed_destinations), ==, 2);
    g_assert_cmpstr(c->allowed_destinations[0], ==, "qemu+tls");
    g_assert_cmpstr(c->allowed_destinations[1], ==, "qemu+tcp");
    g_assert_cmpuint(g_strv_length(c->allowed_destination_hosts), ==, 0);
    g_assert_cmpuint(c->max_clients, ==, 16);
    g_assert_cmpuint(c->max_migrations, ==, 4);
    g_assert_cmpuint(c->client_idle_seconds, ==, 30);
    g_assert_cmpuint(c->stop_timeout_seconds, ==, 60);
    g_assert_cmpuint(c->stop_restore_seconds, ==, 130);
    g_assert_null(c->metrics_host);
    g_assert_false(c->metrics_allow_remote);
    g_assert_null(c->metrics_textfile);
}

/* The metrics keys (docs/metrics.md): loopback without more; any other
 * address only with metrics-allow-remote, which may come later. */
static void test_metrics_keys(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(FpbConfDaemon) v6 = fpb_conf_daemon_new();
    g_autoptr(FpbConfDaemon) remote = fpb_conf_daemon_new();
    g_autoptr(FpbConfDaemon) off = fpb_conf_daemon_new();

    g_assert_true(load(c,
                       "[daemon]\nmetrics-listen=127.0.0.1:9723\n"
                       "metrics-textfile=/var/lib/node_exporter/fpb.prom\n",
                       &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->metrics_host, ==, "127.0.0.1");
    g_assert_cmpuint(c->metrics_port, ==, 9723);
    g_assert_cmpstr(c->metrics_textfile, ==, "/var/lib/node_exporter/fpb.prom");
    g_assert_true(load(v6, "[daemon]\nmetrics-listen=[::1]:0\n", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(v6->metrics_host, ==, "::1");
    g_assert_cmpuint(v6->metrics_port, ==, 0);
    g_assert_true(
        load(remote, "[daemon]\nmetrics-listen=0.0.0.0:9723\nmetrics-allow-remote=yes\n", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(remote->metrics_host, ==, "0.0.0.0");
    g_assert_true(remote->metrics_allow_remote);
    g_assert_true(load(off, "[daemon]\nmetrics-listen=\nmetrics-textfile=\n", &error));
    g_assert_no_error(error);
    g_assert_null(off->metrics_host);
    g_assert_null(off->metrics_textfile);
    g_assert_true(fpb_conf_daemon_host_is_loopback("127.1.2.3"));
    g_assert_true(fpb_conf_daemon_host_is_loopback("0:0:0:0:0:0:0:1"));
    g_assert_false(fpb_conf_daemon_host_is_loopback("::"));
    g_assert_false(fpb_conf_daemon_host_is_loopback("::ffff:127.0.0.1"));
    g_assert_false(fpb_conf_daemon_host_is_loopback("128.0.0.1"));
    g_assert_false(fpb_conf_daemon_host_is_loopback("localhost"));
}

/* The shipped conf/fpbd.conf is all comments: loading it changes nothing. */
static void test_shipped_file(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *path =
        g_build_filename(g_getenv("FPB_SOURCE_ROOT"), "conf", "fpbd.conf", NULL);

    g_assert_true(fpb_conf_daemon_load_file(c, path, FALSE, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->uri, ==, "qemu:///system");
    g_assert_true(fpb_conf_policy_is_empty(&c->policy));
}

static void test_all_keys(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    g_assert_true(load(c,
                       "# comment\n[daemon]\nuri = qemu+unix:///system?socket=/x/sock\n"
                       "socket=/tmp/f.sock\nsocket-group=kvm\njournal=/tmp/j.db\n"
                       "record-observed=false\nreconnect-seconds=30\n\n[policy]\nmode=balloon\n"
                       "objective=bytes\nfloor=256MiB\nmax-prep-seconds=4.5\nballoon=no\n",
                       &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->uri, ==, "qemu+unix:///system?socket=/x/sock");
    g_assert_cmpstr(c->socket_group, ==, "kvm");
    g_assert_false(c->record_observed);
    g_assert_cmpuint(c->reconnect_seconds, ==, 30);
    g_assert_cmpint(c->policy.mode, ==, FPB_CONF_MODE_BALLOON);
    g_assert_cmpint(c->policy.objective, ==, FPB_CONF_OBJECTIVE_BYTES);
    g_assert_cmpint(c->policy.floor_bytes, ==, 256 << 20);
    g_assert_cmpfloat(c->policy.max_prep_seconds, ==, 4.5);
    g_assert_cmpint(c->policy.balloon, ==, 0);
}

/* The control socket's limits and allow-lists (docs/libvirt.md, "Control
 * socket security"). */
static void test_security_keys(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;
    const char *const dests[] = {"qemu+ssh", "qemu+tls", NULL};
    const char *const hosts[] = {"host-b.example", "10.0.0.2", "::1", NULL};

    g_assert_true(load(c,
                       "[daemon]\nallowed-destinations = QEMU+SSH, qemu+tls\n"
                       "allowed-destination-hosts=host-b.example;10.0.0.2 ::1\n"
                       "max-clients=3\nmax-migrations=1\nclient-idle-seconds=2\n"
                       "stop-timeout-seconds=0\nstop-restore-seconds=5\n",
                       &error));
    g_assert_no_error(error);
    g_assert_true(g_strv_equal((const char *const *)c->allowed_destinations, dests));
    g_assert_true(g_strv_equal((const char *const *)c->allowed_destination_hosts, hosts));
    g_assert_cmpuint(c->max_clients, ==, 3);
    g_assert_cmpuint(c->max_migrations, ==, 1);
    g_assert_cmpuint(c->client_idle_seconds, ==, 2);
    g_assert_cmpuint(c->stop_timeout_seconds, ==, 0);
    g_assert_cmpuint(c->stop_restore_seconds, ==, 5);
    /* empty: no transport at all (only root's local socket remains) */
    g_assert_true(load(c, "[daemon]\nallowed-destinations=\n", &error));
    g_assert_cmpuint(g_strv_length(c->allowed_destinations), ==, 0);
}

static const struct {
    const char *path;
    const char *text;
    const char *message; /* the whole message: file, line, reason */
} bad_cases[] = {
    {"/conf/daemon/bad/syntax", "[daemon]\nuri=x\n\nthis is not a key\n",
     "fpbd.conf:4: 'this is not a key' is neither a group header nor KEY=VALUE"},
    {"/conf/daemon/bad/header", "[daemon\n", "fpbd.conf:1: '[daemon' is not a group header"},
    {"/conf/daemon/bad/group", "# x\n[deamon]\nuri=x\n",
     "fpbd.conf:2: unknown group '[deamon]' (expected [daemon] or [policy])"},
    {"/conf/daemon/bad/key", "[daemon]\n\nsocket_path=/x\n",
     "fpbd.conf:3: unknown key 'socket_path' in [daemon]"},
    {"/conf/daemon/bad/before-group", "uri=x\n", "fpbd.conf:1: key before the first group"},
    {"/conf/daemon/bad/duplicate", "[daemon]\nuri=a\nuri=b\n",
     "fpbd.conf:3: key 'uri' in [daemon] given twice (first on line 2)"},
    {"/conf/daemon/bad/relative-socket", "[daemon]\nsocket=fpbd.sock\n",
     "fpbd.conf:2: socket: 'fpbd.sock' is not an absolute path"},
    {"/conf/daemon/bad/empty-uri", "[daemon]\nuri=\n", "fpbd.conf:2: uri: must not be empty"},
    {"/conf/daemon/bad/record-observed", "[daemon]\nrecord-observed=sometimes\n",
     "fpbd.conf:2: record-observed: 'sometimes' is not true or false"},
    {"/conf/daemon/bad/reconnect", "[daemon]\nreconnect-seconds=0\n",
     "fpbd.conf:2: reconnect-seconds: '0' is not a number within 1..3600"},
    {"/conf/daemon/bad/allowed-ext", "[daemon]\nallowed-destinations=qemu+tls,qemu+ext\n",
     "fpbd.conf:2: allowed-destinations: qemu+ext is never allowed: it makes fpbd run a program "
     "as root"},
    {"/conf/daemon/bad/allowed-unix", "[daemon]\nallowed-destinations=qemu+unix\n",
     "fpbd.conf:2: allowed-destinations: 'qemu+unix' is not qemu+tls, qemu+tcp, qemu+ssh, "
     "qemu+libssh or qemu+libssh2"},
    {"/conf/daemon/bad/allowed-uri", "[daemon]\nallowed-destinations=qemu+tcp://h/system\n",
     "fpbd.conf:2: allowed-destinations: 'qemu+tcp://h/system' is not qemu+tls, qemu+tcp, "
     "qemu+ssh, qemu+libssh or qemu+libssh2"},
    {"/conf/daemon/bad/allowed-host", "[daemon]\nallowed-destination-hosts=-oProxyCommand=x\n",
     "fpbd.conf:2: allowed-destination-hosts: '-oproxycommand=x' is not a host name or address"},
    {"/conf/daemon/bad/max-clients", "[daemon]\nmax-clients=0\n",
     "fpbd.conf:2: max-clients: '0' is not a number within 1..1024"},
    {"/conf/daemon/bad/max-migrations", "[daemon]\nmax-migrations=65\n",
     "fpbd.conf:2: max-migrations: '65' is not a number within 1..64"},
    {"/conf/daemon/bad/client-idle", "[daemon]\nclient-idle-seconds=x\n",
     "fpbd.conf:2: client-idle-seconds: 'x' is not a number within 1..3600"},
    {"/conf/daemon/bad/stop-timeout", "[daemon]\nstop-timeout-seconds=3601\n",
     "fpbd.conf:2: stop-timeout-seconds: '3601' is not a number within 0..3600"},
    {"/conf/daemon/bad/stop-restore", "[daemon]\nstop-restore-seconds=0\n",
     "fpbd.conf:2: stop-restore-seconds: '0' is not a number within 1..3600"},
    {"/conf/daemon/bad/metrics-remote", "[daemon]\nuri=x\nmetrics-listen=192.0.2.1:9723\n",
     "fpbd.conf:3: metrics-listen: '192.0.2.1' is not a loopback address and the metrics (VM "
     "names, migration history) are served without authentication; set "
     "metrics-allow-remote=true to serve them there"},
    {"/conf/daemon/bad/metrics-any",
     "[daemon]\nmetrics-listen=[::]:9723\nmetrics-allow-remote=no\n",
     "fpbd.conf:2: metrics-listen: '::' is not a loopback address and the metrics (VM "
     "names, migration history) are served without authentication; set "
     "metrics-allow-remote=true to serve them there"},
    {"/conf/daemon/bad/metrics-name", "[daemon]\nmetrics-listen=localhost:9723\n",
     "fpbd.conf:2: metrics-listen: 'localhost:9723' is not IP-ADDRESS:PORT (e.g. "
     "127.0.0.1:9723 or [::1]:9723; no host names)"},
    {"/conf/daemon/bad/metrics-no-port", "[daemon]\nmetrics-listen=127.0.0.1\n",
     "fpbd.conf:2: metrics-listen: '127.0.0.1' is not IP-ADDRESS:PORT (e.g. "
     "127.0.0.1:9723 or [::1]:9723; no host names)"},
    {"/conf/daemon/bad/metrics-port", "[daemon]\nmetrics-listen=127.0.0.1:65536\n",
     "fpbd.conf:2: metrics-listen: '127.0.0.1:65536' is not IP-ADDRESS:PORT (e.g. "
     "127.0.0.1:9723 or [::1]:9723; no host names)"},
    {"/conf/daemon/bad/metrics-v6-brackets", "[daemon]\nmetrics-listen=::1:9723\n",
     "fpbd.conf:2: metrics-listen: '::1:9723' is not IP-ADDRESS:PORT (e.g. "
     "127.0.0.1:9723 or [::1]:9723; no host names)"},
    {"/conf/daemon/bad/metrics-allow-remote", "[daemon]\nmetrics-allow-remote=maybe\n",
     "fpbd.conf:2: metrics-allow-remote: 'maybe' is not true or false"},
    {"/conf/daemon/bad/metrics-textfile", "[daemon]\nmetrics-textfile=/var/lib/fpb.txt\n",
     "fpbd.conf:2: metrics-textfile: '/var/lib/fpb.txt' is not an absolute path ending in .prom "
     "(the files node_exporter's textfile collector reads)"},
    {"/conf/daemon/bad/metrics-textfile-relative", "[daemon]\nmetrics-textfile=fpb.prom\n",
     "fpbd.conf:2: metrics-textfile: 'fpb.prom' is not an absolute path ending in .prom "
     "(the files node_exporter's textfile collector reads)"},
    {"/conf/daemon/bad/policy-mode", "[daemon]\n[policy]\nobjective=time\nmode=turbo\n",
     "fpbd.conf:4: mode: 'turbo' is not auto, none, hint, balloon or hint+balloon"},
    {"/conf/daemon/bad/policy-floor", "[policy]\nfloor=lots\n",
     "fpbd.conf:2: floor: 'lots' is not a size up to 1 PiB (e.g. 512MiB)"},
    {"/conf/daemon/bad/policy-empty", "[policy]\nballoon=\n",
     "fpbd.conf:2: a policy key must not be empty"},
    /* GKeyFile takes only blanks and tabs after a group's "]", and drops
     * one "\r" before a newline: the line is named for what it refuses
     * (found by fuzz-conf-daemon; the message had no line) */
    {"/conf/daemon/bad/header-formfeed", "[daemon]\f\n",
     "fpbd.conf:1: '[daemon]' is not a group header"},
    {"/conf/daemon/bad/header-two-cr", "[daemon]\nuri=x\n[policy]\r\r\n",
     "fpbd.conf:3: '[policy]' is not a group header"},
    {"/conf/daemon/bad/header-cr-at-end", "[daemon]\r",
     "fpbd.conf:1: '[daemon]' is not a group header"},
};

static void test_bad(gconstpointer data)
{
    guint i = GPOINTER_TO_UINT(data);
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    g_assert_false(load(c, bad_cases[i].text, &error));
    g_assert_nonnull(error);
    g_assert_true(error->domain == FPB_CONF_ERROR);
    g_assert_cmpstr(error->message, ==, bad_cases[i].message);
}

/* CRLF files, blanks and tabs after a group header: as GKeyFile reads them. */
static void test_crlf(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    g_assert_true(
        load(c, "[daemon] \t\r\nuri=qemu:///session\r\n[policy]\r\nmode=none\r\n", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(c->uri, ==, "qemu:///session");
    g_assert_true(c->policy.has_mode);
}

static void test_binary(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    g_assert_false(fpb_conf_daemon_load_data(c, "f", "[daemon]\0", 9, &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE);
    g_clear_error(&error);
    g_assert_false(load(c, "[daemon]\nuri=\xff\n", &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE);
}

static void test_missing_file(void)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    g_assert_true(fpb_conf_daemon_load_file(c, "/nonexistent/fpbd.conf", TRUE, &error));
    g_assert_false(fpb_conf_daemon_load_file(c, "/nonexistent/fpbd.conf", FALSE, &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_IO);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/conf/daemon/defaults", test_defaults);
    g_test_add_func("/conf/daemon/shipped-file", test_shipped_file);
    g_test_add_func("/conf/daemon/all-keys", test_all_keys);
    g_test_add_func("/conf/daemon/security-keys", test_security_keys);
    g_test_add_func("/conf/daemon/metrics-keys", test_metrics_keys);
    g_test_add_func("/conf/daemon/crlf", test_crlf);
    g_test_add_func("/conf/daemon/binary", test_binary);
    g_test_add_func("/conf/daemon/missing-file", test_missing_file);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].path, GUINT_TO_POINTER(i), test_bad);
    }
    return g_test_run();
}
