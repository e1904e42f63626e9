/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbEvacuateSim: a fluid simulation of one link carrying many migrations,
 * to score a candidate schedule (docs/evacuate.md, "The link"). The
 * migrations on the link share it max-min fairly, each capped at its own
 * throughput T: the share is the cap the VM's QEMU is given. A migration
 * that would take D(s) seconds under a constant share s advances by
 * dt / D(s) in dt seconds at share s, and sends its bytes at B(s) / D(s);
 * under a constant share that is the cost model's prediction exactly, and
 * a smaller share costs more (the guest dirties memory meanwhile). At
 * most @parallel migrations are on the link; a waiting VM goes on it when
 * a place is free and its inflation is done, the first of @order that is
 * ready. Inflation uses no link and overlaps other VMs' transfers.
 * Internal to evacuate/; tests use it.
 */
#pragma once

#include "fpb-evacuate-job.h"

G_BEGIN_DECLS

/* One VM in a simulated schedule. */
typedef struct {
    double migration_start_s; /* < 0: not simulated (refused; DONE without a start) */
    double migration_end_s;
    double finish_s; /* end + restore; DONE: as reported */
    double share;    /* its share right after it started (MIGRATING: at now) */
    double bytes;    /* sent from now on */
    gboolean converges;
} FpbEvacuateSimVm;

/* What the objective looks at (fpb-evacuate-search.h). */
typedef struct {
    double makespan_s;
    double mean_completion_s;
    double bytes;
    guint not_converging;
} FpbEvacuateScore;

typedef struct FpbEvacuateSim FpbEvacuateSim;

/* A simulator of @jobs (borrowed: they must outlive it; their prediction
 * caches are filled) on a link of @link bytes/s, starting at @now_s. */
FpbEvacuateSim *fpb_evacuate_sim_new(FpbEvacuateJob *jobs, guint n_jobs, double link, double now_s);
void fpb_evacuate_sim_free(FpbEvacuateSim *sim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbEvacuateSim, fpb_evacuate_sim_free)

/* Runs one schedule: job i in @modes[i] (ignored for refused and DONE
 * jobs, and must be feasible for the others), the waiting jobs by
 * priority in @order (@n_order entries, each a waiting job once), at most
 * @parallel (>= 1) on the link. Writes @ret_score and, when non-NULL,
 * @ret_vms[n_jobs]. Deterministic. */
void fpb_evacuate_sim_run(FpbEvacuateSim *sim, guint parallel, const FpbPolicyMode *modes,
                          const guint *order, guint n_order, FpbEvacuateSimVm *ret_vms,
                          FpbEvacuateScore *ret_score);

/* The max-min fair split of @link among demands @caps[n] (each >= 0),
 * sorted ascending: @ret_shares[i] = min(caps[i], level). Exposed for
 * tests. */
void fpb_evacuate_sim_water_fill(double link, const double *caps, guint n, double *ret_shares);

G_END_DECLS
