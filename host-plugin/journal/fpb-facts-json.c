/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-facts-json"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fpb-facts-json.h"

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_facts_json_error_quark(void)
{
    return g_quark_from_static_string("fpb-facts-json-error-quark");
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_tokener, json_tokener_free)

/* ---- reading: one checked accessor per JSON type ---- */

static gboolean field_error(GError **error, const char *path, const char *key, const char *what)
{
    g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_FIELD, "%s%s%s: %s", path,
                key != NULL ? "." : "", key != NULL ? key : "", what);
    return FALSE;
}

/* Unknown members are refused: a typo must not silently become "unknown". */
static gboolean check_keys(json_object *obj, const char *path, const char *const *allowed,
                           GError **error)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (!g_strv_contains(allowed, key)) {
            return field_error(error, path, key, "unknown field");
        }
    }
    return TRUE;
}

/* *ret = the member (borrowed) or NULL when absent or null. */
static gboolean member(json_object *obj, const char *path, const char *key, gboolean required,
                       json_object **ret, GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, key, &val)) {
        if (required) {
            return field_error(error, path, key, "missing required field");
        }
        val = NULL;
    }
    *ret = val;
    return TRUE;
}

/* Byte counts: integers >= 0; null (when @nullable) = FPB_POLICY_UNKNOWN;
 * absent leaves *ret alone. */
static gboolean read_size(json_object *obj, const char *path, const char *key, gboolean nullable,
                          gint64 *ret, GError **error)
{
    json_object *val = NULL;
    gboolean present = json_object_object_get_ex(obj, key, &val);
    const char *expect = nullable ? "expected an integer >= 0 or null" : "expected an integer >= 0";

    if (!present) {
        return TRUE;
    }
    if (val == NULL) {
        if (!nullable) {
            return field_error(error, path, key, expect);
        }
        *ret = FPB_POLICY_UNKNOWN;
        return TRUE;
    }
    /* json-c saturates integers beyond int64 at INT64_MAX: refused too. */
    if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
        json_object_get_int64(val) == G_MAXINT64) {
        return field_error(error, path, key, expect);
    }
    *ret = json_object_get_int64(val);
    return TRUE;
}

/* Seconds and rates: finite numbers >= 0; null = unknown (-1). */
static gboolean read_number(json_object *obj, const char *path, const char *key, gboolean nullable,
                            double *ret, GError **error)
{
    json_object *val = NULL;
    const char *expect = nullable ? "expected a number >= 0 or null" : "expected a number >= 0";
    double v;

    if (!json_object_object_get_ex(obj, key, &val)) {
        return TRUE;
    }
    if (val == NULL) {
        if (!nullable) {
            return field_error(error, path, key, expect);
        }
        *ret = FPB_POLICY_UNKNOWN;
        return TRUE;
    }
    if (!json_object_is_type(val, json_type_int) && !json_object_is_type(val, json_type_double)) {
        return field_error(error, path, key, expect);
    }
    v = json_object_get_double(val);
    if (!isfinite(v) || v < 0) {
        return field_error(error, path, key, expect);
    }
    *ret = v;
    return TRUE;
}

static gboolean read_bool(json_object *obj, const char *path, const char *key, gboolean required,
                          gboolean *ret, GError **error)
{
    json_object *val = NULL;

    if (!member(obj, path, key, required, &val, error)) {
        return FALSE;
    }
    if (val == NULL && !json_object_object_get_ex(obj, key, NULL)) {
        return TRUE;
    }
    if (!json_object_is_type(val, json_type_boolean)) {
        return field_error(error, path, key, "expected true or false");
    }
    *ret = json_object_get_boolean(val);
    return TRUE;
}

/* *ret = the string (borrowed) or NULL when absent. */
static gboolean read_string(json_object *obj, const char *path, const char *key, const char **ret,
                            GError **error)
{
    json_object *val = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &val)) {
        return TRUE;
    }
    if (!json_object_is_type(val, json_type_string)) {
        return field_error(error, path, key, "expected a string");
    }
    *ret = json_object_get_string(val);
    return TRUE;
}

/* An object member; *ret NULL when absent or null. */
static gboolean read_object(json_object *obj, const char *path, const char *key, gboolean required,
                            json_object **ret, GError **error)
{
    if (!member(obj, path, key, required, ret, error)) {
        return FALSE;
    }
    if (*ret != NULL && !json_object_is_type(*ret, json_type_object)) {
        return field_error(error, path, key, "expected an object");
    }
    if (*ret == NULL && required) {
        return field_error(error, path, key, "expected an object");
    }
    return TRUE;
}

static gboolean read_init_on_alloc(json_object *obj, const char *path, FpbPolicyInitOnAlloc *ret,
                                   GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, "init_on_alloc", &val)) {
        return TRUE;
    }
    if (val == NULL) {
        *ret = FPB_POLICY_INIT_ON_ALLOC_UNKNOWN;
    } else if (json_object_is_type(val, json_type_boolean)) {
        *ret = json_object_get_boolean(val) ? FPB_POLICY_INIT_ON_ALLOC_ON
                                            : FPB_POLICY_INIT_ON_ALLOC_OFF;
    } else {
        return field_error(error, path, "init_on_alloc", "expected true, false or null");
    }
    return TRUE;
}

/* Absent or null: unknown (facts files from before the key). */
static gboolean read_thp(json_object *obj, const char *path, FpbPolicyThp *ret, GError **error)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, "transparent_hugepage", &val) || val == NULL) {
        return TRUE;
    }
    if (!json_object_is_type(val, json_type_string) ||
        !fpb_policy_thp_from_string(json_object_get_string(val), ret)) {
        return field_error(error, path, "transparent_hugepage",
                           "expected \"always\", \"madvise\", \"never\" or null");
    }
    return TRUE;
}

static gboolean read_guest(json_object *top, FpbPolicyGuest *g, GError **error)
{
    static const char *const keys[] = {"free_page_hint",       "stats_queue", "deflate_on_oom",
                                       "free_page_reporting",  "driver",      "init_on_alloc",
                                       "transparent_hugepage", NULL};
    const char *path = "facts.guest";
    json_object *obj = NULL;
    const char *driver = NULL;

    if (!read_object(top, "facts", "guest", TRUE, &obj, error) ||
        !check_keys(obj, path, keys, error) ||
        !read_bool(obj, path, "free_page_hint", TRUE, &g->free_page_hint, error) ||
        !read_bool(obj, path, "stats_queue", FALSE, &g->stats_queue, error) ||
        !read_bool(obj, path, "deflate_on_oom", FALSE, &g->deflate_on_oom, error) ||
        !read_bool(obj, path, "free_page_reporting", FALSE, &g->free_page_reporting, error) ||
        !read_init_on_alloc(obj, path, &g->init_on_alloc, error) ||
        !read_thp(obj, path, &g->transparent_hugepage, error) ||
        !read_string(obj, path, "driver", &driver, error)) {
        return FALSE;
    }
    if (driver != NULL && !fpb_policy_driver_from_string(driver, &g->driver)) {
        return field_error(error, path, "driver", "expected \"stock\", \"fpb\" or \"unknown\"");
    }
    return TRUE;
}

static gboolean read_stats(json_object *top, FpbPolicyStats *st, GError **error)
{
    static const char *const keys[] = {"free_bytes",  "available_bytes", "disk_caches_bytes",
                                       "total_bytes", "age_seconds",     NULL};
    const char *path = "facts.stats";
    json_object *obj = NULL;

    if (!read_object(top, "facts", "stats", FALSE, &obj, error)) {
        return FALSE;
    }
    if (obj == NULL) {
        return TRUE; /* no stats: all unknown */
    }
    return check_keys(obj, path, keys, error) &&
           read_size(obj, path, "free_bytes", TRUE, &st->free_bytes, error) &&
           read_size(obj, path, "available_bytes", TRUE, &st->available_bytes, error) &&
           read_size(obj, path, "disk_caches_bytes", TRUE, &st->disk_caches_bytes, error) &&
           read_size(obj, path, "total_bytes", TRUE, &st->total_bytes, error) &&
           read_number(obj, path, "age_seconds", TRUE, &st->age_seconds, error);
}

static gboolean read_policy_names(json_object *obj, const char *path, FpbPolicySettings *p,
                                  GError **error)
{
    const char *mode = NULL;
    const char *objective = NULL;

    if (!read_string(obj, path, "mode", &mode, error) ||
        !read_string(obj, path, "objective", &objective, error)) {
        return FALSE;
    }
    if (mode != NULL && !fpb_policy_request_from_string(mode, &p->mode)) {
        g_autofree char *names = fpb_policy_mode_names_join(TRUE, ", ", " or ", "\"");
        g_autofree char *what = g_strdup_printf("expected %s", names);

        return field_error(error, path, "mode", what);
    }
    if (objective != NULL && !fpb_policy_objective_from_string(objective, &p->objective)) {
        return field_error(error, path, "objective",
                           "expected \"time\", \"bytes\" or \"guest-impact\"");
    }
    return TRUE;
}

/* Absent in facts written before it existed: nothing reclaimed. */
static gboolean read_reclaim(json_object *obj, const char *path, FpbPolicySettings *p,
                             GError **error)
{
    const char *name = NULL;

    if (!read_string(obj, path, "reclaim", &name, error)) {
        return FALSE;
    }
    if (name != NULL && !fpb_policy_reclaim_from_string(name, &p->reclaim)) {
        return field_error(error, path, "reclaim",
                           "expected \"none\", \"split\", \"cache\" or \"split+cache\"");
    }
    return TRUE;
}

static gboolean read_policy(json_object *top, FpbPolicySettings *p, GError **error)
{
    static const char *const keys[] = {"mode",
                                       "objective",
                                       "floor_bytes",
                                       "max_prep_seconds",
                                       "balloon_allowed",
                                       "reclaim",
                                       "reclaim_cache_bound_bytes",
                                       NULL};
    const char *path = "facts.policy";
    json_object *obj = NULL;

    if (!read_object(top, "facts", "policy", FALSE, &obj, error)) {
        return FALSE;
    }
    if (obj == NULL) {
        return TRUE; /* the defaults */
    }
    return check_keys(obj, path, keys, error) && read_policy_names(obj, path, p, error) &&
           read_size(obj, path, "floor_bytes", FALSE, &p->floor_bytes, error) &&
           read_number(obj, path, "max_prep_seconds", FALSE, &p->max_prep_seconds, error) &&
           read_bool(obj, path, "balloon_allowed", FALSE, &p->balloon_allowed, error) &&
           read_reclaim(obj, path, p, error) &&
           read_size(obj, path, "reclaim_cache_bound_bytes", FALSE, &p->reclaim_cache_bound_bytes,
                     error);
}

/* null or {"value": number >= 0, "samples": integer >= 0} */
static gboolean read_estimate(json_object *parent, const char *key, FpbPolicyEstimate *e,
                              GError **error)
{
    static const char *const keys[] = {"value", "samples", NULL};
    g_autofree char *path = g_strconcat("facts.history.", key, NULL);
    json_object *obj = NULL;
    gint64 samples = 0;
    double value = 0;

    if (!read_object(parent, "facts.history", key, FALSE, &obj, error)) {
        return FALSE;
    }
    if (obj == NULL) {
        *e = (FpbPolicyEstimate){0};
        return TRUE;
    }
    if (!check_keys(obj, path, keys, error) ||
        !read_number(obj, path, "value", FALSE, &value, error) ||
        !read_size(obj, path, "samples", FALSE, &samples, error)) {
        return FALSE;
    }
    if (samples > G_MAXUINT) {
        return field_error(error, path, "samples", "too large");
    }
    *e = (FpbPolicyEstimate){.value = value, .samples = (guint)samples};
    return TRUE;
}

static gboolean read_history(json_object *top, FpbPolicyHistory *h, GError **error)
{
    static const char *const keys[] = {"migrations",
                                       "hint_efficiency",
                                       "inflate_bytes_per_second",
                                       "deflate_bytes_per_second",
                                       "zero_share",
                                       "bandwidth_bytes_per_second",
                                       "used_zero_share",
                                       "zero_page_seconds",
                                       NULL};
    json_object *obj = NULL;
    gint64 migrations = 0;

    if (!read_object(top, "facts", "history", FALSE, &obj, error)) {
        return FALSE;
    }
    if (obj == NULL) {
        return TRUE;
    }
    if (!check_keys(obj, "facts.history", keys, error) ||
        !read_size(obj, "facts.history", "migrations", FALSE, &migrations, error) ||
        !read_estimate(obj, "hint_efficiency", &h->hint_efficiency, error) ||
        !read_estimate(obj, "inflate_bytes_per_second", &h->inflate_rate, error) ||
        !read_estimate(obj, "deflate_bytes_per_second", &h->deflate_rate, error) ||
        !read_estimate(obj, "zero_share", &h->zero_share, error) ||
        !read_estimate(obj, "bandwidth_bytes_per_second", &h->bandwidth, error) ||
        !read_estimate(obj, "used_zero_share", &h->used_zero_share, error) ||
        !read_estimate(obj, "zero_page_seconds", &h->zero_page_seconds, error)) {
        return FALSE;
    }
    if (migrations > G_MAXUINT) {
        return field_error(error, "facts.history", "migrations", "too large");
    }
    h->migrations = (guint)migrations;
    return TRUE;
}

/* A string or null; *ret NULL when absent or null. */
static gboolean read_nullable_string(json_object *obj, const char *path, const char *key,
                                     const char **ret, GError **error)
{
    json_object *val = NULL;

    *ret = NULL;
    if (!json_object_object_get_ex(obj, key, &val) || val == NULL) {
        return TRUE;
    }
    if (!json_object_is_type(val, json_type_string)) {
        return field_error(error, path, key, "expected a string or null");
    }
    *ret = json_object_get_string(val);
    return TRUE;
}

/* facts.qemu: {"version": "7.2.22" | null, "package": string | null,
 * "tcg_dirty_tracking": "fixed" | "broken" | "unknown" | null}; absent or
 * null members (and an absent or null "qemu") are unknown, and a missing
 * override means "derive it" (docs/hint-safety.md). */
static gboolean read_qemu_fields(json_object *obj, FpbPolicyQemu *q, GError **error)
{
    const char *path = "facts.qemu";
    const char *version = NULL;
    const char *package = NULL;
    const char *tracking = NULL;
    int major = 0, minor = 0, micro = 0;

    if (!read_nullable_string(obj, path, "version", &version, error) ||
        !read_nullable_string(obj, path, "package", &package, error) ||
        !read_nullable_string(obj, path, "tcg_dirty_tracking", &tracking, error)) {
        return FALSE;
    }
    if (version != NULL) {
        if (!fpb_policy_qemu_version_parse(version, &major, &minor, &micro)) {
            return field_error(error, path, "version",
                               "expected \"MAJOR.MINOR.MICRO\" (e.g. \"7.2.22\") or null");
        }
        fpb_policy_qemu_set_version(q, major, minor, micro);
    }
    if (package != NULL && !fpb_policy_qemu_set_package(q, package)) {
        return field_error(error, path, "package", "longer than 127 bytes");
    }
    if (tracking != NULL) {
        if (!fpb_policy_tcg_dirty_tracking_from_string(tracking, &q->tcg_dirty_tracking_override)) {
            return field_error(error, path, "tcg_dirty_tracking",
                               "expected \"fixed\", \"broken\", \"unknown\" or null");
        }
        q->tcg_dirty_tracking_overridden = TRUE;
    }
    return read_bool(obj, path, "hint_window_closed", FALSE, &q->hint_window_closed, error);
}

static gboolean read_qemu(json_object *top, FpbPolicyQemu *q, GError **error)
{
    static const char *const keys[] = {"version", "package", "tcg_dirty_tracking",
                                       "hint_window_closed", NULL};
    json_object *obj = NULL;

    if (!read_object(top, "facts", "qemu", FALSE, &obj, error)) {
        return FALSE;
    }
    if (obj == NULL) {
        return TRUE; /* unknown QEMU (facts files from before issue 6) */
    }
    return check_keys(obj, "facts.qemu", keys, error) && read_qemu_fields(obj, q, error);
}

static gboolean read_top_scalars(json_object *obj, FpbPolicyFacts *f, GError **error)
{
    json_object *ram = NULL;
    const char *accel = NULL;

    if (!member(obj, "facts", "ram_bytes", TRUE, &ram, error) ||
        !read_size(obj, "facts", "ram_bytes", FALSE, &f->ram_bytes, error) ||
        !read_size(obj, "facts", "balloon_actual_bytes", TRUE, &f->balloon_actual_bytes, error) ||
        !read_string(obj, "facts", "accelerator", &accel, error) ||
        !read_number(obj, "facts", "dirty_rate_bytes_per_second", TRUE,
                     &f->dirty_rate_bytes_per_second, error) ||
        !read_number(obj, "facts", "bandwidth_bytes_per_second", TRUE,
                     &f->bandwidth_bytes_per_second, error) ||
        !read_number(obj, "facts", "downtime_limit_seconds", FALSE, &f->downtime_limit_seconds,
                     error) ||
        !read_number(obj, "facts", "measured_inflate_bytes_per_second", TRUE,
                     &f->measured_inflate_bytes_per_second, error) ||
        !read_size(obj, "facts", "guest_resident_bytes", TRUE, &f->guest_resident_bytes, error) ||
        !read_bool(obj, "facts", "can_restore", TRUE, &f->can_restore, error) ||
        !read_bool(obj, "facts", "hints_can_be_disabled", FALSE, &f->hints_can_be_disabled,
                   error)) {
        return FALSE;
    }
    if (accel != NULL && !fpb_policy_accel_from_string(accel, &f->accelerator)) {
        return field_error(error, "facts", "accelerator",
                           "expected \"tcg\", \"kvm\" or \"unknown\"");
    }
    if (f->ram_bytes <= 0) {
        return field_error(error, "facts", "ram_bytes", "expected an integer > 0");
    }
    /* the upper bound (FPB_POLICY_MAX_RAM_BYTES) is the policy's own rule:
     * fpb_policy_facts_validate() names it for every caller */
    return TRUE;
}

gboolean fpb_facts_json_read(json_object *obj, FpbPolicyFacts *ret_facts, GError **error)
{
    static const char *const keys[] = {"comment",
                                       "ram_bytes",
                                       "balloon_actual_bytes",
                                       "accelerator",
                                       "guest",
                                       "stats",
                                       "dirty_rate_bytes_per_second",
                                       "bandwidth_bytes_per_second",
                                       "downtime_limit_seconds",
                                       "measured_inflate_bytes_per_second",
                                       "guest_resident_bytes",
                                       "can_restore",
                                       "hints_can_be_disabled",
                                       "policy",
                                       "history",
                                       "qemu",
                                       NULL};
    FpbPolicyFacts f;

    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        return field_error(error, "facts", NULL, "expected an object");
    }
    fpb_policy_facts_init(&f);
    if (!check_keys(obj, "facts", keys, error) || !read_top_scalars(obj, &f, error) ||
        !read_qemu(obj, &f.qemu, error) || !read_guest(obj, &f.guest, error) ||
        !read_stats(obj, &f.stats, error) || !read_policy(obj, &f.policy, error) ||
        !read_history(obj, &f.history, error)) {
        return FALSE;
    }
    if (!fpb_policy_facts_validate(&f, error)) {
        return FALSE;
    }
    *ret_facts = f;
    return TRUE;
}

gboolean fpb_facts_json_parse(const char *text, gsize len, FpbPolicyFacts *ret_facts,
                              GError **error)
{
    g_autoptr(json_tokener) tok = NULL;
    g_autoptr(json_object) root = NULL;
    json_object *facts = NULL;
    enum json_tokener_error jerr;

    if (len > FPB_FACTS_JSON_MAX_BYTES || len > G_MAXINT) {
        g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ, "larger than %d bytes",
                    FPB_FACTS_JSON_MAX_BYTES);
        return FALSE;
    }
    tok = json_tokener_new();
    root = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        jerr = json_tokener_error_parse_eof;
    }
    if (jerr != json_tokener_success || root == NULL) {
        g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_PARSE,
                    "malformed JSON at offset %zu: %s", json_tokener_get_parse_end(tok),
                    jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "null");
        return FALSE;
    }
    if (json_tokener_get_parse_end(tok) < len &&
        strspn(text + json_tokener_get_parse_end(tok), " \t\r\n") <
            len - json_tokener_get_parse_end(tok)) {
        g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_PARSE,
                    "malformed JSON at offset %zu: trailing data after the object",
                    json_tokener_get_parse_end(tok));
        return FALSE;
    }
    /* A saved `explain --json` output replays as is. */
    if (json_object_is_type(root, json_type_object) &&
        !json_object_object_get_ex(root, "ram_bytes", NULL) &&
        json_object_object_get_ex(root, "facts", &facts)) {
        return fpb_facts_json_read(facts, ret_facts, error);
    }
    return fpb_facts_json_read(root, ret_facts, error);
}

gboolean fpb_facts_json_load_file(const char *path, FpbPolicyFacts *ret_facts, GError **error)
{
    g_autofree char *buf = g_malloc(FPB_FACTS_JSON_MAX_BYTES + 1);
    FILE *fp = fopen(path, "re");
    size_t n;
    int saved_errno;

    if (fp == NULL) {
        saved_errno = errno;
        g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ, "cannot open: %s",
                    g_strerror(saved_errno));
        return FALSE;
    }
    /* Read one byte past the cap so "too large" is detected without
     * trusting stat() (pipes, /proc files). */
    n = fread(buf, 1, FPB_FACTS_JSON_MAX_BYTES + 1, fp);
    saved_errno = errno;
    if (ferror(fp)) {
        fclose(fp);
        g_set_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ, "cannot read: %s",
                    g_strerror(saved_errno));
        return FALSE;
    }
    fclose(fp);
    return fpb_facts_json_parse(buf, n, ret_facts, error);
}

/* ---- writing ---- */

static json_object *new_size(gint64 v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

/* Facts keep full precision (%.17g): a replayed file must give the same
 * decision. */
static json_object *new_number(double v)
{
    return v < 0 || !isfinite(v) ? NULL : json_object_new_double(v);
}

/* Predictions are shown to milliseconds; more digits would be noise. */
static json_object *new_seconds(double v)
{
    char buf[64];

    g_snprintf(buf, sizeof(buf), "%.3f", isfinite(v) ? v : 0.0);
    return json_object_new_double_s(g_ascii_strtod(buf, NULL), buf);
}

static json_object *guest_to_json(const FpbPolicyGuest *g)
{
    json_object *obj = json_object_new_object();
    json_object *ioa = NULL;

    if (g->init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN) {
        ioa = json_object_new_boolean(g->init_on_alloc == FPB_POLICY_INIT_ON_ALLOC_ON);
    }
    json_object_object_add(obj, "free_page_hint", json_object_new_boolean(g->free_page_hint));
    json_object_object_add(obj, "stats_queue", json_object_new_boolean(g->stats_queue));
    json_object_object_add(obj, "deflate_on_oom", json_object_new_boolean(g->deflate_on_oom));
    json_object_object_add(obj, "free_page_reporting",
                           json_object_new_boolean(g->free_page_reporting));
    json_object_object_add(obj, "driver",
                           json_object_new_string(fpb_policy_driver_to_string(g->driver)));
    json_object_object_add(obj, "init_on_alloc", ioa);
    json_object_object_add(
        obj, "transparent_hugepage",
        g->transparent_hugepage != FPB_POLICY_THP_UNKNOWN
            ? json_object_new_string(fpb_policy_thp_to_string(g->transparent_hugepage))
            : NULL);
    return obj;
}

static json_object *stats_to_json(const FpbPolicyStats *st)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "free_bytes", new_size(st->free_bytes));
    json_object_object_add(obj, "available_bytes", new_size(st->available_bytes));
    json_object_object_add(obj, "disk_caches_bytes", new_size(st->disk_caches_bytes));
    json_object_object_add(obj, "total_bytes", new_size(st->total_bytes));
    json_object_object_add(obj, "age_seconds", new_number(st->age_seconds));
    return obj;
}

static json_object *policy_to_json(const FpbPolicySettings *p)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "mode",
                           json_object_new_string(fpb_policy_request_to_string(p->mode)));
    json_object_object_add(obj, "objective",
                           json_object_new_string(fpb_policy_objective_to_string(p->objective)));
    json_object_object_add(obj, "floor_bytes", json_object_new_int64(p->floor_bytes));
    json_object_object_add(obj, "max_prep_seconds", json_object_new_double(p->max_prep_seconds));
    json_object_object_add(obj, "balloon_allowed", json_object_new_boolean(p->balloon_allowed));
    json_object_object_add(obj, "reclaim",
                           json_object_new_string(fpb_policy_reclaim_to_string(p->reclaim)));
    json_object_object_add(obj, "reclaim_cache_bound_bytes",
                           json_object_new_int64(p->reclaim_cache_bound_bytes));
    return obj;
}

static json_object *estimate_to_json(const FpbPolicyEstimate *e)
{
    json_object *obj = NULL;

    if (e->samples == 0) {
        return NULL;
    }
    obj = json_object_new_object();
    json_object_object_add(obj, "value", json_object_new_double(e->value));
    json_object_object_add(obj, "samples", json_object_new_int64(e->samples));
    return obj;
}

/* The override is written only when set (null = derived), so a replayed
 * file derives again from the version and package. */
static json_object *qemu_to_json(const FpbPolicyQemu *q)
{
    json_object *obj = json_object_new_object();
    g_autofree char *version = fpb_policy_qemu_version_to_string(q);
    json_object *tracking = NULL;

    if (q->tcg_dirty_tracking_overridden) {
        tracking = json_object_new_string(
            fpb_policy_tcg_dirty_tracking_to_string(q->tcg_dirty_tracking_override));
    }
    json_object_object_add(obj, "version", version ? json_object_new_string(version) : NULL);
    json_object_object_add(obj, "package",
                           q->package_known ? json_object_new_string(q->package) : NULL);
    json_object_object_add(obj, "tcg_dirty_tracking", tracking);
    json_object_object_add(obj, "hint_window_closed",
                           json_object_new_boolean(q->hint_window_closed));
    return obj;
}

static json_object *history_to_json(const FpbPolicyHistory *h)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "migrations", json_object_new_int64(h->migrations));
    json_object_object_add(obj, "hint_efficiency", estimate_to_json(&h->hint_efficiency));
    json_object_object_add(obj, "inflate_bytes_per_second", estimate_to_json(&h->inflate_rate));
    json_object_object_add(obj, "deflate_bytes_per_second", estimate_to_json(&h->deflate_rate));
    json_object_object_add(obj, "zero_share", estimate_to_json(&h->zero_share));
    json_object_object_add(obj, "bandwidth_bytes_per_second", estimate_to_json(&h->bandwidth));
    json_object_object_add(obj, "used_zero_share", estimate_to_json(&h->used_zero_share));
    json_object_object_add(obj, "zero_page_seconds", estimate_to_json(&h->zero_page_seconds));
    return obj;
}

json_object *fpb_facts_json_from_facts(const FpbPolicyFacts *f)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "ram_bytes", json_object_new_int64(f->ram_bytes));
    json_object_object_add(obj, "balloon_actual_bytes", new_size(f->balloon_actual_bytes));
    json_object_object_add(obj, "accelerator",
                           json_object_new_string(fpb_policy_accel_to_string(f->accelerator)));
    json_object_object_add(obj, "qemu", qemu_to_json(&f->qemu));
    json_object_object_add(obj, "guest", guest_to_json(&f->guest));
    json_object_object_add(obj, "stats", stats_to_json(&f->stats));
    json_object_object_add(obj, "dirty_rate_bytes_per_second",
                           new_number(f->dirty_rate_bytes_per_second));
    json_object_object_add(obj, "bandwidth_bytes_per_second",
                           new_number(f->bandwidth_bytes_per_second));
    json_object_object_add(obj, "downtime_limit_seconds",
                           json_object_new_double(f->downtime_limit_seconds));
    json_object_object_add(obj, "measured_inflate_bytes_per_second",
                           new_number(f->measured_inflate_bytes_per_second));
    json_object_object_add(
        obj, "guest_resident_bytes",
        f->guest_resident_bytes >= 0 ? json_object_new_int64(f->guest_resident_bytes) : NULL);
    json_object_object_add(obj, "can_restore", json_object_new_boolean(f->can_restore));
    json_object_object_add(obj, "hints_can_be_disabled",
                           json_object_new_boolean(f->hints_can_be_disabled));
    json_object_object_add(obj, "policy", policy_to_json(&f->policy));
    json_object_object_add(obj, "history", history_to_json(&f->history));
    return obj;
}

static json_object *reason_to_json(FpbReasonCode code, const char *text)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "code",
                           json_object_new_string(fpb_policy_reason_code_to_string(code)));
    json_object_object_add(obj, "text", json_object_new_string(text != NULL ? text : ""));
    return obj;
}

json_object *fpb_facts_json_from_prediction(const FpbPolicyPrediction *p)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "bytes", json_object_new_int64(p->bytes));
    json_object_object_add(obj, "prep_seconds", new_seconds(p->prep_seconds));
    json_object_object_add(obj, "migrate_seconds", new_seconds(p->migrate_seconds));
    json_object_object_add(obj, "restore_seconds", new_seconds(p->restore_seconds));
    json_object_object_add(obj, "total_seconds",
                           new_seconds(fpb_policy_prediction_total_seconds(p)));
    json_object_object_add(
        obj, "guest_impact_byte_seconds",
        json_object_new_int64(fpb_cost_model_round_bytes(p->guest_impact_byte_seconds)));
    json_object_object_add(obj, "inflate_bytes", json_object_new_int64(p->inflate_bytes));
    json_object_object_add(obj, "balloon_target_bytes",
                           json_object_new_int64(p->balloon_target_bytes));
    json_object_object_add(obj, "converges", json_object_new_boolean(p->converges));
    json_object_object_add(obj, "feasible", json_object_new_boolean(p->feasible));
    json_object_object_add(obj, "why_not",
                           p->feasible ? NULL : reason_to_json(p->why_not, p->why_not_text));
    return obj;
}

json_object *fpb_facts_json_from_decision(const FpbPolicyDecision *d)
{
    json_object *obj = json_object_new_object();
    json_object *reasons = json_object_new_array();

    for (guint i = 0; i < d->reasons->len; i++) {
        const FpbPolicyReason *r = g_ptr_array_index(d->reasons, i);

        json_object_array_add(reasons, reason_to_json(r->code, r->text));
    }
    json_object_object_add(obj, "mode", json_object_new_string(fpb_policy_mode_to_string(d->mode)));
    json_object_object_add(obj, "method",
                           json_object_new_string(fpb_policy_method_to_string(d->method)));
    json_object_object_add(obj, "balloon_target_bytes",
                           json_object_new_int64(d->balloon_target_bytes));
    json_object_object_add(obj, "inflate_bytes", json_object_new_int64(d->inflate_bytes));
    json_object_object_add(obj, "reasons", reasons);
    return obj;
}

json_object *fpb_facts_json_from_predictions(const FpbPolicyDecision *d)
{
    json_object *obj = json_object_new_object();

    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        json_object_object_add(obj, fpb_policy_mode_to_string((FpbPolicyMode)i),
                               fpb_facts_json_from_prediction(&d->predictions[i]));
    }
    return obj;
}

json_object *fpb_facts_json_explain(const FpbPolicyFacts *facts, const FpbPolicyDecision *d)
{
    json_object *obj = json_object_new_object();

    json_object_object_add(obj, "facts", fpb_facts_json_from_facts(facts));
    json_object_object_add(obj, "decision", fpb_facts_json_from_decision(d));
    json_object_object_add(obj, "predictions", fpb_facts_json_from_predictions(d));
    return obj;
}
