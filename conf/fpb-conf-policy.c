/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-VM policy's keys: parsing, printing, merging (fpb-conf-policy.h). */
#define G_LOG_DOMAIN "fpb-conf"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fpb-conf-policy.h"
#include "fpb-policy-facts.h"

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_conf_error_quark(void)
{
    return g_quark_from_static_string("fpb-conf-error-quark");
}

static const char *const objective_names[] = {"time", "bytes", "guest-impact", NULL};
static const char *const key_names[] = {
    "mode",    "objective",           "floor", "max-prep-seconds", "balloon",
    "reclaim", "reclaim-cache-bound", NULL};
enum {
    KEY_MODE,
    KEY_OBJECTIVE,
    KEY_FLOOR,
    KEY_MAX_PREP,
    KEY_BALLOON,
    KEY_RECLAIM,
    KEY_CACHE_BOUND
};

void fpb_conf_policy_init(FpbConfPolicy *p)
{
    memset(p, 0, sizeof(*p));
    p->floor_bytes = -1;
    p->max_prep_seconds = -1;
    p->balloon = -1;
    p->reclaim = -1;
    p->reclaim_cache_bound_bytes = -1;
}

gboolean fpb_conf_policy_is_empty(const FpbConfPolicy *p)
{
    return !p->has_mode && !p->has_objective && p->floor_bytes < 0 && p->max_prep_seconds < 0 &&
           p->balloon < 0 && p->reclaim < 0 && p->reclaim_cache_bound_bytes < 0;
}

void fpb_conf_policy_merge(FpbConfPolicy *base, const FpbConfPolicy *over)
{
    if (over->has_mode) {
        base->has_mode = TRUE;
        base->mode = over->mode;
    }
    if (over->has_objective) {
        base->has_objective = TRUE;
        base->objective = over->objective;
    }
    if (over->floor_bytes >= 0) {
        base->floor_bytes = over->floor_bytes;
    }
    if (over->max_prep_seconds >= 0) {
        base->max_prep_seconds = over->max_prep_seconds;
    }
    if (over->balloon >= 0) {
        base->balloon = over->balloon;
    }
    if (over->reclaim >= 0) {
        base->reclaim = over->reclaim;
    }
    if (over->reclaim_cache_bound_bytes >= 0) {
        base->reclaim_cache_bound_bytes = over->reclaim_cache_bound_bytes;
    }
}

const char *const *fpb_conf_policy_keys(void)
{
    return key_names;
}

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; s != NULL && names[i] != NULL; i++) {
        if (g_str_equal(names[i], s)) {
            return i;
        }
    }
    return -1;
}

const char *fpb_conf_mode_to_string(FpbConfMode mode)
{
    return (guint)mode < FPB_POLICY_N_REQUESTS ? fpb_policy_request_to_string(mode) : "?";
}

gboolean fpb_conf_mode_from_string(const char *s, FpbConfMode *ret)
{
    return fpb_policy_request_from_string(s, ret);
}

const char *fpb_conf_objective_to_string(FpbConfObjective objective)
{
    return (guint)objective < G_N_ELEMENTS(objective_names) - 1 ? objective_names[objective] : "?";
}

gboolean fpb_conf_objective_from_string(const char *s, FpbConfObjective *ret)
{
    int i = name_index(objective_names, s);

    if (i < 0) {
        return FALSE;
    }
    *ret = (FpbConfObjective)i;
    return TRUE;
}

/* libvirt's spellings: b/bytes, k/KiB, KB... are all read as 1024^n. */
static gint64 unit_scale(const char *unit)
{
    static const struct {
        const char *names[5];
        gint64 scale;
    } units[] = {
        {{"", "b", "bytes", NULL}, 1},
        {{"k", "KiB", "KB", "K", NULL}, G_GINT64_CONSTANT(1) << 10},
        {{"m", "MiB", "MB", "M", NULL}, G_GINT64_CONSTANT(1) << 20},
        {{"g", "GiB", "GB", "G", NULL}, G_GINT64_CONSTANT(1) << 30},
        {{"t", "TiB", "TB", "T", NULL}, G_GINT64_CONSTANT(1) << 40},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
        for (gsize n = 0; units[i].names[n] != NULL; n++) {
            if (g_str_equal(units[i].names[n], unit)) {
                return units[i].scale;
            }
        }
    }
    return -1;
}

gboolean fpb_conf_parse_size(const char *text, const char *unit, gint64 *ret)
{
    g_autofree char *suffix = NULL;
    char *end = NULL;
    guint64 n;
    gint64 scale;

    if (text == NULL || !g_ascii_isdigit(*text)) {
        return FALSE;
    }
    errno = 0;
    n = g_ascii_strtoull(text, &end, 10);
    if (errno != 0 || end == text) {
        return FALSE;
    }
    suffix = g_strstrip(g_strdup(end));
    if (*suffix != '\0' && unit != NULL) {
        return FALSE; /* "512MiB" together with unit='KiB': ambiguous */
    }
    scale = unit_scale(*suffix != '\0' ? suffix : (unit ? unit : ""));
    if (scale < 0 || n > (guint64)(FPB_CONF_POLICY_MAX_FLOOR_BYTES / scale)) {
        return FALSE;
    }
    *ret = (gint64)n * scale;
    return TRUE;
}

static gboolean parse_bool(const char *s, int *ret)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};

    if (name_index(yes, s) >= 0) {
        *ret = 1;
        return TRUE;
    }
    if (name_index(no, s) >= 0) {
        *ret = 0;
        return TRUE;
    }
    return FALSE;
}

static gboolean parse_seconds(const char *s, double *ret)
{
    char *end = NULL;
    double v;

    if (s == NULL || *s == '\0' || g_ascii_isspace(*s)) {
        return FALSE;
    }
    v = g_ascii_strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || v < 0 || v > FPB_CONF_POLICY_MAX_PREP_SECONDS) {
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

static gboolean invalid(GError **error, const char *key, const char *value, const char *expected)
{
    g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_INVALID, "%s: '%s' is not %s", key, value,
                expected);
    return FALSE;
}

static void unset(FpbConfPolicy *p, int key)
{
    FpbConfPolicy empty;

    fpb_conf_policy_init(&empty);
    switch (key) {
    case KEY_MODE:
        p->has_mode = FALSE;
        break;
    case KEY_OBJECTIVE:
        p->has_objective = FALSE;
        break;
    case KEY_FLOOR:
        p->floor_bytes = empty.floor_bytes;
        break;
    case KEY_MAX_PREP:
        p->max_prep_seconds = empty.max_prep_seconds;
        break;
    case KEY_BALLOON:
        p->balloon = empty.balloon;
        break;
    case KEY_RECLAIM:
        p->reclaim = empty.reclaim;
        break;
    default:
        p->reclaim_cache_bound_bytes = empty.reclaim_cache_bound_bytes;
        break;
    }
}

static int key_index(const char *key, GError **error)
{
    int k = name_index(key_names, key);

    if (k < 0) {
        g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_INVALID,
                    "unknown key '%s' (expected mode, objective, floor, max-prep-seconds, "
                    "balloon, reclaim or reclaim-cache-bound)",
                    key);
    }
    return k;
}

gboolean fpb_conf_policy_set(FpbConfPolicy *p, const char *key, const char *value, const char *unit,
                             GError **error)
{
    int k = key_index(key, error);

    if (k < 0) {
        return FALSE;
    }
    if (value == NULL || *value == '\0') {
        unset(p, k);
        return TRUE;
    }
    return fpb_conf_policy_set_value(p, key, value, unit, error);
}

gboolean fpb_conf_policy_set_value(FpbConfPolicy *p, const char *key, const char *value,
                                   const char *unit, GError **error)
{
    int k = key_index(key, error);

    if (k < 0) {
        return FALSE;
    }
    if (value == NULL) {
        value = "";
    }
    switch (k) {
    case KEY_MODE:
        if (!fpb_conf_mode_from_string(value, &p->mode)) {
            return invalid(error, key, value, fpb_policy_request_names());
        }
        p->has_mode = TRUE;
        return TRUE;
    case KEY_OBJECTIVE:
        if (!fpb_conf_objective_from_string(value, &p->objective)) {
            return invalid(error, key, value, "time, bytes or guest-impact");
        }
        p->has_objective = TRUE;
        return TRUE;
    case KEY_FLOOR:
        return fpb_conf_parse_size(value, unit, &p->floor_bytes) ||
               invalid(error, key, value, "a size up to 1 PiB (e.g. 512MiB)");
    case KEY_MAX_PREP:
        return parse_seconds(value, &p->max_prep_seconds) ||
               invalid(error, key, value, "a number of seconds within 0..3600");
    case KEY_BALLOON:
        return parse_bool(value, &p->balloon) || invalid(error, key, value, "yes or no");
    case KEY_RECLAIM: {
        guint r;
        if (!fpb_policy_reclaim_from_string(value, &r)) {
            return invalid(error, key, value, "none, split, cache or split+cache");
        }
        p->reclaim = (int)r;
        return TRUE;
    }
    default:
        return fpb_conf_parse_size(value, unit, &p->reclaim_cache_bound_bytes) ||
               invalid(error, key, value, "a size up to 1 PiB (e.g. 256MiB)");
    }
}

char *fpb_conf_policy_get(const FpbConfPolicy *p, const char *key)
{
    switch (name_index(key_names, key)) {
    case KEY_MODE:
        return p->has_mode ? g_strdup(fpb_conf_mode_to_string(p->mode)) : NULL;
    case KEY_OBJECTIVE:
        return p->has_objective ? g_strdup(fpb_conf_objective_to_string(p->objective)) : NULL;
    case KEY_FLOOR:
        return p->floor_bytes >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, p->floor_bytes) : NULL;
    case KEY_MAX_PREP: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        return p->max_prep_seconds >= 0
                   ? g_strdup(g_ascii_dtostr(buf, sizeof(buf), p->max_prep_seconds))
                   : NULL;
    }
    case KEY_BALLOON:
        return p->balloon >= 0 ? g_strdup(p->balloon ? "yes" : "no") : NULL;
    case KEY_RECLAIM:
        return p->reclaim >= 0 ? g_strdup(fpb_policy_reclaim_to_string((guint)p->reclaim)) : NULL;
    case KEY_CACHE_BOUND:
        return p->reclaim_cache_bound_bytes >= 0
                   ? g_strdup_printf("%" G_GINT64_FORMAT, p->reclaim_cache_bound_bytes)
                   : NULL;
    default:
        return NULL;
    }
}
