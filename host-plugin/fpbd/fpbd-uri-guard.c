/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The destination URI guard of fpbd's control socket (fpbd-uri-guard.h). */
#define G_LOG_DOMAIN "fpbd"

#include <string.h>

#include "fpbd-uri-guard.h"

#define MAX_URI 1024
#define MAX_HOST 253

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpbd_uri_guard_error_quark(void)
{
    return g_quark_from_static_string("fpbd-uri-guard-error-quark");
}

/* What allowed-destinations may name at all: transports whose client only
 * connects to the host in the URI. The list in fpbd.conf is intersected
 * with this, so a config cannot open more than these. */
static const char *const configurable[] = {"qemu+tls",    "qemu+tcp",     "qemu+ssh",
                                           "qemu+libssh", "qemu+libssh2", NULL};

/* Parameters that make libvirt's client run or open something on this
 * host (or turn a check off); named in the refusal. Every other parameter
 * is refused too, with a plainer message. */
static const char *const local_params[] = {
    "command", "netcat",  "socket", "keyfile",   "pkipath", "known_hosts",  "known_hosts_verify",
    "proxy",   "sshauth", "mode",   "no_verify", "no_tty",  "tls_priority", NULL};

static gboolean refuse(GError **error, FpbdUriGuardError code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean refuse(GError **error, FpbdUriGuardError code, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    g_propagate_error(error, g_error_new_valist(FPBD_URI_GUARD_ERROR, code, format, ap));
    va_end(ap);
    return FALSE;
}

/* A conservative character set: what libvirt's URI parser and GLib's might
 * read differently (percent-encoding, '#', '\\', spaces) never gets in. */
static gboolean plain_chars(const char *uri, GError **error)
{
    if (strlen(uri) > MAX_URI) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "longer than %d characters", MAX_URI);
    }
    for (const char *p = uri; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr("+:/.-_@[]?=&", *p) == NULL) {
            return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX,
                          "character '%c' (0x%02x) is not accepted in a destination URI",
                          g_ascii_isprint(*p) ? *p : '?', (guchar)*p);
        }
    }
    return TRUE;
}

static gboolean word_ok(const char *s, const char *extra, gsize max)
{
    gsize n = strlen(s);

    if (n == 0 || n > max || s[0] == '-' || s[0] == '.') {
        return FALSE; /* a leading '-' would be an option to ssh */
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr(extra, *p) == NULL) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean host_ok(const char *host, GError **error)
{
    if (host == NULL || *host == '\0') {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX,
                      "no host: a local libvirt is not a migration destination");
    }
    /* a name or IPv4 address, or an IPv6 literal (GLib drops the brackets) */
    if (!word_ok(host, strchr(host, ':') ? ":." : ".-", MAX_HOST)) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "host '%s' is not a host name or address",
                      host);
    }
    return TRUE;
}

/* GLib gives "" for the empty host of "qemu:///system". */
static const char *host_of(GUri *u)
{
    const char *h = g_uri_get_host(u);

    return h != NULL && *h != '\0' ? h : NULL;
}

/* The first parameter's name, for the message. (transfer full) */
static char *first_param(const char *query)
{
    return g_strndup(query, strcspn(query, "=&"));
}

static gboolean params_ok(const char *query, GError **error)
{
    g_autofree char *name = NULL;

    if (query == NULL) {
        return TRUE;
    }
    name = first_param(query);
    if (g_strv_contains(local_params, name)) {
        return refuse(error, FPBD_URI_GUARD_ERROR_FORBIDDEN,
                      "URI parameter '%s' is never accepted: it makes libvirt's client run or "
                      "open something on this host, or weakens its checks",
                      name);
    }
    return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "URI parameters are not accepted ('%s')",
                  name);
}

/* root may name a local libvirt by its socket (the test bed's two
 * libvirtds on one host): qemu+unix:///system?socket=/ABS/PATH, nothing
 * else. root could connect to it without fpbd. */
static gboolean root_local_ok(GUri *u)
{
    const char *q = g_uri_get_query(u);
    const char *path = q != NULL && g_str_has_prefix(q, "socket=") ? q + strlen("socket=") : NULL;

    return host_of(u) == NULL && g_uri_get_userinfo(u) == NULL && g_uri_get_port(u) == -1 &&
           g_str_equal(g_uri_get_path(u), "/system") && path != NULL && path[0] == '/' &&
           strchr(path, '&') == NULL && strchr(path, '=') == NULL && strstr(path, "/../") == NULL;
}

/* "qemu+tls" for @scheme (bare "qemu" with a host is TLS in libvirt);
 * NULL for a transport never allowed, with @error. (transfer full) */
static char *transport_of(const char *scheme_raw, const char *host, GError **error)
{
    /* libvirt compares transports without case: so does the guard */
    g_autofree char *scheme = g_ascii_strdown(scheme_raw, -1);
    const char *plus = strchr(scheme, '+');
    g_autofree char *driver = plus ? g_strndup(scheme, plus - scheme) : g_strdup(scheme);
    const char *transport = plus ? plus + 1 : (host != NULL ? "tls" : "unix");

    if (!g_str_equal(driver, "qemu")) {
        refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX,
               "driver '%s': fpbd migrates QEMU domains only "
               "(qemu+TRANSPORT://HOST/system)",
               driver);
        return NULL;
    }
    if (g_str_equal(transport, "ext")) {
        refuse(error, FPBD_URI_GUARD_ERROR_FORBIDDEN,
               "transport 'ext' runs a program on this host: never accepted");
        return NULL;
    }
    return g_strdup_printf("qemu+%s", transport);
}

static gboolean in_list(const char *const *list, const char *s)
{
    for (gsize i = 0; list != NULL && list[i] != NULL; i++) {
        if (g_ascii_strcasecmp(list[i], s) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean allowed(const FpbdUriGuard *g, const char *transport, const char *host,
                        GError **error)
{
    if (!g_strv_contains(configurable, transport) || !in_list(g->transports, transport)) {
        g_autofree char *list = g->transports && g->transports[0]
                                    ? g_strjoinv(", ", (char **)g->transports)
                                    : g_strdup("none");

        return refuse(error, FPBD_URI_GUARD_ERROR_NOT_ALLOWED,
                      "transport '%s' is not in allowed-destinations (%s)", transport, list);
    }
    if (g->hosts != NULL && g->hosts[0] != NULL && !in_list(g->hosts, host)) {
        return refuse(error, FPBD_URI_GUARD_ERROR_NOT_ALLOWED,
                      "host '%s' is not in allowed-destination-hosts", host);
    }
    return TRUE;
}

static gboolean parts_ok(GUri *u, const char *transport, GError **error)
{
    const char *user = g_uri_get_userinfo(u);
    const char *path = g_uri_get_path(u);

    if (!host_ok(host_of(u), error) || !params_ok(g_uri_get_query(u), error)) {
        return FALSE;
    }
    if (user != NULL && !word_ok(user, "._-", 64)) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "user '%s' is not a plain user name",
                      user);
    }
    if (!g_str_equal(path, "/system") && !g_str_equal(path, "/session")) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "path '%s' is not /system or /session",
                      path);
    }
    if (g_str_equal(transport, "qemu+unix")) {
        return refuse(error, FPBD_URI_GUARD_ERROR_FORBIDDEN,
                      "transport 'unix' opens a local socket: not a migration destination");
    }
    return TRUE;
}

/* g_uri_parse() removes dot segments ("/x/../system" reads "/system"),
 * libvirt's parser does not: the path is checked as it is written. */
static gboolean path_as_written(const char *uri, GUri *u, GError **error)
{
    g_autofree char *raw = NULL;

    if (!g_uri_split(uri, G_URI_FLAGS_ENCODED, NULL, NULL, NULL, NULL, &raw, NULL, NULL, NULL) ||
        !g_str_equal(raw, g_uri_get_path(u))) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "path '%s' is not /system or /session",
                      raw ? raw : "");
    }
    return TRUE;
}

gboolean fpbd_uri_guard_check(const FpbdUriGuard *g, const char *uri, gboolean peer_is_root,
                              GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GUri) u = NULL;
    g_autofree char *transport = NULL;

    if (!plain_chars(uri, error)) {
        return FALSE;
    }
    if ((u = g_uri_parse(uri, G_URI_FLAGS_ENCODED, &local)) == NULL) {
        return refuse(error, FPBD_URI_GUARD_ERROR_SYNTAX, "not a URI: %s", local->message);
    }
    if (!path_as_written(uri, u, error)) {
        return FALSE;
    }
    if ((transport = transport_of(g_uri_get_scheme(u), host_of(u), error)) == NULL) {
        return FALSE;
    }
    if (peer_is_root && g_str_equal(transport, "qemu+unix") && root_local_ok(u)) {
        return TRUE;
    }
    return parts_ok(u, transport, error) && allowed(g, transport, host_of(u), error);
}
