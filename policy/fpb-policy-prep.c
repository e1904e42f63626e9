/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include <math.h>

#include "fpb-cost-model.h"
#include "fpb-policy-prep.h"
#include "fpb-policy-rules.h"

gboolean fpb_policy_probe_worthwhile(const FpbPolicyFacts *facts, const FpbPolicyDecision *d)
{
    g_autoptr(FpbPolicyDecision) fast = NULL;
    FpbPolicyFacts optimistic = *facts;

    if (facts->measured_inflate_bytes_per_second > 0 || facts->history.inflate_rate.samples > 0 ||
        facts->policy.mode != FPB_POLICY_REQUEST_AUTO || fpb_policy_mode_uses_balloon(d->mode)) {
        return FALSE;
    }
    optimistic.measured_inflate_bytes_per_second = FPB_POLICY_PROBE_OPTIMISTIC_RATE;
    fast = fpb_policy_decide(&optimistic, NULL);
    return fast != NULL && fpb_policy_mode_uses_balloon(fast->mode);
}

gboolean fpb_policy_facts_set_measured_inflation(FpbPolicyFacts *facts, gint64 taken_bytes,
                                                 double seconds)
{
    if (!(seconds > 0) || !isfinite(seconds)) {
        return FALSE;
    }
    facts->measured_inflate_bytes_per_second =
        MAX((double)MAX(taken_bytes, 0) / seconds, FPB_COST_MIN_MEASURED_INFLATE_RATE);
    return TRUE;
}

/* What is left of migrating with the balloon as it is: the preparation is
 * spent; the memory stays out through the migration and half the restore. */
static void kept_cost(const FpbCostInputs *in, FpbPolicyMode mode, double taken,
                      FpbPolicyPrediction *ret)
{
    fpb_cost_model_predict(in, mode, taken, ret);
    ret->prep_seconds = 0;
    ret->guest_impact_byte_seconds = taken * (ret->migrate_seconds + ret->restore_seconds / 2);
}

/* Migrating with @m instead, after giving the memory back on the source. */
static void give_back_cost(const FpbCostInputs *in, const FpbPolicyPrediction *m, double taken,
                           FpbPolicyPrediction *ret)
{
    double give_back_s = taken / in->deflate_rate;

    *ret = *m;
    ret->why_not_text = NULL; /* borrowed fields must not be freed twice */
    ret->prep_seconds = give_back_s;
    ret->guest_impact_byte_seconds = m->guest_impact_byte_seconds + taken * give_back_s / 2;
}

static char *describe(const FpbPolicyFacts *facts, FpbPolicyMode from, FpbPolicyMode to,
                      const FpbPolicyPrediction *kept, const FpbPolicyPrediction *alt, double taken)
{
    return g_strdup_printf(
        "'%s' abandoned after the preparation: the guest inflated at %.0f MB/s and the balloon "
        "holds %.0f MiB; migrating with it would take %.1f s more and send %.0f MB, giving the "
        "memory back and migrating with '%s' %.1f s and %.0f MB (objective %s)",
        fpb_policy_mode_to_string(from), facts->measured_inflate_bytes_per_second / 1e6,
        taken / (1024.0 * 1024.0), fpb_policy_prediction_total_seconds(kept),
        (double)kept->bytes / 1e6, fpb_policy_mode_to_string(to),
        fpb_policy_prediction_total_seconds(alt), (double)alt->bytes / 1e6,
        fpb_policy_objective_to_string(facts->policy.objective));
}

FpbPolicyMode fpb_policy_recheck_prepared(const FpbPolicyFacts *facts, const FpbPolicyDecision *d,
                                          gint64 taken_bytes, char **ret_why)
{
    g_autoptr(FpbPolicyDecision) now = NULL;
    FpbPolicyPrediction kept = {0};
    FpbPolicyPrediction best = {0};
    FpbPolicyMode best_mode = d->mode;
    FpbCostInputs in;

    *ret_why = NULL;
    if (!fpb_policy_mode_uses_balloon(d->mode) || facts->policy.mode != FPB_POLICY_REQUEST_AUTO ||
        (now = fpb_policy_decide(facts, NULL)) == NULL) {
        return d->mode;
    }
    fpb_cost_model_inputs(facts, &in);
    kept_cost(&in, d->mode, (double)MAX(taken_bytes, 0), &kept);
    best = kept;
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        FpbPolicyPrediction alt;

        if (fpb_policy_mode_uses_balloon((FpbPolicyMode)i) || !now->predictions[i].feasible) {
            continue;
        }
        give_back_cost(&in, &now->predictions[i], (double)MAX(taken_bytes, 0), &alt);
        if (fpb_policy_rules_compare(facts->policy.objective, &alt, &best) < 0) {
            best = alt;
            best_mode = (FpbPolicyMode)i;
        }
    }
    if (best_mode != d->mode) {
        *ret_why = describe(facts, d->mode, best_mode, &kept, &best, (double)taken_bytes);
    }
    return best_mode;
}
