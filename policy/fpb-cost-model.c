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

/* fpb's driver drops the cache only when it is within the bound (all of
 * it, or none); the model takes the guest's disk-caches statistic for it. */
static double reclaim_cache(const FpbPolicyFacts *facts, const FpbCostInputs *in)
{
    const FpbPolicySettings *p = &facts->policy;
    gint64 cache = facts->stats.disk_caches_bytes;

    if (!(p->reclaim & FPB_POLICY_RECLAIM_CACHE) || facts->guest.driver != FPB_POLICY_DRIVER_FPB ||
        !in->stats_known || cache < 0 || cache > p->reclaim_cache_bound_bytes) {
        return 0.0;
    }
    return MIN((double)cache, MAX(0.0, in->actual - in->free));
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

static double prior_inflate_rate(const FpbPolicyFacts *facts)
{
    return facts->accelerator == FPB_POLICY_ACCEL_KVM ? FPB_COST_PRIOR_INFLATE_RATE_KVM
                                                      : FPB_COST_PRIOR_INFLATE_RATE_TCG;
}

/* Deflation was never measured under KVM: assume it is as fast as inflation
 * there (the TCG measurements found it 10x faster). */
static double prior_deflate_rate(const FpbPolicyFacts *facts)
{
    return facts->accelerator == FPB_POLICY_ACCEL_KVM ? FPB_COST_PRIOR_INFLATE_RATE_KVM
                                                      : FPB_COST_PRIOR_DEFLATE_RATE_TCG;
}

static double prior_throughput(const FpbPolicyFacts *facts)
{
    return facts->accelerator == FPB_POLICY_ACCEL_KVM ? FPB_COST_PRIOR_THROUGHPUT_KVM
                                                      : FPB_COST_PRIOR_THROUGHPUT;
}

static double prior_zero_page_seconds(const FpbPolicyFacts *facts)
{
    return facts->accelerator == FPB_POLICY_ACCEL_KVM ? FPB_COST_PRIOR_ZERO_PAGE_SECONDS_KVM
                                                      : FPB_COST_PRIOR_ZERO_PAGE_SECONDS;
}

static gboolean history_known(const FpbPolicyHistory *h)
{
    return h->zero_share.samples > 0 || h->hint_efficiency.samples > 0 ||
           h->inflate_rate.samples > 0 || h->deflate_rate.samples > 0 || h->bandwidth.samples > 0 ||
           h->used_zero_share.samples > 0 || h->zero_page_seconds.samples > 0;
}

/* Before history teaches the zero share of free memory: what the QEMU
 * process does not hold resident reads as zero (never touched, or given
 * back by the balloon or by free page reporting), and the balloon's own
 * pages are out of the guest's size. A lower bound: resident pages may be
 * zero too (e.g. a preallocated VM), which only makes 'none' look dearer
 * until one migration calibrates it. */
static double prior_zero_share(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    if (facts->guest_resident_bytes < 0 || !in->stats_known || in->free < 16.0 * FPB_COST_MIB) {
        return FPB_COST_PRIOR_ZERO_SHARE;
    }
    in->zero_share_from_resident = TRUE;
    return CLAMP((in->actual - (double)facts->guest_resident_bytes) / in->free, 0.0, 1.0);
}

static void inputs_calibrated(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    const FpbPolicyHistory *h = &facts->history;

    in->zero_share = fpb_policy_estimate_get(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE,
                                             prior_zero_share(facts, in));
    if (h->zero_share.samples > 0) {
        in->zero_share_from_resident = FALSE;
    }
    in->used_zero_share = fpb_policy_estimate_get(
        &h->used_zero_share, FPB_POLICY_QUANTITY_USED_ZERO_SHARE, FPB_COST_PRIOR_USED_ZERO_SHARE);
    in->hint_efficiency =
        fpb_policy_estimate_get(&h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
                                prior_hint_efficiency(&facts->guest));
    in->inflate_rate = fpb_policy_estimate_get(&h->inflate_rate, FPB_POLICY_QUANTITY_INFLATE_RATE,
                                               prior_inflate_rate(facts));
    if (facts->measured_inflate_bytes_per_second > 0) {
        in->inflate_rate = CLAMP(facts->measured_inflate_bytes_per_second,
                                 FPB_COST_MIN_MEASURED_INFLATE_RATE, 1e12);
        in->inflate_rate_measured = TRUE;
    }
    in->deflate_rate = fpb_policy_estimate_get(&h->deflate_rate, FPB_POLICY_QUANTITY_DEFLATE_RATE,
                                               prior_deflate_rate(facts));
    in->zero_page_seconds =
        fpb_policy_estimate_get(&h->zero_page_seconds, FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS,
                                prior_zero_page_seconds(facts));
    in->calibrated = history_known(h);
}

/* The cap (max-bandwidth) bounds what QEMU sends; below it, what QEMU itself
 * moves (TCG is CPU-bound far below a fast link) is the limit. The two are
 * kept apart so that a run under one cap predicts a run under another. */
static void inputs_bandwidth(const FpbPolicyFacts *facts, FpbCostInputs *in)
{
    double lo, hi;

    fpb_policy_quantity_limits(FPB_POLICY_QUANTITY_BANDWIDTH, &lo, &hi);
    in->bandwidth_prior = !(facts->bandwidth_bytes_per_second > 0);
    in->cap = in->bandwidth_prior ? FPB_COST_QEMU_DEFAULT_MAX_BANDWIDTH
                                  : CLAMP(facts->bandwidth_bytes_per_second, lo, hi);
    in->throughput = fpb_policy_estimate_get(
        &facts->history.bandwidth, FPB_POLICY_QUANTITY_BANDWIDTH, prior_throughput(facts));
    in->bandwidth = MIN(in->cap, in->throughput);
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
    in.hinted_pages_resent_zero =
        in.driver_holds_hinted_pages && facts->guest.init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_OFF;
    in.reclaim_cache = reclaim_cache(facts, &in);
    *ret = in;
}

/* Iterative precopy: each round resends what was dirtied while the previous
 * one ran (@t0 seconds for the first pass), bounded by the memory in use;
 * QEMU stops the guest once a round fits bandwidth x downtime limit. Adds
 * the resent bytes to *ret_bytes. */
static void converge(const FpbCostInputs *in, double t0, double dirty_cap, double *ret_bytes,
                     gboolean *ret_converges)
{
    double stop = in->bandwidth * in->downtime;
    double dirty = in->dirty_rate * WIRE_PER_BYTE;
    double t = t0;

    *ret_converges = FALSE;
    for (int round = 0; round < FPB_COST_MAX_ROUNDS; round++) {
        double sent = MIN(dirty * t, dirty_cap * WIRE_PER_BYTE);

        *ret_bytes += sent;
        t = sent / in->bandwidth;
        if (sent <= stop) {
            *ret_converges = TRUE;
            break;
        }
    }
}

typedef struct {
    double nonzero;    /* bytes of non-zero pages sent in the first pass */
    double zero_pages; /* zero pages sent in the first pass */
    double hinted;     /* bytes hints kept off the wire */
} FirstPass;

/* Zero pages in memory the guest does not report free: a share of RAM
 * (kernel tables and reservations grow with RAM, not with the workload).
 * Not cut to what is in use: a guest that reports less in use holds these
 * zero pages in its free memory, and cutting would make more free memory
 * cost more bytes (property /policy/properties/monotone-free). */
static double used_zero(const FpbCostInputs *in)
{
    return in->used_zero_share * in->ram;
}

/* The first pass over RAM. The balloon takes dirty free pages first (the
 * buddy allocator hands out the most recently freed pages first; FACTS.md:
 * balloon run sent 321 MB, the in-use floor). Hints skip a share e of what
 * is free after inflation, dirty and zero alike; the stock driver with
 * init_on_alloc zeroes what it hints, and QEMU sends it again as zero pages
 * (FACTS.md). */
static FirstPass first_pass(const FpbCostInputs *in, FpbPolicyMode mode, double inflate)
{
    /* dropped cache: non-zero pages that turn free before the walk */
    double cache = fpb_policy_mode_uses_hints(mode) ? in->reclaim_cache : 0.0;
    double used = in->actual - in->free - cache;
    double dirty_free = (1.0 - in->zero_share) * in->free;
    double dirty_left = MAX(0.0, dirty_free - inflate) + cache;
    double free_left = MAX(0.0, in->free - inflate) + cache;
    FirstPass fp = {0};

    if (fpb_policy_mode_uses_hints(mode)) {
        fp.hinted = in->hint_efficiency * free_left;
        dirty_left -= in->hint_efficiency * dirty_left;
    }
    fp.nonzero = MAX(0.0, used - used_zero(in) + dirty_left);
    fp.zero_pages = MAX(0.0, in->ram - fp.hinted - fp.nonzero) / FPB_COST_PAGE_SIZE;
    if (fpb_policy_mode_uses_hints(mode) && in->hinted_pages_resent_zero) {
        fp.zero_pages += fp.hinted / FPB_COST_PAGE_SIZE;
    }
    return fp;
}

/* Non-zero pages move at W = min(C, T); a zero page costs QEMU c_z of
 * scanning, which a cap does not hide (its 9 bytes hardly count against
 * the cap), so the two add up. */
static double pass_seconds(const FpbCostInputs *in, double nonzero_wire, double zero_pages)
{
    return nonzero_wire / in->bandwidth +
           zero_pages * MAX(in->zero_page_seconds, FPB_COST_ZERO_PAGE_BYTES / in->cap);
}

gint64 fpb_cost_model_round_bytes(double v)
{
    /* 2^63 is exactly representable; every double below it fits gint64 */
    if (!(v > 0)) {
        return 0;
    }
    if (v >= 9223372036854775808.0) {
        return G_MAXINT64;
    }
    return (gint64)llround(v);
}

void fpb_cost_model_predict(const FpbCostInputs *in, FpbPolicyMode mode, double inflate_bytes,
                            FpbPolicyPrediction *ret)
{
    double inflate = fpb_policy_mode_uses_balloon(mode) ? MAX(0.0, inflate_bytes) : 0.0;
    FirstPass fp = first_pass(in, mode, inflate);
    double first = fp.nonzero * WIRE_PER_BYTE + fp.zero_pages * FPB_COST_ZERO_PAGE_BYTES;
    double first_seconds = pass_seconds(in, fp.nonzero * WIRE_PER_BYTE, fp.zero_pages);
    double total = first;

    converge(in, first_seconds, in->actual - in->free, &total, &ret->converges);
    ret->bytes = fpb_cost_model_round_bytes(total);
    ret->prep_seconds = inflate / in->inflate_rate;
    ret->migrate_seconds = first_seconds + (total - first) / in->bandwidth;
    ret->restore_seconds = inflate / in->deflate_rate;
    ret->inflate_bytes = fpb_cost_model_round_bytes(inflate);
    ret->balloon_target_bytes = fpb_cost_model_round_bytes(in->actual - inflate);
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
/* A capped run teaches the zero-page cost only when zero pages are a good
 * share of what was sent; otherwise noise in the time swamps them. */
#define MIN_ZERO_PAGE_SHARE 0.25

static void observe_rate(FpbPolicyEstimate *e, FpbPolicyQuantity q, gint64 bytes, double seconds)
{
    if ((double)bytes >= MIN_OBSERVED_BYTES && seconds >= MIN_OBSERVED_SECONDS) {
        fpb_policy_estimate_observe(e, q, (double)bytes / seconds);
    }
}

/* What QEMU reported, in the model's terms. */
typedef struct {
    double nonzero_wire; /* bytes of normal pages on the wire */
    double zero_pages;
    double seconds;
} Observed;

static gboolean observed_pass(const FpbPolicyOutcome *o, Observed *ret)
{
    double zero = o->zero_pages >= 0 ? (double)o->zero_pages : 0.0;
    double normal = o->normal_bytes >= 0
                        ? (double)o->normal_bytes
                        : (double)o->transferred_bytes - zero * FPB_COST_ZERO_PAGE_BYTES;

    if (!(o->migrate_seconds >= MIN_OBSERVED_SECONDS) || !isfinite(o->migrate_seconds)) {
        return FALSE;
    }
    *ret = (Observed){
        .nonzero_wire = MAX(0.0, normal) * WIRE_PER_BYTE,
        .zero_pages = zero,
        .seconds = o->migrate_seconds,
    };
    return ret->nonzero_wire + zero * FPB_COST_ZERO_PAGE_BYTES >= MIN_OBSERVED_BYTES;
}

/* A run predicted at the cap whose non-zero pages moved below this share
 * of it was not held back by the cap: T was below C. */
#define BELOW_CAP_SHARE 0.9

/* Throughput T and zero-page cost c_z from the migration's time. Below the
 * cap both are CPU work: one run cannot tell them apart, so both are scaled
 * by how much slower or faster the run was than predicted (the machine's
 * speed and load move both alike). At the cap, non-zero pages took C; what
 * is left is the zero pages' time, and T is not seen, unless the run had
 * few zero pages and still moved clearly slower than C: then T is what it
 * moved (a TCG stream over TCP reaches about half the 266 MB/s prior of a
 * unix socket, docs/benchmarks.md, so a 125 MB/s cap does not hold it). */
static void observe_speed(FpbPolicyHistory *h, const FpbCostInputs *in, const Observed *ob)
{
    double zero_seconds = ob->zero_pages * in->zero_page_seconds;
    double pages =
        ob->nonzero_wire / (FPB_COST_PAGE_SIZE + FPB_COST_PAGE_HEADER_BYTES) + ob->zero_pages;
    double nonzero_seconds = ob->seconds - zero_seconds;

    if (in->throughput < in->cap) {
        double k = ob->seconds / (ob->nonzero_wire / in->throughput + zero_seconds);

        fpb_policy_estimate_observe(&h->bandwidth, FPB_POLICY_QUANTITY_BANDWIDTH,
                                    in->throughput / k);
        fpb_policy_estimate_observe(&h->zero_page_seconds, FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS,
                                    in->zero_page_seconds * k);
    } else if (ob->zero_pages >= MIN_ZERO_PAGE_SHARE * pages) {
        fpb_policy_estimate_observe(&h->zero_page_seconds, FPB_POLICY_QUANTITY_ZERO_PAGE_SECONDS,
                                    (ob->seconds - ob->nonzero_wire / in->cap) / ob->zero_pages);
    } else if (nonzero_seconds > 0 && ob->nonzero_wire >= MIN_OBSERVED_BYTES &&
               ob->nonzero_wire / nonzero_seconds < BELOW_CAP_SHARE * in->cap) {
        fpb_policy_estimate_observe(&h->bandwidth, FPB_POLICY_QUANTITY_BANDWIDTH,
                                    ob->nonzero_wire / nonzero_seconds);
    }
}

/* A run without hints fixes s_u·R + s·F (its zero pages); a hint run with
 * fpb's driver fixes s_u·R + (1 − e)·s·F (its zero pages: the unhinted free
 * ones are split by s). Once the history holds both kinds, a new run is
 * solved together with the other kind's sum, and the other estimate moves
 * so that that sum still holds: a history of mixed modes does not drift
 * (e.g. s_u learned with the prior s of a fresh guest, then s learned as
 * 1.0). Below this e the two sums are nearly the same equation. */
#define MIN_JOINT_HINT_EFFICIENCY 0.5

static void shift_estimate(FpbPolicyEstimate *e, FpbPolicyQuantity q, double by)
{
    double lo, hi;

    if (e->samples == 0 || !isfinite(by)) {
        return;
    }
    fpb_policy_quantity_limits(q, &lo, &hi);
    e->value = CLAMP(e->value + by, lo, hi);
}

static void keep_hint_runs_sum(FpbPolicyHistory *h, const FpbCostInputs *in, double old_s)
{
    double ds =
        fpb_policy_estimate_get(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE, old_s) - old_s;

    shift_estimate(&h->used_zero_share, FPB_POLICY_QUANTITY_USED_ZERO_SHARE,
                   -(1.0 - in->hint_efficiency) * in->free * ds / in->ram);
}

static void keep_runs_without_hints_sum(FpbPolicyHistory *h, const FpbCostInputs *in, double old_su)
{
    double dsu =
        fpb_policy_estimate_get(&h->used_zero_share, FPB_POLICY_QUANTITY_USED_ZERO_SHARE, old_su) -
        old_su;

    shift_estimate(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE, -dsu * in->ram / in->free);
}

/* Zero share from a migration without hints: every page QEMU found zero is
 * ballooned (already or just now), in use but zero (s_u), or free and zero. */
static void observe_zero_share(FpbPolicyHistory *h, const FpbCostInputs *in,
                               const FpbPolicyOutcome *o)
{
    double zero_bytes = (double)o->zero_pages * FPB_COST_PAGE_SIZE;
    double ballooned = (in->ram - in->actual) + (double)MAX(o->inflated_bytes, 0);
    double e = in->hint_efficiency;
    double s;

    if (o->zero_pages < 0 || in->free < MIN_OBSERVED_BYTES) {
        return;
    }
    s = (zero_bytes - ballooned - used_zero(in)) / in->free;
    if (h->used_zero_share.samples > 0 && e >= MIN_JOINT_HINT_EFFICIENCY) {
        double hint_sum = used_zero(in) + (1.0 - e) * in->zero_share * in->free;

        s = (zero_bytes - ballooned - hint_sum) / (e * in->free);
    }
    fpb_policy_estimate_observe(&h->zero_share, FPB_POLICY_QUANTITY_ZERO_SHARE, s);
    keep_hint_runs_sum(h, in, in->zero_share);
}

/* What fpb's QEMU counted (issue 15): a guest that was asked and cleared
 * nothing did not hint, e = 0, whatever the bytes suggest (a run can send
 * little for other reasons). Otherwise -1: the counters do not give e. They
 * sum every round's clears, so a page hinted, reused and hinted again
 * counts twice, and zero pages count like any; on the benchmark matrix
 * cleared / free memory predicted worse than the bytes (hint-fpb within
 * 10%: 6 of 10 runs against 17 of 20; docs/cost-model.md). */
static double counted_hint_efficiency(const FpbCostInputs *in, const FpbPolicyOutcome *o)
{
    double free_left = MAX(0.0, in->free - (double)MAX(o->inflated_bytes, 0));

    if (o->hint_cleared_bytes != 0 || free_left < MIN_OBSERVED_BYTES) {
        return -1;
    }
    return 0.0;
}

/* Stock (or unknown) driver: the non-zero bytes hints kept off the wire
 * over the dirty free bytes they could have; the pages it zeroes and QEMU
 * sends again as zero pages count as kept off (they cost 9 bytes). Dirty
 * re-sends count as not saved, so under a high dirty rate this is an
 * underestimate (the safe side). */
static void observe_stock_hints(FpbPolicyHistory *h, const FpbCostInputs *in,
                                const FpbPolicyOutcome *o)
{
    double inflate = (double)MAX(o->inflated_bytes, 0);
    double dirty_left = MAX(0.0, (1.0 - in->zero_share) * in->free - inflate);
    double expected = (in->actual - in->free) - used_zero(in) + dirty_left;
    double counted = counted_hint_efficiency(in, o);

    if (counted >= 0) {
        fpb_policy_estimate_observe(&h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
                                    counted);
        return;
    }
    if (o->normal_bytes < 0 || dirty_left < MIN_OBSERVED_BYTES) {
        return;
    }
    fpb_policy_estimate_observe(&h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY,
                                (expected - (double)o->normal_bytes) / dirty_left);
}

/* The zero bytes of free memory a hint run's unhinted pages are split by:
 * s·F, or, once runs without hints fixed s_u·R + s·F, the s that satisfies
 * both that sum and this run's @hint_zero = s_u·R + (1 − e)·s·F. */
static double free_zero_bytes_for_hint_run(const FpbPolicyHistory *h, const FpbCostInputs *in,
                                           double e, double hint_zero)
{
    double none_sum = used_zero(in) + in->zero_share * in->free;

    if (h->zero_share.samples == 0 || e < MIN_JOINT_HINT_EFFICIENCY) {
        return in->zero_share * in->free;
    }
    return CLAMP((none_sum - hint_zero) / e, 0.0, in->free);
}

/* fpb's driver allocates nothing: the pages QEMU did not look at (RAM minus
 * normal and zero pages) are the hinted ones, so e = hinted / free memory
 * left after inflation. The zero pages are then the ballooned ones, the
 * unhinted free zero ones, and the used zero ones: that gives s_u. */
static void observe_fpb_hints(FpbPolicyHistory *h, const FpbCostInputs *in,
                              const FpbPolicyOutcome *o)
{
    double inflate = (double)MAX(o->inflated_bytes, 0);
    double free_left = MAX(0.0, in->free - inflate);
    double zero_bytes = (double)o->zero_pages * FPB_COST_PAGE_SIZE;
    double scanned = (double)o->normal_bytes + zero_bytes;
    double hint_zero = zero_bytes - (in->ram - in->actual) - inflate;
    double e, unhinted_zero;

    if (o->normal_bytes < 0 || o->zero_pages < 0 || free_left < MIN_OBSERVED_BYTES) {
        return;
    }
    e = counted_hint_efficiency(in, o);
    if (e < 0) {
        e = CLAMP((in->ram - scanned) / free_left, 0.0, 1.0);
    }
    fpb_policy_estimate_observe(&h->hint_efficiency, FPB_POLICY_QUANTITY_HINT_EFFICIENCY, e);
    unhinted_zero = (1.0 - e) * MIN(free_zero_bytes_for_hint_run(h, in, e, hint_zero), free_left);
    fpb_policy_estimate_observe(&h->used_zero_share, FPB_POLICY_QUANTITY_USED_ZERO_SHARE,
                                (hint_zero - unhinted_zero) / in->ram);
    keep_runs_without_hints_sum(h, in, in->used_zero_share);
}

void fpb_cost_model_observe(FpbPolicyHistory *history, const FpbPolicyFacts *facts,
                            const FpbPolicyOutcome *outcome)
{
    FpbCostInputs in;
    Observed ob;

    fpb_cost_model_inputs(facts, &in);
    if (history->migrations < G_MAXUINT) {
        history->migrations++;
    }
    observe_rate(&history->inflate_rate, FPB_POLICY_QUANTITY_INFLATE_RATE, outcome->inflated_bytes,
                 outcome->prep_seconds);
    observe_rate(&history->deflate_rate, FPB_POLICY_QUANTITY_DEFLATE_RATE, outcome->deflated_bytes,
                 outcome->restore_seconds);
    if (!outcome->succeeded) {
        return;
    }
    if (observed_pass(outcome, &ob)) {
        observe_speed(history, &in, &ob);
    }
    if (!in.stats_known) {
        return;
    }
    if (!fpb_policy_mode_uses_hints(outcome->mode)) {
        observe_zero_share(history, &in, outcome);
    } else if (in.driver_holds_hinted_pages) {
        observe_stock_hints(history, &in, outcome);
    } else {
        observe_fpb_hints(history, &in, outcome);
    }
}
