/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-evacuate"

#include <math.h>
#include <string.h>

#include "fpb-evacuate-sim.h"

/* A migration this close to done (share of it) finishes with the one that
 * set the event: floating point must not leave a 1e-16 s sliver. */
#define DONE_EPSILON 1e-12

struct FpbEvacuateSim {
    FpbEvacuateJob *jobs;
    guint n;
    double link;
    double now;
    guint *active; /* jobs on the link, by throughput ascending (then index) */
    guint n_active;
    gboolean *started; /* on the link, done, refused: not waiting any more */
    double *progress;
    double *caps;   /* scratch: throughput of the active jobs, in order */
    double *shares; /* scratch: their shares */
    FpbEvacuateRate *rate;
    FpbEvacuateSimVm *vms;
};

FpbEvacuateSim *fpb_evacuate_sim_new(FpbEvacuateJob *jobs, guint n_jobs, double link, double now_s)
{
    FpbEvacuateSim *sim = g_new0(FpbEvacuateSim, 1);

    sim->jobs = jobs;
    sim->n = n_jobs;
    sim->link = link;
    sim->now = now_s;
    sim->active = g_new0(guint, n_jobs + 1);
    sim->started = g_new0(gboolean, n_jobs + 1);
    sim->progress = g_new0(double, n_jobs + 1);
    sim->caps = g_new0(double, n_jobs + 1);
    sim->shares = g_new0(double, n_jobs + 1);
    sim->rate = g_new0(FpbEvacuateRate, n_jobs + 1);
    sim->vms = g_new0(FpbEvacuateSimVm, n_jobs + 1);
    return sim;
}

void fpb_evacuate_sim_free(FpbEvacuateSim *sim)
{
    if (sim == NULL) {
        return;
    }
    g_free(sim->active);
    g_free(sim->started);
    g_free(sim->progress);
    g_free(sim->caps);
    g_free(sim->shares);
    g_free(sim->rate);
    g_free(sim->vms);
    g_free(sim);
}

void fpb_evacuate_sim_water_fill(double link, const double *caps, guint n, double *ret_shares)
{
    double left = link;

    for (guint i = 0; i < n; i++) {
        double fair = left / (double)(n - i);

        ret_shares[i] = MIN(caps[i], fair);
        left = MAX(0.0, left - ret_shares[i]);
    }
}

static void add_active(FpbEvacuateSim *sim, guint job)
{
    double t = fpb_evacuate_job_throughput(&sim->jobs[job]);
    guint at = sim->n_active;

    while (at > 0) {
        guint prev = sim->active[at - 1];
        double tp = fpb_evacuate_job_throughput(&sim->jobs[prev]);

        if (tp < t || (tp == t && prev < job)) {
            break;
        }
        sim->active[at] = prev;
        at--;
    }
    sim->active[at] = job;
    sim->n_active++;
}

static void remove_active(FpbEvacuateSim *sim, guint at)
{
    for (guint i = at; i + 1 < sim->n_active; i++) {
        sim->active[i] = sim->active[i + 1];
    }
    sim->n_active--;
}

static void reset(FpbEvacuateSim *sim)
{
    sim->n_active = 0;
    for (guint i = 0; i < sim->n; i++) {
        const FpbEvacuateJob *job = &sim->jobs[i];

        sim->vms[i] = (FpbEvacuateSimVm){
            .migration_start_s = -1,
            .migration_end_s = -1,
            .finish_s = -1,
            .converges = TRUE,
        };
        sim->started[i] = !fpb_evacuate_job_waiting(job);
        sim->progress[i] = 0;
        if (job->refusal != NULL) {
            continue;
        }
        if (job->state == FPB_EVACUATE_VM_DONE) {
            sim->vms[i].migration_start_s = job->migration_started_s;
            sim->vms[i].finish_s = job->finished_s;
        } else if (job->state == FPB_EVACUATE_VM_MIGRATING) {
            sim->vms[i].migration_start_s = job->migration_started_s;
            sim->progress[i] = job->progress;
            add_active(sim, i);
        }
    }
}

/* Puts ready waiting jobs on the link, in @order, while there is room. */
static void start_ready(FpbEvacuateSim *sim, guint parallel, const FpbPolicyMode *modes,
                        const guint *order, guint n_order, double t)
{
    for (guint k = 0; k < n_order && sim->n_active < parallel; k++) {
        guint j = order[k];

        if (sim->started[j] || sim->jobs[j].ready_s[modes[j]] > t) {
            continue;
        }
        sim->started[j] = TRUE;
        sim->vms[j].migration_start_s = t;
        sim->progress[j] = 0;
        add_active(sim, j);
    }
}

/* The earliest time a waiting job is ready after @t (INFINITY: none). */
static double next_ready(const FpbEvacuateSim *sim, const FpbPolicyMode *modes, const guint *order,
                         guint n_order, double t)
{
    double next = INFINITY;

    for (guint k = 0; k < n_order; k++) {
        guint j = order[k];
        double r = sim->jobs[j].ready_s[modes[j]];

        if (!sim->started[j] && r > t && r < next) {
            next = r;
        }
    }
    return next;
}

/* Shares of the jobs on the link and their rates under them. */
static void allocate(FpbEvacuateSim *sim, const FpbPolicyMode *modes)
{
    for (guint i = 0; i < sim->n_active; i++) {
        sim->caps[i] = fpb_evacuate_job_throughput(&sim->jobs[sim->active[i]]);
    }
    fpb_evacuate_sim_water_fill(sim->link, sim->caps, sim->n_active, sim->shares);
    for (guint i = 0; i < sim->n_active; i++) {
        guint j = sim->active[i];
        FpbEvacuateSimVm *vm = &sim->vms[j];

        fpb_evacuate_job_predict(&sim->jobs[j], modes[j], sim->shares[i], &sim->rate[j]);
        if (vm->share == 0) {
            vm->share = sim->shares[i];
        }
        vm->converges = vm->converges && sim->rate[j].converges;
    }
}

static double remaining_seconds(const FpbEvacuateSim *sim, guint j)
{
    return MAX(0.0, 1.0 - sim->progress[j]) * MAX(0.0, sim->rate[j].seconds);
}

static void advance(FpbEvacuateSim *sim, double dt)
{
    for (guint i = 0; i < sim->n_active; i++) {
        guint j = sim->active[i];
        const FpbEvacuateRate *r = &sim->rate[j];

        if (r->seconds > 0) {
            double step = MIN(dt / r->seconds, MAX(0.0, 1.0 - sim->progress[j]));

            sim->progress[j] += step;
            sim->vms[j].bytes += step * r->bytes;
        } else {
            sim->vms[j].bytes += MAX(0.0, 1.0 - sim->progress[j]) * r->bytes;
            sim->progress[j] = 1.0;
        }
    }
}

/* Takes the jobs done at @t off the link (@first is done by definition). */
static void finish(FpbEvacuateSim *sim, const FpbPolicyMode *modes, guint first, double t)
{
    for (guint i = sim->n_active; i-- > 0;) {
        guint j = sim->active[i];

        if (j != first && 1.0 - sim->progress[j] > DONE_EPSILON) {
            continue;
        }
        sim->vms[j].migration_end_s = t;
        sim->vms[j].finish_s = t + sim->jobs[j].restore_seconds[modes[j]];
        remove_active(sim, i);
    }
}

/* The job on the link that finishes first, and when (from now). */
static guint first_done(const FpbEvacuateSim *sim, double *ret_dt)
{
    guint best = sim->active[0];

    *ret_dt = remaining_seconds(sim, best);
    for (guint i = 1; i < sim->n_active; i++) {
        double dt = remaining_seconds(sim, sim->active[i]);

        if (dt < *ret_dt) {
            *ret_dt = dt;
            best = sim->active[i];
        }
    }
    return best;
}

/* One event: a job finishes or, with room on the link, one becomes ready.
 * Returns the new time; INFINITY when nothing is left. */
static double step(FpbEvacuateSim *sim, guint parallel, const FpbPolicyMode *modes,
                   const guint *order, guint n_order, double t)
{
    double dt_done, ready;
    guint first;

    start_ready(sim, parallel, modes, order, n_order, t);
    if (sim->n_active == 0) {
        return next_ready(sim, modes, order, n_order, t);
    }
    allocate(sim, modes);
    first = first_done(sim, &dt_done);
    ready = sim->n_active < parallel ? next_ready(sim, modes, order, n_order, t) : INFINITY;
    if (ready - t < dt_done) {
        advance(sim, ready - t);
        return ready;
    }
    advance(sim, dt_done);
    finish(sim, modes, first, t + dt_done);
    return t + dt_done;
}

static void score(const FpbEvacuateSim *sim, FpbEvacuateScore *ret)
{
    guint counted = 0;
    double sum = 0;

    *ret = (FpbEvacuateScore){.makespan_s = sim->now, .mean_completion_s = sim->now};
    for (guint i = 0; i < sim->n; i++) {
        const FpbEvacuateSimVm *vm = &sim->vms[i];

        if (sim->jobs[i].refusal != NULL) {
            continue;
        }
        counted++;
        sum += vm->finish_s;
        ret->makespan_s = MAX(ret->makespan_s, vm->finish_s);
        ret->bytes += vm->bytes;
        if (fpb_evacuate_job_active(&sim->jobs[i]) && !vm->converges) {
            ret->not_converging++;
        }
    }
    if (counted > 0) {
        ret->mean_completion_s = sum / counted;
    }
}

void fpb_evacuate_sim_run(FpbEvacuateSim *sim, guint parallel, const FpbPolicyMode *modes,
                          const guint *order, guint n_order, FpbEvacuateSimVm *ret_vms,
                          FpbEvacuateScore *ret_score)
{
    /* every event finishes a job or lets one start: 2 per job bound it */
    guint events = 4 * sim->n + 8;
    double t = sim->now;

    g_return_if_fail(parallel >= 1);
    reset(sim);
    while (isfinite(t) && events-- > 0) {
        t = step(sim, parallel, modes, order, n_order, t);
    }
    g_warn_if_fail(!isfinite(t));
    score(sim, ret_score);
    if (ret_vms != NULL) {
        memcpy(ret_vms, sim->vms, sim->n * sizeof(*ret_vms));
    }
}
