/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbEvacuateJob: one VM of an evacuation as the planner sees it: which
 * modes may run (the policy's rules), what each costs before and after
 * the migration (inflation, restore), and its migration re-predicted by
 * the cost model under any share of the link (docs/evacuate.md, "Model").
 * Internal to evacuate/; tests use it.
 */
#pragma once

#include "fpb-cost-model.h"
#include "fpb-evacuate-plan.h"

G_BEGIN_DECLS

/* The cost model's answer for one mode under one share. */
typedef struct {
    double seconds; /* the migration alone (migrate_seconds) */
    double bytes;
    gboolean converges;
} FpbEvacuateRate;

/* Predictions are cached per mode by share: a search asks for the same
 * few shares (link / k) thousands of times. */
#define FPB_EVACUATE_JOB_CACHE 32

typedef struct {
    double share; /* 0: empty slot */
    FpbEvacuateRate rate;
} FpbEvacuateJobCacheSlot;

typedef struct {
    FpbEvacuateVmState state;
    char *refusal; /* owned; non-NULL: the policy refused the VM */
    FpbCostInputs in;
    gboolean feasible[FPB_POLICY_N_MODES];
    double inflate_bytes[FPB_POLICY_N_MODES];
    double prep_seconds[FPB_POLICY_N_MODES];
    double restore_seconds[FPB_POLICY_N_MODES];
    /* PENDING: fpb_policy_decide()'s pick for the VM alone on the link,
     * objective time; started VMs: their mode */
    FpbPolicyMode decided;
    double ready_s[FPB_POLICY_N_MODES]; /* earliest migration start per mode */
    double progress;                    /* MIGRATING: share done at the plan's now */
    double migration_started_s;         /* MIGRATING, DONE (< 0 unknown) */
    double prep_started_s;              /* PREPARING, MIGRATING, DONE (< 0 unknown) */
    double finished_s;                  /* DONE */
    FpbEvacuateJobCacheSlot cache[FPB_POLICY_N_MODES][FPB_EVACUATE_JOB_CACHE];
} FpbEvacuateJob;

/* Fills @job for @vm at time @now_s on a link of @link bytes/s. A VM the
 * policy refuses gets job->refusal and returns TRUE; FALSE with
 * FPB_EVACUATE_ERROR_INVALID when a started VM's facts or times cannot be
 * used (its name in the message). Clear with fpb_evacuate_job_clear(). */
gboolean fpb_evacuate_job_init(FpbEvacuateJob *job, const FpbEvacuateVm *vm, const char *name,
                               double link, double now_s, GError **error);

void fpb_evacuate_job_clear(FpbEvacuateJob *job);

/* The migration of @job in @mode when its cap is @share bytes/s (> 0):
 * the cost model with C = share, W = min(C, T). */
void fpb_evacuate_job_predict(FpbEvacuateJob *job, FpbPolicyMode mode, double share,
                              FpbEvacuateRate *ret);

/* T: the most the VM's migration moves, whatever its share. */
double fpb_evacuate_job_throughput(const FpbEvacuateJob *job);

/* The job takes part in the simulation (not refused, not DONE). */
gboolean fpb_evacuate_job_active(const FpbEvacuateJob *job);

/* Waits for the link: PENDING or PREPARING (not refused). */
gboolean fpb_evacuate_job_waiting(const FpbEvacuateJob *job);

G_END_DECLS
