/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reason codes: stable names (never renamed) that explain a decision or why
 * an option is infeasible. docs/cost-model.md has the table. Codes are only
 * removed when the rule behind them was shown wrong (issue 6 removed
 * HINT_UNSAFE_STOCK_DRIVER and HINT_UNVERIFIED_STOCK_DRIVER).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    FPB_REASON_NONE = 0, /* "no reason": a feasible option's why_not */
    /* why the chosen mode was chosen */
    FPB_REASON_MODE_FORCED,
    FPB_REASON_BEST_TOTAL_TIME,
    FPB_REASON_FEWEST_BYTES,
    FPB_REASON_LEAST_GUEST_IMPACT,
    /* why an option cannot run */
    FPB_REASON_HINT_NOT_NEGOTIATED,
    FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING,
    FPB_REASON_HINTS_CANNOT_BE_DISABLED,
    FPB_REASON_BALLOON_NOT_ALLOWED,
    FPB_REASON_BALLOON_NO_RESTORE_PATH,
    FPB_REASON_BALLOON_STATS_UNKNOWN,
    FPB_REASON_BALLOON_NOTHING_TO_TAKE,
    FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL,
    /* notes on the facts and the model */
    /* a warning: live precopy on such a QEMU, allowed by the operator */
    FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE,
    FPB_REASON_BALLOON_LIMITED_BY_PREP_BUDGET,
    FPB_REASON_BALLOON_LIMITED_BY_FLOOR,
    FPB_REASON_STATS_STALE,
    FPB_REASON_STATS_UNKNOWN,
    FPB_REASON_STATS_CLAMPED,
    FPB_REASON_DIRTY_RATE_UNKNOWN,
    FPB_REASON_BANDWIDTH_UNKNOWN,
    FPB_REASON_MAY_NOT_CONVERGE,
    FPB_REASON_CALIBRATED_FROM_HISTORY,
    FPB_REASON_PRIORS_ONLY,
    /* how the migration runs (the decision's method), issue 14 */
    FPB_REASON_METHOD_POSTCOPY_TCG,        /* postcopy: this QEMU loses writes in live precopy */
    FPB_REASON_METHOD_PAUSED_TCG,          /* paused: the same, and postcopy cannot be set up */
    FPB_REASON_METHOD_FORCED,              /* the operator asked for this method */
    FPB_REASON_DESTINATION_STAYS_PAUSED,   /* paused, and fpb cannot resume the destination */
    FPB_REASON_LIVE_MIGRATION_REFUSED_TCG, /* the error of a refused plain live migration */
    /* issue 15: fpb's driver on KVM, a QEMU that leaves the dirty-log
     * window open, not accepted by the operator */
    FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW,
    /* the same window accepted by the operator (a warning) */
    FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED,
    /* issue 15: the inflation rate was measured in this run */
    FPB_REASON_INFLATE_RATE_MEASURED,
    /* issue 15: the prepared mode no longer paid; memory given back */
    FPB_REASON_PREP_ABANDONED,
    /* issue 15: the zero share of free memory from QEMU's resident memory */
    FPB_REASON_ZERO_SHARE_FROM_RESIDENT,
    FPB_REASON_N_CODES,
} FpbReasonCode;

/* One reason: a code and one human sentence. */
typedef struct {
    FpbReasonCode code;
    char *text;
} FpbPolicyReason;

/* The stable name, e.g. "HINT_UNSAFE_TCG_DIRTY_TRACKING"; "" for FPB_REASON_NONE. */
const char *fpb_policy_reason_code_to_string(FpbReasonCode code);
gboolean fpb_policy_reason_code_from_string(const char *s, FpbReasonCode *ret);

/* Owned by the caller, free with fpb_policy_reason_free(). */
FpbPolicyReason *fpb_policy_reason_new(FpbReasonCode code, const char *text);
void fpb_policy_reason_free(FpbPolicyReason *reason);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbPolicyReason, fpb_policy_reason_free)

G_END_DECLS
