/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cost model against the FACTS.md measurements (within the issue's
 * +-15%), convergence, zero pages and the calibration.
 */
#include <math.h>

#include "policy-test-util.h"

static void assert_within(double predicted, double measured, double share)
{
    if (fabs(predicted - measured) > share * measured) {
        g_error("predicted %.3g, measured %.3g: off by more than %.0f%%", predicted, measured,
                share * 100);
    }
}

static void predict(const FpbPolicyFacts *f, FpbPolicyMode mode, double inflate,
                    FpbPolicyPrediction *p)
{
    FpbCostInputs in;

    fpb_cost_model_inputs(f, &in);
    fpb_cost_model_predict(&in, mode, inflate, p);
}

/* FACTS.md, "Baseline migrations measured here". */
static void test_facts_baseline(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};

    test_facts_2gib(&f);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, 1683e6, 0.15);
    assert_within(p.migrate_seconds, 12.4, 0.15);
    f.guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 725e6, 0.15);
    assert_within(p.migrate_seconds, 5.8, 0.15);
    f.guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 317e6, 0.15);
    assert_within(p.migrate_seconds, 2.2, 0.15);
    /* 'balloon value' 600 MiB on 2048 MiB: 1448 MiB taken */
    predict(&f, FPB_POLICY_MODE_BALLOON, 1448 * MIB, &p);
    assert_within((double)p.bytes, 321e6, 0.15);
    assert_within(p.prep_seconds, 4.0, 0.15);
    assert_within(p.migrate_seconds, 2.6, 0.15);
    g_assert_cmpint(p.balloon_target_bytes, ==, 600 * MIB);
}

static void test_kvm_inflate_prior(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};

    test_facts_2gib(&f);
    f.accelerator = FPB_POLICY_ACCEL_KVM;
    predict(&f, FPB_POLICY_MODE_BALLOON, 1.6e9, &p);
    assert_within(p.prep_seconds, 1.0, 0.01);
}

static void test_convergence(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction quiet = {0}, busy = {0}, hopeless = {0};

    test_facts_2gib(&f);
    f.bandwidth_bytes_per_second = 1e9;
    predict(&f, FPB_POLICY_MODE_NONE, 0, &quiet);
    g_assert_true(quiet.converges);
    f.dirty_rate_bytes_per_second = 100e6; /* 10% of the bandwidth */
    predict(&f, FPB_POLICY_MODE_NONE, 0, &busy);
    g_assert_true(busy.converges);
    g_assert_cmpint(busy.bytes, >, quiet.bytes);
    /* a geometric series: at most 1 / (1 - 0.1) of the first pass */
    g_assert_cmpfloat((double)busy.bytes, <=, (double)quiet.bytes / 0.9 + 1);
    f.dirty_rate_bytes_per_second = 2e9;
    predict(&f, FPB_POLICY_MODE_NONE, 0, &hopeless);
    g_assert_false(hopeless.converges);
    g_assert_true(isfinite(hopeless.migrate_seconds));
}

/* Free memory that was never written costs 9 bytes a page, not 4 KiB. */
static void test_zero_pages(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    double used = 2.0 * GIB - 1828e6;

    test_facts_2gib(&f);
    f.history.zero_share = (FpbPolicyEstimate){.value = 1.0, .samples = 1};
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, used * 4104 / 4096 + 1828e6 / 4096 * 9, 0.001);
}

static void test_ewma(void)
{
    FpbPolicyEstimate e = {0};

    g_assert_cmpfloat(fpb_policy_estimate_get(&e, FPB_POLICY_QUANTITY_BANDWIDTH, 5e6), ==, 5e6);
    fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, 100e6);
    g_assert_cmpfloat(e.value, ==, 100e6); /* the first observation replaces the prior */
    fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, 200e6);
    g_assert_cmpfloat(e.value, ==, 150e6); /* mean of two */
    for (int i = 0; i < 100; i++) {
        fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, 400e6);
    }
    assert_within(e.value, 400e6, 0.001); /* alpha >= 0.25 keeps following */
    fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, NAN);
    fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, INFINITY);
    assert_within(e.value, 400e6, 0.001);
    fpb_policy_estimate_observe(&e, FPB_POLICY_QUANTITY_BANDWIDTH, 1e30); /* clamped */
    g_assert_cmpfloat(e.value, <=, 100e9);
    e = (FpbPolicyEstimate){.value = 7.0, .samples = 3};
    g_assert_cmpfloat(fpb_policy_estimate_get(&e, FPB_POLICY_QUANTITY_ZERO_SHARE, 0.25), ==, 1.0);
}

/* One calibration migration brings the prediction within 15% of it. */
static void test_observe(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome hint = {
        .mode = FPB_POLICY_MODE_HINT, .succeeded = TRUE, .inflated_bytes = 0,
        .transferred_bytes = 500000000, .normal_bytes = 497000000, .zero_pages = 1000,
        .migrate_seconds = 2.5, .prep_seconds = 0, .deflated_bytes = 0, .restore_seconds = 0,
    };
    FpbPolicyOutcome balloon = {
        .mode = FPB_POLICY_MODE_BALLOON, .succeeded = TRUE, .inflated_bytes = 1000 * MIB,
        .prep_seconds = 2.0, .deflated_bytes = 1000 * MIB, .restore_seconds = 0.5,
        .transferred_bytes = 330000000, .normal_bytes = 320000000, .zero_pages = 400000,
        .migrate_seconds = 1.5,
    };

    test_facts_2gib(&f);
    f.guest.driver = FPB_POLICY_DRIVER_FPB;
    fpb_cost_model_observe(&f.history, &f, &hint);
    g_assert_cmpuint(f.history.migrations, ==, 1);
    g_assert_cmpuint(f.history.hint_efficiency.samples, ==, 1);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 500e6, 0.15);
    assert_within(p.migrate_seconds, 2.5, 0.15);
    fpb_cost_model_observe(&f.history, &f, &balloon);
    assert_within(f.history.inflate_rate.value, 1000.0 * MIB / 2.0, 0.001);
    assert_within(f.history.deflate_rate.value, 1000.0 * MIB / 0.5, 0.001);
    g_assert_cmpuint(f.history.zero_share.samples, ==, 1);
    /* A failed migration teaches rates of what ran, not bandwidth. */
    balloon.succeeded = FALSE;
    fpb_cost_model_observe(&f.history, &f, &balloon);
    g_assert_cmpuint(f.history.bandwidth.samples, ==, 2);
    g_assert_cmpuint(f.history.migrations, ==, 3);
}

/* Journal rows are outside input: garbage must not break the model. */
static void test_observe_garbage(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome o = {
        .mode = (FpbPolicyMode)77, .succeeded = TRUE, .inflated_bytes = -5,
        .prep_seconds = NAN, .deflated_bytes = G_MAXINT64, .restore_seconds = 1e-300,
        .transferred_bytes = G_MAXINT64, .normal_bytes = -1, .zero_pages = G_MAXINT64,
        .migrate_seconds = 0.2,
    };

    test_facts_2gib(&f);
    for (int i = 0; i < 5; i++) {
        fpb_cost_model_observe(&f.history, &f, &o);
    }
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    g_assert_cmpint(p.bytes, >, 0);
    g_assert_true(isfinite(p.migrate_seconds) && p.migrate_seconds > 0);
    g_assert_cmpfloat(f.history.zero_share.value, <=, 1.0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy/model/facts-baseline", test_facts_baseline);
    g_test_add_func("/policy/model/kvm-inflate-prior", test_kvm_inflate_prior);
    g_test_add_func("/policy/model/convergence", test_convergence);
    g_test_add_func("/policy/model/zero-pages", test_zero_pages);
    g_test_add_func("/policy/calibration/ewma", test_ewma);
    g_test_add_func("/policy/calibration/observe", test_observe);
    g_test_add_func("/policy/calibration/garbage", test_observe_garbage);
    return g_test_run();
}
