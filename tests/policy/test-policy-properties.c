/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Property tests over random facts. Seeded: the seed is printed and
 * FPB_PROPERTY_SEED=N replays a run; FPB_PROPERTY_CASES=N changes the count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy-test-util.h"

#define DEFAULT_SEED 20241127u
#define DEFAULT_CASES 10000

static guint32 seed;
static int n_cases;

static void check_prediction(const FpbPolicyPrediction *p, const FpbPolicyFacts *f)
{
    g_assert_cmpint(p->bytes, >=, 0);
    g_assert_true(isfinite(p->prep_seconds) && p->prep_seconds >= 0);
    g_assert_true(isfinite(p->migrate_seconds) && p->migrate_seconds >= 0);
    g_assert_true(isfinite(p->restore_seconds) && p->restore_seconds >= 0);
    g_assert_true(isfinite(p->guest_impact_byte_seconds) && p->guest_impact_byte_seconds >= 0);
    g_assert_cmpint(p->inflate_bytes, >=, 0);
    g_assert_cmpint(p->balloon_target_bytes, >=, 0);
    g_assert_cmpint(p->balloon_target_bytes, <=, f->ram_bytes);
    g_assert_cmpint(p->feasible ? 0 : 1, ==, p->why_not != FPB_REASON_NONE ? 1 : 0);
}

/* Issue 6, restated from the raw facts: the QEMU has the TCG dirty-tracking
 * fix when the operator says so, or (no override) when it is >= 9.0 or
 * fpb's patched build. */
static gboolean qemu_fixed(const FpbPolicyFacts *f)
{
    const FpbPolicyQemu *q = &f->qemu;

    if (q->tcg_dirty_tracking_overridden) {
        return q->tcg_dirty_tracking_override == FPB_POLICY_TCG_DIRTY_TRACKING_FIXED;
    }
    return (q->package_known && strstr(q->package, "fpb-patched") != NULL) || q->major >= 9;
}

static gboolean hints_may_corrupt(const FpbPolicyFacts *f)
{
    return f->accelerator != FPB_POLICY_ACCEL_KVM && !qemu_fixed(f);
}

/* fpb's driver on KVM with a QEMU that leaves the dirty-log window open,
 * not accepted (issue 15). */
static gboolean kvm_window_open(const FpbPolicyFacts *f)
{
    return f->accelerator == FPB_POLICY_ACCEL_KVM && f->guest.driver == FPB_POLICY_DRIVER_FPB &&
           !f->qemu.hint_window_closed && !f->policy.accept_kvm_dirty_log_window;
}

static gboolean hints_refused(const FpbPolicyFacts *f)
{
    return hints_may_corrupt(f) || kvm_window_open(f);
}

/* The rules, restated from the facts without the policy's helpers. */
static void check_chosen(const FpbPolicyFacts *f, const FpbPolicyDecision *d)
{
    const FpbPolicyPrediction *p = &d->predictions[d->mode];
    gint64 actual = f->balloon_actual_bytes > 0 ? f->balloon_actual_bytes : f->ram_bytes;

    g_assert_true(p->feasible);
    g_assert_cmpuint(d->reasons->len, >, 0);
    /* issue 14: where live migration may lose writes, the default method is
     * never a plain live precopy (no override in these facts) */
    g_assert_false(fpb_policy_decision_has_reason(d, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE));
    g_assert_cmpint(d->method != FPB_POLICY_METHOD_PRECOPY, ==, hints_may_corrupt(f));
    if (d->method == FPB_POLICY_METHOD_POSTCOPY) {
        g_assert_true(f->hints_can_be_disabled);
        g_assert_false(fpb_policy_mode_uses_hints(d->mode));
    }
    if (d->method == FPB_POLICY_METHOD_PAUSED) {
        g_assert_false(f->hints_can_be_disabled);
    }
    if (fpb_policy_mode_uses_hints(d->mode)) {
        g_assert_true(f->guest.free_page_hint);
        g_assert_true(fpb_hint_guard_check(f, NULL, NULL) == FPB_HINT_SAFE);
        g_assert_false(hints_refused(f));
    } else if (f->guest.free_page_hint) {
        g_assert_true(f->hints_can_be_disabled);
    }
    if (!fpb_policy_mode_uses_balloon(d->mode)) {
        g_assert_cmpint(d->balloon_target_bytes, ==, actual);
        return;
    }
    g_assert_true(f->can_restore && f->policy.balloon_allowed);
    g_assert_cmpint(d->balloon_target_bytes, >=, f->policy.floor_bytes);
    g_assert_cmpint(d->balloon_target_bytes + d->inflate_bytes, ==, actual);
    /* in use (actual - available) + margin stays in the guest */
    g_assert_cmpint(f->stats.available_bytes, >=, 0);
    g_assert_cmpfloat((double)d->inflate_bytes, <=,
                      (double)MIN(f->stats.available_bytes, f->stats.free_bytes) -
                          FPB_COST_SAFETY_MARGIN_MIN_BYTES + 1);
    g_assert_cmpfloat(f->stats.age_seconds, <=, FPB_COST_STATS_MAX_AGE_SECONDS);
    g_assert_cmpfloat(f->stats.age_seconds, >=, 0);
}

static void test_decisions(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    int decided = 0;

    for (int i = 0; i < n_cases; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbPolicyDecision) d = NULL;
        FpbPolicyFacts f;

        test_facts_random(r, &f);
        d = fpb_policy_decide(&f, &error);
        if (d == NULL) {
            /* refusals are only ever "cannot run", never "invalid" */
            g_assert_true(
                g_error_matches(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE) ||
                g_error_matches(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_NO_FEASIBLE_MODE));
            continue;
        }
        decided++;
        for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
            check_prediction(&d->predictions[m], &f);
        }
        check_chosen(&f, d);
    }
    /* the generator must exercise decisions, not only refusals */
    g_assert_cmpint(decided, >, n_cases / 4);
}

/* The guard never lets hints through on a QEMU that may lose writes, and
 * there neither the driver nor init_on_alloc changes its verdict; on KVM
 * only fpb's driver with the window open and not accepted is refused. */
static void test_guard(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed + 3);

    for (int i = 0; i < n_cases; i++) {
        FpbPolicyFacts f;
        FpbHintSafety s;

        test_facts_random(r, &f);
        s = fpb_hint_guard_check(&f, NULL, NULL);
        g_assert_cmpint(s == FPB_HINT_UNSAFE, ==, hints_refused(&f));
        for (int drv = 0; drv < 3; drv++) {
            for (int ioa = 0; ioa < 3; ioa++) {
                f.guest.driver = (FpbPolicyDriver)drv;
                f.guest.init_on_alloc = (FpbPolicyInitOnAlloc)ioa;
                g_assert_cmpint(fpb_hint_guard_check(&f, NULL, NULL) == FPB_HINT_UNSAFE, ==,
                                hints_refused(&f));
            }
        }
        if (s == FPB_HINT_UNSAFE) {
            for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
                FpbCostInputs in;
                FpbPolicyPrediction p = {0};

                if (!fpb_policy_mode_uses_hints((FpbPolicyMode)m)) {
                    continue;
                }
                fpb_cost_model_inputs(&f, &in);
                fpb_policy_rules_evaluate(&f, &in, (FpbPolicyMode)m, &p);
                g_assert_false(p.feasible);
                fpb_policy_prediction_clear(&p);
            }
        }
    }
}

/* In auto mode a refusal means nothing was feasible. */
static void test_auto_refuses_only_when_nothing_runs(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed + 1);

    for (int i = 0; i < n_cases; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbPolicyDecision) d = NULL;
        FpbPolicyFacts f;

        test_facts_random(r, &f);
        f.policy.mode = FPB_POLICY_REQUEST_AUTO;
        d = fpb_policy_decide(&f, &error);
        if (d == NULL) {
            g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_NO_FEASIBLE_MODE);
            /* 'none' only fails when hints cannot be switched off */
            g_assert_true(f.guest.free_page_hint && !f.hints_can_be_disabled);
        }
    }
}

static gint64 predicted_bytes(const FpbPolicyFacts *f, FpbPolicyMode mode)
{
    FpbCostInputs in;
    FpbPolicyPrediction p = {0};
    gint64 bytes;

    fpb_cost_model_inputs(f, &in);
    fpb_policy_rules_evaluate(f, &in, mode, &p);
    bytes = p.bytes;
    fpb_policy_prediction_clear(&p);
    return bytes;
}

/* More free memory never makes hints or the balloon send more, in a guest
 * that writes nothing during migration. (With a dirty rate it can: zero
 * pages cost QEMU scan time, so a pass over more zero pages is longer and
 * the guest dirties more meanwhile; docs/cost-model.md.) */
static void test_monotone_in_free_memory(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed + 2);

    for (int i = 0; i < n_cases; i++) {
        FpbPolicyFacts f, more;
        gint64 delta, actual;

        test_facts_random(r, &f);
        if (f.stats.free_bytes < 0) {
            continue;
        }
        f.dirty_rate_bytes_per_second = 0;
        more = f;
        /* more free memory in a guest of the same size: free and available
         * grow together and stay below the balloon's size (beyond it the
         * policy clamps them, so "more" would not be more) */
        actual = f.balloon_actual_bytes > 0 ? f.balloon_actual_bytes : f.ram_bytes;
        delta = (gint64)(g_rand_double(r) * (double)f.ram_bytes / 4);
        delta = MIN(delta, actual - MAX(f.stats.free_bytes, f.stats.available_bytes));
        if (delta <= 0) {
            continue;
        }
        more.stats.free_bytes += delta;
        more.stats.available_bytes += delta;
        for (int m = FPB_POLICY_MODE_HINT; m < FPB_POLICY_N_MODES; m++) {
            gint64 before = predicted_bytes(&f, (FpbPolicyMode)m);
            gint64 after = predicted_bytes(&more, (FpbPolicyMode)m);

            if (after > before) {
                g_error("case %d, mode %s: free %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                        ": bytes %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT,
                        i, fpb_policy_mode_to_string((FpbPolicyMode)m), f.stats.free_bytes,
                        more.stats.free_bytes, before, after);
            }
        }
    }
}

/* Sizes at the edges: the unknown marker, tiny, page-sized, real, the
 * policy's RAM bound and past it, and the top of gint64 (issue 20: a facts
 * file with ram_bytes near INT64_MAX made balloon_target_bytes
 * -9223372036854775808). */
static gint64 extreme_size(GRand *r, gint64 ram)
{
    const gint64 sizes[] = {
        G_MININT64,
        -2,
        -1,
        0,
        1,
        4095,
        64 * MIB,
        64 * GIB,
        64 * 1024 * GIB,
        FPB_POLICY_MAX_RAM_BYTES - 1,
        FPB_POLICY_MAX_RAM_BYTES,
        FPB_POLICY_MAX_RAM_BYTES + 1,
        G_MAXINT64 / 2,
        G_MAXINT64 - 1,
        G_MAXINT64,
    };
    guint i = (guint)g_rand_int_range(r, 0, G_N_ELEMENTS(sizes) + 3);

    if (i == G_N_ELEMENTS(sizes)) {
        return ram;
    }
    if (i > G_N_ELEMENTS(sizes)) {
        return ram / (gint64)(i - G_N_ELEMENTS(sizes) + 1);
    }
    return sizes[i];
}

static double extreme_number(GRand *r)
{
    const double numbers[] = {
        -INFINITY, -1e300, -1,   -0.0,   0,     5e-324,      1e-9,     0.3, 1,
        1e6,       1e12,   1e18, 9.3e18, 1e300, G_MAXDOUBLE, INFINITY, NAN,
    };

    return numbers[g_rand_int_range(r, 0, G_N_ELEMENTS(numbers))];
}

static void extreme_estimate(GRand *r, FpbPolicyEstimate *e)
{
    const guint samples[] = {0, 1, 1000, G_MAXUINT};

    e->value = extreme_number(r);
    e->samples = samples[g_rand_int_range(r, 0, G_N_ELEMENTS(samples))];
}

static void extreme_facts(GRand *r, FpbPolicyFacts *f)
{
    test_facts_random(r, f);
    f->ram_bytes = extreme_size(r, FPB_POLICY_MAX_RAM_BYTES);
    f->balloon_actual_bytes = extreme_size(r, f->ram_bytes);
    f->stats.free_bytes = extreme_size(r, f->ram_bytes);
    f->stats.available_bytes = extreme_size(r, f->ram_bytes);
    f->stats.disk_caches_bytes = extreme_size(r, f->ram_bytes);
    f->stats.total_bytes = extreme_size(r, f->ram_bytes);
    f->stats.age_seconds = g_rand_boolean(r) ? 1.0 : extreme_number(r);
    f->policy.floor_bytes = g_rand_boolean(r) ? 0 : extreme_size(r, f->ram_bytes);
    f->dirty_rate_bytes_per_second = extreme_number(r);
    f->bandwidth_bytes_per_second = extreme_number(r);
    f->downtime_limit_seconds = g_rand_boolean(r) ? 0.3 : extreme_number(r);
    f->policy.max_prep_seconds = g_rand_boolean(r) ? 10 : extreme_number(r);
    f->history.migrations = g_rand_boolean(r) ? 0 : G_MAXUINT;
    extreme_estimate(r, &f->history.hint_efficiency);
    extreme_estimate(r, &f->history.inflate_rate);
    extreme_estimate(r, &f->history.deflate_rate);
    extreme_estimate(r, &f->history.zero_share);
    extreme_estimate(r, &f->history.bandwidth);
    extreme_estimate(r, &f->history.used_zero_share);
    extreme_estimate(r, &f->history.zero_page_seconds);
}

/* Extreme facts are refused as invalid, or give predictions without
 * overflow, negative sizes or NaN (issue 20). */
static void test_extremes(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(seed + 4);
    int decided = 0;

    for (int i = 0; i < n_cases; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbPolicyDecision) d = NULL;
        FpbPolicyFacts f;

        extreme_facts(r, &f);
        d = fpb_policy_decide(&f, &error);
        if (d == NULL) {
            g_assert_true(error != NULL && error->domain == FPB_POLICY_ERROR);
            if (f.ram_bytes > FPB_POLICY_MAX_RAM_BYTES) {
                g_assert_nonnull(strstr(error->message, "facts.ram_bytes"));
            }
            continue;
        }
        decided++;
        g_assert_cmpint(f.ram_bytes, <=, FPB_POLICY_MAX_RAM_BYTES);
        for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
            check_prediction(&d->predictions[m], &f);
            /* 31 passes over RAM with page headers at most */
            g_assert_cmpfloat((double)d->predictions[m].bytes, <=,
                              32.0 * (double)f.ram_bytes + 1e6);
        }
        g_assert_cmpint(d->balloon_target_bytes, >=, 0);
        g_assert_cmpint(d->inflate_bytes, >=, 0);
    }
    g_assert_cmpint(decided, >, 0);
}

/* The reported case: ram_bytes a little below INT64_MAX is refused with the
 * field named; the policy's bound itself still decides, with sane numbers. */
static void test_ram_near_int64_max(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) refused = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    f.ram_bytes = G_GINT64_CONSTANT(9223372036854775000);
    f.balloon_actual_bytes = FPB_POLICY_UNKNOWN;
    refused = fpb_policy_decide(&f, &error);
    g_assert_null(refused);
    g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_INVALID_FACTS);
    g_assert_nonnull(strstr(error->message, "facts.ram_bytes"));

    f.ram_bytes = FPB_POLICY_MAX_RAM_BYTES;
    f.stats.free_bytes = f.stats.available_bytes = FPB_POLICY_MAX_RAM_BYTES / 2;
    d = fpb_policy_decide(&f, NULL);
    g_assert_nonnull(d);
    for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
        check_prediction(&d->predictions[m], &f);
    }
    g_assert_cmpint(d->balloon_target_bytes, >, 0);
    g_assert_cmpint(d->balloon_target_bytes + d->inflate_bytes, ==, FPB_POLICY_MAX_RAM_BYTES);
}

static void test_round_bytes(void)
{
    g_assert_cmpint(fpb_cost_model_round_bytes(NAN), ==, 0);
    g_assert_cmpint(fpb_cost_model_round_bytes(-1e300), ==, 0);
    g_assert_cmpint(fpb_cost_model_round_bytes(1.4), ==, 1);
    g_assert_cmpint(fpb_cost_model_round_bytes(9223372036854775808.0), ==, G_MAXINT64);
    g_assert_cmpint(fpb_cost_model_round_bytes(INFINITY), ==, G_MAXINT64);
    g_assert_cmpint(fpb_cost_model_round_bytes(9223372036854774784.0), ==,
                    G_GINT64_CONSTANT(9223372036854774784));
}

static void parse_env(void)
{
    const char *s = g_getenv("FPB_PROPERTY_SEED");
    const char *n = g_getenv("FPB_PROPERTY_CASES");

    seed = s != NULL ? (guint32)g_ascii_strtoull(s, NULL, 10) : DEFAULT_SEED;
    n_cases = n != NULL ? (int)g_ascii_strtoll(n, NULL, 10) : DEFAULT_CASES;
    if (n_cases <= 0) {
        n_cases = DEFAULT_CASES;
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    parse_env();
    g_test_message("seed %u, %d cases (FPB_PROPERTY_SEED / FPB_PROPERTY_CASES)", seed, n_cases);
    g_test_add_func("/policy/properties/decisions", test_decisions);
    g_test_add_func("/policy/properties/auto-refusal", test_auto_refuses_only_when_nothing_runs);
    g_test_add_func("/policy/properties/guard", test_guard);
    g_test_add_func("/policy/properties/monotone-free", test_monotone_in_free_memory);
    g_test_add_func("/policy/properties/extremes", test_extremes);
    g_test_add_func("/policy/properties/ram-near-int64-max", test_ram_near_int64_max);
    g_test_add_func("/policy/properties/round-bytes", test_round_bytes);
    return g_test_run();
}
