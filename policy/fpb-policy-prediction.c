/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-policy-prediction.h"

double fpb_policy_prediction_total_seconds(const FpbPolicyPrediction *p)
{
    return p->prep_seconds + p->migrate_seconds + p->restore_seconds;
}

void fpb_policy_prediction_clear(FpbPolicyPrediction *p)
{
    g_free(p->why_not_text);
    *p = (FpbPolicyPrediction){0};
}
