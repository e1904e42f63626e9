/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include <math.h>

#include "fpb-policy-history.h"

/* Physical limits (docs/cost-model.md, "Calibration"): wide enough for any
 * real VM, narrow enough that one broken journal row cannot make the model
 * predict nonsense (zero seconds, infinite bytes). */
static const struct {
    double min, max;
} limits[] = {
    [FPB_POLICY_QUANTITY_HINT_EFFICIENCY] = {0.0, 1.0},
    [FPB_POLICY_QUANTITY_INFLATE_RATE] = {10e6, 20e9},
    [FPB_POLICY_QUANTITY_DEFLATE_RATE] = {10e6, 50e9},
    [FPB_POLICY_QUANTITY_ZERO_SHARE] = {0.0, 1.0},
    [FPB_POLICY_QUANTITY_BANDWIDTH] = {1e6, 100e9},
    [FPB_POLICY_QUANTITY_USED_ZERO_SHARE] = {0.0, 1.0},
    /* 10 ns (a zero check of 4 KiB at memory speed) .. 1 ms (a page fault
     * on a badly overloaded host) */
    [FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS] = {10e-9, 1e-3},
};

void fpb_policy_quantity_limits(FpbPolicyQuantity quantity, double *ret_min, double *ret_max)
{
    g_return_if_fail((gsize)quantity < G_N_ELEMENTS(limits));
    *ret_min = limits[quantity].min;
    *ret_max = limits[quantity].max;
}

static double clamp_to(FpbPolicyQuantity quantity, double v)
{
    return CLAMP(v, limits[quantity].min, limits[quantity].max);
}

void fpb_policy_estimate_observe(FpbPolicyEstimate *estimate, FpbPolicyQuantity quantity,
                                 double observation)
{
    double alpha;

    if (!isfinite(observation)) {
        return;
    }
    observation = clamp_to(quantity, observation);
    /* 1/(n+1) is the plain mean of the first observations (the first one
     * replaces the prior: the goal is "right after one calibration
     * migration"); the floor keeps the estimate following a VM that changes. */
    alpha = MAX(1.0 / (estimate->samples + 1.0), FPB_POLICY_EWMA_MIN_ALPHA);
    if (estimate->samples == 0 || !isfinite(estimate->value)) {
        estimate->value = observation;
    } else {
        estimate->value = clamp_to(quantity, estimate->value);
        estimate->value += alpha * (observation - estimate->value);
    }
    if (estimate->samples < G_MAXUINT) {
        estimate->samples++;
    }
}

double fpb_policy_estimate_get(const FpbPolicyEstimate *estimate, FpbPolicyQuantity quantity,
                               double prior)
{
    if (estimate->samples == 0 || !isfinite(estimate->value)) {
        return prior;
    }
    return clamp_to(quantity, estimate->value);
}

void fpb_policy_history_init(FpbPolicyHistory *history)
{
    *history = (FpbPolicyHistory){0};
}
