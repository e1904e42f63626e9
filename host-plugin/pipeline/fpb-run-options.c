/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The options of one run as the user gave them (fpb-run-options.h). */
#define G_LOG_DOMAIN "fpb-pipeline"

#include <string.h>

#include "fpb-run-options.h"

/* Above a day a migration is stuck, not slow. */
#define MAX_TIMEOUT_SECONDS 86400.0

void fpb_run_options_init(FpbRunOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->max_bandwidth = -1;
    o->timeout_s = 600;
    o->stall_s = 60;
}

void fpb_run_options_clear(FpbRunOptions *o)
{
    g_free(o->mode);
    g_free(o->objective);
    g_free(o->floor);
    g_free(o->reclaim);
    g_free(o->reclaim_cache_bound);
    g_free(o->max_prep);
    g_free(o->guest_driver);
    g_free(o->guest_init_on_alloc);
    g_free(o->tcg);
    g_free(o->migration_method);
    g_free(o->accept_risk);
    g_free(o->migrate_uri);
    g_free(o->listen_address);
    fpb_run_options_init(o);
}

static gboolean bad_option(GError **error, const char *option, const char *value,
                           const char *expected)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: '%s' is not %s", option,
                value, expected);
    return FALSE;
}

/* A policy key: conf/ checks it as it checks the metadata and fpbd.conf,
 * and says "KEY: 'VALUE' is not ..."; the option is --KEY. */
static gboolean set_key(FpbConfPolicy *p, const char *key, const char *value, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (value == NULL || fpb_conf_policy_set_value(p, key, value, NULL, &local)) {
        return TRUE;
    }
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s", local->message);
    return FALSE;
}

static gboolean check_policy_keys(const FpbRunOptions *o, FpbConfPolicy *p, GError **error)
{
    return set_key(p, "mode", o->mode, error) && set_key(p, "objective", o->objective, error) &&
           set_key(p, "floor", o->floor, error) &&
           set_key(p, "max-prep-seconds", o->max_prep, error) &&
           set_key(p, "balloon", o->no_balloon ? "no" : NULL, error) &&
           set_key(p, "reclaim", o->reclaim, error) &&
           set_key(p, "reclaim-cache-bound", o->reclaim_cache_bound, error);
}

/* What the guest and QEMU are, when the user knows better than the facts. */
static gboolean check_facts(const FpbRunOptions *o, FpbVmFactsOptions *f, GError **error)
{
    if (o->guest_driver != NULL && (g_str_equal(o->guest_driver, "unknown") ||
                                    !fpb_policy_driver_from_string(o->guest_driver, &f->driver))) {
        return bad_option(error, "guest-driver", o->guest_driver, "stock or fpb");
    }
    if (o->guest_init_on_alloc != NULL) {
        if (!g_str_equal(o->guest_init_on_alloc, "0") &&
            !g_str_equal(o->guest_init_on_alloc, "1")) {
            return bad_option(error, "guest-init-on-alloc", o->guest_init_on_alloc, "0 or 1");
        }
        f->init_on_alloc = o->guest_init_on_alloc[0] == '1' ? FPB_POLICY_INIT_ON_ALLOC_ON
                                                            : FPB_POLICY_INIT_ON_ALLOC_OFF;
    }
    if (o->tcg != NULL &&
        (!fpb_policy_tcg_dirty_tracking_from_string(o->tcg, &f->tcg_dirty_tracking) ||
         f->tcg_dirty_tracking == FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN)) {
        return bad_option(error, "qemu-tcg-dirty-tracking", o->tcg, "fixed or broken");
    }
    return TRUE;
}

/* How the migration runs. */
static gboolean check_run(const FpbRunOptions *o, FpbPipelineRequest *r, GError **error)
{
    FpbPolicySettings *p = &r->facts.policy;

    if (o->migration_method != NULL &&
        !fpb_policy_method_request_from_string(o->migration_method, &p->method)) {
        return bad_option(error, "migration-method", o->migration_method,
                          "auto, precopy, postcopy or paused");
    }
    p->allow_unsafe_live_migration = o->allow_unsafe_live_migration;
    if (o->accept_risk != NULL &&
        !g_str_equal(o->accept_risk, FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW)) {
        return bad_option(error, "accept-risk", o->accept_risk,
                          "a risk fpb knows (" FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW ")");
    }
    p->accept_kvm_dirty_log_window = o->accept_risk != NULL;
    if (o->max_bandwidth != -1 && o->max_bandwidth <= 0) {
        g_autofree char *v = g_strdup_printf("%" G_GINT64_FORMAT, o->max_bandwidth);

        return bad_option(error, "max-bandwidth", v, "a rate > 0 (bytes per second)");
    }
    r->facts.max_bandwidth = o->max_bandwidth;
    if (!(o->timeout_s >= 0 && o->timeout_s <= MAX_TIMEOUT_SECONDS)) {
        char v[G_ASCII_DTOSTR_BUF_SIZE];

        return bad_option(error, "timeout", g_ascii_dtostr(v, sizeof(v), o->timeout_s),
                          "a number of seconds within 0..86400");
    }
    r->timeout_s = o->timeout_s;
    if (!(o->stall_s >= 0 && o->stall_s <= MAX_TIMEOUT_SECONDS)) {
        char v[G_ASCII_DTOSTR_BUF_SIZE];

        return bad_option(error, "stall-timeout", g_ascii_dtostr(v, sizeof(v), o->stall_s),
                          "a number of seconds within 0..86400");
    }
    r->migration_stall_s = o->stall_s;
    return TRUE;
}

gboolean fpb_run_options_apply(const FpbRunOptions *o, FpbConfPolicy *ret_policy,
                               FpbPipelineRequest *req, GError **error)
{
    FpbPipelineRequest r = *req; /* plain values and borrowed pointers */
    FpbConfPolicy given;

    fpb_conf_policy_init(&given);
    if (!check_policy_keys(o, &given, error) || !check_facts(o, &r.facts, error) ||
        !check_run(o, &r, error)) {
        return FALSE;
    }
    fpb_run_options_apply_policy(&given, &r.facts.policy);
    r.requested_mode =
        o->mode != NULL ? o->mode : fpb_policy_request_to_string(FPB_POLICY_REQUEST_AUTO);
    *req = r;
    *ret_policy = given;
    return TRUE;
}

void fpb_run_options_apply_policy(const FpbConfPolicy *p, FpbPolicySettings *s)
{
    if (p->has_mode) {
        s->mode = p->mode; /* FpbConfMode is the policy's request */
    }
    if (p->has_objective) {
        fpb_policy_objective_from_string(fpb_conf_objective_to_string(p->objective), &s->objective);
    }
    if (p->floor_bytes >= 0) {
        s->floor_bytes = p->floor_bytes;
    }
    if (p->max_prep_seconds >= 0) {
        s->max_prep_seconds = p->max_prep_seconds;
    }
    if (p->balloon >= 0) {
        s->balloon_allowed = p->balloon == 1;
    }
    if (p->reclaim >= 0) {
        s->reclaim = (guint)p->reclaim; /* the policy's own bits */
    }
    if (p->reclaim_cache_bound_bytes >= 0) {
        s->reclaim_cache_bound_bytes = p->reclaim_cache_bound_bytes;
    }
}

/* ---- JSON ---- */

typedef enum {
    KIND_STRING,
    KIND_BOOLEAN,
    KIND_INTEGER, /* gint64, -1: not given */
    KIND_NUMBER,  /* double, always sent */
} Kind;

typedef struct {
    const char *name; /* fpbctl's long option */
    Kind kind;
    gsize offset;
} OptionSlot;

static const OptionSlot slots[] = {
    {"mode", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, mode)},
    {"objective", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, objective)},
    {"floor", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, floor)},
    {"max-prep-seconds", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, max_prep)},
    {"no-balloon", KIND_BOOLEAN, G_STRUCT_OFFSET(FpbRunOptions, no_balloon)},
    {"reclaim", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, reclaim)},
    {"reclaim-cache-bound", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, reclaim_cache_bound)},
    {"guest-driver", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, guest_driver)},
    {"guest-init-on-alloc", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, guest_init_on_alloc)},
    {"qemu-tcg-dirty-tracking", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, tcg)},
    {"migration-method", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, migration_method)},
    {"allow-unsafe-live-migration", KIND_BOOLEAN,
     G_STRUCT_OFFSET(FpbRunOptions, allow_unsafe_live_migration)},
    {"accept-risk", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, accept_risk)},
    {"max-bandwidth", KIND_INTEGER, G_STRUCT_OFFSET(FpbRunOptions, max_bandwidth)},
    {"timeout", KIND_NUMBER, G_STRUCT_OFFSET(FpbRunOptions, timeout_s)},
    {"stall-timeout", KIND_NUMBER, G_STRUCT_OFFSET(FpbRunOptions, stall_s)},
    {"migrate-uri", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, migrate_uri)},
    {"listen-address", KIND_STRING, G_STRUCT_OFFSET(FpbRunOptions, listen_address)},
};

static json_object *slot_to_json(const FpbRunOptions *o, const OptionSlot *s)
{
    gconstpointer v = G_STRUCT_MEMBER_P(o, s->offset);

    switch (s->kind) {
    case KIND_STRING:
        return *(char *const *)v ? json_object_new_string(*(char *const *)v) : NULL;
    case KIND_BOOLEAN:
        return *(const gboolean *)v ? json_object_new_boolean(TRUE) : NULL;
    case KIND_INTEGER:
        return *(const gint64 *)v != -1 ? json_object_new_int64(*(const gint64 *)v) : NULL;
    case KIND_NUMBER:
    default:
        return json_object_new_double(*(const double *)v);
    }
}

json_object *fpb_run_options_to_json(const FpbRunOptions *o)
{
    json_object *j = json_object_new_object();

    for (gsize i = 0; i < G_N_ELEMENTS(slots); i++) {
        json_object *v = slot_to_json(o, &slots[i]);

        if (v != NULL) {
            json_object_object_add(j, slots[i].name, v);
        }
    }
    return j;
}

static gboolean wrong_type(GError **error, const char *key, const char *what)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "option '%s': not %s", key, what);
    return FALSE;
}

static gboolean slot_from_json(FpbRunOptions *o, const OptionSlot *s, json_object *v,
                               GError **error)
{
    gpointer p = G_STRUCT_MEMBER_P(o, s->offset);

    switch (s->kind) {
    case KIND_STRING:
        if (!json_object_is_type(v, json_type_string)) {
            return wrong_type(error, s->name, "a string");
        }
        g_free(*(char **)p);
        *(char **)p = g_strdup(json_object_get_string(v));
        return TRUE;
    case KIND_BOOLEAN:
        if (!json_object_is_type(v, json_type_boolean)) {
            return wrong_type(error, s->name, "a boolean");
        }
        *(gboolean *)p = json_object_get_boolean(v);
        return TRUE;
    case KIND_INTEGER:
        if (!json_object_is_type(v, json_type_int)) {
            return wrong_type(error, s->name, "an integer");
        }
        *(gint64 *)p = json_object_get_int64(v);
        return TRUE;
    case KIND_NUMBER:
    default:
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
            return wrong_type(error, s->name, "a number");
        }
        *(double *)p = json_object_get_double(v);
        return TRUE;
    }
}

static const OptionSlot *find_slot(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(slots); i++) {
        if (g_str_equal(name, slots[i].name)) {
            return &slots[i];
        }
    }
    return NULL;
}

gboolean fpb_run_options_from_json(json_object *j, FpbRunOptions *o, GError **error)
{
    if (j == NULL) {
        return TRUE;
    }
    if (!json_object_is_type(j, json_type_object)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "'options' is not an object");
        return FALSE;
    }
    json_object_object_foreach(j, key, v)
    {
        const OptionSlot *s = find_slot(key);

        if (s == NULL) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown option '%s'",
                        key);
            return FALSE;
        }
        if (!slot_from_json(o, s, v, error)) {
            return FALSE;
        }
    }
    return TRUE;
}
