/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include <math.h>

#include "fpb-cost-model.h"

/* Bytes on the wire per byte of normal (non-zero) page. */
#define WIRE_PER_BYTE ((FPB_COST_PAGE_SIZE + FPB_COST_PAGE_HEADER_BYTES) / FPB_COST_PAGE_SIZE)

/* A guest number: unknown (< 0) stays unknown, the rest is clamped to the
 * guest's size, noting whether clamping was needed. */
static double clamp_guest(gint64 v, double limit, gboolean *clamped)
{
    if ((double)v > limit) {
        *clamped = TRUE;
        return limit;
    }
    return (double)v;
}

static void inputs_stats(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    const FpbPolicyStats *st = &facts->stats;
    gboolean given = st->free_bytes >= 0 && st->available_bytes >= 0;
    gboolean fresh = st->age_seconds >= 0 && st->age_seconds <= FPB_COST_STATS_MAX_AGE_SECONDS;

    in->stats_known = given && fresh;
    in->stats_stale = given && !fresh;
    if (!in->stats_known) {
        return;
    }
    /* The balloon's current size bounds what the guest can have free. */
    in->free = clamp_guest(st->free_bytes, in->actual, &in->stats_clamped);
    in->available = clamp_guest(st->available_bytes, in->actual, &in->stats_clamped);
}

static double prior_hint_efficiency(const FpbPolicyGuest *guest)
{
    if (guest->driver == FPB_POLICY_DRIVER_FPB) {
        return FPB_COST_PRIOR_HINT_EFFICIENCY_FPB;
    }
    if (guest->init_on_alloc == FPB_POLICY_INIT_ON_ALLOC_OFF) {
        return FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_OFF;
    }
    return FPB_COST_PRIOR_HINT_EFFICIENCY_STOCK_IOA_ON;
}

static void inputs_calibrated(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    const FpbPolicyHistory *h = &facts->history;
    double inflate_prior = facts->accelerator == FPB_POLICY_ACCEL_KVM
                               ? FPB_COST_PRIOR_INFLATE_RATE_KVM
                               : FPB_COST_PRIOR_INFLATE_RATE_TCG;

    in->zero_share = fpb_policy_estimate_get(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE,
                                             FPB_COST_PRIOR_ZERO_SHARE);
    in->hint_efficiency = fpb_policy_estimate_get(
        &h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
        prior_hint_efficiency(&facts->guest));
    in->inflate_rate =
        fpb_policy_estimate_get(&h->inflate_rate, FPB_POLICY_QUANTITY_INFLATE_RATE, inflate_prior);
    /* Deflation was never measured here: assume it is as fast as inflation. */
    in->deflate_rate = fpb_policy_estimate_get(&h->deflate_rate, FPB_POLICY_QUANTITY_DEFLATE_RATE,
                                               in->inflate_rate);
    in->calibrated = h->zero_share.samples > 0 || h->hint_efficiency.samples > 0 ||
                     h->inflate_rate.samples > 0 || h->deflate_rate.samples > 0 ||
                     h->bandwidth.samples > 0;
}

/* A configured or measured link bandwidth is an upper bound; what earlier
 * migrations achieved (TCG is CPU-bound far below the link) may be lower. */
static void inputs_bandwidth(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    const FpbPolicyEstimate *hist = &facts->history.bandwidth;
    double lo, hi;

    fpb_policy_quantity_limits(FPB_POLICY_QUANTITY_BANDWIDTH, &lo, &hi);
    in->bandwidth_prior = FALSE;
    if (facts->bandwidth_bytes_per_second > 0) {
        in->bandwidth = CLAMP(facts->bandwidth_bytes_per_second, lo, hi);
        if (hist->samples > 0) {
            in->bandwidth = MIN(in->bandwidth,
                                fpb_policy_estimate_get(hist, FPB_POLICY_QUANTITY_BANDWIDTH, hi));
        }
    } else if (hist->samples > 0) {
        in->bandwidth = fpb_policy_estimate_get(hist, FPB_POLICY_QUANTITY_BANDWIDTH, hi);
    } else {
        in->bandwidth = FPB_COST_PRIOR_BANDWIDTH;
        in->bandwidth_prior = TRUE;
    }
}

void fpb_cost_model_inputs(const FpbPolicyFacts *facts, FpbCostInputs *ret)
{
    FpbCostInputs in = {0};

    in.ram = (double)MAX(facts->ram_bytes, 1);
    in.actual = in.ram;
    if (facts->balloon_actual_bytes > 0) {
        in.actual = MIN((double)facts->balloon_actual_bytes, in.ram);
    }
    inputs_stats(facts, &in);
    inputs_calibrated(facts, &in);
    inputs_bandwidth(facts, &in);
    in.dirty_rate_unknown = !(facts->dirty_rate_bytes_per_second >= 0);
    in.dirty_rate = in.dirty_rate_unknown ? 0 : MIN(facts->dirty_rate_bytes_per_second, 1e12);
    in.downtime = facts->downtime_limit_seconds > 0 ? facts->downtime_limit_seconds : 0.3;
    in.margin = MAX(FPB_COST_SAFETY_MARGIN_MIN_BYTES, FPB_COST_SAFETY_MARGIN_SHARE * in.ram);
    in.driver_holds_hinted_pages = facts->guest.driver != FPB_POLICY_DRIVER_FPB;
    *ret = in;
}

/* Iterative precopy: each round resends what was dirtied while the previous
 * one ran, bounded by the memory in use; QEMU stops the guest once a round
 * fits bandwidth x downtime limit. */
static void converge(const FpbCostInputs *in, double first, double dirty_cap, double *ret_bytes,
                     gboolean *ret_converges)
{
    double stop = in->bandwidth * in->downtime;
    double dirty = in->dirty_rate * WIRE_PER_BYTE;
    double total = first;
    double t = first / in->bandwidth;

    *ret_converges = FALSE;
    for (int round = 0; round < FPB_COST_MAX_ROUNDS; round++) {
        double sent = MIN(dirty * t, dirty_cap * WIRE_PER_BYTE);

        total += sent;
        t = sent / in->bandwidth;
        if (sent <= stop) {
            *ret_converges = TRUE;
            break;
        }
    }
    *ret_bytes = total;
}

typedef struct {
    double nonzero;    /* bytes of non-zero pages sent in the first pass */
    double zero_pages; /* zero pages sent in the first pass */
    double hinted;     /* bytes hints kept off the wire */
} FirstPass;

/* The first pass over RAM. The balloon takes dirty free pages first (the
 * buddy allocator hands out the most recently freed pages first; FACTS.md:
 * balloon run sent 321 MB, the in-use floor). Hints skip a share e of what
 * is free after inflation, dirty and zero alike. */
static FirstPass first_pass(const FpbCostInputs *in, FpbPolicyMode mode, double inflate)
{
    double used = in->actual - in->free;
    double dirty_free = (1.0 - in->zero_share) * in->free;
    double dirty_left = MAX(0.0, dirty_free - inflate);
    double free_left = MAX(0.0, in->free - inflate);
    FirstPass fp = {0};

    if (fpb_policy_mode_uses_hints(mode)) {
        fp.hinted = in->hint_efficiency * free_left;
        dirty_left -= in->hint_efficiency * dirty_left;
    }
    fp.nonzero = used + dirty_left;
    fp.zero_pages = MAX(0.0, in->ram - fp.hinted - fp.nonzero) / FPB_COST_PAGE_SIZE;
    return fp;
}

void fpb_cost_model_predict(const FpbCostInputs *in, FpbPolicyMode mode, double inflate_bytes,
                            FpbPolicyPrediction *ret)
{
    double inflate = fpb_policy_mode_uses_balloon(mode) ? MAX(0.0, inflate_bytes) : 0.0;
    FirstPass fp = first_pass(in, mode, inflate);
    double first = fp.nonzero * WIRE_PER_BYTE + fp.zero_pages * FPB_COST_ZERO_PAGE_BYTES;
    double total = 0;
    double first_seconds = first / in->bandwidth;

    converge(in, first, in->actual - in->free, &total, &ret->converges);
    ret->bytes = (gint64)llround(total);
    ret->prep_seconds = inflate / in->inflate_rate;
    ret->migrate_seconds = total / in->bandwidth;
    ret->restore_seconds = inflate / in->deflate_rate;
    ret->inflate_bytes = (gint64)llround(inflate);
    ret->balloon_target_bytes = (gint64)llround(in->actual - inflate);
    /* Inflation ramps up during prep and deflation ramps down on restore:
     * on average half the balloon is out during each. */
    ret->guest_impact_byte_seconds =
        inflate * (ret->prep_seconds / 2 + ret->migrate_seconds + ret->restore_seconds / 2);
    /* The stock driver allocates the pages it hints and keeps them until
     * QEMU says the first pass is done. */
    if (fpb_policy_mode_uses_hints(mode) && in->driver_holds_hinted_pages) {
        ret->guest_impact_byte_seconds += fp.hinted * first_seconds;
    }
}

/* Below these, rates are noise (timer resolution, fixed QMP latency). */
#define MIN_OBSERVED_BYTES (16.0 * FPB_COST_MIB)
#define MIN_OBSERVED_SECONDS 0.05

static void observe_rate(FpbPolicyEstimate *e, FpbPolicyQuantity q, gint64 bytes, double seconds)
{
    if ((double)bytes >= MIN_OBSERVED_BYTES && seconds >= MIN_OBSERVED_SECONDS) {
        fpb_policy_estimate_observe(e, q, (double)bytes / seconds);
    }
}

/* Zero share from a migration without hints: every page QEMU found zero is
 * either ballooned (already or just now) or free and never written. */
static void observe_zero_share(FpbPolicyHistory *h, const FpbCostInputs *in,
                               const FpbPolicyOutcome *o)
{
    double zero_bytes = (double)o->zero_pages * FPB_COST_PAGE_SIZE;
    double ballooned = (in->ram - in->actual) + (double)MAX(o->inflated_bytes, 0);

    if (o->zero_pages < 0 || in->free < MIN_OBSERVED_BYTES) {
        return;
    }
    fpb_policy_estimate_observe(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE,
                                (zero_bytes - ballooned) / in->free);
}

/* Hint efficiency: the non-zero bytes hints kept off the wire over the
 * dirty free bytes they could have. Dirty re-sends count as not saved, so
 * under a high dirty rate this is an underestimate (the safe side). */
static void observe_hint_efficiency(FpbPolicyHistory *h, const FpbCostInputs *in,
                                    const FpbPolicyOutcome *o)
{
    double inflate = (double)MAX(o->inflated_bytes, 0);
    double dirty_left = MAX(0.0, (1.0 - in->zero_share) * in->free - inflate);
    double expected = (in->actual - in->free) + dirty_left;

    if (o->normal_bytes < 0 || dirty_left < MIN_OBSERVED_BYTES) {
        return;
    }
    fpb_policy_estimate_observe(&h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
                                (expected - (double)o->normal_bytes) / dirty_left);
}

void fpb_cost_model_observe(FpbPolicyHistory *history, const FpbPolicyFacts *facts,
                            const FpbPolicyOutcome *outcome)
{
    FpbCostInputs in;

    fpb_cost_model_inputs(facts, &in);
    if (history->migrations < G_MAXUINT) {
        history->migrations++;
    }
    observe_rate(&history->inflate_rate, FPB_POLICY_QUANTITY_INFLATE_RATE,
                 outcome->inflated_bytes, outcome->prep_seconds);
    observe_rate(&history->deflate_rate, FPB_POLICY_QUANTITY_DEFLATE_RATE,
                 outcome->deflated_bytes, outcome->restore_seconds);
    if (!outcome->succeeded) {
        return;
    }
    observe_rate(&history->bandwidth, FPB_POLICY_QUANTITY_BANDWIDTH, outcome->transferred_bytes,
                 outcome->migrate_seconds);
    if (!in.stats_known) {
        return;
    }
    if (fpb_policy_mode_uses_hints(outcome->mode)) {
        observe_hint_efficiency(history, &in, outcome);
    } else {
        observe_zero_share(history, &in, outcome);
    }
}
