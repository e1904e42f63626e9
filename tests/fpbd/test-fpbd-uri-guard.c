/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The destination URI guard of fpbd's control socket (fpbd-uri-guard.h). */
#include <glib.h>

#include "fpbd-uri-guard.h"

static const char *const default_transports[] = {"qemu+tls", "qemu+tcp", NULL};
static const FpbdUriGuard defaults = {.transports = default_transports, .hosts = NULL};

static void expect(const FpbdUriGuard *g, const char *uri, gboolean root, int code,
                   const char *fragment)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = fpbd_uri_guard_check(g, uri, root, &error);

    if (code < 0) {
        g_assert_no_error(error);
        g_assert_true(ok);
        return;
    }
    g_assert_false(ok);
    g_assert_error(error, FPBD_URI_GUARD_ERROR, code);
    if (strstr(error->message, fragment) == NULL) {
        g_error("'%s': message '%s' lacks '%s'", uri, error->message, fragment);
    }
}

static void test_accepted(void)
{
    expect(&defaults, "qemu+tcp://host-b.example/system", FALSE, -1, NULL);
    expect(&defaults, "qemu+tls://10.0.0.2:16514/system", FALSE, -1, NULL);
    expect(&defaults, "qemu://host-b/system", FALSE, -1, NULL); /* TLS in libvirt */
    expect(&defaults, "qemu+tcp://[::1]:16509/session", FALSE, -1, NULL);
    expect(&defaults, "QEMU+TCP://Host-B/system", FALSE, -1, NULL);
    expect(&defaults, "qemu+tcp://admin@host-b/system", FALSE, -1, NULL);
}

/* The exploit of issue 20 and its relatives: never, for anyone. */
static void test_ext_and_local_params(void)
{
    static const char *const all[] = {"qemu+tls",     "qemu+tcp", "qemu+ssh",  "qemu+libssh",
                                      "qemu+libssh2", "qemu+ext", "qemu+unix", NULL};
    const FpbdUriGuard open_all = {.transports = all};

    for (int root = 0; root <= 1; root++) {
        expect(&open_all, "qemu+ext:///system?command=/tmp/x", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "transport 'ext' runs a program");
        expect(&open_all, "qemu+EXT://h/system?command=/tmp/x", root,
               FPBD_URI_GUARD_ERROR_FORBIDDEN, "'ext'");
        expect(&open_all, "qemu+ssh://h/system?command=/tmp/x", root,
               FPBD_URI_GUARD_ERROR_FORBIDDEN, "parameter 'command'");
        expect(&open_all, "qemu+ssh://h/system?netcat=/tmp/x", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "parameter 'netcat'");
        expect(&open_all, "qemu+libssh://h/system?keyfile=/root/.ssh/id", root,
               FPBD_URI_GUARD_ERROR_FORBIDDEN, "parameter 'keyfile'");
        expect(&open_all, "qemu+libssh2://h/system?known_hosts=/tmp/k", root,
               FPBD_URI_GUARD_ERROR_FORBIDDEN, "parameter 'known_hosts'");
        expect(&open_all, "qemu+tls://h/system?pkipath=/tmp/pki", root,
               FPBD_URI_GUARD_ERROR_FORBIDDEN, "parameter 'pkipath'");
        expect(&open_all, "qemu+tls://h/system?no_verify=1", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "parameter 'no_verify'");
        expect(&open_all, "qemu+ssh://h/system?proxy=netcat", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "parameter 'proxy'");
        expect(&open_all, "qemu+tcp://h/system?socket=/run/x", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "parameter 'socket'");
        expect(&open_all, "qemu+tcp://h/system?name=x", root, FPBD_URI_GUARD_ERROR_SYNTAX,
               "parameters are not accepted");
        expect(&open_all, "qemu+unix://h/system", root, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "opens a local socket");
    }
    /* percent-encoding could hide a parameter name from the guard */
    expect(&open_all, "qemu+tcp://h/system?comm%61nd=/tmp/x", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "character '%'");
}

static void test_local(void)
{
    /* a group member never names a local libvirt */
    expect(&defaults, "qemu+unix:///system?socket=/run/libvirt/libvirt-sock", FALSE,
           FPBD_URI_GUARD_ERROR_SYNTAX, "no host");
    expect(&defaults, "qemu:///system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "no host");
    /* root may (the test bed's two libvirtds), by socket path only */
    expect(&defaults, "qemu+unix:///system?socket=/tmp/hosts/b/run/libvirt-sock", TRUE, -1, NULL);
    expect(&defaults, "qemu+unix:///system?socket=/tmp/x&command=/tmp/x", TRUE,
           FPBD_URI_GUARD_ERROR_SYNTAX, "no host");
    expect(&defaults, "qemu+unix:///system?socket=relative", TRUE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "no host");
}

static void test_grammar(void)
{
    expect(&defaults, "qemu+tcp://-oProxyCommand=x/system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "is not a host name");
    expect(&defaults, "qemu+tcp://-oProxyCommand=x@h/system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "not a plain user name");
    expect(&defaults, "qemu+tcp://h/system#x", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "'#'");
    expect(&defaults, "qemu+tcp://h/system x", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "' '");
    expect(&defaults, "qemu+tcp://h/etc", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "not /system or /session");
    expect(&defaults, "xen+tcp://h/system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "driver 'xen'");
    expect(&defaults, "x", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "not a URI");
    expect(&defaults, "qemu+tcp://h:port/system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX, "not a URI");
}

/* GLib's parser removes dot segments, libvirt's does not: the path is
 * checked as written (found by fuzz-fpbd-request: qemu+tls://h//../session
 * passed as /session while libvirt reads //../session). */
static void test_dot_segments(void)
{
    expect(&defaults, "qemu+tls://h//../session", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "path '//../session' is not /system or /session");
    expect(&defaults, "qemu+tcp://h/x/../system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "path '/x/../system'");
    expect(&defaults, "qemu+tcp://h/./system", FALSE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "path '/./system'");
    expect(&defaults, "qemu+unix:///x/../system?socket=/tmp/s", TRUE, FPBD_URI_GUARD_ERROR_SYNTAX,
           "path '/x/../system'");
}

static void test_allow_lists(void)
{
    static const char *const tls_only[] = {"qemu+tls", NULL};
    static const char *const none[] = {NULL};
    static const char *const hosts[] = {"host-b", "10.0.0.2", NULL};
    const FpbdUriGuard g_tls = {.transports = tls_only, .hosts = hosts};
    const FpbdUriGuard g_none = {.transports = none};

    expect(&defaults, "qemu+ssh://h/system", FALSE, FPBD_URI_GUARD_ERROR_NOT_ALLOWED,
           "transport 'qemu+ssh' is not in allowed-destinations (qemu+tls, qemu+tcp)");
    expect(&g_tls, "qemu+tcp://host-b/system", TRUE, FPBD_URI_GUARD_ERROR_NOT_ALLOWED,
           "'qemu+tcp'");
    expect(&g_tls, "qemu+tls://HOST-B/system", FALSE, -1, NULL);
    expect(&g_tls, "qemu+tls://host-c/system", FALSE, FPBD_URI_GUARD_ERROR_NOT_ALLOWED,
           "host 'host-c' is not in allowed-destination-hosts");
    expect(&g_none, "qemu+tls://h/system", FALSE, FPBD_URI_GUARD_ERROR_NOT_ALLOWED, "(none)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/uri-guard/accepted", test_accepted);
    g_test_add_func("/fpbd/uri-guard/ext-and-local-params", test_ext_and_local_params);
    g_test_add_func("/fpbd/uri-guard/local", test_local);
    g_test_add_func("/fpbd/uri-guard/grammar", test_grammar);
    g_test_add_func("/fpbd/uri-guard/dot-segments", test_dot_segments);
    g_test_add_func("/fpbd/uri-guard/allow-lists", test_allow_lists);
    return g_test_run();
}
