/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbEvacuatePlan: how to empty a host, many VMs over one link (issue 16,
 * docs/evacuate.md). For every VM it picks the mode, when its inflation
 * starts, when its migration goes on the link, the share of the link it
 * gets, and when it is predicted to finish; for the whole, the predicted
 * makespan and mean completion time.
 *
 * Objective: least makespan (the last VM's predicted finish); among plans
 * whose makespans are equal within FPB_EVACUATE_TIE_SHARE (or
 * FPB_EVACUATE_TIE_SECONDS), least mean completion time; then fewest bytes.
 * Before either: fewer VMs predicted not to converge. With a deadline, a
 * plan that meets it beats one that does not, and among plans that miss it
 * the makespan alone counts (no tolerance) before the mean.
 *
 * The predictions are the cost model's (policy/), each VM's migration
 * re-predicted under the share it gets; they are predictions, not
 * promises: the caller runs the plan, reports what happened and re-plans
 * (fpb_evacuate_plan_replan()).
 *
 * Pure: no I/O, no global state, no logging; callable from any thread.
 */
#pragma once

#include <glib.h>

#include "fpb-policy-facts.h"
#include "fpb-policy-mode.h"

G_BEGIN_DECLS

/* Bounds that keep a plan's cost small: 32 VMs plan in well under 50 ms;
 * the search grows about as VMs^2 x parallel. */
#define FPB_EVACUATE_MAX_VMS 1024
#define FPB_EVACUATE_MAX_PARALLEL 64
/* Two makespans (or mean completions) within max(1%, 0.05 s) tie: the same
 * tolerance as the policy's own comparison of total times. */
#define FPB_EVACUATE_TIE_SHARE 0.01
#define FPB_EVACUATE_TIE_SECONDS 0.05
/* A migration in flight whose progress is not known and that has run past
 * its prediction is assumed to have this share of its predicted time left
 * (a judgement: it is late, by how much nobody can see). */
#define FPB_EVACUATE_LATE_REMAINING_SHARE 0.1

/* Where one VM stands when (re-)planning. */
typedef enum {
    FPB_EVACUATE_VM_PENDING = 0, /* nothing done yet: the planner chooses all */
    FPB_EVACUATE_VM_PREPARING,   /* inflating since prep_started_s, @mode fixed */
    FPB_EVACUATE_VM_MIGRATING,   /* on the link since migration_started_s, @mode fixed */
    FPB_EVACUATE_VM_DONE,        /* finished (migrated and restored) at finished_s */
} FpbEvacuateVmState;

/* One VM of the evacuation, as the caller knows it. Times are seconds since
 * the evacuation started (the plan's clock). A plain value type. */
typedef struct {
    const char *name;     /* borrowed, copied into the plan; NULL: "vm-INDEX" */
    FpbPolicyFacts facts; /* its facts; bandwidth_bytes_per_second is ignored
                           * (the planner sets each VM's cap to its share) */
    FpbEvacuateVmState state;
    FpbPolicyMode mode;            /* PREPARING, MIGRATING, DONE: the mode it runs */
    double prep_started_s;         /* PREPARING: when inflation began; else < 0 or as it was */
    double migration_started_s;    /* MIGRATING: when it went on the link; DONE: optional */
    double share_bytes_per_second; /* MIGRATING: the cap it runs under; <= 0 unknown */
    double progress;               /* MIGRATING: share of the migration done, 0..1;
                                    * < 0 unknown (estimated from the time it ran) */
    double finished_s;             /* DONE: when it finished */
} FpbEvacuateVm;

/* A pending VM with @facts (copied) and everything else unknown. */
void fpb_evacuate_vm_init(FpbEvacuateVm *vm, const char *name, const FpbPolicyFacts *facts);

typedef struct {
    double link_bytes_per_second; /* the link's bandwidth L, 1 MB/s .. 100 GB/s */
    guint parallel;               /* most migrations on the link at once; 0 = the planner
                                   * chooses (up to FPB_EVACUATE_MAX_PARALLEL) */
    double deadline_s;            /* 0 = none; else the makespan wanted */
} FpbEvacuateOptions;

/* What the plan says of one VM. Times on the plan's clock. */
typedef struct {
    char *name;
    FpbEvacuateVmState state; /* as given */
    /* non-NULL: the policy refused the VM (fpb_policy_decide()'s message);
     * it is not planned and none of the fields below are set */
    char *refusal;
    FpbPolicyMode mode;
    double prep_start_s;           /* when inflation starts (= migration_start_s without) */
    double migration_start_s;      /* when it goes on the link; < 0: not known (DONE) */
    double share_bytes_per_second; /* its cap when it starts (MIGRATING: from now on);
                                    * shares change when others start or finish */
    double migration_end_s;        /* < 0: not known (DONE) */
    double finish_s;               /* migration end + restore: its pipeline is done */
    gint64 bytes;                  /* predicted bytes still to send (0 for DONE) */
    gboolean converges;            /* predicted to reach the downtime limit */
} FpbEvacuatePlanVm;

typedef struct {
    guint n_vms;
    FpbEvacuatePlanVm *vms; /* in the caller's order */
    double now_s;           /* when the plan was made */
    double link_bytes_per_second;
    guint parallel;           /* most migrations the plan runs at once */
    double makespan_s;        /* the last finish (DONE VMs included) */
    double mean_completion_s; /* mean finish of the planned and DONE VMs */
    gint64 bytes;             /* predicted bytes still to send */
    double link_bound_s;      /* now + bytes / link: no plan sends them sooner */
    double deadline_s;        /* as asked, 0 = none */
    gboolean deadline_met;    /* TRUE without a deadline */
    guint n_refused;
    guint n_not_converging;
} FpbEvacuatePlan;

/* Plans the evacuation of @vms (all PENDING) at time 0. Returns a new plan
 * (free with fpb_evacuate_plan_free), or NULL with FPB_EVACUATE_ERROR_INVALID
 * when an option or a VM's state is out of range. A VM the policy refuses
 * is in the plan with its refusal, not an error. @vms are not modified. */
FpbEvacuatePlan *fpb_evacuate_plan_new(const FpbEvacuateVm *vms, guint n_vms,
                                       const FpbEvacuateOptions *options, GError **error);

/* Plans again at @now_s, with what happened so far: DONE VMs (their actual
 * finish counts in the makespan), VMs PREPARING or MIGRATING (their mode is
 * kept; shares are recomputed from now), and the PENDING rest (fresh facts
 * welcome). @previous (NULL: none) is the plan being run: its modes, order
 * and parallelism are tried first and kept unless something is strictly
 * better, so a re-plan does not reshuffle on ties. Errors as _new(), also
 * when a VM's times are after @now_s. */
FpbEvacuatePlan *fpb_evacuate_plan_replan(const FpbEvacuateVm *vms, guint n_vms,
                                          const FpbEvacuateOptions *options, double now_s,
                                          const FpbEvacuatePlan *previous, GError **error);

void fpb_evacuate_plan_free(FpbEvacuatePlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbEvacuatePlan, fpb_evacuate_plan_free)

/* The plan as text: one line per VM (in the order they start; DONE first,
 * refused last) and a last line with the makespan, the mean completion,
 * the parallelism, the bytes and the deadline. (transfer full) */
char *fpb_evacuate_plan_format(const FpbEvacuatePlan *plan);

#define FPB_EVACUATE_ERROR (fpb_evacuate_error_quark())
GQuark fpb_evacuate_error_quark(void);

typedef enum {
    FPB_EVACUATE_ERROR_INVALID, /* an option or a VM's state is out of range */
} FpbEvacuateError;

G_END_DECLS
