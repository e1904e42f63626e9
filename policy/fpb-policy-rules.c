/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include <math.h>

#include "fpb-hint-guard.h"
#include "fpb-policy-rules.h"

/* Inflating a little past the dirty free memory covers the error of the
 * zero-share estimate without inflating zero pages for nothing. */
#define DIRTY_FREE_SLACK 1.05

void fpb_policy_rules_balloon_limits(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                                     FpbBalloonLimits *ret)
{
    double floor_bytes = MAX((double)facts->policy.floor_bytes, 0.0);

    /* In use = actual - available, so "never below in use + margin" is
     * "take at most available - margin"; free bounds it too because the
     * balloon should not force the guest to drop its caches. */
    ret->by_margin = MAX(0.0, MIN(in->free, in->available) - in->margin);
    ret->by_floor = MAX(0.0, in->actual - floor_bytes);
    ret->by_budget = MAX(0.0, in->inflate_rate * facts->policy.max_prep_seconds);
}

static void set_infeasible(FpbPolicyPrediction *p, FpbReasonCode code, char *text)
{
    if (!p->feasible) {
        g_free(text); /* the first broken rule is the one reported */
        return;
    }
    p->feasible = FALSE;
    p->why_not = code;
    p->why_not_text = text;
}

static void check_hints(const FpbPolicyFacts *facts, FpbPolicyMode mode, FpbPolicyPrediction *p)
{
    FpbReasonCode code = FPB_REASON_NONE;
    char *text = NULL;

    if (!fpb_policy_mode_uses_hints(mode)) {
        if (facts->guest.free_page_hint && !facts->hints_can_be_disabled) {
            set_infeasible(p, FPB_REASON_HINTS_CANNOT_BE_DISABLED,
                           g_strdup("the guest negotiated free-page hints and they cannot be "
                                    "switched off for this migration, so QEMU would use them"));
        }
        return;
    }
    if (!facts->guest.free_page_hint) {
        set_infeasible(p, FPB_REASON_HINT_NOT_NEGOTIATED,
                       g_strdup("the guest driver did not negotiate free-page hints"));
        return;
    }
    if (fpb_hint_guard_check(facts, &code, &text) == FPB_HINT_UNSAFE) {
        set_infeasible(p, code, text);
    }
}

static void check_balloon_facts(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                                FpbPolicyPrediction *p)
{
    if (!facts->policy.balloon_allowed) {
        set_infeasible(p, FPB_REASON_BALLOON_NOT_ALLOWED,
                       g_strdup("the VM's policy does not allow balloon inflation"));
    }
    if (!facts->can_restore) {
        set_infeasible(p, FPB_REASON_BALLOON_NO_RESTORE_PATH,
                       g_strdup("there is no way to give the memory back after migration"));
    }
    if (!in->stats_known) {
        set_infeasible(p, FPB_REASON_BALLOON_STATS_UNKNOWN,
                       g_strdup(in->stats_stale
                                    ? "the guest's memory stats are stale, so what it uses is "
                                      "unknown"
                                    : "the guest's memory stats are unknown, so what it uses is "
                                      "unknown"));
    }
}

/* The dirty free memory: what the balloon should take. Hints on top do not
 * change it: the balloon takes dirty pages first and hints then skip a
 * share e of whatever is left (fpb-cost-model.c, first_pass()). */
static double useful_inflation(const FpbCostInputs *in)
{
    return MIN(in->free, DIRTY_FREE_SLACK * (1.0 - in->zero_share) * in->free);
}

/* Sizes the balloon: the dirty free memory, as far as the rules allow.
 * Taking more would only take zero pages (no bytes saved, seconds lost);
 * the size does not depend on the objective, so each option's prediction
 * means one thing and more free memory never makes it send more. Returns
 * the rule the size breaks (FPB_REASON_NONE if none). */
static FpbReasonCode size_balloon(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                                  FpbPolicyMode mode, FpbPolicyPrediction *p)
{
    FpbBalloonLimits lim;
    double cap;

    fpb_policy_rules_balloon_limits(facts, in, &lim);
    cap = MIN(lim.by_margin, MIN(lim.by_floor, lim.by_budget));
    fpb_cost_model_predict(in, mode, MIN(useful_inflation(in), cap), p);
    p->inflate_ceiling_bytes = MAX(
        p->inflate_bytes,
        fpb_cost_model_round_bytes(MIN(useful_inflation(in), MIN(lim.by_margin, lim.by_floor))));
    if (MIN(lim.by_margin, lim.by_floor) < FPB_COST_MIN_INFLATE_BYTES) {
        return FPB_REASON_BALLOON_NOTHING_TO_TAKE;
    }
    if (lim.by_budget < FPB_COST_MIN_INFLATE_BYTES) {
        return FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL;
    }
    if ((double)p->inflate_bytes >= lim.by_budget - 1 &&
        lim.by_budget < MIN(lim.by_margin, lim.by_floor)) {
        p->limited_by = FPB_REASON_BALLOON_LIMITED_BY_PREP_BUDGET;
    } else if ((double)p->inflate_bytes >= lim.by_floor - 1 && lim.by_floor < lim.by_margin) {
        p->limited_by = FPB_REASON_BALLOON_LIMITED_BY_FLOOR;
    }
    return FPB_REASON_NONE;
}

static void check_balloon_size(FpbReasonCode size_problem, FpbPolicyPrediction *p)
{
    if (size_problem == FPB_REASON_BALLOON_NOTHING_TO_TAKE) {
        set_infeasible(p, size_problem,
                       g_strdup("the floor, and what the guest uses plus the safety margin, "
                                "leave less than 64 MiB to take"));
    } else if (size_problem == FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL) {
        set_infeasible(p, size_problem,
                       g_strdup("the preparation time budget allows less than 64 MiB of "
                                "inflation"));
    }
}

void fpb_policy_rules_evaluate(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                               FpbPolicyMode mode, FpbPolicyPrediction *ret)
{
    FpbPolicyPrediction p = {0};
    FpbReasonCode size_problem = FPB_REASON_NONE;

    if (fpb_policy_mode_uses_balloon(mode) && in->stats_known) {
        size_problem = size_balloon(facts, in, mode, &p);
    } else {
        fpb_cost_model_predict(in, mode, 0, &p);
    }
    /* Checked in order of how fundamental the rule is: the first one broken
     * is the one reported. */
    p.feasible = TRUE;
    check_hints(facts, mode, &p);
    if (fpb_policy_mode_uses_balloon(mode)) {
        check_balloon_facts(facts, in, &p);
        check_balloon_size(size_problem, &p);
    }
    *ret = p;
}

/* Relative tolerance under which two options tie on a metric. */
#define TIE_SHARE 0.01

static int compare_metric(double a, double b, double absolute_tolerance)
{
    double tolerance = MAX(absolute_tolerance, TIE_SHARE * MAX(fabs(a), fabs(b)));

    if (fabs(a - b) <= tolerance) {
        return 0;
    }
    return a < b ? -1 : 1;
}

static int compare_time(const FpbPolicyPrediction *a, const FpbPolicyPrediction *b)
{
    return compare_metric(fpb_policy_prediction_total_seconds(a),
                          fpb_policy_prediction_total_seconds(b), 0.05);
}

static int compare_bytes(const FpbPolicyPrediction *a, const FpbPolicyPrediction *b)
{
    return compare_metric((double)a->bytes, (double)b->bytes, FPB_COST_MIB);
}

static int compare_impact(const FpbPolicyPrediction *a, const FpbPolicyPrediction *b)
{
    return compare_metric(a->guest_impact_byte_seconds, b->guest_impact_byte_seconds, FPB_COST_MIB);
}

int fpb_policy_rules_compare(FpbPolicyObjective objective, const FpbPolicyPrediction *a,
                             const FpbPolicyPrediction *b)
{
    int c;

    if (a->converges != b->converges) {
        return a->converges ? -1 : 1;
    }
    switch (objective) {
    case FPB_POLICY_OBJECTIVE_BYTES:
        c = compare_bytes(a, b);
        return c != 0 ? c : compare_time(a, b);
    case FPB_POLICY_OBJECTIVE_GUEST_IMPACT:
        c = compare_impact(a, b);
        return c != 0 ? c : compare_time(a, b);
    case FPB_POLICY_OBJECTIVE_TIME:
    default:
        c = compare_time(a, b);
        return c != 0 ? c : compare_bytes(a, b);
    }
}
