/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbPolicyDecision: the policy's answer for one migration: the mode, the
 * balloon target, the reasons, and the prediction of every option.
 */
#pragma once

#include "fpb-policy-facts.h"
#include "fpb-policy-method.h"
#include "fpb-policy-prediction.h"
#include "fpb-policy-reason.h"

G_BEGIN_DECLS

typedef struct {
    FpbPolicyMode mode;
    /* QMP 'balloon value' to set before migrating (the guest's size after
     * inflation); the current size when the mode does not inflate. */
    gint64 balloon_target_bytes;
    gint64 inflate_bytes; /* current size - target, 0 without balloon */
    /* The guest's size when the balloon took all it may, whatever the
     * time: what the preparation asks for, stopping at the budget (the
     * current size when the mode does not inflate). */
    gint64 balloon_ceiling_target_bytes;
    /* How QEMU migrates (fpb-policy-method.h): precopy unless the QEMU may
     * lose TCG writes; its reason (METHOD_*) is among @reasons. */
    FpbPolicyMethod method;
    GPtrArray *reasons; /* FpbPolicyReason*, the first one says why this mode */
    FpbPolicyPrediction predictions[FPB_POLICY_N_MODES]; /* indexed by FpbPolicyMode */
} FpbPolicyDecision;

/* Decides for @facts (not modified). Returns a new decision (free with
 * fpb_policy_decision_free), or NULL with @error set:
 * FPB_POLICY_ERROR_INVALID_FACTS (a host-supplied fact out of range),
 * FPB_POLICY_ERROR_FORCED_INFEASIBLE (the policy forces a mode that breaks a
 * rule; the message names the rule), FPB_POLICY_ERROR_NO_FEASIBLE_MODE,
 * FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION (a plain live precopy asked for on
 * a QEMU that may lose TCG writes, fpb_policy_method_choose()).
 * Pure: no I/O, no global state, callable from any thread. */
FpbPolicyDecision *fpb_policy_decide(const FpbPolicyFacts *facts, GError **error);

void fpb_policy_decision_free(FpbPolicyDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbPolicyDecision, fpb_policy_decision_free)

/* Adds a reason (unless one with @code is there); takes @text. For steps
 * after the decision that change it (fpb-policy-prep.h). */
void fpb_policy_decision_add_reason(FpbPolicyDecision *decision, FpbReasonCode code, char *text);

/* TRUE if the decision has a reason with @code. */
gboolean fpb_policy_decision_has_reason(const FpbPolicyDecision *decision, FpbReasonCode code);

G_END_DECLS
