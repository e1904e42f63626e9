/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: bytes as a control-socket peer sends them, through
 * everything fpbd does with a line before it does anything (fpbd.c:
 * handle(), check_request()): the line framing of fpbd-control.c, the
 * grammar (fpbd_request_parse, fpbd_request_check), and for "migrate" the
 * options (fpb_libvirt_options_from_json/_apply, i.e. the run-options
 * validator), the root-only options and the destination URI guard. The
 * first byte is the daemon's side: peer root or not, allowed-destinations,
 * allowed-destination-hosts. Beyond no crash, leak, hang or sanitizer
 * report, for what passes:
 *   - the request printed again parses and checks to the same object;
 *   - every error reply is valid UTF-8 JSON (a client must be able to
 *     read it);
 *   - a destination accepted is what docs/libvirt.md allows as libvirt
 *     reads it (libxml2's xmlParseURI(), under virURIParse()), not only
 *     as the guard's GLib parser does: no qemu+ext, no parameter (root's
 *     qemu+unix socket= exception aside), a configured transport and
 *     host, the path /system or /session; or libvirt cannot parse it at
 *     all (then virConnectOpen() opens nothing); a non-root peer gave no
 *     root-only option;
 *   - the options accepted are in range and survive fpbctl's round trip
 *     (to JSON, back, applied again: the same);
 *   - for "evacuate" (fpbd_evacuation_new(), the checks fpbd.c runs before
 *     it looks at the domains): the same destination and root-only rules,
 *     the plan's options in range, the options' round trip as fpbctl
 *     evacuate sends them.
 * fpbd.c's checks are static there; check_migrate() below follows them in
 * the same order. See run-fuzz.sh.
 */
#include <libxml/uri.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpb-conf-daemon.h"
#include "fpb-libvirt-options.h"
#include "fpb-qmp-json.h"
#include "fpbd-control.h"
#include "fpbd-evacuate.h"
#include "fpbd-request.h"
#include "fpbd-uri-guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What allowed-destinations can name (fpbd.conf refuses anything else). */
static const char *const transports[] = {"qemu+tls",    "qemu+tcp",     "qemu+ssh",
                                         "qemu+libssh", "qemu+libssh2", NULL};
static const char *const hosts[] = {"dst.example", "10.0.0.2", "fe80::1", NULL};
/* docs/libvirt.md, "Control socket security": only root may give these. */
static const char *const root_only[] = {"qemu-tcg-dirty-tracking",
                                        "allow-unsafe-live-migration",
                                        "accept-risk",
                                        "guest-driver",
                                        "guest-init-on-alloc",
                                        "migrate-uri",
                                        NULL};

typedef struct {
    gboolean root;
    const char *list[G_N_ELEMENTS(transports) + 2];
    FpbdUriGuard guard;
    FpbConfDaemon *conf;
} Daemon;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-fpbd-request: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* One byte: bit 0 root, bits 1-5 allowed-destinations, bit 6 also
 * qemu+ext and qemu+unix (which the guard refuses whatever the list), bit
 * 7 allowed-destination-hosts. */
static void daemon_init(Daemon *d, guint8 b)
{
    gsize n = 0;

    d->root = (b & 1) != 0;
    for (gsize i = 0; transports[i] != NULL; i++) {
        if (b & (2u << i)) {
            d->list[n++] = transports[i];
        }
    }
    if (b & 0x40) {
        d->list[n++] = "qemu+ext";
        d->list[n++] = "qemu+unix";
    }
    d->list[n] = NULL;
    d->guard.transports = d->list;
    d->guard.hosts = (b & 0x80) ? hosts : NULL;
    d->conf = fpb_conf_daemon_new();
}

/* What fpbd would write back: a JSON line a client can read. */
static void check_reply(json_object *reply)
{
    const char *text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);

    if (!g_utf8_validate(text, -1, NULL)) {
        fail("a reply is not UTF-8", text);
    }
    json_object_put(reply);
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The request as a client would send it again. */
static void check_reprint(json_object *req, const char *op)
{
    const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) again = fpbd_request_parse(text, strlen(text), &error);
    const char *op2 = NULL;

    if (again == NULL || !fpbd_request_check(again, &op2, &error)) {
        fail("an accepted request printed again is refused", error->message);
    }
    if (!g_str_equal(op, op2) || !json_object_equal(req, again)) {
        fail("an accepted request printed again reads differently", text);
    }
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

/* root's exception: qemu+unix:///system?socket=/ABS/PATH, nothing else. */
static void check_root_local(const Daemon *d, const char *dest, xmlURI *u)
{
    if (!d->root || (u->server != NULL && *u->server != '\0') || u->user != NULL || u->port > 0 ||
        g_strcmp0(u->path, "/system") != 0 || u->query_raw == NULL ||
        !g_str_has_prefix(u->query_raw, "socket=/") || strchr(u->query_raw, '&') != NULL ||
        strchr(u->query_raw + strlen("socket="), '=') != NULL) {
        fail("a qemu+unix destination or parameters accepted", dest);
    }
}

/* The host as virURIParse gives it: an IPv6 literal without its brackets,
 * "" as none. (transfer full) */
static char *libvirt_server(const xmlURI *u)
{
    gsize n = u->server ? strlen(u->server) : 0;

    if (n == 0) {
        return NULL;
    }
    if (u->server[0] == '[' && u->server[n - 1] == ']' && strchr(u->server, ':') != NULL) {
        return g_strndup(u->server + 1, n - 2);
    }
    return g_strdup(u->server);
}

/* libvirt reads @dest with libxml2's parser (virURIParse): what it sees
 * must be what the guard allowed. */
static void check_dest(const Daemon *d, const char *dest)
{
    xmlURI *u = NULL;
    g_autofree char *scheme = NULL;
    const char *plus;
    g_autofree char *transport = NULL;
    g_autofree char *server = NULL;

    for (const char *p = dest; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && strchr("+:/.-_@[]?=&", *p) == NULL) {
            fail("a destination with a character outside the grammar accepted", dest);
        }
    }
    if ((u = xmlParseURI(dest)) == NULL) {
        return; /* virConnectOpen() fails on it: opens nothing */
    }
    if (u->scheme == NULL) {
        fail("a destination without a scheme for libvirt accepted", dest);
    }
    scheme = g_ascii_strdown(u->scheme, -1);
    server = libvirt_server(u);
    plus = strchr(scheme, '+');
    transport = plus ? g_strdup(scheme) : g_strdup(server ? "qemu+tls" : "qemu+unix");
    if (!g_str_has_prefix(scheme, "qemu") || (plus != NULL && plus != scheme + 4) ||
        (plus == NULL && scheme[4] != '\0') || g_str_equal(transport, "qemu+ext") ||
        u->fragment != NULL || u->opaque != NULL) {
        fail("a destination that is not qemu[+TRANSPORT]:// (or qemu+ext) accepted", dest);
    }
    if (g_str_equal(transport, "qemu+unix")) {
        check_root_local(d, dest, u);
    } else if (u->query_raw != NULL || u->query != NULL || server == NULL || server[0] == '-' ||
               !in_list(d->list, transport) || !in_list(transports, transport) ||
               (d->guard.hosts != NULL && !in_list(d->guard.hosts, server)) ||
               (g_strcmp0(u->path, "/system") != 0 && g_strcmp0(u->path, "/session") != 0)) {
        fail("a destination outside the allowed grammar or lists accepted", dest);
    }
    xmlFreeURI(u);
}

static gboolean policy_equal(const FpbConfPolicy *a, const FpbConfPolicy *b)
{
    return a->has_mode == b->has_mode && (!a->has_mode || a->mode == b->mode) &&
           a->has_objective == b->has_objective &&
           (!a->has_objective || a->objective == b->objective) &&
           a->floor_bytes == b->floor_bytes && a->max_prep_seconds == b->max_prep_seconds &&
           a->balloon == b->balloon;
}

/* The options as fpbctl sends them: to JSON, back, applied again. */
static void check_options(const Daemon *d, const FpbLibvirtOptions *lv, json_object *options,
                          const FpbLibvirtMigrateRequest *req)
{
    g_autoptr(json_object) j = fpb_libvirt_options_to_json(lv);
    g_autoptr(json_object) j2 = NULL;
    g_autoptr(GError) error = NULL;
    FpbLibvirtOptions lv2;
    FpbLibvirtMigrateRequest req2;
    const FpbConfPolicy *p = &req->target.cli_policy;

    if (!isfinite(req->run.timeout_s) || req->run.timeout_s < 0 || req->run.timeout_s > 86400 ||
        (req->run.facts.max_bandwidth != -1 && req->run.facts.max_bandwidth <= 0) ||
        p->floor_bytes > FPB_CONF_POLICY_MAX_FLOOR_BYTES ||
        p->max_prep_seconds > FPB_CONF_POLICY_MAX_PREP_SECONDS || req->run.requested_mode == NULL) {
        fail("options out of range accepted", json_object_to_json_string(options));
    }
    for (gsize i = 0; !d->root && root_only[i] != NULL; i++) {
        if (options != NULL && json_object_object_get_ex(options, root_only[i], NULL)) {
            fail("a root-only option accepted from a non-root peer", root_only[i]);
        }
    }
    fpb_libvirt_options_init(&lv2);
    fpb_libvirt_migrate_request_init(&req2);
    if (!fpb_libvirt_options_from_json(j, &lv2, &error) ||
        !fpb_libvirt_options_apply(&lv2, &d->conf->policy, &req2, &error)) {
        fail("accepted options printed again are refused", error->message);
    }
    j2 = fpb_libvirt_options_to_json(&lv2);
    if (!json_object_equal(j, j2) || req2.run.timeout_s != req->run.timeout_s ||
        req2.run.facts.max_bandwidth != req->run.facts.max_bandwidth ||
        !policy_equal(&req2.target.cli_policy, p)) {
        fail("accepted options printed again read differently", json_object_to_json_string(j));
    }
    fpb_libvirt_options_clear(&lv2);
}

/* fpbd.c's check_request(): options, root-only options, destination. */
static void check_migrate(const Daemon *d, json_object *req)
{
    const char *domain = get_str(req, "domain");
    const char *dest = get_str(req, "dest");
    json_object *options = NULL;
    g_autoptr(GError) error = NULL;
    FpbLibvirtOptions lv;
    FpbLibvirtMigrateRequest mreq;
    const char *why = NULL;
    const char *option;

    json_object_object_get_ex(req, "options", &options);
    fpb_libvirt_options_init(&lv);
    fpb_libvirt_migrate_request_init(&mreq);
    if (!fpb_libvirt_options_from_json(options, &lv, &error) ||
        !fpb_libvirt_options_apply(&lv, &d->conf->policy, &mreq, &error)) {
        check_reply(fpbd_control_error_reply("VM '%s': migrate: %s", domain, error->message));
    } else if (!d->root && (option = fpbd_request_root_only_option(options, &why)) != NULL) {
        check_reply(fpbd_control_error_reply("VM '%s': migrate: option '%s' is accepted from "
                                             "root only (it %s); nothing was done",
                                             domain, option, why));
    } else if (!fpbd_uri_guard_check(&d->guard, dest, d->root, &error)) {
        check_reply(fpbd_control_error_reply("VM '%s': migrate to '%s' refused: %s; nothing was "
                                             "done",
                                             domain, dest, error->message));
    } else {
        check_dest(d, dest);
        check_options(d, &lv, options, &mreq);
    }
    fpb_libvirt_options_clear(&lv);
}

/* An evacuation's options as fpbctl evacuate sends them: to JSON, back,
 * applied again: the same. */
static void check_evacuate_options(const Daemon *d, const FpbdEvacuation *ev)
{
    g_autoptr(json_object) j = fpb_evacuate_run_options_to_json(&ev->options);
    g_autoptr(json_object) j2 = NULL;
    g_autoptr(GError) error = NULL;
    FpbEvacuateRunOptions o2;
    FpbLibvirtMigrateRequest base2;
    FpbEvacuateRunRequest run2 = {0};

    fpb_evacuate_run_options_init(&o2);
    fpb_libvirt_migrate_request_init(&base2);
    if (!fpb_evacuate_run_options_from_json(j, &o2, &error) ||
        !fpb_evacuate_run_options_apply(&o2, &d->conf->policy, &base2, &run2, &error)) {
        fail("accepted evacuation options printed again are refused", error->message);
    }
    j2 = fpb_evacuate_run_options_to_json(&o2);
    if (!json_object_equal(j, j2) || run2.link != ev->run.link ||
        run2.plan.parallel != ev->run.plan.parallel ||
        run2.plan.deadline_s != ev->run.plan.deadline_s || run2.force_none != ev->run.force_none ||
        base2.run.timeout_s != ev->base.run.timeout_s) {
        fail("accepted evacuation options printed again read differently",
             json_object_to_json_string(j));
    }
    fpb_evacuate_run_options_clear(&o2);
}

/* fpbd.c's start_evacuation() up to the domains: fpbd_evacuation_new(). */
static void check_evacuate(const Daemon *d, json_object *req)
{
    json_object *options = NULL;
    json_object *refusal = NULL;
    FpbdEvacuation *ev =
        fpbd_evacuation_new(req, &d->conf->policy, &d->guard, d->root, 0, &refusal);

    if (ev == NULL) {
        check_reply(refusal);
        return;
    }
    json_object_object_get_ex(req, "options", &options);
    for (gsize i = 0; !d->root && root_only[i] != NULL; i++) {
        if (options != NULL && json_object_object_get_ex(options, root_only[i], NULL)) {
            fail("a root-only option accepted from a non-root peer in an evacuation", root_only[i]);
        }
    }
    if (ev->run.plan.parallel > 64 || !(ev->run.plan.link_bytes_per_second >= 1e6) ||
        !(ev->run.plan.deadline_s >= 0 && ev->run.plan.deadline_s <= 86400) ||
        ev->base.run.facts.max_bandwidth != -1 || ev->domains->len > FPBD_REQUEST_MAX_DOMAINS) {
        fail("evacuation options out of range accepted", json_object_to_json_string(req));
    }
    check_dest(d, ev->dest);
    check_evacuate_options(d, ev);
    fpbd_evacuation_free(ev);
}

/* One line as fpbd-control.c hands it to fpbd.c's handle(). */
static void handle_line(const Daemon *d, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) req = fpbd_request_parse(line, len, &error);
    const char *op = NULL;

    if (req == NULL) {
        check_reply(fpbd_control_error_reply("%s", error->message));
        return;
    }
    if (!fpbd_request_check(req, &op, &error)) {
        check_reply(fpbd_control_error_reply("%s", error->message));
        return;
    }
    check_reprint(req, op);
    if (g_str_equal(op, "migrate")) {
        check_migrate(d, req);
    } else if (g_str_equal(op, "evacuate")) {
        check_evacuate(d, req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Daemon d;
    const char *p;
    const char *end;

    if (size < 1) {
        return 0;
    }
    daemon_init(&d, data[0]);
    p = (const char *)data + 1;
    end = (const char *)data + size;
    /* fpbd-control.c: complete lines in order, each without its newline
     * and NUL-terminated; one past the cap ends the connection; what is
     * left without a newline at EOF is refused unread. */
    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize)(end - p));
        g_autofree char *line = NULL;

        if (nl == NULL || nl - p > FPBD_CONTROL_MAX_LINE) {
            break;
        }
        line = g_malloc((gsize)(nl - p) + 1);
        memcpy(line, p, (gsize)(nl - p));
        line[nl - p] = '\0';
        handle_line(&d, line, (gsize)(nl - p));
        p = nl + 1;
    }
    fpb_conf_daemon_free(d.conf);
    return 0;
}
