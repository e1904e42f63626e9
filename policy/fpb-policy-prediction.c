/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-policy-prediction.h"

static const char *const mode_names[FPB_POLICY_N_MODES] = {
    [FPB_POLICY_MODE_NONE] = "none",
    [FPB_POLICY_MODE_HINT] = "hint",
    [FPB_POLICY_MODE_BALLOON] = "balloon",
    [FPB_POLICY_MODE_HINT_BALLOON] = "hint+balloon",
};

const char *fpb_policy_mode_to_string(FpbPolicyMode mode)
{
    if ((int)mode < 0 || mode >= FPB_POLICY_N_MODES) {
        return "invalid";
    }
    return mode_names[mode];
}

gboolean fpb_policy_mode_from_string(const char *s, FpbPolicyMode *ret)
{
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        if (g_strcmp0(s, mode_names[i]) == 0) {
            *ret = (FpbPolicyMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

gboolean fpb_policy_mode_uses_hints(FpbPolicyMode mode)
{
    return mode == FPB_POLICY_MODE_HINT || mode == FPB_POLICY_MODE_HINT_BALLOON;
}

gboolean fpb_policy_mode_uses_balloon(FpbPolicyMode mode)
{
    return mode == FPB_POLICY_MODE_BALLOON || mode == FPB_POLICY_MODE_HINT_BALLOON;
}

double fpb_policy_prediction_total_seconds(const FpbPolicyPrediction *p)
{
    return p->prep_seconds + p->migrate_seconds + p->restore_seconds;
}

void fpb_policy_prediction_clear(FpbPolicyPrediction *p)
{
    g_free(p->why_not_text);
    *p = (FpbPolicyPrediction){0};
}
