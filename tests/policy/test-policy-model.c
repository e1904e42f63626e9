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

/* FACTS.md, "Baseline migrations measured here", by a VM whose history
 * holds what those migrations measured (test_history_facts_md). */
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

/* reclaim cache: the guest's disk caches within the bound turn free before
 * fpb's driver walks, so a hinting mode sends about e x cache less; not
 * asked, over the bound, another driver or a non-hinting mode: no gain. */
static void test_reclaim_cache(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction plain = {0}, asked = {0}, over = {0}, none_plain = {0}, none_asked = {0};
    FpbCostInputs in;

    test_facts_2gib(&f);
    f.guest.driver = FPB_POLICY_DRIVER_FPB;
    f.stats.free_bytes = 600 * MIB;
    f.stats.available_bytes = 900 * MIB;
    f.stats.disk_caches_bytes = 300 * MIB;
    predict(&f, FPB_POLICY_MODE_HINT, 0, &plain);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &none_plain);
    f.policy.reclaim = FPB_POLICY_RECLAIM_CACHE;
    f.policy.reclaim_cache_bound_bytes = 512 * MIB;
    fpb_cost_model_inputs(&f, &in);
    g_assert_cmpfloat(in.reclaim_cache, ==, 300.0 * MIB);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &asked);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &none_asked);
    assert_within((double)(plain.bytes - asked.bytes), in.hint_efficiency * 300.0 * MIB, 0.05);
    g_assert_cmpint(none_asked.bytes, ==, none_plain.bytes);
    f.policy.reclaim_cache_bound_bytes = 200 * MIB; /* more cache than the guest may drop */
    predict(&f, FPB_POLICY_MODE_HINT, 0, &over);
    g_assert_cmpint(over.bytes, ==, plain.bytes);
    f.policy.reclaim_cache_bound_bytes = 512 * MIB;
    f.guest.driver = FPB_POLICY_DRIVER_STOCK;
    fpb_cost_model_inputs(&f, &in);
    g_assert_cmpfloat(in.reclaim_cache, ==, 0.0);
    f.guest.driver = FPB_POLICY_DRIVER_FPB;
    f.policy.reclaim = FPB_POLICY_RECLAIM_SPLIT; /* not predicted: no statistic shows it */
    fpb_cost_model_inputs(&f, &in);
    g_assert_cmpfloat(in.reclaim_cache, ==, 0.0);
}

static void test_kvm_inflate_prior(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};

    test_facts_2gib(&f);
    fpb_policy_history_init(&f.history);
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
    f.history.bandwidth = (FpbPolicyEstimate){.value = 1e9, .samples = 1};
    predict(&f, FPB_POLICY_MODE_NONE, 0, &quiet);
    g_assert_true(quiet.converges);
    f.dirty_rate_bytes_per_second = 100e6; /* 10% of the bandwidth */
    predict(&f, FPB_POLICY_MODE_NONE, 0, &busy);
    g_assert_true(busy.converges);
    g_assert_cmpint(busy.bytes, >, quiet.bytes);
    /* a geometric series over the first pass's time (zero pages included):
     * the first round resends D * t0, each next one 10% of the one before */
    g_assert_cmpfloat((double)busy.bytes, <=,
                      (double)quiet.bytes +
                          100e6 * 4104 / 4096 * quiet.migrate_seconds / (1 - 0.1 * 4104 / 4096) +
                          1);
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

/* The benchmark's 1 GiB guests (docs/bench/before-rework/runs.json; guest stats from the
 * journal of the same runs): TCG, fpb's patched QEMU 7.2, fpb's driver,
 * init_on_alloc left on. @cap 1e11 is fpb-bench's "unlimited". */
static void bench_facts(FpbPolicyFacts *f, gint64 free_bytes, gint64 available_bytes, double cap)
{
    fpb_policy_facts_init(f);
    f->ram_bytes = GIB;
    f->balloon_actual_bytes = GIB;
    f->accelerator = FPB_POLICY_ACCEL_TCG;
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_PATCHED);
    f->guest.free_page_hint = TRUE;
    f->guest.stats_queue = TRUE;
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
    f->stats.free_bytes = free_bytes;
    f->stats.available_bytes = available_bytes;
    f->stats.age_seconds = 1.0;
    f->bandwidth_bytes_per_second = cap;
    f->can_restore = TRUE;
    f->hints_can_be_disabled = TRUE;
}

#define IDLE_FREE 813801472, 745279488
#define FRESH 911302656, 842780672
#define UNLIMITED 1e11

/* A migration as QEMU reported it: @normal and @zero pages in @seconds. */
static FpbPolicyOutcome bench_outcome(FpbPolicyMode mode, gint64 normal, gint64 zero,
                                      double seconds)
{
    return (FpbPolicyOutcome){
        .mode = mode,
        .succeeded = TRUE,
        .inflated_bytes = 0,
        .deflated_bytes = 0,
        .transferred_bytes = normal * 4104 + zero * 9,
        .normal_bytes = normal * 4096,
        .zero_pages = zero,
        .migrate_seconds = seconds,
        .hint_cleared_bytes = -1,
    };
}

/* Before any history, "unlimited" is the throughput QEMU reaches, not the
 * cap's 100 GB/s (which predicted 0.0 s). Bytes within 15%; times within
 * 35% (one run each on a loaded machine: the same run varies that much). */
static void test_bench_priors_unlimited(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};

    bench_facts(&f, IDLE_FREE, UNLIMITED);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 239.6e6, 0.15);
    assert_within(p.migrate_seconds, (0.68 + 0.86 + 0.89) / 3, 0.35);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, 948.7e6, 0.15);
    assert_within(p.migrate_seconds, (3.72 + 3.13) / 2, 0.35);
    /* the balloon's pages are zero pages: they cost scan time (issue 9:
     * migrating after inflation was ~4x slower than its bytes) */
    predict(&f, FPB_POLICY_MODE_BALLOON, 611061760, &p);
    assert_within(p.migrate_seconds, (3.66 + 3.72) / 2, 0.15);
    assert_within(p.prep_seconds, (8.23 + 6.80) / 2, 0.35);
}

/* This guest's free memory is dirtier than the prior's (s = 0.11, not
 * 0.25): the balloon leaves ~100 MB of it, which one 'none' run shows. */
static void test_balloon_after_none(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome none = bench_outcome(FPB_POLICY_MODE_NONE, 231087, 31277, 3.128);

    bench_facts(&f, IDLE_FREE, UNLIMITED);
    fpb_cost_model_observe(&f.history, &f, &none);
    assert_within(f.history.zero_share.value, 0.11, 0.15);
    predict(&f, FPB_POLICY_MODE_BALLOON, 611061760, &p);
    assert_within((double)p.bytes, (341.7e6 + 342e6) / 2, 0.15);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, 948.7e6, 0.02);
}

/* At 125 MB/s non-zero pages move at the cap; zero pages still add their
 * scan time. */
static void test_bench_priors_capped(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};

    bench_facts(&f, IDLE_FREE, 125e6);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within(p.migrate_seconds, (1.73 + 1.82 + 2.23) / 3, 0.15);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within(p.migrate_seconds, (8.48 + 7.83) / 2, 0.15);
}

/* One migration without hints teaches the zero share of free memory: a
 * freshly booted guest's free memory is all zero. */
static void test_fresh_after_none(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome none = bench_outcome(FPB_POLICY_MODE_NONE, 35327, 227024, 2.493);

    bench_facts(&f, FRESH, UNLIMITED);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    g_assert_cmpfloat((double)p.bytes, >, 2 * 147.0e6); /* the prior's 0.25 */
    fpb_cost_model_observe(&f.history, &f, &none);
    g_assert_cmpuint(f.history.zero_share.samples, ==, 1);
    g_assert_cmpfloat(f.history.zero_share.value, >, 0.95);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, 147.0e6, 0.15);
    assert_within(p.migrate_seconds, 2.493, 0.15);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, (140.0e6 + 135.3e6 + 142.2e6) / 3, 0.15);
}

/* A hint run with fpb's driver teaches e (the pages QEMU never looked at)
 * and the zero pages outside free memory; it cannot see the zero share of
 * free memory (hinted pages are not read). */
static void test_fresh_after_hint(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome hint = bench_outcome(FPB_POLICY_MODE_HINT, 34654, 9299, 1.040);

    bench_facts(&f, FRESH, 125e6);
    fpb_cost_model_observe(&f.history, &f, &hint);
    assert_within(f.history.hint_efficiency.value, 0.98, 0.02);
    assert_within(f.history.used_zero_share.value, 0.035, 0.15);
    g_assert_cmpuint(f.history.zero_share.samples, ==, 0);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 143.4e6, 0.05);
    /* QEMU moved 138 MB/s under the 125 MB/s cap here (small transfers
     * beat the cap by a burst the model does not know: cost-model.md) */
    assert_within(p.migrate_seconds, 1.037, 0.25);
}

/* A hint run (which split its unhinted free pages with the prior s = 0.25)
 * and a run without hints (which finds s = 0.96) in either order: the
 * history predicts both modes (fpbctl's journal of the benchmark, fresh,
 * unlimited: before, hint predicted 111 MB for 143 MB after this pair). */
static void test_mixed_modes(gconstpointer data)
{
    gboolean hint_first = GPOINTER_TO_INT(data);
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome hint = bench_outcome(FPB_POLICY_MODE_HINT, 35079, 16811, 0.774);
    FpbPolicyOutcome none = bench_outcome(FPB_POLICY_MODE_NONE, 35373, 227037, 3.983);

    bench_facts(&f, FRESH, UNLIMITED);
    fpb_cost_model_observe(&f.history, &f, hint_first ? &hint : &none);
    fpb_cost_model_observe(&f.history, &f, hint_first ? &none : &hint);
    predict(&f, FPB_POLICY_MODE_HINT, 0, &p);
    assert_within((double)p.bytes, 34858 * 4104.0 + 8791 * 9, 0.10);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    assert_within((double)p.bytes, 147.0e6, 0.10);
}

/* Below the cap both T and c_z are CPU work: one run scales both so that
 * the run is reproduced; at the cap the zero pages' time is what is left
 * after the cap's share. */
static void test_observe_speed(void)
{
    FpbPolicyFacts f;
    FpbPolicyOutcome none = bench_outcome(FPB_POLICY_MODE_NONE, 231087, 31277, 3.128);
    FpbPolicyOutcome capped = bench_outcome(FPB_POLICY_MODE_NONE, 35373, 227024, 3.137);
    double wire = 231087.0 * 4104;

    bench_facts(&f, IDLE_FREE, UNLIMITED);
    fpb_cost_model_observe(&f.history, &f, &none);
    assert_within(wire / f.history.bandwidth.value + 31277 * f.history.zero_page_seconds.value,
                  3.128, 0.001);
    /* both scaled by the same factor: T / k and c_z * k */
    assert_within(f.history.bandwidth.value * f.history.zero_page_seconds.value,
                  FPB_COST_PRIOR_THROUGHPUT * FPB_COST_PRIOR_ZERO_PAGE_SECONDS, 0.001);
    bench_facts(&f, FRESH, 125e6);
    fpb_cost_model_observe(&f.history, &f, &capped);
    g_assert_cmpuint(f.history.bandwidth.samples, ==, 0);
    assert_within(f.history.zero_page_seconds.value, (3.137 - 35373 * 4104 / 125e6) / 227024,
                  0.001);
}

/* At the cap with few zero pages, a run clearly slower than the cap shows
 * T: what the non-zero pages moved (bench-evacuate's hint runs over the
 * veth: 891 MB in 13.2 s under a 125 MB/s cap). Near the cap it does not. */
static void test_observe_below_cap(void)
{
    FpbPolicyFacts f;
    FpbPolicyOutcome slow = bench_outcome(FPB_POLICY_MODE_HINT, 200000, 5000, 13.2);
    FpbPolicyOutcome near = bench_outcome(FPB_POLICY_MODE_HINT, 200000, 5000, 7.0);
    double wire = 200000.0 * 4104;
    FpbPolicyPrediction p = {0};

    bench_facts(&f, FRESH, 125e6);
    fpb_cost_model_observe(&f.history, &f, &slow);
    g_assert_cmpuint(f.history.bandwidth.samples, ==, 1);
    assert_within(f.history.bandwidth.value,
                  wire / (13.2 - 5000 * FPB_COST_PRIOR_ZERO_PAGE_SECONDS), 0.01);
    g_assert_cmpfloat(f.history.bandwidth.value, <, 0.9 * 125e6);
    predict(&f, FPB_POLICY_MODE_NONE, 0, &p);
    g_assert_cmpfloat(p.migrate_seconds, >, 1.5 * (double)p.bytes / 125e6);

    bench_facts(&f, FRESH, 125e6);
    fpb_cost_model_observe(&f.history, &f, &near);
    g_assert_cmpuint(f.history.bandwidth.samples, ==, 0);
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
        .mode = FPB_POLICY_MODE_HINT,
        .succeeded = TRUE,
        .inflated_bytes = 0,
        .transferred_bytes = 500000000,
        .normal_bytes = 497000000,
        .zero_pages = 1000,
        .migrate_seconds = 2.5,
        .prep_seconds = 0,
        .deflated_bytes = 0,
        .restore_seconds = 0,
        .hint_cleared_bytes = -1,
    };
    FpbPolicyOutcome balloon = {
        .mode = FPB_POLICY_MODE_BALLOON,
        .succeeded = TRUE,
        .inflated_bytes = 1000 * MIB,
        .prep_seconds = 2.0,
        .deflated_bytes = 1000 * MIB,
        .restore_seconds = 0.5,
        .transferred_bytes = 330000000,
        .normal_bytes = 320000000,
        .zero_pages = 400000,
        .migrate_seconds = 1.5,
        .hint_cleared_bytes = -1,
    };

    test_facts_2gib(&f);
    fpb_policy_history_init(&f.history);
    f.guest.driver = FPB_POLICY_DRIVER_FPB;
    f.bandwidth_bytes_per_second = 1e9; /* the run below moved 200 MB/s */
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

/* fpb's QEMU's counters: a guest asked that never reported (0 cleared) is
 * unhinted from then on, for either driver; counters that show hints
 * leave e to what the bytes say (issue 15). */
static void test_observe_hint_counters(void)
{
    for (int drv = FPB_POLICY_DRIVER_STOCK; drv <= FPB_POLICY_DRIVER_FPB; drv++) {
        FpbPolicyFacts f;
        FpbPolicyOutcome o = {
            .mode = FPB_POLICY_MODE_HINT,
            .succeeded = TRUE,
            .inflated_bytes = 0,
            .transferred_bytes = 500000000,
            .normal_bytes = 497000000,
            .zero_pages = 1000,
            .migrate_seconds = 2.5,
            .hint_cleared_bytes = 1371000000, /* 3/4 of the 1828 MB free */
        };

        test_facts_2gib(&f);
        fpb_policy_history_init(&f.history);
        f.guest.driver = (FpbPolicyDriver)drv;
        fpb_cost_model_observe(&f.history, &f, &o);
        g_assert_cmpuint(f.history.hint_efficiency.samples, ==, 1);
        {
            FpbPolicyFacts g;
            FpbPolicyOutcome uncounted = o;

            test_facts_2gib(&g);
            fpb_policy_history_init(&g.history);
            g.guest.driver = (FpbPolicyDriver)drv;
            uncounted.hint_cleared_bytes = -1;
            fpb_cost_model_observe(&g.history, &g, &uncounted);
            assert_within(f.history.hint_efficiency.value, g.history.hint_efficiency.value, 1e-9);
        }
        g_assert_cmpfloat(f.history.hint_efficiency.value, >, 0.5);
        o.hint_cleared_bytes = 0;
        for (int i = 0; i < 8; i++) {
            fpb_cost_model_observe(&f.history, &f, &o);
        }
        g_assert_cmpfloat(f.history.hint_efficiency.value, <, 0.1);
    }
}

/* Journal rows are outside input: garbage must not break the model. */
static void test_observe_garbage(void)
{
    FpbPolicyFacts f;
    FpbPolicyPrediction p = {0};
    FpbPolicyOutcome o = {
        .mode = (FpbPolicyMode)77,
        .succeeded = TRUE,
        .inflated_bytes = -5,
        .prep_seconds = NAN,
        .deflated_bytes = G_MAXINT64,
        .restore_seconds = 1e-300,
        .transferred_bytes = G_MAXINT64,
        .normal_bytes = -1,
        .zero_pages = G_MAXINT64,
        .migrate_seconds = 0.2,
        .hint_cleared_bytes = G_MAXINT64,
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
    g_test_add_func("/policy/model/observe-hint-counters", test_observe_hint_counters);
    g_test_add_func("/policy/model/facts-baseline", test_facts_baseline);
    g_test_add_func("/policy/model/reclaim-cache", test_reclaim_cache);
    g_test_add_func("/policy/model/kvm-inflate-prior", test_kvm_inflate_prior);
    g_test_add_func("/policy/model/convergence", test_convergence);
    g_test_add_func("/policy/model/zero-pages", test_zero_pages);
    g_test_add_func("/policy/model/bench-priors-unlimited", test_bench_priors_unlimited);
    g_test_add_func("/policy/model/bench-priors-capped", test_bench_priors_capped);
    g_test_add_func("/policy/calibration/ewma", test_ewma);
    g_test_add_func("/policy/calibration/observe", test_observe);
    g_test_add_func("/policy/calibration/fresh-after-none", test_fresh_after_none);
    g_test_add_func("/policy/calibration/balloon-after-none", test_balloon_after_none);
    g_test_add_func("/policy/calibration/fresh-after-hint", test_fresh_after_hint);
    g_test_add_func("/policy/calibration/speed", test_observe_speed);
    g_test_add_func("/policy/calibration/speed-below-cap", test_observe_below_cap);
    g_test_add_data_func("/policy/calibration/mixed-modes/hint-first", GINT_TO_POINTER(TRUE),
                         test_mixed_modes);
    g_test_add_data_func("/policy/calibration/mixed-modes/none-first", GINT_TO_POINTER(FALSE),
                         test_mixed_modes);
    g_test_add_func("/policy/calibration/garbage", test_observe_garbage);
    return g_test_run();
}
