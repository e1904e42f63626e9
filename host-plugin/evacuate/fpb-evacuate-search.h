/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The search for a plan (docs/evacuate.md, "The search"): candidates built
 * from heuristics (each VM's mode: the policy's own pick, or the fewest
 * bytes, or the shortest time on the link; order: longest inflation,
 * longest or shortest migration first, or as given), for every
 * parallelism, each scored by the fluid simulation; the best then improved
 * by local moves (one more or one fewer at once, swapping neighbours in
 * the order, moving one VM to the front, another mode for one VM) until no
 * move helps. Deterministic: fixed order of trials, a trial replaces the
 * best only when strictly better. Internal to evacuate/; tests use it.
 */
#pragma once

#include "fpb-evacuate-sim.h"

G_BEGIN_DECLS

/* One schedule: what the simulation needs to run it. */
typedef struct {
    guint parallel;
    FpbPolicyMode *modes; /* [n_jobs] */
    guint *order;         /* [n_order]: the waiting jobs by priority */
    guint n_jobs;
    guint n_order;
    FpbEvacuateScore score;
} FpbEvacuateCandidate;

void fpb_evacuate_candidate_init(FpbEvacuateCandidate *c, guint n_jobs, guint n_order);
void fpb_evacuate_candidate_clear(FpbEvacuateCandidate *c);
/* @dst must have been initialised with the same sizes. */
void fpb_evacuate_candidate_copy(FpbEvacuateCandidate *dst, const FpbEvacuateCandidate *src);

/* The objective (fpb-evacuate-plan.h): negative when @a is better than @b,
 * 0 on a tie, positive otherwise. @deadline_s 0: none. */
int fpb_evacuate_score_compare(const FpbEvacuateScore *a, const FpbEvacuateScore *b,
                               double deadline_s);

typedef struct {
    guint max_parallel; /* >= 1 */
    double deadline_s;  /* 0: none */
    /* tried first, so that it stays on ties (a re-plan of a plan being
     * run); NULL: none. Its sizes must match. */
    const FpbEvacuateCandidate *seed;
} FpbEvacuateSearchOptions;

/* Finds the best candidate for the jobs of @sim. @ret is initialised here
 * (clear it with fpb_evacuate_candidate_clear). Returns the number of
 * schedules simulated. */
guint fpb_evacuate_search_run(FpbEvacuateSim *sim, FpbEvacuateJob *jobs, guint n_jobs, double link,
                              const FpbEvacuateSearchOptions *options, FpbEvacuateCandidate *ret);

G_END_DECLS
