/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-evacuate"

#include <math.h>
#include <string.h>

#include "fpb-evacuate-job.h"
#include "fpb-policy-decision.h"
#include "fpb-policy-rules.h"

/* The VM's facts as the planner decides on them: alone on the link (the
 * cap is the link; shares come later) and judged by time, the objective
 * closest to the makespan (the VM's own objective is the evacuation's). */
static void planning_facts(const FpbEvacuateVm *vm, double link, FpbPolicyFacts *ret)
{
    *ret = vm->facts;
    ret->bandwidth_bytes_per_second = link;
    ret->policy.objective = FPB_POLICY_OBJECTIVE_TIME;
}

/* An evacuation's streams go between hosts over TCP, where one TCG
 * stream moves a fraction of what it moves over a unix socket (the cost
 * model's prior). With the unix figure the planner saw one stream fill
 * the link and ran one VM at a time, the link half used. The VM's own
 * measured T (its history) wins over either prior. */
static void network_throughput(const FpbPolicyFacts *f, FpbCostInputs *in)
{
    if (f->accelerator != FPB_POLICY_ACCEL_KVM && f->history.bandwidth.samples == 0) {
        in->throughput = FPB_COST_PRIOR_THROUGHPUT_TCG_NETWORK;
        in->bandwidth = MIN(in->cap, in->throughput);
    }
}

static void take_mode(FpbEvacuateJob *job, FpbPolicyMode m, const FpbPolicyPrediction *p)
{
    job->feasible[m] = TRUE;
    job->inflate_bytes[m] = (double)p->inflate_bytes;
    job->prep_seconds[m] = p->prep_seconds;
    job->restore_seconds[m] = p->restore_seconds;
}

/* Each mode the policy would run when forced to it: its rules hold and a
 * migration method exists for it (postcopy, for one, excludes hints). The
 * plan forces the mode it picks, so this is what can run. */
static void pending_modes(FpbEvacuateJob *job, const FpbPolicyFacts *f)
{
    for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
        FpbPolicyFacts forced = *f;
        g_autoptr(FpbPolicyDecision) d = NULL;

        if (f->policy.mode != FPB_POLICY_REQUEST_AUTO) {
            FpbPolicyMode want;

            if (!fpb_policy_request_mode(f->policy.mode, &want) || want != (FpbPolicyMode)m) {
                continue;
            }
        }
        forced.policy.mode = fpb_policy_mode_info((FpbPolicyMode)m)->request;
        d = fpb_policy_decide(&forced, NULL);
        if (d != NULL) {
            take_mode(job, (FpbPolicyMode)m, &d->predictions[m]);
        }
    }
}

/* The first runnable mode in tie order: only when auto itself could not
 * choose (a method that excludes the mode auto liked best). */
static gboolean first_runnable(const FpbEvacuateJob *job, FpbPolicyMode *ret)
{
    for (guint rank = 0; rank < FPB_POLICY_N_MODES; rank++) {
        FpbPolicyMode m = fpb_policy_mode_by_tie_rank(rank);

        if (m < FPB_POLICY_N_MODES && job->feasible[m]) {
            *ret = m;
            return TRUE;
        }
    }
    return FALSE;
}

static void init_pending(FpbEvacuateJob *job, const FpbPolicyFacts *f, double now_s)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(FpbPolicyDecision) d = fpb_policy_decide(f, &err);

    pending_modes(job, f);
    if (d != NULL && job->feasible[d->mode]) {
        job->decided = d->mode;
    } else if (!first_runnable(job, &job->decided)) {
        job->refusal = g_strdup(err != NULL ? err->message : "no migration mode can run");
        return;
    }
    for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
        job->ready_s[m] = now_s + job->prep_seconds[m];
    }
}

static gboolean check_time(const char *name, const char *what, double t, double now_s,
                           GError **error)
{
    if (!isfinite(t) || t < 0 || t > now_s) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "VM '%s': %s %g is not between 0 and now (%g s)", name, what, t, now_s);
        return FALSE;
    }
    return TRUE;
}

/* Progress of a migration in flight: the caller's, else the time it ran
 * over its prediction under the share it runs with; a late one is assumed
 * to have FPB_EVACUATE_LATE_REMAINING_SHARE of its time left. */
static gboolean init_progress(FpbEvacuateJob *job, const FpbEvacuateVm *vm, const char *name,
                              double link, double now_s, GError **error)
{
    FpbEvacuateRate r;
    double share;

    if (vm->progress >= 0) {
        if (!(vm->progress <= 1.0)) {
            g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                        "VM '%s': progress %g is not between 0 and 1", name, vm->progress);
            return FALSE;
        }
        job->progress = vm->progress;
        return TRUE;
    }
    if (isnan(vm->progress) || isnan(vm->share_bytes_per_second)) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "VM '%s': progress or share is not a number", name);
        return FALSE;
    }
    share = vm->share_bytes_per_second > 0 ? MIN(vm->share_bytes_per_second, link)
                                           : MIN(fpb_evacuate_job_throughput(job), link);
    fpb_evacuate_job_predict(job, job->decided, share, &r);
    job->progress = r.seconds > 0 ? (now_s - job->migration_started_s) / r.seconds : 1.0;
    job->progress = MIN(job->progress, 1.0 - FPB_EVACUATE_LATE_REMAINING_SHARE);
    return TRUE;
}

static gboolean init_times(FpbEvacuateJob *job, const FpbEvacuateVm *vm, const char *name,
                           double link, double now_s, GError **error)
{
    switch (vm->state) {
    case FPB_EVACUATE_VM_PREPARING:
        if (!check_time(name, "prep_started_s", vm->prep_started_s, now_s, error)) {
            return FALSE;
        }
        job->ready_s[vm->mode] = MAX(now_s, vm->prep_started_s + job->prep_seconds[vm->mode]);
        return TRUE;
    case FPB_EVACUATE_VM_MIGRATING:
        if (!check_time(name, "migration_started_s", vm->migration_started_s, now_s, error)) {
            return FALSE;
        }
        job->migration_started_s = vm->migration_started_s;
        return init_progress(job, vm, name, link, now_s, error);
    case FPB_EVACUATE_VM_DONE:
    default:
        if (!check_time(name, "finished_s", vm->finished_s, now_s, error)) {
            return FALSE;
        }
        job->finished_s = vm->finished_s;
        job->migration_started_s = isfinite(vm->migration_started_s) ? vm->migration_started_s : -1;
        return TRUE;
    }
}

/* A VM already under way: its mode is kept whatever the rules say now
 * (it is running); the model prices what is left of it. */
static gboolean init_started(FpbEvacuateJob *job, const FpbEvacuateVm *vm, const FpbPolicyFacts *f,
                             const char *name, double link, double now_s, GError **error)
{
    FpbPolicyPrediction p = {0};
    g_autoptr(GError) err = NULL;

    if ((guint)vm->mode >= FPB_POLICY_N_MODES) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "VM '%s': mode %d is not a migration mode", name, (int)vm->mode);
        return FALSE;
    }
    job->decided = vm->mode;
    job->prep_started_s = isfinite(vm->prep_started_s) ? vm->prep_started_s : -1;
    if (vm->state == FPB_EVACUATE_VM_DONE) {
        return init_times(job, vm, name, link, now_s, error);
    }
    if (!fpb_policy_facts_validate(f, &err)) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID, "VM '%s': %s", name,
                    err->message);
        return FALSE;
    }
    fpb_policy_rules_evaluate(f, &job->in, vm->mode, &p);
    take_mode(job, vm->mode, &p);
    fpb_policy_prediction_clear(&p);
    return init_times(job, vm, name, link, now_s, error);
}

gboolean fpb_evacuate_job_init(FpbEvacuateJob *job, const FpbEvacuateVm *vm, const char *name,
                               double link, double now_s, GError **error)
{
    FpbPolicyFacts f;

    memset(job, 0, sizeof(*job));
    job->state = vm->state;
    job->migration_started_s = -1;
    job->prep_started_s = -1;
    planning_facts(vm, link, &f);
    fpb_cost_model_inputs(&f, &job->in);
    network_throughput(&f, &job->in);
    if ((guint)vm->state > FPB_EVACUATE_VM_DONE) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "VM '%s': state %d is not a VM state", name, (int)vm->state);
        return FALSE;
    }
    if (vm->state == FPB_EVACUATE_VM_PENDING) {
        init_pending(job, &f, now_s);
        return TRUE;
    }
    return init_started(job, vm, &f, name, link, now_s, error);
}

void fpb_evacuate_job_clear(FpbEvacuateJob *job)
{
    g_clear_pointer(&job->refusal, g_free);
}

double fpb_evacuate_job_throughput(const FpbEvacuateJob *job)
{
    return job->in.throughput;
}

gboolean fpb_evacuate_job_active(const FpbEvacuateJob *job)
{
    return job->refusal == NULL && job->state != FPB_EVACUATE_VM_DONE;
}

gboolean fpb_evacuate_job_waiting(const FpbEvacuateJob *job)
{
    return job->refusal == NULL &&
           (job->state == FPB_EVACUATE_VM_PENDING || job->state == FPB_EVACUATE_VM_PREPARING);
}

static guint cache_slot(double share)
{
    guint64 bits;

    memcpy(&bits, &share, sizeof(bits));
    bits ^= bits >> 29;
    bits *= G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
    return (guint)(bits >> 59) % FPB_EVACUATE_JOB_CACHE;
}

void fpb_evacuate_job_predict(FpbEvacuateJob *job, FpbPolicyMode mode, double share,
                              FpbEvacuateRate *ret)
{
    FpbEvacuateJobCacheSlot *slot = &job->cache[mode][cache_slot(share)];
    FpbCostInputs in = job->in;
    FpbPolicyPrediction p = {0};

    if (slot->share == share) {
        *ret = slot->rate;
        return;
    }
    in.cap = share;
    in.bandwidth = MIN(share, in.throughput);
    fpb_cost_model_predict(&in, mode, job->inflate_bytes[mode], &p);
    slot->share = share;
    slot->rate = (FpbEvacuateRate){
        .seconds = p.migrate_seconds,
        .bytes = (double)p.bytes,
        .converges = p.converges,
    };
    *ret = slot->rate;
}
