/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cost model: bytes and seconds of each option, from facts. Every
 * constant below is derived in docs/cost-model.md from FACTS.md; change the
 * two together.
 */
#pragma once

#include "fpb-policy-facts.h"
#include "fpb-policy-prediction.h"

G_BEGIN_DECLS

#define FPB_COST_MIB (1024.0 * 1024.0)
#define FPB_COST_PAGE_SIZE 4096.0
/* QEMU 7.2 migration stream: 8-byte header per page; a zero page is the
 * header plus one fill byte (save_zero_page_to_file). */
#define FPB_COST_PAGE_HEADER_BYTES 8.0
#define FPB_COST_ZERO_PAGE_BYTES 9.0

/* FACTS.md baseline: 'nothing' sent 1683 MB in 12.4 s (TCG, loopback). */
#define FPB_COST_PRIOR_BANDWIDTH (1683e6 / 12.4)
/* FACTS.md baseline: 2 GiB guest, 1683 MB sent of 2147 MB: 464 MB of zero
 * pages out of about 1828 MB free (2 GiB - 320 MB in use). */
#define FPB_COST_PRIOR_ZERO_SHARE 0.25
/* FACTS.md: 'balloon value' to 600 MiB on a 2048 MiB guest took 4.0 s:
 * 1448 MiB / 4.0 s = 362 MiB/s = 379.6 MB/s under TCG. */
#define FPB_COST_PRIOR_INFLATE_RATE_TCG (1448.0 * FPB_COST_MIB / 4.0)
/* Issue 4's seed figure for KVM (not measured on this machine). */
#define FPB_COST_PRIOR_INFLATE_RATE_KVM 1.6e9
/* Share of the dirty free memory that hints keep off the wire, relative to
 * the best measured hint run (init_on_alloc=0, 317 MB):
 * (1683 - 725) / (1683 - 317) = 0.70 for the stock driver, init_on_alloc=1. */
#define FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_ON 0.70
#define FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_OFF 1.0
/* The fpb driver reports free lists without allocating: the design target is
 * the init_on_alloc=0 result. Not yet measured (issue 7). */
#define FPB_COST_PRIOR_HINT_EFFICIENCY_FPB 1.0

/* Stats older than this are unknown (QEMU polls every 2 s when enabled). */
#define FPB_COST_STATS_MAX_AGE_SECONDS 30.0
/* Memory a ballooned guest keeps free above what it uses. */
#define FPB_COST_SAFETY_MARGIN_MIN_BYTES (128.0 * FPB_COST_MIB)
#define FPB_COST_SAFETY_MARGIN_SHARE 0.05
/* Inflating less than this is not worth a round trip. */
#define FPB_COST_MIN_INFLATE_BYTES (64.0 * FPB_COST_MIB)
/* Precopy rounds simulated before declaring "does not converge". */
#define FPB_COST_MAX_ROUNDS 30

/* The facts after clamping, staleness and calibration: what the equations
 * use. Sizes in bytes, rates in bytes/s, all finite and >= 0. */
typedef struct {
    double ram;          /* R */
    double actual;       /* A_b: balloon actual, <= R */
    gboolean stats_known;
    gboolean stats_stale;   /* stats were given but too old */
    gboolean stats_clamped; /* a guest number exceeded the guest's size */
    double free;         /* F, 0 when stats unknown */
    double available;    /* Av, 0 when stats unknown */
    double zero_share;   /* s */
    double hint_efficiency; /* e */
    double inflate_rate;
    double deflate_rate;
    double bandwidth;    /* W */
    gboolean bandwidth_prior;
    double dirty_rate;   /* D, 0 when unknown */
    gboolean dirty_rate_unknown;
    double downtime;     /* d */
    double margin;
    gboolean driver_holds_hinted_pages; /* stock/unknown driver allocates what it hints */
    gboolean calibrated; /* some estimate came from history */
} FpbCostInputs;

void fpb_cost_model_inputs(const FpbPolicyFacts *facts, FpbCostInputs *ret);

/* The prediction of @mode when the balloon takes @inflate_bytes (0 for modes
 * without balloon). Fills the numeric fields of @ret only; feasibility is
 * the rules' business. */
void fpb_cost_model_predict(const FpbCostInputs *in, FpbPolicyMode mode, double inflate_bytes,
                            FpbPolicyPrediction *ret);

/* What a finished migration reported; -1 / < 0 for what is not known. */
typedef struct {
    FpbPolicyMode mode;
    gboolean succeeded;
    gint64 inflated_bytes;
    double prep_seconds;
    gint64 deflated_bytes;
    double restore_seconds;
    gint64 transferred_bytes; /* query-migrate ram.transferred */
    gint64 normal_bytes;      /* ram.normal-bytes */
    gint64 zero_pages;        /* ram.duplicate */
    double migrate_seconds;   /* total-time minus setup-time */
} FpbPolicyOutcome;

/* Calibration: folds @outcome of a migration planned from @facts into
 * @history (docs/cost-model.md, "Calibration"). Numbers are untrusted
 * (journal rows): implausible ones are ignored or clamped. */
void fpb_cost_model_observe(FpbPolicyHistory *history, const FpbPolicyFacts *facts,
                            const FpbPolicyOutcome *outcome);

G_END_DECLS
