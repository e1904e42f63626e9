/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules that never bend (issue 4): floor, in-use + safety margin, no
 * inflation without a way back, no hints the guest did not negotiate or that
 * are known to corrupt, no silent hints. They decide whether an option is
 * feasible and how far the balloon may go; the cost model prices it.
 */
#pragma once

#include "fpb-cost-model.h"

G_BEGIN_DECLS

/* The most the balloon may take: min(free, available) - margin, actual -
 * floor, and what the prep budget allows. Each is >= 0. */
typedef struct {
    double by_margin;
    double by_floor;
    double by_budget;
} FpbBalloonLimits;

void fpb_policy_rules_balloon_limits(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                                     FpbBalloonLimits *ret);

/* Prices @mode for @facts and decides whether it may run. @ret is
 * overwritten; its why_not_text is owned by the caller
 * (fpb_policy_prediction_clear). */
void fpb_policy_rules_evaluate(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                               FpbPolicyMode mode, FpbPolicyPrediction *ret);

/* Objective comparison: negative when @a is better than @b, 0 on a tie
 * (within tolerance), positive otherwise. Options that converge beat those
 * that do not. */
int fpb_policy_rules_compare(FpbPolicyObjective objective, const FpbPolicyPrediction *a,
                             const FpbPolicyPrediction *b);

G_END_DECLS
