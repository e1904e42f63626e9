/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include "fpb-hint-guard.h"
#include "fpb-policy-decision.h"
#include "fpb-policy-rules.h"

void fpb_policy_decision_free(FpbPolicyDecision *decision)
{
    if (decision == NULL) {
        return;
    }
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        fpb_policy_prediction_clear(&decision->predictions[i]);
    }
    g_clear_pointer(&decision->reasons, g_ptr_array_unref);
    g_free(decision);
}

gboolean fpb_policy_decision_has_reason(const FpbPolicyDecision *decision, FpbReasonCode code)
{
    for (guint i = 0; i < decision->reasons->len; i++) {
        const FpbPolicyReason *r = g_ptr_array_index(decision->reasons, i);

        if (r->code == code) {
            return TRUE;
        }
    }
    return FALSE;
}

/* Adds a reason unless one with the same code is there; takes @text. */
static void add_reason(FpbPolicyDecision *d, FpbReasonCode code, char *text)
{
    g_autofree char *owned = text;

    if (!fpb_policy_decision_has_reason(d, code)) {
        g_ptr_array_add(d->reasons, fpb_policy_reason_new(code, owned));
    }
}

void fpb_policy_decision_add_reason(FpbPolicyDecision *d, FpbReasonCode code, char *text)
{
    add_reason(d, code, text);
}

/* The best feasible option other than @except (N_MODES for none). Options
 * are considered in tie-rank order (fpb-policy-mode.c): on a tie the
 * earlier one wins. */
static FpbPolicyMode best_feasible(const FpbPolicyFacts *facts, const FpbPolicyDecision *d,
                                   FpbPolicyMode except)
{
    FpbPolicyMode best = FPB_POLICY_N_MODES;

    for (guint rank = 0; rank < FPB_POLICY_N_MODES; rank++) {
        FpbPolicyMode m = fpb_policy_mode_by_tie_rank(rank);

        if (m == FPB_POLICY_N_MODES || m == except || !d->predictions[m].feasible) {
            continue;
        }
        if (best == FPB_POLICY_N_MODES ||
            fpb_policy_rules_compare(facts->policy.objective, &d->predictions[m],
                                     &d->predictions[best]) < 0) {
            best = m;
        }
    }
    return best;
}

static char *format_metric(FpbPolicyObjective objective, const FpbPolicyPrediction *p)
{
    switch (objective) {
    case FPB_POLICY_OBJECTIVE_BYTES:
        return g_strdup_printf("%.0f MB", (double)p->bytes / 1e6);
    case FPB_POLICY_OBJECTIVE_GUEST_IMPACT:
        return g_strdup_printf("%.0f MiB x s", p->guest_impact_byte_seconds / (1024.0 * 1024.0));
    case FPB_POLICY_OBJECTIVE_TIME:
    default:
        return g_strdup_printf("%.1f s", fpb_policy_prediction_total_seconds(p));
    }
}

static void explain_choice(const FpbPolicyFacts *facts, FpbPolicyDecision *d)
{
    static const struct {
        FpbReasonCode code;
        const char *what;
    } by_objective[] = {
        [FPB_POLICY_OBJECTIVE_TIME] = {FPB_REASON_BEST_TOTAL_TIME,
                                       "the lowest predicted total time"},
        [FPB_POLICY_OBJECTIVE_BYTES] = {FPB_REASON_FEWEST_BYTES, "the fewest predicted bytes"},
        [FPB_POLICY_OBJECTIVE_GUEST_IMPACT] = {FPB_REASON_LEAST_GUEST_IMPACT,
                                               "the least guest memory taken over time"},
    };
    FpbPolicyObjective obj = facts->policy.objective;
    FpbPolicyMode next = best_feasible(facts, d, d->mode);
    g_autofree char *mine = format_metric(obj, &d->predictions[d->mode]);
    g_autofree char *theirs = NULL;

    if (facts->policy.mode != FPB_POLICY_REQUEST_AUTO) {
        add_reason(d, FPB_REASON_MODE_FORCED,
                   g_strdup_printf("the VM's policy forces mode '%s'",
                                   fpb_policy_mode_to_string(d->mode)));
        return;
    }
    if (next == FPB_POLICY_N_MODES) {
        add_reason(d, by_objective[obj].code,
                   g_strdup_printf("'%s' is the only feasible option (%s)",
                                   fpb_policy_mode_to_string(d->mode), mine));
        return;
    }
    theirs = format_metric(obj, &d->predictions[next]);
    if (fpb_policy_rules_compare(obj, &d->predictions[d->mode], &d->predictions[next]) == 0) {
        add_reason(d, by_objective[obj].code,
                   g_strdup_printf("'%s' ties with '%s' (%s vs %s) and is preferred: ties go to "
                                   "the option with less preparation",
                                   fpb_policy_mode_to_string(d->mode),
                                   fpb_policy_mode_to_string(next), mine, theirs));
        return;
    }
    add_reason(d, by_objective[obj].code,
               g_strdup_printf("'%s' has %s: %s (next best '%s': %s)",
                               fpb_policy_mode_to_string(d->mode), by_objective[obj].what, mine,
                               fpb_policy_mode_to_string(next), theirs));
}

/* One reason per broken rule, naming every option it rules out. */
static void explain_infeasible(FpbPolicyDecision *d)
{
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const FpbPolicyPrediction *p = &d->predictions[i];
        g_autoptr(GString) modes = NULL;

        if (p->feasible || fpb_policy_decision_has_reason(d, p->why_not)) {
            continue;
        }
        modes = g_string_new(NULL);
        for (int j = i; j < FPB_POLICY_N_MODES; j++) {
            if (!d->predictions[j].feasible && d->predictions[j].why_not == p->why_not) {
                g_string_append_printf(modes, "%s'%s'", modes->len > 0 ? ", " : "",
                                       fpb_policy_mode_to_string((FpbPolicyMode)j));
            }
        }
        add_reason(d, p->why_not, g_strdup_printf("%s ruled out: %s", modes->str, p->why_not_text));
    }
}

/* How QEMU migrates: on a QEMU that may lose TCG writes a plain live
 * precopy is replaced (postcopy or paused) or refused. The method's
 * reasons come right after the infeasible options'. */
static gboolean choose_method(const FpbPolicyFacts *facts, FpbPolicyDecision *d, GError **error)
{
    return fpb_policy_method_choose(facts, fpb_policy_mode_uses_hints(d->mode), &d->method,
                                    d->reasons, error);
}

static void explain_balloon_limit(FpbPolicyDecision *d)
{
    const FpbPolicyPrediction *p = &d->predictions[d->mode];

    if (!fpb_policy_mode_uses_balloon(d->mode)) {
        return;
    }
    if (p->limited_by == FPB_REASON_BALLOON_LIMITED_BY_PREP_BUDGET) {
        add_reason(d, p->limited_by,
                   g_strdup_printf("inflation stops at %.0f MiB: the preparation time budget "
                                   "allows no more",
                                   (double)p->inflate_bytes / (1024.0 * 1024.0)));
    } else if (p->limited_by == FPB_REASON_BALLOON_LIMITED_BY_FLOOR) {
        add_reason(d, p->limited_by,
                   g_strdup_printf("inflation stops at %.0f MiB: the guest memory floor",
                                   (double)p->inflate_bytes / (1024.0 * 1024.0)));
    }
}

static void explain_stats(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                          FpbPolicyDecision *d)
{
    if (in->stats_stale) {
        add_reason(d, FPB_REASON_STATS_STALE,
                   g_strdup_printf("the guest's memory stats are %.0f s old (limit %.0f s) or "
                                   "of unknown age: treated as unknown",
                                   MAX(facts->stats.age_seconds, 0.0),
                                   FPB_COST_STATS_MAX_AGE_SECONDS));
    } else if (!in->stats_known) {
        add_reason(d, FPB_REASON_STATS_UNKNOWN,
                   g_strdup("the guest's memory stats are unknown: no free memory is assumed"));
    }
    if (in->stats_clamped) {
        add_reason(d, FPB_REASON_STATS_CLAMPED,
                   g_strdup("the guest reported more free or available memory than it has: "
                            "clamped to its current size"));
    }
}

static void explain_model(const FpbPolicyFacts *facts, const FpbCostInputs *in,
                          FpbPolicyDecision *d)
{
    if (in->dirty_rate_unknown) {
        add_reason(d, FPB_REASON_DIRTY_RATE_UNKNOWN,
                   g_strdup("the dirty rate is unknown: predictions assume the guest writes "
                            "nothing during migration"));
    }
    if (in->bandwidth_prior) {
        add_reason(d, FPB_REASON_BANDWIDTH_UNKNOWN,
                   g_strdup_printf("the bandwidth cap is unknown: assuming QEMU's default, "
                                   "%.1f MB/s",
                                   in->cap / 1e6));
    }
    if (!d->predictions[d->mode].converges) {
        add_reason(d, FPB_REASON_MAY_NOT_CONVERGE,
                   g_strdup("the guest dirties memory about as fast as it can be sent: the "
                            "migration may not reach the downtime limit"));
    }
    if (in->zero_share_from_resident) {
        add_reason(d, FPB_REASON_ZERO_SHARE_FROM_RESIDENT,
                   g_strdup_printf("QEMU holds %.0f MiB of the guest's memory resident: at least "
                                   "%.0f%% of its free memory reads as zero",
                                   (double)facts->guest_resident_bytes / (1024.0 * 1024.0),
                                   100.0 * in->zero_share));
    }
    if (in->inflate_rate_measured) {
        add_reason(d, FPB_REASON_INFLATE_RATE_MEASURED,
                   g_strdup_printf("the guest's inflation rate was measured in this run: %.0f MB/s",
                                   in->inflate_rate / 1e6));
    }
    add_reason(d, in->calibrated ? FPB_REASON_CALIBRATED_FROM_HISTORY : FPB_REASON_PRIORS_ONLY,
               g_strdup(in->calibrated ? "the cost model is calibrated from this VM's recorded "
                                         "migrations"
                                       : "no recorded migrations of this VM: the cost model uses "
                                         "its priors (FACTS.md, the benchmark)"));
}

/* Hints used under a window the operator accepted: said every time. */
static void explain_accepted_risk(const FpbPolicyFacts *facts, FpbPolicyDecision *d)
{
    char *text = NULL;

    if (fpb_policy_mode_uses_hints(d->mode) &&
        fpb_hint_guard_kvm_window(facts, &text) == FPB_KVM_WINDOW_ACCEPTED) {
        add_reason(d, FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED, text);
    }
}

static void set_no_feasible_error(const FpbPolicyDecision *d, GError **error)
{
    g_autoptr(GString) why = g_string_new(NULL);

    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        g_string_append_printf(why, "%s'%s': %s", i > 0 ? "; " : "",
                               fpb_policy_mode_to_string((FpbPolicyMode)i),
                               fpb_policy_reason_code_to_string(d->predictions[i].why_not));
    }
    g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_NO_FEASIBLE_MODE,
                "no migration mode can run safely (%s)", why->str);
}

/* Sets d->mode; FALSE with @error when nothing (allowed) can run. */
static gboolean choose(const FpbPolicyFacts *facts, FpbPolicyDecision *d, GError **error)
{
    FpbPolicyMode forced;

    if (fpb_policy_request_mode(facts->policy.mode, &forced)) {
        const FpbPolicyPrediction *p = &d->predictions[forced];

        if (!p->feasible) {
            g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE,
                        "policy mode '%s' cannot run: %s: %s", fpb_policy_mode_to_string(forced),
                        fpb_policy_reason_code_to_string(p->why_not), p->why_not_text);
            return FALSE;
        }
        d->mode = forced;
        return TRUE;
    }
    d->mode = best_feasible(facts, d, FPB_POLICY_N_MODES);
    if (d->mode == FPB_POLICY_N_MODES) {
        set_no_feasible_error(d, error);
        return FALSE;
    }
    return TRUE;
}

FpbPolicyDecision *fpb_policy_decide(const FpbPolicyFacts *facts, GError **error)
{
    g_autoptr(FpbPolicyDecision) d = NULL;
    FpbCostInputs in;

    if (!fpb_policy_facts_validate(facts, error)) {
        return NULL;
    }
    fpb_cost_model_inputs(facts, &in);
    d = g_new0(FpbPolicyDecision, 1);
    d->reasons = g_ptr_array_new_with_free_func((GDestroyNotify)fpb_policy_reason_free);
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        fpb_policy_rules_evaluate(facts, &in, (FpbPolicyMode)i, &d->predictions[i]);
    }
    if (!choose(facts, d, error)) {
        return NULL;
    }
    d->inflate_bytes = d->predictions[d->mode].inflate_bytes;
    d->balloon_target_bytes = d->predictions[d->mode].balloon_target_bytes;
    d->balloon_ceiling_target_bytes = d->predictions[d->mode].balloon_target_bytes +
                                      d->predictions[d->mode].inflate_bytes -
                                      d->predictions[d->mode].inflate_ceiling_bytes;
    explain_choice(facts, d);
    explain_infeasible(d);
    if (!choose_method(facts, d, error)) {
        return NULL;
    }
    explain_balloon_limit(d);
    explain_stats(facts, &in, d);
    explain_model(facts, &in, d);
    explain_accepted_risk(facts, d);
    return g_steal_pointer(&d);
}
