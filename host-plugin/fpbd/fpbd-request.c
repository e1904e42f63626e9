/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbd's control request grammar (fpbd-request.h). */
#define G_LOG_DOMAIN "fpbd"

#include <gio/gio.h>
#include <string.h>

#include "fpb-qmp-json.h"
#include "fpbd-request.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_tokener, json_tokener_free)

typedef struct {
    const char *name;
    json_type type;
    gboolean required;
} Key;

typedef struct {
    const char *op;
    const Key *keys;
    const char *required; /* what a request without them is told */
} Op;

static const Key bare_keys[] = {{"op", json_type_string, TRUE}, {NULL, 0, FALSE}};
static const Key hook_keys[] = {
    {"op", json_type_string, TRUE},     {"domain", json_type_string, TRUE},
    {"action", json_type_string, TRUE}, {"subaction", json_type_string, TRUE},
    {"extra", json_type_string, FALSE}, {NULL, 0, FALSE}};
static const Key migrate_keys[] = {{"op", json_type_string, TRUE},
                                   {"domain", json_type_string, TRUE},
                                   {"dest", json_type_string, TRUE},
                                   {"options", json_type_object, FALSE},
                                   {NULL, 0, FALSE}};
/* "domains" an array of strings (none: every running domain); the
 * booleans say how fpbctl shows the run (--dry-run, --json, --progress). */
static const Key evacuate_keys[] = {
    {"op", json_type_string, TRUE},         {"dest", json_type_string, TRUE},
    {"domains", json_type_array, FALSE},    {"options", json_type_object, FALSE},
    {"dry-run", json_type_boolean, FALSE},  {"json", json_type_boolean, FALSE},
    {"progress", json_type_boolean, FALSE}, {NULL, 0, FALSE}};
static const Op ops[] = {
    {"ping", bare_keys, ""},
    {"status", bare_keys, ""},
    {"hook", hook_keys, "'domain', 'action' and 'subaction' (strings) are required"},
    {"migrate", migrate_keys, "'domain' and 'dest' (strings) are required"},
    {"evacuate", evacuate_keys, "'dest' (a string) is required"},
};

#define OPS_EXPECTED "ping, status, hook, migrate or evacuate"

/* Options that change what fpb believes about the guest and QEMU, or
 * where the memory goes, past what the facts and the destination guard
 * allow. */
static const struct {
    const char *name;
    const char *why;
} root_only[] = {
    {"qemu-tcg-dirty-tracking", "overrides the hint guard's view of QEMU"},
    {"allow-unsafe-live-migration", "turns off the refusal of a live migration known to lose "
                                    "guest writes"},
    {"accept-risk", "accepts a risk to the guest's memory that fpb refuses by default"},
    {"guest-driver", "overrides the guest facts the decision rests on"},
    {"guest-init-on-alloc", "overrides the guest facts the decision rests on"},
    {"migrate-uri", "sends the guest's memory to an address the destination guard does not check"},
};

json_object *fpbd_request_parse(const char *line, gsize len, GError **error)
{
    g_autoptr(json_tokener) tok = NULL;
    g_autoptr(json_object) req = NULL;
    gsize end;

    if (len > G_MAXINT || memchr(line, '\0', len) != NULL || !g_utf8_validate(line, len, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the request is not a JSON object: not UTF-8 text");
        return NULL;
    }
    tok = json_tokener_new_ex(FPBD_REQUEST_MAX_DEPTH);
    /* trailing characters are let through to be refused below, by name */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    req = json_tokener_parse_ex(tok, line, (int)len);
    if (req == NULL || !json_object_is_type(req, json_type_object)) {
        enum json_tokener_error e = json_tokener_get_error(tok);

        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the request is not a JSON object%s%s", req == NULL ? ": " : "",
                    req != NULL                  ? ""
                    : e == json_tokener_continue ? "incomplete"
                                                 : json_tokener_error_desc(e));
        return NULL;
    }
    end = json_tokener_get_parse_end(tok);
    if (strspn(line + end, " \t\r") != len - end) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the request has data after its JSON object (one object per line)");
        return NULL;
    }
    return g_steal_pointer(&req);
}

/* How much of @s a message shows: at most 64 bytes, cut before a
 * character, not inside one (a reply must stay UTF-8). */
static int shown_len(const char *s)
{
    gsize n = strnlen(s, 64);

    while (n > 0 && ((guchar)s[n] & 0xc0) == 0x80) {
        n--;
    }
    return (int)n;
}

static const Key *find_key(const Key *keys, const char *name)
{
    for (const Key *k = keys; k->name != NULL; k++) {
        if (g_str_equal(k->name, name)) {
            return k;
        }
    }
    return NULL;
}

static const char *type_name(json_type type)
{
    switch (type) {
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array of strings";
    case json_type_boolean:
        return "a boolean";
    default:
        return "a string";
    }
}

/* An array key holds strings only, and no more of them than an
 * evacuation plans (a VM name each). */
static gboolean check_array(const Op *op, const char *name, json_object *v, GError **error)
{
    size_t n = json_object_array_length(v);

    if (n > FPBD_REQUEST_MAX_DOMAINS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: '%s' has %zu names, at most %d", op->op, name, n,
                    FPBD_REQUEST_MAX_DOMAINS);
        return FALSE;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);

        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: '%s' must be an array of strings (names), item %zu is not", op->op,
                        name, i);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_keys(json_object *req, const Op *op, GError **error)
{
    json_object_object_foreach(req, name, v)
    {
        const Key *k = find_key(op->keys, name);

        if (k == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: unknown key '%.*s'",
                        op->op, shown_len(name), name);
            return FALSE;
        }
        if (!json_object_is_type(v, k->type)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: '%s' must be %s",
                        op->op, name, type_name(k->type));
            return FALSE;
        }
        if (k->type == json_type_array && !check_array(op, name, v, error)) {
            return FALSE;
        }
    }
    for (const Key *k = op->keys; k->name != NULL; k++) {
        if (k->required && !json_object_object_get_ex(req, k->name, NULL)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: %s", op->op,
                        op->required);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean fpbd_request_check(json_object *req, const char **ret_op, GError **error)
{
    json_object *v = NULL;
    const char *op;

    if (!json_object_object_get_ex(req, "op", &v) || !json_object_is_type(v, json_type_string)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "the request has no 'op' string (expected " OPS_EXPECTED ")");
        return FALSE;
    }
    op = json_object_get_string(v);
    for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (g_str_equal(op, ops[i].op)) {
            if (!check_keys(req, &ops[i], error)) {
                return FALSE;
            }
            *ret_op = op;
            return TRUE;
        }
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "unknown op '%.*s' (expected " OPS_EXPECTED ")", shown_len(op), op);
    return FALSE;
}

const char *fpbd_request_root_only_option(json_object *options, const char **ret_why)
{
    for (gsize i = 0; options != NULL && i < G_N_ELEMENTS(root_only); i++) {
        if (json_object_object_get_ex(options, root_only[i].name, NULL)) {
            *ret_why = root_only[i].why;
            return root_only[i].name;
        }
    }
    return NULL;
}
