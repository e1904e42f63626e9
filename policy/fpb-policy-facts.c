/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include <math.h>
#include <string.h>

#include "fpb-policy-facts.h"

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_policy_error_quark(void)
{
    return g_quark_from_static_string("fpb-policy-error-quark");
}

/* QEMU's default downtime-limit (migration parameter, 300 ms). */
#define DEFAULT_DOWNTIME_LIMIT_SECONDS 0.3
/* Inflation time budget when the VM's policy sets none: inflating the
 * FACTS.md 2 GiB guest took 4.0 s under TCG, so 10 s lets a guest of that
 * size give back most of its free memory without stalling the migration. */
#define DEFAULT_MAX_PREP_SECONDS 10.0
/* Anything above this is a typo, not a budget. */
#define MAX_PREP_SECONDS_LIMIT 3600.0
#define MAX_DOWNTIME_LIMIT_SECONDS 60.0

void fpb_policy_facts_init(FpbPolicyFacts *facts)
{
    *facts = (FpbPolicyFacts){
        .ram_bytes = 0,
        .balloon_actual_bytes = FPB_POLICY_UNKNOWN,
        .accelerator = FPB_POLICY_ACCEL_UNKNOWN,
        .qemu =
            {
                .major = -1,
                .minor = -1,
                .micro = -1,
                .package_known = FALSE,
                .tcg_dirty_tracking_overridden = FALSE,
            },
        .stats =
            {
                .free_bytes = FPB_POLICY_UNKNOWN,
                .available_bytes = FPB_POLICY_UNKNOWN,
                .disk_caches_bytes = FPB_POLICY_UNKNOWN,
                .total_bytes = FPB_POLICY_UNKNOWN,
                .age_seconds = FPB_POLICY_UNKNOWN,
            },
        .dirty_rate_bytes_per_second = FPB_POLICY_UNKNOWN,
        .measured_inflate_bytes_per_second = FPB_POLICY_UNKNOWN,
        .guest_resident_bytes = FPB_POLICY_UNKNOWN,
        .bandwidth_bytes_per_second = FPB_POLICY_UNKNOWN,
        .downtime_limit_seconds = DEFAULT_DOWNTIME_LIMIT_SECONDS,
        .can_restore = FALSE,
        .hints_can_be_disabled = FALSE,
        .policy =
            {
                .mode = FPB_POLICY_REQUEST_AUTO,
                .objective = FPB_POLICY_OBJECTIVE_TIME,
                .floor_bytes = 0,
                .max_prep_seconds = DEFAULT_MAX_PREP_SECONDS,
                .balloon_allowed = TRUE,
                .method = FPB_POLICY_METHOD_REQUEST_AUTO,
                .allow_unsafe_live_migration = FALSE,
            },
    };
    fpb_policy_history_init(&facts->history);
}

static gboolean invalid(GError **error, const char *field, const char *what)
{
    g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_INVALID_FACTS, "%s: %s", field, what);
    return FALSE;
}

/* A rate or time that may be unknown (< 0) but must be finite. */
static gboolean optional_ok(double v)
{
    return isfinite(v);
}

static gboolean validate_policy(const FpbPolicySettings *p, gint64 ram, GError **error)
{
    if ((guint)p->mode >= FPB_POLICY_N_REQUESTS) {
        return invalid(error, "facts.policy.mode", "unknown mode");
    }
    if (p->objective < FPB_POLICY_OBJECTIVE_TIME ||
        p->objective > FPB_POLICY_OBJECTIVE_GUEST_IMPACT) {
        return invalid(error, "facts.policy.objective", "unknown objective");
    }
    if (p->floor_bytes < 0 || p->floor_bytes > ram) {
        return invalid(error, "facts.policy.floor_bytes", "must be between 0 and facts.ram_bytes");
    }
    if (!isfinite(p->max_prep_seconds) || p->max_prep_seconds < 0 ||
        p->max_prep_seconds > MAX_PREP_SECONDS_LIMIT) {
        return invalid(error, "facts.policy.max_prep_seconds", "must be between 0 and 3600");
    }
    if (p->reclaim & ~FPB_POLICY_RECLAIM_ALL) {
        return invalid(error, "facts.policy.reclaim", "unknown reclaim bits");
    }
    if (p->reclaim_cache_bound_bytes < 0 ||
        p->reclaim_cache_bound_bytes > FPB_POLICY_MAX_RAM_BYTES) {
        return invalid(error, "facts.policy.reclaim_cache_bound_bytes",
                       "must be between 0 and 4 PiB");
    }
    return TRUE;
}

static gboolean component_ok(int v)
{
    return v >= 0 && v <= FPB_POLICY_QEMU_VERSION_COMPONENT_MAX;
}

static gboolean validate_qemu(const FpbPolicyQemu *q, GError **error)
{
    gboolean unknown = q->major == -1 && q->minor == -1 && q->micro == -1;

    if (!unknown && !(component_ok(q->major) && component_ok(q->minor) && component_ok(q->micro))) {
        return invalid(error, "facts.qemu.version",
                       "each component must be between 0 and 9999, or all unknown");
    }
    if (q->package_known && memchr(q->package, '\0', sizeof(q->package)) == NULL) {
        return invalid(error, "facts.qemu.package", "not terminated");
    }
    if (q->tcg_dirty_tracking_overridden &&
        (q->tcg_dirty_tracking_override < FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN ||
         q->tcg_dirty_tracking_override > FPB_POLICY_TCG_DIRTY_TRACKING_FIXED)) {
        return invalid(error, "facts.qemu.tcg_dirty_tracking", "unknown value");
    }
    return TRUE;
}

gboolean fpb_policy_facts_validate(const FpbPolicyFacts *facts, GError **error)
{
    /* Bounded so that no prediction can overflow (FPB_POLICY_MAX_RAM_BYTES);
     * everything else in bytes is bounded by it. */
    if (facts->ram_bytes <= 0 || facts->ram_bytes > FPB_POLICY_MAX_RAM_BYTES) {
        return invalid(error, "facts.ram_bytes",
                       "must be positive and at most 4503599627370496 (4 PiB)");
    }
    if (facts->balloon_actual_bytes != FPB_POLICY_UNKNOWN &&
        (facts->balloon_actual_bytes <= 0 || facts->balloon_actual_bytes > facts->ram_bytes)) {
        return invalid(error, "facts.balloon_actual_bytes",
                       "must be positive and at most facts.ram_bytes");
    }
    if (!optional_ok(facts->dirty_rate_bytes_per_second)) {
        return invalid(error, "facts.dirty_rate_bytes_per_second", "must be finite");
    }
    if (!optional_ok(facts->bandwidth_bytes_per_second) || facts->bandwidth_bytes_per_second == 0) {
        return invalid(error, "facts.bandwidth_bytes_per_second", "must be positive or unknown");
    }
    if (!isfinite(facts->downtime_limit_seconds) || facts->downtime_limit_seconds <= 0 ||
        facts->downtime_limit_seconds > MAX_DOWNTIME_LIMIT_SECONDS) {
        return invalid(error, "facts.downtime_limit_seconds", "must be in (0, 60]");
    }
    if (facts->guest_resident_bytes != FPB_POLICY_UNKNOWN &&
        (facts->guest_resident_bytes < 0 || facts->guest_resident_bytes > facts->ram_bytes)) {
        return invalid(error, "facts.guest_resident_bytes", "must be within 0..facts.ram_bytes");
    }
    if (!optional_ok(facts->measured_inflate_bytes_per_second) ||
        facts->measured_inflate_bytes_per_second == 0) {
        return invalid(error, "facts.measured_inflate_bytes_per_second",
                       "must be positive or unknown");
    }
    if (!optional_ok(facts->stats.age_seconds)) {
        return invalid(error, "facts.stats.age_seconds", "must be finite");
    }
    if (!validate_qemu(&facts->qemu, error)) {
        return FALSE;
    }
    return validate_policy(&facts->policy, facts->ram_bytes, error);
}

gboolean fpb_policy_qemu_set_version(FpbPolicyQemu *qemu, gint64 major, gint64 minor, gint64 micro)
{
    if (major < 0 || major > FPB_POLICY_QEMU_VERSION_COMPONENT_MAX || minor < 0 ||
        minor > FPB_POLICY_QEMU_VERSION_COMPONENT_MAX || micro < 0 ||
        micro > FPB_POLICY_QEMU_VERSION_COMPONENT_MAX) {
        return FALSE;
    }
    qemu->major = (int)major;
    qemu->minor = (int)minor;
    qemu->micro = (int)micro;
    return TRUE;
}

gboolean fpb_policy_qemu_set_package(FpbPolicyQemu *qemu, const char *package)
{
    memset(qemu->package, 0, sizeof(qemu->package));
    qemu->package_known = package != NULL;
    if (package == NULL) {
        return TRUE;
    }
    return g_strlcpy(qemu->package, package, sizeof(qemu->package)) < sizeof(qemu->package);
}

/* One decimal component of 1..4 digits; *end is where it stopped. */
static gboolean parse_component(const char *s, const char **end, int *ret)
{
    int v = 0;
    int n = 0;

    while (g_ascii_isdigit(s[n]) && n < 4) {
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0 || g_ascii_isdigit(s[n])) {
        return FALSE;
    }
    *end = s + n;
    *ret = v;
    return TRUE;
}

gboolean fpb_policy_qemu_version_parse(const char *s, int *ret_major, int *ret_minor,
                                       int *ret_micro)
{
    int v[3];
    const char *p = s;

    if (s == NULL) {
        return FALSE;
    }
    for (int i = 0; i < 3; i++) {
        if (!parse_component(p, &p, &v[i]) || *p != (i < 2 ? '.' : '\0')) {
            return FALSE;
        }
        p += i < 2 ? 1 : 0;
    }
    *ret_major = v[0];
    *ret_minor = v[1];
    *ret_micro = v[2];
    return TRUE;
}

char *fpb_policy_qemu_version_to_string(const FpbPolicyQemu *qemu)
{
    if (qemu->major < 0) {
        return NULL;
    }
    return g_strdup_printf("%d.%d.%d", qemu->major, qemu->minor, qemu->micro);
}

FpbPolicyTcgDirtyTracking fpb_policy_tcg_dirty_tracking_derive(int major, int minor,
                                                               const char *package)
{
    (void)minor; /* 9.0 is the first fixed release: the major decides */
    if (package != NULL && strstr(package, FPB_POLICY_QEMU_PATCHED_MARKER) != NULL) {
        return FPB_POLICY_TCG_DIRTY_TRACKING_FIXED;
    }
    if (major < 0) {
        return FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN;
    }
    return major >= FPB_POLICY_QEMU_FIXED_MAJOR ? FPB_POLICY_TCG_DIRTY_TRACKING_FIXED
                                                : FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN;
}

FpbPolicyTcgDirtyTracking fpb_policy_facts_tcg_dirty_tracking(const FpbPolicyFacts *facts)
{
    const FpbPolicyQemu *q = &facts->qemu;

    if (q->tcg_dirty_tracking_overridden) {
        return q->tcg_dirty_tracking_override;
    }
    return fpb_policy_tcg_dirty_tracking_derive(q->major, q->minor,
                                                q->package_known ? q->package : NULL);
}

typedef struct {
    int value;
    const char *name;
} NameEntry;

static const char *name_of(const NameEntry *table, gsize n, int value)
{
    for (gsize i = 0; i < n; i++) {
        if (table[i].value == value) {
            return table[i].name;
        }
    }
    return "invalid";
}

static gboolean value_of(const NameEntry *table, gsize n, const char *name, int *ret)
{
    for (gsize i = 0; i < n; i++) {
        if (g_strcmp0(table[i].name, name) == 0) {
            *ret = table[i].value;
            return TRUE;
        }
    }
    return FALSE;
}

static const NameEntry accel_names[] = {
    {FPB_POLICY_ACCEL_UNKNOWN, "unknown"},
    {FPB_POLICY_ACCEL_TCG, "tcg"},
    {FPB_POLICY_ACCEL_KVM, "kvm"},
};

static const NameEntry driver_names[] = {
    {FPB_POLICY_DRIVER_UNKNOWN, "unknown"},
    {FPB_POLICY_DRIVER_STOCK, "stock"},
    {FPB_POLICY_DRIVER_FPB, "fpb"},
};

static const NameEntry objective_names[] = {
    {FPB_POLICY_OBJECTIVE_TIME, "time"},
    {FPB_POLICY_OBJECTIVE_BYTES, "bytes"},
    {FPB_POLICY_OBJECTIVE_GUEST_IMPACT, "guest-impact"},
};

static const NameEntry tcg_dirty_tracking_names[] = {
    {FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, "unknown"},
    {FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN, "broken"},
    {FPB_POLICY_TCG_DIRTY_TRACKING_FIXED, "fixed"},
};

#define DEFINE_NAMES(fn, Type, table)                                                              \
    const char *fpb_policy_##fn##_to_string(Type v)                                                \
    {                                                                                              \
        return name_of(table, G_N_ELEMENTS(table), (int)v);                                        \
    }                                                                                              \
    gboolean fpb_policy_##fn##_from_string(const char *s, Type *ret)                               \
    {                                                                                              \
        int v = 0;                                                                                 \
        if (!value_of(table, G_N_ELEMENTS(table), s, &v)) {                                        \
            return FALSE;                                                                          \
        }                                                                                          \
        *ret = (Type)v;                                                                            \
        return TRUE;                                                                               \
    }

DEFINE_NAMES(accel, FpbPolicyAccel, accel_names)
DEFINE_NAMES(driver, FpbPolicyDriver, driver_names)
DEFINE_NAMES(objective, FpbPolicyObjective, objective_names)
DEFINE_NAMES(tcg_dirty_tracking, FpbPolicyTcgDirtyTracking, tcg_dirty_tracking_names)
