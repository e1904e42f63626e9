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

/* QEMU 7.2's max-bandwidth default (MAX_THROTTLE, 128 MiB/s): the cap when
 * the facts do not say. FACTS.md's baseline ran under it: 'nothing' sent
 * 1683 MB in 12.4 s = 135.7 MB/s. */
#define FPB_COST_QEMU_DEFAULT_MAX_BANDWIDTH (128.0 * FPB_COST_MIB)
/* What QEMU moves of non-zero pages when no cap holds it back (TCG here,
 * fpb-patched QEMU 7.2, unix socket): docs/bench/before-rework/runs.json, least squares
 * over 38 runs: 15.4 us per normal page = 4104 B / 15.4 us = 266 MB/s. */
#define FPB_COST_PRIOR_THROUGHPUT 266e6
/* What one TCG migration stream moved between two hosts over TCP (the
 * libvirt bed's veth, 1 Gbit/s, both hosts on one 2-core machine):
 * 52-84 MB/s in scripts/bench-evacuate's runs (docs/benchmarks.md). The
 * TCP path costs the same CPUs that run the migration thread; used by
 * the evacuation planner, whose streams always go between hosts. */
#define FPB_COST_PRIOR_THROUGHPUT_TCG_NETWORK 60e6
/* Seconds QEMU spends on one zero page (scan, zero check, header), which a
 * bandwidth cap does not hide: the same least squares, 13.5 us. */
#define FPB_COST_PRIOR_ZERO_PAGE_SECONDS 13.5e-6
/* KVM was never measured here (nested KVM is unusable): the link is taken
 * as the limit (the quantity's maximum throughput), and a zero page costs
 * what the cheapest measurement found, FACTS.md's balloon run: 2.6 s for
 * 321 MB (2.39 s at the 128 MiB/s cap) and ~446k zero pages = 0.47 us. */
#define FPB_COST_PRIOR_THROUGHPUT_KVM 100e9
#define FPB_COST_PRIOR_ZERO_PAGE_SECONDS_KVM 0.47e-6
/* FACTS.md baseline: 2 GiB guest, 1683 MB sent of 2147 MB: 464 MB of zero
 * pages out of about 1828 MB free (2 GiB - 320 MB in use). */
#define FPB_COST_PRIOR_ZERO_SHARE 0.25
/* Zero pages in memory the guest does not report free (kernel tables and
 * reservations), as a share of RAM: docs/bench/before-rework/runs.json, hint runs with
 * fpb's driver (which skip the free memory), median of 30: 9.1k of 262k
 * pages = 0.035. */
#define FPB_COST_PRIOR_USED_ZERO_SHARE 0.035
/* docs/bench/before-rework/runs.json: balloon inflation under TCG, median of the 12 runs
 * that inflated >= 64 MiB: 66 MB/s (19.5 .. 135 MB/s; libvirt 38 .. 97).
 * FACTS.md's 380 MB/s (1448 MiB in 4.0 s) was not seen again. */
#define FPB_COST_PRIOR_INFLATE_RATE_TCG 66e6
/* Issue 4's seed figure for KVM (not measured on this machine). */
#define FPB_COST_PRIOR_INFLATE_RATE_KVM 1.6e9
/* docs/bench/before-rework/runs.json: giving the same memory back, median of 12: 709 MB/s
 * (438 .. 1193 MB/s): deflating zeroes nothing. */
#define FPB_COST_PRIOR_DEFLATE_RATE_TCG 709e6
/* Share of the dirty free memory that hints keep off the wire, relative to
 * the best measured hint run (init_on_alloc=0, 317 MB):
 * (1683 - 725) / (1683 - 317) = 0.70 for the stock driver, init_on_alloc=1. */
#define FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_ON 0.70
#define FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_OFF 1.0
/* The fpb driver reports free lists without allocating: the design target is
 * the init_on_alloc=0 result. Not yet measured (issue 7). */
#define FPB_COST_PRIOR_HINT_EFFICIENCY_FPB 1.0

/* A measured inflation slower than this (a guest that gave next to
 * nothing) is taken at this rate, so predictions stay finite. */
#define FPB_COST_MIN_MEASURED_INFLATE_RATE 1e6

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
    double ram;    /* R */
    double actual; /* A_b: balloon actual, <= R */
    gboolean stats_known;
    gboolean stats_stale;   /* stats were given but too old */
    gboolean stats_clamped; /* a guest number exceeded the guest's size */
    double free;            /* F, 0 when stats unknown */
    double available;       /* Av, 0 when stats unknown */
    double zero_share;      /* s */
    double hint_efficiency; /* e */
    double inflate_rate;
    double deflate_rate;
    double cap;               /* C: max-bandwidth */
    gboolean bandwidth_prior; /* C unknown: QEMU's default assumed */
    double throughput;        /* T: non-zero bytes/s without a cap */
    double bandwidth;         /* W = min(C, T): what non-zero pages move at */
    double used_zero_share;   /* s_u */
    double zero_page_seconds; /* c_z */
    double dirty_rate;        /* D, 0 when unknown */
    gboolean dirty_rate_unknown;
    double downtime; /* d */
    double margin;
    gboolean driver_holds_hinted_pages; /* stock/unknown driver allocates what it hints */
    gboolean hinted_pages_resent_zero;  /* ... and init_on_alloc zeroes them: sent again */
    gboolean calibrated;                /* some estimate came from history */
    gboolean inflate_rate_measured;     /* from this run (facts.measured_inflate_...) */
    gboolean zero_share_from_resident;  /* s bounded by facts.guest_resident_bytes */
    /* Page cache fpb's driver drops before its walks when the policy asks
     * (reclaim cache, the guest's disk caches within the bound; hinting
     * modes only): in use to the statistics, free to the walk. 0: none.
     * The deferred THP split (reclaim split) shows in no statistic and is
     * not predicted. */
    double reclaim_cache;
} FpbCostInputs;

void fpb_cost_model_inputs(const FpbPolicyFacts *facts, FpbCostInputs *ret);

/* @v rounded to a byte count: NaN and negatives give 0, anything at or
 * beyond G_MAXINT64 gives G_MAXINT64 (llround() there is undefined). Valid
 * facts never get near the top (FPB_POLICY_MAX_RAM_BYTES); this keeps a
 * caller that skipped validation from printing negative sizes. */
gint64 fpb_cost_model_round_bytes(double v);

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
    /* fpb's QEMU's hint counters (x-fpb-query-hint-stats): the dirty bits
     * it cleared because the guest reported the pages free; -1 unknown (a
     * QEMU without the counters, or no hints). 0 (a guest asked that never
     * reported) calibrates hint efficiency to 0: unhinted from then on. */
    gint64 hint_cleared_bytes;
} FpbPolicyOutcome;

/* Calibration: folds @outcome of a migration planned from @facts into
 * @history (docs/cost-model.md, "Calibration"). Numbers are untrusted
 * (journal rows): implausible ones are ignored or clamped. */
void fpb_cost_model_observe(FpbPolicyHistory *history, const FpbPolicyFacts *facts,
                            const FpbPolicyOutcome *outcome);

G_END_DECLS
