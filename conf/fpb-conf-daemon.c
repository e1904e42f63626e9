/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd.conf (fpb-conf-daemon.h). GKeyFile reads the file but knows no line
 * numbers, so a first pass over the text checks the syntax line by line
 * and remembers where each key is; the values are then checked with the
 * line of their key.
 */
#define G_LOG_DOMAIN "fpb-conf"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "fpb-conf-daemon.h"

FpbConfDaemon *fpb_conf_daemon_new(void)
{
    FpbConfDaemon *c = g_new0(FpbConfDaemon, 1);

    c->uri = g_strdup(FPB_CONF_DAEMON_DEFAULT_URI);
    c->socket_path = g_strdup(FPB_CONF_DAEMON_DEFAULT_SOCKET);
    c->journal_path = g_strdup(FPB_CONF_DAEMON_DEFAULT_JOURNAL);
    c->record_observed = TRUE;
    c->reconnect_seconds = FPB_CONF_DAEMON_DEFAULT_RECONNECT_SECONDS;
    c->allowed_destinations = g_strsplit(FPB_CONF_DAEMON_DEFAULT_ALLOWED_DESTINATIONS, ",", -1);
    c->allowed_destination_hosts = g_new0(char *, 1);
    c->max_clients = FPB_CONF_DAEMON_DEFAULT_MAX_CLIENTS;
    c->max_migrations = FPB_CONF_DAEMON_DEFAULT_MAX_MIGRATIONS;
    c->client_idle_seconds = FPB_CONF_DAEMON_DEFAULT_CLIENT_IDLE_SECONDS;
    c->stop_timeout_seconds = FPB_CONF_DAEMON_DEFAULT_STOP_TIMEOUT_SECONDS;
    c->stop_restore_seconds = FPB_CONF_DAEMON_DEFAULT_STOP_RESTORE_SECONDS;
    fpb_conf_policy_init(&c->policy);
    return c;
}

void fpb_conf_daemon_free(FpbConfDaemon *c)
{
    if (c == NULL) {
        return;
    }
    g_free(c->uri);
    g_free(c->socket_path);
    g_free(c->socket_group);
    g_free(c->journal_path);
    g_strfreev(c->allowed_destinations);
    g_strfreev(c->allowed_destination_hosts);
    g_free(c->metrics_host);
    g_free(c->metrics_textfile);
    g_free(c);
}

static const char *const daemon_keys[] = {"uri",
                                          "socket",
                                          "socket-group",
                                          "journal",
                                          "record-observed",
                                          "reconnect-seconds",
                                          "allowed-destinations",
                                          "allowed-destination-hosts",
                                          "max-clients",
                                          "max-migrations",
                                          "client-idle-seconds",
                                          "stop-timeout-seconds",
                                          "stop-restore-seconds",
                                          "metrics-listen",
                                          "metrics-allow-remote",
                                          "metrics-textfile",
                                          NULL};

/* Transports whose libvirt client only connects to the host named in the
 * URI. qemu+ext (runs a program) and qemu+unix (a local socket) are not
 * among them and cannot be configured (docs/libvirt.md, "Control socket
 * security"). */
static const char *const known_transports[] = {"qemu+tls",    "qemu+tcp",     "qemu+ssh",
                                               "qemu+libssh", "qemu+libssh2", NULL};

typedef struct {
    const char *key;
    guint min;
    guint max;
    gsize offset;
} UintKey;

static const UintKey uint_keys[] = {
    {"reconnect-seconds", 1, 3600, G_STRUCT_OFFSET(FpbConfDaemon, reconnect_seconds)},
    {"max-clients", 1, 1024, G_STRUCT_OFFSET(FpbConfDaemon, max_clients)},
    {"max-migrations", 1, 64, G_STRUCT_OFFSET(FpbConfDaemon, max_migrations)},
    {"client-idle-seconds", 1, 3600, G_STRUCT_OFFSET(FpbConfDaemon, client_idle_seconds)},
    {"stop-timeout-seconds", 0, 3600, G_STRUCT_OFFSET(FpbConfDaemon, stop_timeout_seconds)},
    {"stop-restore-seconds", 1, 3600, G_STRUCT_OFFSET(FpbConfDaemon, stop_restore_seconds)},
};

static gboolean at_line(GError **error, int code, const char *name, guint line, const char *fmt,
                        ...) G_GNUC_PRINTF(5, 6);

static gboolean at_line(GError **error, int code, const char *name, guint line, const char *fmt,
                        ...)
{
    g_autofree char *m = NULL;
    va_list ap;

    va_start(ap, fmt);
    m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, FPB_CONF_ERROR, code, "%s:%u: %s", name, line, m);
    return FALSE;
}

static gboolean known_key(const char *group, const char *key)
{
    const char *const *keys = g_str_equal(group, "daemon") ? daemon_keys : fpb_conf_policy_keys();

    return g_strv_contains(keys, key);
}

/* One line of the first pass; records "group\nkey" -> line in @lines. */
static gboolean scan_line(const char *name, guint n, const char *raw, char **group,
                          GHashTable *lines, GError **error)
{
    g_autofree char *line = g_strstrip(g_strdup(raw));
    const char *eq;
    g_autofree char *key = NULL;

    if (*line == '\0' || *line == '#') {
        return TRUE;
    }
    if (*line == '[') {
        /* GKeyFile's rule: after the first ']' only blanks and tabs */
        if (line[strlen(line) - 1] != ']' ||
            strspn(strchr(raw, ']') + 1, " \t") != strlen(strchr(raw, ']') + 1)) {
            return at_line(error, FPB_CONF_ERROR_PARSE, name, n, "'%s' is not a group header",
                           line);
        }
        g_free(*group);
        *group = g_strndup(line + 1, strlen(line) - 2);
        if (!g_str_equal(*group, "daemon") && !g_str_equal(*group, "policy")) {
            return at_line(error, FPB_CONF_ERROR_INVALID, name, n,
                           "unknown group '[%s]' (expected [daemon] or [policy])", *group);
        }
        return TRUE;
    }
    if ((eq = strchr(line, '=')) == NULL) {
        return at_line(error, FPB_CONF_ERROR_PARSE, name, n,
                       "'%s' is neither a group header nor KEY=VALUE", line);
    }
    if (*group == NULL) {
        return at_line(error, FPB_CONF_ERROR_PARSE, name, n, "key before the first group");
    }
    key = g_strstrip(g_strndup(line, eq - line));
    if (!known_key(*group, key)) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, n, "unknown key '%s' in [%s]", key,
                       *group);
    }
    {
        char *k = g_strdup_printf("%s\n%s", *group, key);
        guint first = GPOINTER_TO_UINT(g_hash_table_lookup(lines, k));

        if (first != 0) {
            g_free(k);
            return at_line(error, FPB_CONF_ERROR_INVALID, name, n,
                           "key '%s' in [%s] given twice (first on line %u)", key, *group, first);
        }
        g_hash_table_insert(lines, k, GUINT_TO_POINTER(n));
    }
    return TRUE;
}

static gboolean scan(const char *name, const char *data, GHashTable *lines, GError **error)
{
    g_auto(GStrv) split = g_strsplit(data, "\n", -1);
    g_autofree char *group = NULL;

    for (guint i = 0; split[i] != NULL; i++) {
        gsize n = strlen(split[i]);

        /* as GKeyFile does: one '\r' before a newline goes, no other */
        if (split[i + 1] != NULL && n > 0 && split[i][n - 1] == '\r') {
            split[i][n - 1] = '\0';
        }
        if (!scan_line(name, i + 1, split[i], &group, lines, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static guint line_of(GHashTable *lines, const char *group, const char *key)
{
    g_autofree char *k = g_strdup_printf("%s\n%s", group, key);

    return GPOINTER_TO_UINT(g_hash_table_lookup(lines, k));
}

static gboolean set_uint(FpbConfDaemon *c, const UintKey *k, const char *value, const char *name,
                         guint line, GError **error)
{
    guint64 v = 0;

    if (!g_ascii_string_to_unsigned(value, 10, k->min, k->max, &v, NULL)) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "%s: '%s' is not a number within %u..%u", k->key, value, k->min, k->max);
    }
    G_STRUCT_MEMBER(guint, c, k->offset) = (guint)v;
    return TRUE;
}

/* A host name or an IPv4/IPv6 address, as the guard compares it. */
static gboolean host_word(const char *s)
{
    if (s[0] == '-' || s[0] == '.' || strlen(s) > 253) {
        return FALSE;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr(".-:", *p) == NULL) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_list_word(const char *key, const char *w, const char *name, guint line,
                                GError **error)
{
    if (g_str_equal(key, "allowed-destination-hosts")) {
        return host_word(w) ? TRUE
                            : at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                                      "%s: '%s' is not a host name or address", key, w);
    }
    if (g_str_equal(w, "qemu+ext")) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "%s: qemu+ext is never allowed: it makes fpbd run a program as root", key);
    }
    if (!g_strv_contains(known_transports, w)) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "%s: '%s' is not qemu+tls, qemu+tcp, qemu+ssh, qemu+libssh or qemu+libssh2",
                       key, w);
    }
    return TRUE;
}

/* Comma, semicolon or blank separated; empty is an empty list. */
static gboolean set_list(FpbConfDaemon *c, const char *key, const char *value, const char *name,
                         guint line, GError **error)
{
    g_autofree char *lower = g_ascii_strdown(value, -1);
    g_auto(GStrv) words = g_strsplit_set(lower, ",; \t", -1);
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
    char ***field = g_str_equal(key, "allowed-destinations") ? &c->allowed_destinations
                                                             : &c->allowed_destination_hosts;

    for (guint i = 0; words[i] != NULL; i++) {
        if (*words[i] == '\0') {
            continue;
        }
        if (!check_list_word(key, words[i], name, line, error)) {
            return FALSE;
        }
        g_ptr_array_add(list, g_strdup(words[i]));
    }
    g_ptr_array_add(list, NULL);
    g_strfreev(*field);
    *field = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
    return TRUE;
}

gboolean fpb_conf_daemon_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* ADDRESS:PORT with an IP address: 127.0.0.1:9723, [::1]:9723. No host
 * names: fpbd does not resolve names, and "localhost" is whatever the
 * resolver says. */
static gboolean set_metrics_listen(FpbConfDaemon *c, const char *value, const char *name,
                                   guint line, GError **error)
{
    g_autofree char *host = NULL;
    const char *colon = strrchr(value, ':');
    guint64 port = 0;
    struct in_addr a4;
    struct in6_addr a6;
    gboolean ok = FALSE;

    if (*value == '\0') {
        g_clear_pointer(&c->metrics_host, g_free);
        return TRUE;
    }
    if (colon != NULL && value[0] == '[' && colon > value && colon[-1] == ']') {
        host = g_strndup(value + 1, colon - value - 2);
        ok = inet_pton(AF_INET6, host, &a6) == 1;
    } else if (colon != NULL) {
        host = g_strndup(value, colon - value);
        ok = inet_pton(AF_INET, host, &a4) == 1;
    }
    if (!ok || !g_ascii_string_to_unsigned(colon + 1, 10, 0, 65535, &port, NULL)) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "metrics-listen: '%s' is not IP-ADDRESS:PORT (e.g. 127.0.0.1:9723 or "
                       "[::1]:9723; no host names)",
                       value);
    }
    g_free(c->metrics_host);
    c->metrics_host = g_steal_pointer(&host);
    c->metrics_port = (guint)port;
    return TRUE;
}

/* node_exporter's textfile collector reads only *.prom files. */
static gboolean set_metrics_textfile(FpbConfDaemon *c, const char *value, const char *name,
                                     guint line, GError **error)
{
    if (*value != '\0' && (value[0] != '/' || !g_str_has_suffix(value, ".prom"))) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "metrics-textfile: '%s' is not an absolute path ending in .prom (the "
                       "files node_exporter's textfile collector reads)",
                       value);
    }
    g_free(c->metrics_textfile);
    c->metrics_textfile = *value != '\0' ? g_strdup(value) : NULL;
    return TRUE;
}

static gboolean set_bool(gboolean *field, const char *key, const char *value, const char *name,
                         guint line, GError **error)
{
    FpbConfPolicy tmp;

    fpb_conf_policy_init(&tmp);
    if (!fpb_conf_policy_set(&tmp, "balloon", value, NULL, NULL) || tmp.balloon < 0) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line, "%s: '%s' is not true or false",
                       key, value);
    }
    *field = tmp.balloon == 1;
    return TRUE;
}

static gboolean set_daemon_key(FpbConfDaemon *c, const char *key, const char *value,
                               const char *name, guint line, GError **error)
{
    if (g_str_equal(key, "record-observed")) {
        return set_bool(&c->record_observed, key, value, name, line, error);
    }
    if (g_str_equal(key, "metrics-allow-remote")) {
        return set_bool(&c->metrics_allow_remote, key, value, name, line, error);
    }
    if (g_str_equal(key, "metrics-listen")) {
        return set_metrics_listen(c, value, name, line, error);
    }
    if (g_str_equal(key, "metrics-textfile")) {
        return set_metrics_textfile(c, value, name, line, error);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(uint_keys); i++) {
        if (g_str_equal(key, uint_keys[i].key)) {
            return set_uint(c, &uint_keys[i], value, name, line, error);
        }
    }
    if (g_str_equal(key, "allowed-destinations") || g_str_equal(key, "allowed-destination-hosts")) {
        return set_list(c, key, value, name, line, error);
    }
    if (*value == '\0' && !g_str_equal(key, "socket-group")) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line, "%s: must not be empty", key);
    }
    if ((g_str_equal(key, "socket") || g_str_equal(key, "journal")) && value[0] != '/') {
        return at_line(error, FPB_CONF_ERROR_INVALID, name, line,
                       "%s: '%s' is not an absolute path", key, value);
    }
    {
        char **field = g_str_equal(key, "uri")            ? &c->uri
                       : g_str_equal(key, "socket")       ? &c->socket_path
                       : g_str_equal(key, "socket-group") ? &c->socket_group
                                                          : &c->journal_path;

        g_free(*field);
        *field = *value != '\0' ? g_strdup(value) : NULL;
    }
    return TRUE;
}

static gboolean apply_group(FpbConfDaemon *c, GKeyFile *kf, const char *group, const char *name,
                            GHashTable *lines, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);

    for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
        g_autofree char *value = g_key_file_get_value(kf, group, keys[i], NULL);
        guint line = line_of(lines, group, keys[i]);
        g_autoptr(GError) local = NULL;

        g_strstrip(value);
        if (g_str_equal(group, "daemon")) {
            if (!set_daemon_key(c, keys[i], value, name, line, error)) {
                return FALSE;
            }
        } else if (*value == '\0' ||
                   !fpb_conf_policy_set(&c->policy, keys[i], value, NULL, &local)) {
            return at_line(error, FPB_CONF_ERROR_INVALID, name, line, "%s",
                           local ? local->message : "a policy key must not be empty");
        }
    }
    return TRUE;
}

gboolean fpb_conf_daemon_load_data(FpbConfDaemon *c, const char *name, const char *data, gsize len,
                                   GError **error)
{
    g_autoptr(GHashTable) lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    if (len > FPB_CONF_DAEMON_MAX_BYTES || memchr(data, '\0', len) != NULL) {
        g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE,
                    "%s: not a text file of at most 1 MiB", name);
        return FALSE;
    }
    text = g_strndup(data, len);
    if (!g_utf8_validate(text, -1, NULL)) {
        g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE, "%s: not UTF-8", name);
        return FALSE;
    }
    if (!scan(name, text, lines, error)) {
        return FALSE;
    }
    if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &local)) {
        /* The scan accepts what GKeyFile accepts; this is a backstop. */
        g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE, "%s: %s", name, local->message);
        return FALSE;
    }
    if (!apply_group(c, kf, "daemon", name, lines, error) ||
        !apply_group(c, kf, "policy", name, lines, error)) {
        return FALSE;
    }
    /* After every key: metrics-allow-remote may come after metrics-listen. */
    if (c->metrics_host != NULL && !c->metrics_allow_remote &&
        !fpb_conf_daemon_host_is_loopback(c->metrics_host)) {
        return at_line(error, FPB_CONF_ERROR_INVALID, name,
                       line_of(lines, "daemon", "metrics-listen"),
                       "metrics-listen: '%s' is not a loopback address and the metrics (VM "
                       "names, migration history) are served without authentication; set "
                       "metrics-allow-remote=true to serve them there",
                       c->metrics_host);
    }
    return TRUE;
}

gboolean fpb_conf_daemon_load_file(FpbConfDaemon *c, const char *path, gboolean missing_ok,
                                   GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        if (missing_ok && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            return TRUE;
        }
        g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_IO, "%s", local->message);
        return FALSE;
    }
    return fpb_conf_daemon_load_data(c, path, data, len, error);
}
