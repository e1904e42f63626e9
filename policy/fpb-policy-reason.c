/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-policy-reason.h"

/* Indexed by FpbReasonCode; the names are an interface (JSON, journal). */
static const char *const code_names[FPB_REASON_N_CODES] = {
    [FPB_REASON_NONE] = "",
    [FPB_REASON_MODE_FORCED] = "MODE_FORCED",
    [FPB_REASON_BEST_TOTAL_TIME] = "BEST_TOTAL_TIME",
    [FPB_REASON_FEWEST_BYTES] = "FEWEST_BYTES",
    [FPB_REASON_LEAST_GUEST_IMPACT] = "LEAST_GUEST_IMPACT",
    [FPB_REASON_HINT_NOT_NEGOTIATED] = "HINT_NOT_NEGOTIATED",
    [FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING] = "HINT_UNSAFE_TCG_DIRTY_TRACKING",
    [FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW] = "HINT_KVM_DIRTY_LOG_WINDOW",
    [FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED] = "HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED",
    [FPB_REASON_INFLATE_RATE_MEASURED] = "INFLATE_RATE_MEASURED",
    [FPB_REASON_PREP_ABANDONED] = "PREP_ABANDONED",
    [FPB_REASON_ZERO_SHARE_FROM_RESIDENT] = "ZERO_SHARE_FROM_RESIDENT",
    [FPB_REASON_HINTS_CANNOT_BE_DISABLED] = "HINTS_CANNOT_BE_DISABLED",
    [FPB_REASON_BALLOON_NOT_ALLOWED] = "BALLOON_NOT_ALLOWED",
    [FPB_REASON_BALLOON_NO_RESTORE_PATH] = "BALLOON_NO_RESTORE_PATH",
    [FPB_REASON_BALLOON_STATS_UNKNOWN] = "BALLOON_STATS_UNKNOWN",
    [FPB_REASON_BALLOON_NOTHING_TO_TAKE] = "BALLOON_NOTHING_TO_TAKE",
    [FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL] = "BALLOON_PREP_BUDGET_TOO_SMALL",
    [FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE] = "TCG_LIVE_MIGRATION_UNSAFE",
    [FPB_REASON_BALLOON_LIMITED_BY_PREP_BUDGET] = "BALLOON_LIMITED_BY_PREP_BUDGET",
    [FPB_REASON_BALLOON_LIMITED_BY_FLOOR] = "BALLOON_LIMITED_BY_FLOOR",
    [FPB_REASON_STATS_STALE] = "STATS_STALE",
    [FPB_REASON_STATS_UNKNOWN] = "STATS_UNKNOWN",
    [FPB_REASON_STATS_CLAMPED] = "STATS_CLAMPED",
    [FPB_REASON_DIRTY_RATE_UNKNOWN] = "DIRTY_RATE_UNKNOWN",
    [FPB_REASON_BANDWIDTH_UNKNOWN] = "BANDWIDTH_UNKNOWN",
    [FPB_REASON_MAY_NOT_CONVERGE] = "MAY_NOT_CONVERGE",
    [FPB_REASON_CALIBRATED_FROM_HISTORY] = "CALIBRATED_FROM_HISTORY",
    [FPB_REASON_PRIORS_ONLY] = "PRIORS_ONLY",
    [FPB_REASON_METHOD_POSTCOPY_TCG] = "METHOD_POSTCOPY_TCG",
    [FPB_REASON_METHOD_PAUSED_TCG] = "METHOD_PAUSED_TCG",
    [FPB_REASON_METHOD_FORCED] = "METHOD_FORCED",
    [FPB_REASON_DESTINATION_STAYS_PAUSED] = "DESTINATION_STAYS_PAUSED",
    [FPB_REASON_LIVE_MIGRATION_REFUSED_TCG] = "LIVE_MIGRATION_REFUSED_TCG",
};

const char *fpb_policy_reason_code_to_string(FpbReasonCode code)
{
    if ((int)code < 0 || code >= FPB_REASON_N_CODES) {
        return "";
    }
    return code_names[code];
}

gboolean fpb_policy_reason_code_from_string(const char *s, FpbReasonCode *ret)
{
    for (int i = 1; i < FPB_REASON_N_CODES; i++) {
        if (g_strcmp0(s, code_names[i]) == 0) {
            *ret = (FpbReasonCode)i;
            return TRUE;
        }
    }
    return FALSE;
}

FpbPolicyReason *fpb_policy_reason_new(FpbReasonCode code, const char *text)
{
    FpbPolicyReason *reason = g_new0(FpbPolicyReason, 1);

    reason->code = code;
    reason->text = g_strdup(text);
    return reason;
}

void fpb_policy_reason_free(FpbPolicyReason *reason)
{
    if (reason == NULL) {
        return;
    }
    g_free(reason->text);
    g_free(reason);
}
