/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Preparation in the loop (issue 15, items 4 and 6): the decision is not
 * made once from priors and then followed blindly.
 *
 * - A trial inflation: when this VM's inflation rate is only a prior and
 *   the choice depends on it (balloon would win at a rate fpb has seen
 *   guests reach, and loses at the prior), the pipeline first inflates a
 *   little, measures, and decides again with the measured rate.
 * - The preparation aims at the balloon's ceiling (all it may take,
 *   decision.balloon_ceiling_target_bytes) and stops at the time budget,
 *   so a fast guest gives what it can and a slow one what fits.
 * - A re-check before migrating: with the measured rate and what the
 *   balloon holds, a mode that no longer pays (giving the memory back and
 *   migrating otherwise is better by the VM's objective) is abandoned.
 *
 * docs/cost-model.md, "Preparation in the loop". Pure, like the rest of
 * policy/: the pipeline does the inflating.
 */
#pragma once

#include "fpb-policy-decision.h"

G_BEGIN_DECLS

/* The trial inflation: this much, for at most this long. */
#define FPB_POLICY_PROBE_BYTES (64 * G_GINT64_CONSTANT(1024) * 1024)
#define FPB_POLICY_PROBE_SECONDS 2.0
/* The rate the trial is asked about: the fastest inflation measured under
 * TCG (FACTS.md, 1448 MiB in 4.0 s = 380 MB/s); the KVM prior is already
 * that fast. */
#define FPB_POLICY_PROBE_OPTIMISTIC_RATE 380e6

/* TRUE when a trial inflation could change @decision (made for @facts):
 * the inflation rate is a prior (no measurement, no history), the mode is
 * asked to be chosen (auto), @decision does not inflate, and with the
 * optimistic rate a mode that inflates would be chosen. */
gboolean fpb_policy_probe_worthwhile(const FpbPolicyFacts *facts,
                                     const FpbPolicyDecision *decision);

/* Puts what the balloon did (@taken_bytes in @seconds) into @facts as the
 * measured rate. FALSE (facts unchanged) when nothing can be said: no
 * time passed. A guest that gave nothing gets the model's slowest rate. */
gboolean fpb_policy_facts_set_measured_inflation(FpbPolicyFacts *facts, gint64 taken_bytes,
                                                 double seconds);

/* The re-check after the preparation. @facts carry the measured rate and
 * the guest as it was before (balloon_actual_bytes the original size);
 * @decision is the one prepared for, @taken_bytes what the balloon holds
 * now. Returns the mode to migrate with: @decision's mode, or one without
 * the balloon that is better by the VM's objective once giving the memory
 * back first is counted (*ret_why then says why, newly allocated). A mode
 * the operator forced is kept. */
FpbPolicyMode fpb_policy_recheck_prepared(const FpbPolicyFacts *facts,
                                          const FpbPolicyDecision *decision, gint64 taken_bytes,
                                          char **ret_why);

G_END_DECLS
