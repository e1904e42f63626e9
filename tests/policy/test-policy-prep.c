/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Preparation in the loop (policy/fpb-policy-prep.h, issue 15): when a
 * trial inflation is worth it, the measured rate in the decision, and the
 * re-check after the preparation.
 */
#include <string.h>

#include "fpb-policy.h"
#include "policy-test-util.h"

/* A never-seen 2 GiB TCG guest on fpb's QEMU behind QEMU's default cap,
 * 1.5 GiB free, hints not negotiated: at the prior inflation rate 'none'
 * wins, at 380 MB/s a balloon does. */
static void facts_unseen(FpbPolicyFacts *f)
{
    fpb_policy_facts_init(f);
    f->ram_bytes = 2 * GIB;
    f->balloon_actual_bytes = 2 * GIB;
    f->accelerator = FPB_POLICY_ACCEL_TCG;
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_PATCHED);
    f->guest.stats_queue = TRUE;
    f->guest.driver = FPB_POLICY_DRIVER_STOCK;
    f->stats.free_bytes = 1536 * MIB;
    f->stats.available_bytes = 1536 * MIB;
    f->stats.age_seconds = 1.0;
    f->dirty_rate_bytes_per_second = 1.0 * MIB;
    f->bandwidth_bytes_per_second = 128.0 * MIB;
    f->can_restore = TRUE;
    f->hints_can_be_disabled = TRUE;
}

static FpbPolicyDecision *decide(const FpbPolicyFacts *f)
{
    g_autoptr(GError) error = NULL;
    FpbPolicyDecision *d = fpb_policy_decide(f, &error);

    g_assert_no_error(error);
    return d;
}

static void test_probe_when_rate_decides(void)
{
    FpbPolicyFacts f;
    g_autoptr(FpbPolicyDecision) prior = NULL;
    g_autoptr(FpbPolicyDecision) fast = NULL;
    g_autoptr(FpbPolicyDecision) slow = NULL;

    facts_unseen(&f);
    prior = decide(&f);
    g_assert_cmpint(prior->mode, ==, FPB_POLICY_MODE_NONE);
    g_assert_true(fpb_policy_probe_worthwhile(&f, prior));
    /* 64 MiB in 0.13 s: the balloon wins, and the rate is a reason */
    g_assert_true(fpb_policy_facts_set_measured_inflation(&f, 64 * MIB, 0.134));
    fast = decide(&f);
    g_assert_true(fpb_policy_mode_uses_balloon(fast->mode));
    g_assert_true(fpb_policy_decision_has_reason(fast, FPB_REASON_INFLATE_RATE_MEASURED));
    g_assert_false(fpb_policy_probe_worthwhile(&f, fast)); /* measured: never twice */
    /* 40 MB in 2 s: 'none' stays */
    g_assert_true(fpb_policy_facts_set_measured_inflation(&f, 40000000, 2.0));
    slow = decide(&f);
    g_assert_cmpint(slow->mode, ==, FPB_POLICY_MODE_NONE);
}

static void test_no_probe(void)
{
    FpbPolicyFacts f;

    /* history knows the rate */
    facts_unseen(&f);
    f.history.inflate_rate = (FpbPolicyEstimate){.value = 66e6, .samples = 1};
    {
        g_autoptr(FpbPolicyDecision) d = decide(&f);
        g_assert_false(fpb_policy_probe_worthwhile(&f, d));
    }
    /* the mode is forced */
    facts_unseen(&f);
    f.policy.mode = FPB_POLICY_REQUEST_NONE;
    {
        g_autoptr(FpbPolicyDecision) d = decide(&f);
        g_assert_false(fpb_policy_probe_worthwhile(&f, d));
    }
    /* no rate makes a balloon win: the balloon is not allowed */
    facts_unseen(&f);
    f.policy.balloon_allowed = FALSE;
    {
        g_autoptr(FpbPolicyDecision) d = decide(&f);
        g_assert_false(fpb_policy_probe_worthwhile(&f, d));
    }
    /* a fast link: 'none' wins whatever the rate */
    facts_unseen(&f);
    f.bandwidth_bytes_per_second = 10e9;
    {
        g_autoptr(FpbPolicyDecision) d = decide(&f);
        g_assert_cmpint(d->mode, ==, FPB_POLICY_MODE_NONE);
        g_assert_false(fpb_policy_probe_worthwhile(&f, d));
    }
    g_assert_false(fpb_policy_facts_set_measured_inflation(&f, 64 * MIB, 0));
}

/* The ceiling ignores the time budget; the prediction does not. */
static void test_ceiling(void)
{
    FpbPolicyFacts f;
    g_autoptr(FpbPolicyDecision) d = NULL;

    facts_unseen(&f);
    f.policy.mode = FPB_POLICY_REQUEST_BALLOON;
    d = decide(&f);
    g_assert_cmpint(d->balloon_ceiling_target_bytes, <, d->balloon_target_bytes);
    g_assert_cmpint(d->predictions[FPB_POLICY_MODE_BALLOON].inflate_ceiling_bytes, ==,
                    f.balloon_actual_bytes - d->balloon_ceiling_target_bytes);
    /* never below what the guest uses plus the safety margin */
    g_assert_cmpint(d->balloon_ceiling_target_bytes, >=,
                    f.balloon_actual_bytes - f.stats.available_bytes + 128 * MIB);
    g_assert_cmpint(d->predictions[FPB_POLICY_MODE_NONE].inflate_ceiling_bytes, ==, 0);
}

/* Spent preparation is not counted again: a balloon that holds memory is
 * kept under objective time; under guest-impact giving it back wins. */
static void test_recheck(void)
{
    FpbPolicyFacts f;
    g_autoptr(FpbPolicyDecision) d = NULL;
    g_autofree char *why = NULL;

    facts_unseen(&f);
    g_assert_true(fpb_policy_facts_set_measured_inflation(&f, 64 * MIB, 0.134));
    d = decide(&f);
    g_assert_cmpint(d->mode, ==, FPB_POLICY_MODE_BALLOON);
    g_assert_true(fpb_policy_facts_set_measured_inflation(&f, 200 * MIB, 9.5));
    g_assert_cmpint(fpb_policy_recheck_prepared(&f, d, 200 * MIB, &why), ==,
                    FPB_POLICY_MODE_BALLOON);
    g_assert_null(why);
    f.policy.objective = FPB_POLICY_OBJECTIVE_GUEST_IMPACT;
    g_assert_cmpint(fpb_policy_recheck_prepared(&f, d, 200 * MIB, &why), ==, FPB_POLICY_MODE_NONE);
    g_assert_nonnull(strstr(why, "'balloon' abandoned after the preparation"));
    g_assert_nonnull(strstr(why, "with 'none'"));
    g_clear_pointer(&why, g_free);
    /* forced: kept whatever it costs */
    f.policy.mode = FPB_POLICY_REQUEST_BALLOON;
    g_assert_cmpint(fpb_policy_recheck_prepared(&f, d, 200 * MIB, &why), ==,
                    FPB_POLICY_MODE_BALLOON);
    g_assert_null(why);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy/prep/probe-when-rate-decides", test_probe_when_rate_decides);
    g_test_add_func("/policy/prep/no-probe", test_no_probe);
    g_test_add_func("/policy/prep/ceiling", test_ceiling);
    g_test_add_func("/policy/prep/recheck", test_recheck);
    return g_test_run();
}
