/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The prediction the cost model makes for each migration mode (the modes
 * themselves: fpb-policy-mode.h).
 */
#pragma once

#include <glib.h>

#include "fpb-policy-mode.h"
#include "fpb-policy-reason.h"

G_BEGIN_DECLS

/* What one option is predicted to cost. All values are >= 0 and finite.
 * why_not_text is owned by whoever owns the prediction (the decision). */
typedef struct {
    gint64 bytes;                     /* bytes QEMU sends (ram.transferred) */
    double prep_seconds;              /* inflating before the migration */
    double migrate_seconds;           /* the migration itself */
    double restore_seconds;           /* deflating on the destination afterwards */
    double guest_impact_byte_seconds; /* guest memory taken away x seconds */
    gint64 inflate_bytes;             /* memory the balloon takes, 0 when not inflating */
    /* What the balloon could take with no time budget (the free memory
     * worth taking, the floor, the safety margin): the preparation aims
     * here and stops at the budget (fpb-policy-prep.h); 0 without balloon */
    gint64 inflate_ceiling_bytes;
    gint64 balloon_target_bytes; /* QMP 'balloon value': guest size after inflation;
                                  * the current size when not inflating */
    gboolean converges;          /* QEMU is predicted to reach the downtime limit */
    FpbReasonCode limited_by;    /* what capped the balloon (BALLOON_LIMITED_BY_*), or NONE */
    gboolean feasible;
    FpbReasonCode why_not; /* FPB_REASON_NONE when feasible */
    char *why_not_text;    /* NULL when feasible */
} FpbPolicyPrediction;

/* prep + migrate + restore */
double fpb_policy_prediction_total_seconds(const FpbPolicyPrediction *p);

/* Frees why_not_text and zeroes @p (safe on a zeroed struct). */
void fpb_policy_prediction_clear(FpbPolicyPrediction *p);

G_END_DECLS
