/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-evacuate"

#include <math.h>
#include <string.h>

#include "fpb-evacuate-search.h"

/* Rounds of local moves at most: each round tries every move once, and
 * stops the search early when none helped. */
#define MAX_ROUNDS 6
/* Bytes tie within 1% or 1 MiB (the policy's tolerance). */
#define TIE_BYTES (1024.0 * 1024.0)
/* Makespans of plans that miss the deadline compare without tolerance
 * but for floating-point noise. */
#define STRICT_SHARE 1e-9

void fpb_evacuate_candidate_init(FpbEvacuateCandidate *c, guint n_jobs, guint n_order)
{
    *c = (FpbEvacuateCandidate){
        .parallel = 1,
        .modes = g_new0(FpbPolicyMode, n_jobs + 1),
        .order = g_new0(guint, n_order + 1),
        .n_jobs = n_jobs,
        .n_order = n_order,
    };
}

void fpb_evacuate_candidate_clear(FpbEvacuateCandidate *c)
{
    g_clear_pointer(&c->modes, g_free);
    g_clear_pointer(&c->order, g_free);
}

void fpb_evacuate_candidate_copy(FpbEvacuateCandidate *dst, const FpbEvacuateCandidate *src)
{
    g_return_if_fail(dst->n_jobs == src->n_jobs && dst->n_order == src->n_order);
    dst->parallel = src->parallel;
    dst->score = src->score;
    memcpy(dst->modes, src->modes, src->n_jobs * sizeof(*src->modes));
    memcpy(dst->order, src->order, src->n_order * sizeof(*src->order));
}

static int compare_within(double a, double b, double share, double absolute)
{
    double tolerance = MAX(absolute, share * MAX(fabs(a), fabs(b)));

    if (fabs(a - b) <= tolerance) {
        return 0;
    }
    return a < b ? -1 : 1;
}

static int compare_times(const FpbEvacuateScore *a, const FpbEvacuateScore *b, gboolean strict)
{
    int c = strict ? compare_within(a->makespan_s, b->makespan_s, STRICT_SHARE, 0)
                   : compare_within(a->makespan_s, b->makespan_s, FPB_EVACUATE_TIE_SHARE,
                                    FPB_EVACUATE_TIE_SECONDS);

    if (c != 0) {
        return c;
    }
    c = compare_within(a->mean_completion_s, b->mean_completion_s, FPB_EVACUATE_TIE_SHARE,
                       FPB_EVACUATE_TIE_SECONDS);
    if (c != 0) {
        return c;
    }
    return compare_within(a->bytes, b->bytes, FPB_EVACUATE_TIE_SHARE, TIE_BYTES);
}

int fpb_evacuate_score_compare(const FpbEvacuateScore *a, const FpbEvacuateScore *b,
                               double deadline_s)
{
    if (a->not_converging != b->not_converging) {
        return a->not_converging < b->not_converging ? -1 : 1;
    }
    if (deadline_s > 0) {
        gboolean a_met = a->makespan_s <= deadline_s;
        gboolean b_met = b->makespan_s <= deadline_s;

        if (a_met != b_met) {
            return a_met ? -1 : 1;
        }
        return compare_times(a, b, !a_met);
    }
    return compare_times(a, b, FALSE);
}

typedef struct {
    FpbEvacuateSim *sim;
    FpbEvacuateJob *jobs;
    guint n;
    guint *waiting; /* the waiting jobs, in index order */
    guint n_waiting;
    double link;
    const FpbEvacuateSearchOptions *options;
    FpbEvacuateCandidate best;
    FpbEvacuateCandidate trial;
    gboolean have_best;
    guint evaluations;
} Search;

/* Scores @c; TRUE (and @c becomes the best) when it beats the best. */
static gboolean evaluate(Search *s, FpbEvacuateCandidate *c)
{
    fpb_evacuate_sim_run(s->sim, c->parallel, c->modes, c->order, c->n_order, NULL, &c->score);
    s->evaluations++;
    if (s->have_best &&
        fpb_evacuate_score_compare(&c->score, &s->best.score, s->options->deadline_s) >= 0) {
        return FALSE;
    }
    fpb_evacuate_candidate_copy(&s->best, c);
    s->have_best = TRUE;
    return TRUE;
}

/* The share a VM is likely to get when @k are on the link. */
static double typical_share(const Search *s, guint job, guint k)
{
    return MIN(fpb_evacuate_job_throughput(&s->jobs[job]), s->link / (double)k);
}

static double migrate_seconds(Search *s, guint job, FpbPolicyMode mode, guint k)
{
    FpbEvacuateRate r;

    fpb_evacuate_job_predict(&s->jobs[job], mode, typical_share(s, job, k), &r);
    return r.seconds;
}

typedef enum {
    MODES_DECIDED,      /* the policy's pick for the VM alone */
    MODES_FEWEST_BYTES, /* fewest bytes on the wire at a typical share */
    MODES_FASTEST,      /* shortest time on the link at a typical share */
    N_MODE_HEURISTICS,
} ModeHeuristic;

/* Non-converging options lose, then the metric within the policy's
 * tolerance; modes are tried in tie order, so on a tie the less prepared
 * one stays. */
static gboolean better_rate(const FpbEvacuateRate *a, const FpbEvacuateRate *b, ModeHeuristic h)
{
    if (a->converges != b->converges) {
        return a->converges;
    }
    if (h == MODES_FEWEST_BYTES) {
        return compare_within(a->bytes, b->bytes, FPB_EVACUATE_TIE_SHARE, TIE_BYTES) < 0;
    }
    return compare_within(a->seconds, b->seconds, FPB_EVACUATE_TIE_SHARE,
                          FPB_EVACUATE_TIE_SECONDS) < 0;
}

static FpbPolicyMode pick_mode(Search *s, guint job, ModeHeuristic h, guint k)
{
    FpbEvacuateJob *jb = &s->jobs[job];
    FpbPolicyMode best = jb->decided;
    FpbEvacuateRate best_rate, r;

    if (h == MODES_DECIDED || jb->state != FPB_EVACUATE_VM_PENDING) {
        return best;
    }
    fpb_evacuate_job_predict(jb, best, typical_share(s, job, k), &best_rate);
    for (guint rank = 0; rank < FPB_POLICY_N_MODES; rank++) {
        FpbPolicyMode m = fpb_policy_mode_by_tie_rank(rank);

        if (m >= FPB_POLICY_N_MODES || !jb->feasible[m] || m == best) {
            continue;
        }
        fpb_evacuate_job_predict(jb, m, typical_share(s, job, k), &r);
        if (better_rate(&r, &best_rate, h)) {
            best = m;
            best_rate = r;
        }
    }
    return best;
}

static void set_modes(Search *s, FpbEvacuateCandidate *c, ModeHeuristic h, guint k)
{
    for (guint i = 0; i < s->n; i++) {
        c->modes[i] = s->jobs[i].decided;
    }
    for (guint w = 0; w < s->n_waiting; w++) {
        c->modes[s->waiting[w]] = pick_mode(s, s->waiting[w], h, k);
    }
}

typedef enum {
    ORDER_LONGEST_PREP, /* the longest inflation first, then the longest migration */
    ORDER_LONGEST_MIGRATION,
    ORDER_SHORTEST_MIGRATION,
    ORDER_GIVEN,
    N_ORDER_HEURISTICS,
} OrderHeuristic;

typedef struct {
    double first;
    double second;
    guint job;
} OrderKey;

/* TRUE when @a goes before @b: keys descending, then the job's index. */
static gboolean key_before(const OrderKey *a, const OrderKey *b)
{
    if (a->first != b->first) {
        return a->first > b->first;
    }
    if (a->second != b->second) {
        return a->second > b->second;
    }
    return a->job < b->job;
}

static OrderKey order_key(Search *s, const FpbEvacuateCandidate *c, guint job, OrderHeuristic h,
                          guint k)
{
    FpbPolicyMode m = c->modes[job];
    double prep = s->jobs[job].ready_s[m];
    double mig = h == ORDER_GIVEN ? 0 : migrate_seconds(s, job, m, k);

    switch (h) {
    case ORDER_LONGEST_PREP:
        return (OrderKey){prep, mig, job};
    case ORDER_LONGEST_MIGRATION:
        return (OrderKey){mig, 0, job};
    case ORDER_SHORTEST_MIGRATION:
        return (OrderKey){-mig, 0, job};
    case ORDER_GIVEN:
    default:
        return (OrderKey){0, 0, job};
    }
}

/* Insertion sort of the waiting jobs by key: n is small and the keys are
 * a total order, so the result does not depend on the sort. */
static void set_order(Search *s, FpbEvacuateCandidate *c, OrderHeuristic h, guint k)
{
    g_autofree OrderKey *keys = g_new0(OrderKey, s->n_waiting + 1);

    for (guint w = 0; w < s->n_waiting; w++) {
        OrderKey key = order_key(s, c, s->waiting[w], h, k);
        guint at = w;

        while (at > 0 && key_before(&key, &keys[at - 1])) {
            keys[at] = keys[at - 1];
            at--;
        }
        keys[at] = key;
    }
    for (guint w = 0; w < s->n_waiting; w++) {
        c->order[w] = keys[w].job;
    }
}

static void try_heuristic(Search *s, guint k, ModeHeuristic mh, OrderHeuristic oh)
{
    s->trial.parallel = k;
    set_modes(s, &s->trial, mh, k);
    set_order(s, &s->trial, oh, k);
    evaluate(s, &s->trial);
}

/* Every parallelism with two cheap candidates, then every heuristic around
 * the best parallelism. */
static void try_heuristics(Search *s)
{
    guint max_k = s->options->max_parallel;
    guint best_k;

    for (guint k = 1; k <= max_k; k++) {
        try_heuristic(s, k, MODES_DECIDED, ORDER_LONGEST_PREP);
        try_heuristic(s, k, MODES_FEWEST_BYTES, ORDER_LONGEST_PREP);
    }
    best_k = s->best.parallel;
    for (guint k = best_k > 1 ? best_k - 1 : 1; k <= MIN(best_k + 1, max_k); k++) {
        for (int mh = 0; mh < N_MODE_HEURISTICS; mh++) {
            for (int oh = 0; oh < N_ORDER_HEURISTICS; oh++) {
                try_heuristic(s, k, (ModeHeuristic)mh, (OrderHeuristic)oh);
            }
        }
    }
}

static gboolean try_parallel(Search *s)
{
    gboolean improved = FALSE;

    for (int dk = -1; dk <= 1; dk += 2) {
        guint k = s->best.parallel;

        if ((dk < 0 && k <= 1) || (dk > 0 && k >= s->options->max_parallel)) {
            continue;
        }
        fpb_evacuate_candidate_copy(&s->trial, &s->best);
        s->trial.parallel = (guint)((int)k + dk);
        improved |= evaluate(s, &s->trial);
    }
    return improved;
}

static gboolean try_swaps(Search *s)
{
    gboolean improved = FALSE;

    for (guint i = 0; i + 1 < s->best.n_order; i++) {
        fpb_evacuate_candidate_copy(&s->trial, &s->best);
        s->trial.order[i] = s->best.order[i + 1];
        s->trial.order[i + 1] = s->best.order[i];
        improved |= evaluate(s, &s->trial);
    }
    return improved;
}

static gboolean try_to_front(Search *s)
{
    gboolean improved = FALSE;

    for (guint i = 2; i < s->best.n_order; i++) {
        fpb_evacuate_candidate_copy(&s->trial, &s->best);
        s->trial.order[0] = s->best.order[i];
        memcpy(&s->trial.order[1], &s->best.order[0], i * sizeof(*s->best.order));
        improved |= evaluate(s, &s->trial);
    }
    return improved;
}

static gboolean try_modes(Search *s)
{
    gboolean improved = FALSE;

    for (guint w = 0; w < s->n_waiting; w++) {
        guint j = s->waiting[w];

        if (s->jobs[j].state != FPB_EVACUATE_VM_PENDING) {
            continue;
        }
        for (guint rank = 0; rank < FPB_POLICY_N_MODES; rank++) {
            FpbPolicyMode m = fpb_policy_mode_by_tie_rank(rank);

            if (m >= FPB_POLICY_N_MODES || !s->jobs[j].feasible[m] || m == s->best.modes[j]) {
                continue;
            }
            fpb_evacuate_candidate_copy(&s->trial, &s->best);
            s->trial.modes[j] = m;
            improved |= evaluate(s, &s->trial);
        }
    }
    return improved;
}

static void improve(Search *s)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        gboolean improved = try_parallel(s);

        improved |= try_swaps(s);
        improved |= try_to_front(s);
        improved |= try_modes(s);
        if (!improved) {
            return;
        }
    }
}

static void list_waiting(Search *s)
{
    s->waiting = g_new0(guint, s->n + 1);
    for (guint i = 0; i < s->n; i++) {
        if (fpb_evacuate_job_waiting(&s->jobs[i])) {
            s->waiting[s->n_waiting++] = i;
        }
    }
}

guint fpb_evacuate_search_run(FpbEvacuateSim *sim, FpbEvacuateJob *jobs, guint n_jobs, double link,
                              const FpbEvacuateSearchOptions *options, FpbEvacuateCandidate *ret)
{
    Search s = {
        .sim = sim,
        .jobs = jobs,
        .n = n_jobs,
        .link = link,
        .options = options,
    };

    g_return_val_if_fail(options->max_parallel >= 1, 0);
    list_waiting(&s);
    fpb_evacuate_candidate_init(&s.best, n_jobs, s.n_waiting);
    fpb_evacuate_candidate_init(&s.trial, n_jobs, s.n_waiting);
    if (options->seed != NULL && options->seed->n_jobs == n_jobs &&
        options->seed->n_order == s.n_waiting) {
        fpb_evacuate_candidate_copy(&s.trial, options->seed);
        s.trial.parallel = CLAMP(s.trial.parallel, 1, options->max_parallel);
        evaluate(&s, &s.trial);
    }
    try_heuristics(&s);
    improve(&s);
    *ret = s.best;
    fpb_evacuate_candidate_clear(&s.trial);
    g_free(s.waiting);
    return s.evaluations;
}
