/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbPolicyHistory: what earlier migrations of one VM taught the cost model.
 * Each quantity is a bounded EWMA (docs/cost-model.md, "Calibration"):
 * observations are clamped to physical limits, the first observation replaces
 * the prior, later ones move the estimate by at least FPB_POLICY_EWMA_MIN_ALPHA.
 * A plain value type, no pointers; the journal stores it per VM.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPB_POLICY_EWMA_MIN_ALPHA 0.25

/* One calibrated quantity; samples == 0 means "no data, use the prior". */
typedef struct {
    double value;
    guint samples;
} FpbPolicyEstimate;

typedef struct {
    guint migrations;                    /* recorded migrations of this VM */
    FpbPolicyEstimate hint_efficiency;   /* share of dirty free bytes hints skip, 0..1 */
    FpbPolicyEstimate inflate_rate;      /* bytes/s the balloon inflated */
    FpbPolicyEstimate deflate_rate;      /* bytes/s the balloon deflated */
    FpbPolicyEstimate zero_share;        /* share of free memory that is zero pages, 0..1 */
    FpbPolicyEstimate bandwidth;         /* bytes/s of non-zero pages QEMU moves when no cap
                                          * holds it back (the migration's own throughput) */
    FpbPolicyEstimate used_zero_share;   /* zero pages in memory not free, share of RAM, 0..1 */
    FpbPolicyEstimate zero_page_seconds; /* seconds QEMU spends on one zero page */
} FpbPolicyHistory;

/* Which quantity; selects the clamp limits. */
typedef enum {
    FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
    FPB_POLICY_QUANTITY_INFLATE_RATE,
    FPB_POLICY_QUANTITY_DEFLATE_RATE,
    FPB_POLICY_QUANTITY_ZERO_SHARE,
    FPB_POLICY_QUANTITY_BANDWIDTH,
    FPB_POLICY_QUANTITY_USED_ZERO_SHARE,
    FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS,
} FpbPolicyQuantity;

/* Limits an observation or a stored estimate of @quantity is clamped to. */
void fpb_policy_quantity_limits(FpbPolicyQuantity quantity, double *ret_min, double *ret_max);

/* Folds one observation into @estimate (bounded EWMA). Non-finite
 * observations are ignored: they come from journal rows, i.e. outside. */
void fpb_policy_estimate_observe(FpbPolicyEstimate *estimate, FpbPolicyQuantity quantity,
                                 double observation);

/* The estimate, clamped to the quantity's limits, or @prior if no samples. */
double fpb_policy_estimate_get(const FpbPolicyEstimate *estimate, FpbPolicyQuantity quantity,
                               double prior);

void fpb_policy_history_init(FpbPolicyHistory *history);

G_END_DECLS
