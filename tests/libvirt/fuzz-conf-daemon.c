/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: bytes as /etc/fpb/fpbd.conf, through what fpbd,
 * fpb-hook and fpbctl read it with (fpb_conf_daemon_load_file(), from a
 * memfd, and fpb_conf_daemon_load_data() under it). Beyond no crash, leak,
 * hang or sanitizer report, for a file that loads:
 *   - both entry points agree;
 *   - every value is within its documented range (fpb-conf-daemon.h):
 *     counts and seconds, absolute paths, allowed-destinations only from
 *     the five transports (never qemu+ext or qemu+unix), host words, the
 *     [policy] keys;
 *   - the configuration written out again (as `fpbd --check-config`
 *     would) loads to the same configuration;
 * and an error names the file and a line of it ("NAME:LINE: ...", the
 * whole file only for a binary or oversized one), in UTF-8.
 * See run-fuzz.sh.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fpb-conf-daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const transports[] = {"qemu+tls",    "qemu+tcp",     "qemu+ssh",
                                         "qemu+libssh", "qemu+libssh2", NULL};

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-conf-daemon: %s: %s\n", what, detail ? detail : "");
    abort();
}

static gboolean policy_equal(const FpbConfPolicy *a, const FpbConfPolicy *b)
{
    return a->has_mode == b->has_mode && (!a->has_mode || a->mode == b->mode) &&
           a->has_objective == b->has_objective &&
           (!a->has_objective || a->objective == b->objective) &&
           a->floor_bytes == b->floor_bytes && a->max_prep_seconds == b->max_prep_seconds &&
           a->balloon == b->balloon;
}

static gboolean strv_equal(char **a, char **b)
{
    return a != NULL && b != NULL && g_strv_equal((const char *const *)a, (const char *const *)b);
}

static gboolean conf_equal(const FpbConfDaemon *a, const FpbConfDaemon *b)
{
    return g_strcmp0(a->uri, b->uri) == 0 && g_strcmp0(a->socket_path, b->socket_path) == 0 &&
           g_strcmp0(a->socket_group, b->socket_group) == 0 &&
           g_strcmp0(a->journal_path, b->journal_path) == 0 &&
           a->record_observed == b->record_observed &&
           a->reconnect_seconds == b->reconnect_seconds &&
           strv_equal(a->allowed_destinations, b->allowed_destinations) &&
           strv_equal(a->allowed_destination_hosts, b->allowed_destination_hosts) &&
           a->max_clients == b->max_clients && a->max_migrations == b->max_migrations &&
           a->client_idle_seconds == b->client_idle_seconds &&
           a->stop_timeout_seconds == b->stop_timeout_seconds &&
           a->stop_restore_seconds == b->stop_restore_seconds &&
           policy_equal(&a->policy, &b->policy);
}

static gboolean host_word(const char *s)
{
    gsize n = strlen(s);

    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.') {
        return FALSE;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr(".-:", *p) == NULL) {
            return FALSE;
        }
    }
    return TRUE;
}

static void check_ranges(const FpbConfDaemon *c)
{
    const FpbConfPolicy *p = &c->policy;

    if (c->uri == NULL || *c->uri == '\0' || c->socket_path == NULL || c->socket_path[0] != '/' ||
        c->journal_path == NULL || c->journal_path[0] != '/' ||
        (c->socket_group != NULL && *c->socket_group == '\0') || c->reconnect_seconds < 1 ||
        c->reconnect_seconds > 3600 || c->max_clients < 1 || c->max_clients > 1024 ||
        c->max_migrations < 1 || c->max_migrations > 64 || c->client_idle_seconds < 1 ||
        c->client_idle_seconds > 3600 || c->stop_timeout_seconds > 3600 ||
        c->stop_restore_seconds < 1 || c->stop_restore_seconds > 3600) {
        fail("a [daemon] value out of range accepted", c->uri);
    }
    if (p->floor_bytes < -1 || p->floor_bytes > FPB_CONF_POLICY_MAX_FLOOR_BYTES ||
        (p->max_prep_seconds < 0 && p->max_prep_seconds != -1) ||
        p->max_prep_seconds > FPB_CONF_POLICY_MAX_PREP_SECONDS || p->balloon < -1 ||
        p->balloon > 1) {
        fail("a [policy] value out of range accepted", NULL);
    }
    if (c->allowed_destinations == NULL || c->allowed_destination_hosts == NULL) {
        fail("a list is NULL", NULL);
    }
    for (guint i = 0; c->allowed_destinations[i] != NULL; i++) {
        if (!g_strv_contains(transports, c->allowed_destinations[i])) {
            fail("allowed-destinations names a transport it may not", c->allowed_destinations[i]);
        }
    }
    for (guint i = 0; c->allowed_destination_hosts[i] != NULL; i++) {
        if (!host_word(c->allowed_destination_hosts[i])) {
            fail("allowed-destination-hosts has a word that is no host",
                 c->allowed_destination_hosts[i]);
        }
    }
}

/* @c as a fpbd.conf, every key written. (transfer full) */
static char *conf_print(const FpbConfDaemon *c)
{
    GString *s = g_string_new("[daemon]\n");
    g_autofree char *dests = g_strjoinv(",", c->allowed_destinations);
    g_autofree char *hosts = g_strjoinv(",", c->allowed_destination_hosts);
    const char *const *keys = fpb_conf_policy_keys();

    g_string_append_printf(s, "uri=%s\nsocket=%s\nsocket-group=%s\njournal=%s\n", c->uri,
                           c->socket_path, c->socket_group ? c->socket_group : "", c->journal_path);
    g_string_append_printf(s, "record-observed=%s\nreconnect-seconds=%u\n",
                           c->record_observed ? "true" : "false", c->reconnect_seconds);
    g_string_append_printf(s, "allowed-destinations=%s\nallowed-destination-hosts=%s\n", dests,
                           hosts);
    g_string_append_printf(s, "max-clients=%u\nmax-migrations=%u\nclient-idle-seconds=%u\n",
                           c->max_clients, c->max_migrations, c->client_idle_seconds);
    g_string_append_printf(s, "stop-timeout-seconds=%u\nstop-restore-seconds=%u\n[policy]\n",
                           c->stop_timeout_seconds, c->stop_restore_seconds);
    for (gsize i = 0; keys[i] != NULL; i++) {
        g_autofree char *v = fpb_conf_policy_get(&c->policy, keys[i]);

        if (v != NULL) {
            g_string_append_printf(s, "%s=%s\n", keys[i], v);
        }
    }
    return g_string_free(s, FALSE);
}

static void check_reprint(const FpbConfDaemon *c)
{
    g_autofree char *text = conf_print(c);
    g_autoptr(FpbConfDaemon) again = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;

    if (!fpb_conf_daemon_load_data(again, "printed", text, strlen(text), &error)) {
        fail("a loaded configuration written out again does not load", error->message);
    }
    if (!conf_equal(c, again)) {
        fail("a loaded configuration written out again loads differently", text);
    }
}

/* "NAME: " for the whole file (too large, binary, not UTF-8), else
 * "NAME:LINE: " with a line of the file. */
static void check_error(const GError *error, const char *name, const uint8_t *data, size_t size)
{
    g_autofree char *prefix = g_strdup_printf("%s:", name);
    const char *rest = error->message + strlen(prefix);
    guint64 line = 0;
    char *end = NULL;

    if (!g_str_has_prefix(error->message, prefix) || !g_utf8_validate(error->message, -1, NULL)) {
        fail("an error that does not name the file, or is not UTF-8", error->message);
    }
    if (g_str_has_prefix(rest, " not a text file") || g_str_has_prefix(rest, " not UTF-8")) {
        return;
    }
    line = g_ascii_strtoull(rest, &end, 10);
    if (end == rest || *end != ':' || line < 1 || line > (guint64)size + 1 ||
        (size > 0 && memchr(data, '\n', size) == NULL && line != 1)) {
        fail("an error without a line of the file (scanner and GKeyFile disagree?)",
             error->message);
    }
}

/* The file path fpbd would read: a memfd's /proc/self/fd link. */
static gboolean load_memfd(FpbConfDaemon *c, const uint8_t *data, size_t size, GError **error)
{
    int fd = memfd_create("fpbd.conf", MFD_CLOEXEC);
    g_autofree char *path = NULL;
    gboolean ok;

    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        fail("memfd", g_strerror(errno));
    }
    path = g_strdup_printf("/proc/self/fd/%d", fd);
    ok = fpb_conf_daemon_load_file(c, path, FALSE, error);
    close(fd);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(FpbConfDaemon) c = fpb_conf_daemon_new();
    g_autoptr(FpbConfDaemon) f = fpb_conf_daemon_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) file_error = NULL;
    gboolean ok = fpb_conf_daemon_load_data(c, "fpbd.conf", (const char *)data, size, &error);
    gboolean file_ok = load_memfd(f, data, size, &file_error);

    if (ok != file_ok || (ok && !conf_equal(c, f))) {
        fail("load_data and load_file disagree", error ? error->message : file_error->message);
    }
    if (!ok) {
        check_error(error, "fpbd.conf", data, size);
        return 0;
    }
    check_ranges(c);
    check_reprint(c);
    return 0;
}
