/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-evacuate"

#include <math.h>
#include <string.h>

#include "fpb-evacuate-plan.h"
#include "fpb-cost-model.h"
#include "fpb-evacuate-search.h"
#include "fpb-policy-history.h"

GQuark fpb_evacuate_error_quark(void)
{
    return g_quark_from_static_string("fpb-evacuate-error-quark");
}

void fpb_evacuate_vm_init(FpbEvacuateVm *vm, const char *name, const FpbPolicyFacts *facts)
{
    *vm = (FpbEvacuateVm){
        .name = name,
        .facts = *facts,
        .state = FPB_EVACUATE_VM_PENDING,
        .mode = FPB_POLICY_MODE_NONE,
        .prep_started_s = -1,
        .migration_started_s = -1,
        .share_bytes_per_second = -1,
        .progress = -1,
        .finished_s = -1,
    };
}

void fpb_evacuate_plan_free(FpbEvacuatePlan *plan)
{
    if (plan == NULL) {
        return;
    }
    for (guint i = 0; i < plan->n_vms; i++) {
        g_free(plan->vms[i].name);
        g_free(plan->vms[i].refusal);
    }
    g_free(plan->vms);
    g_free(plan);
}

static gboolean validate_options(const FpbEvacuateOptions *o, guint n_vms, double now_s,
                                 GError **error)
{
    double lo, hi;

    fpb_policy_quantity_limits(FPB_POLICY_QUANTITY_BANDWIDTH, &lo, &hi);
    if (!(o->link_bytes_per_second >= lo && o->link_bytes_per_second <= hi)) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "link bandwidth %g B/s is not between %g and %g B/s", o->link_bytes_per_second,
                    lo, hi);
        return FALSE;
    }
    if (o->parallel > FPB_EVACUATE_MAX_PARALLEL) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "parallel %u is more than %d", o->parallel, FPB_EVACUATE_MAX_PARALLEL);
        return FALSE;
    }
    if (!(o->deadline_s >= 0) || !isfinite(o->deadline_s)) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "deadline %g s is not a time (0 = none)", o->deadline_s);
        return FALSE;
    }
    if (!(now_s >= 0) || !isfinite(now_s)) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "now %g s is not a time since the evacuation started", now_s);
        return FALSE;
    }
    if (n_vms > FPB_EVACUATE_MAX_VMS) {
        g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                    "%u VMs are more than %d in one plan", n_vms, FPB_EVACUATE_MAX_VMS);
        return FALSE;
    }
    return TRUE;
}

/* The jobs of an evacuation, and the names they go by. */
typedef struct {
    FpbEvacuateJob *jobs;
    char **names;
    guint n;
} Jobs;

static void jobs_clear(Jobs *j)
{
    for (guint i = 0; i < j->n && j->jobs != NULL; i++) {
        fpb_evacuate_job_clear(&j->jobs[i]);
    }
    g_clear_pointer(&j->jobs, g_free);
    g_clear_pointer(&j->names, g_strfreev);
}

static gboolean jobs_init(Jobs *j, const FpbEvacuateVm *vms, guint n, double link, double now_s,
                          GError **error)
{
    j->n = n;
    j->jobs = g_new0(FpbEvacuateJob, n + 1);
    j->names = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        j->names[i] = vms[i].name != NULL ? g_strdup(vms[i].name) : g_strdup_printf("vm-%u", i);
        if (!fpb_evacuate_job_init(&j->jobs[i], &vms[i], j->names[i], link, now_s, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* The most migrations at once worth trying: the option, never more than
 * there are VMs left to move. */
static guint max_parallel(const Jobs *j, const FpbEvacuateOptions *o)
{
    guint left = 0;

    for (guint i = 0; i < j->n; i++) {
        left += fpb_evacuate_job_active(&j->jobs[i]) ? 1 : 0;
    }
    left = MAX(left, 1);
    return o->parallel > 0 ? MIN(o->parallel, left) : MIN((guint)FPB_EVACUATE_MAX_PARALLEL, left);
}

static gboolean same_vms(const Jobs *j, const FpbEvacuatePlan *previous)
{
    if (previous == NULL || previous->n_vms != j->n) {
        return FALSE;
    }
    for (guint i = 0; i < j->n; i++) {
        if (g_strcmp0(previous->vms[i].name, j->names[i]) != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

/* When @previous has the VM going on the link (unknown: last). */
static double previous_start(const FpbEvacuatePlan *previous, guint job)
{
    const FpbEvacuatePlanVm *pv = &previous->vms[job];

    return pv->refusal == NULL && pv->migration_start_s >= 0 ? pv->migration_start_s : INFINITY;
}

/* The plan being run as a candidate: its parallelism, its modes where they
 * can still run, the waiting VMs in the order it starts them. */
static gboolean seed_from(const Jobs *j, const FpbEvacuatePlan *previous, FpbEvacuateCandidate *c)
{
    guint n_order = 0;

    if (!same_vms(j, previous)) {
        return FALSE;
    }
    for (guint i = 0; i < j->n; i++) {
        n_order += fpb_evacuate_job_waiting(&j->jobs[i]) ? 1 : 0;
    }
    fpb_evacuate_candidate_init(c, j->n, n_order);
    c->parallel = MAX(previous->parallel, 1);
    n_order = 0;
    for (guint i = 0; i < j->n; i++) {
        const FpbEvacuateJob *job = &j->jobs[i];
        FpbPolicyMode m = previous->vms[i].mode;
        guint at = n_order;

        c->modes[i] = job->decided;
        if (job->state == FPB_EVACUATE_VM_PENDING && previous->vms[i].refusal == NULL &&
            (guint)m < FPB_POLICY_N_MODES && job->feasible[m]) {
            c->modes[i] = m;
        }
        if (!fpb_evacuate_job_waiting(job)) {
            continue;
        }
        /* insertion by previous start, stable on ties */
        while (at > 0 && previous_start(previous, c->order[at - 1]) > previous_start(previous, i)) {
            c->order[at] = c->order[at - 1];
            at--;
        }
        c->order[at] = i;
        n_order++;
    }
    return TRUE;
}

static void fill_vm(FpbEvacuatePlanVm *pv, const FpbEvacuateJob *job, FpbPolicyMode mode,
                    const FpbEvacuateSimVm *sv, double now_s)
{
    pv->mode = mode;
    pv->migration_start_s = sv->migration_start_s;
    pv->migration_end_s = sv->migration_end_s;
    pv->finish_s = sv->finish_s;
    pv->share_bytes_per_second = sv->share;
    pv->bytes = fpb_cost_model_round_bytes(sv->bytes);
    pv->converges = sv->converges;
    /* inflation ends when the VM goes on the link: the guest gives its
     * memory up as late as the plan allows */
    pv->prep_start_s = job->state == FPB_EVACUATE_VM_PENDING
                           ? MAX(now_s, sv->migration_start_s - job->prep_seconds[mode])
                           : job->prep_started_s;
}

static FpbEvacuatePlan *build_plan(const Jobs *j, const FpbEvacuateCandidate *best,
                                   const FpbEvacuateSimVm *sim_vms, const FpbEvacuateOptions *o,
                                   double now_s)
{
    FpbEvacuatePlan *plan = g_new0(FpbEvacuatePlan, 1);

    plan->n_vms = j->n;
    plan->vms = g_new0(FpbEvacuatePlanVm, j->n + 1);
    for (guint i = 0; i < j->n; i++) {
        FpbEvacuatePlanVm *pv = &plan->vms[i];

        pv->name = g_strdup(j->names[i]);
        pv->state = j->jobs[i].state;
        if (j->jobs[i].refusal != NULL) {
            pv->refusal = g_strdup(j->jobs[i].refusal);
            plan->n_refused++;
            continue;
        }
        fill_vm(pv, &j->jobs[i], best->modes[i], &sim_vms[i], now_s);
    }
    plan->now_s = now_s;
    plan->link_bytes_per_second = o->link_bytes_per_second;
    plan->parallel = best->parallel;
    plan->makespan_s = best->score.makespan_s;
    plan->mean_completion_s = best->score.mean_completion_s;
    plan->bytes = fpb_cost_model_round_bytes(best->score.bytes);
    plan->link_bound_s = now_s + best->score.bytes / o->link_bytes_per_second;
    plan->deadline_s = o->deadline_s;
    plan->deadline_met = o->deadline_s == 0 || plan->makespan_s <= o->deadline_s;
    plan->n_not_converging = best->score.not_converging;
    return plan;
}

FpbEvacuatePlan *fpb_evacuate_plan_replan(const FpbEvacuateVm *vms, guint n_vms,
                                          const FpbEvacuateOptions *options, double now_s,
                                          const FpbEvacuatePlan *previous, GError **error)
{
    Jobs j = {0};
    FpbEvacuateCandidate seed = {0}, best = {0};
    FpbEvacuateSearchOptions so = {0};
    g_autoptr(FpbEvacuateSim) sim = NULL;
    g_autofree FpbEvacuateSimVm *sim_vms = NULL;
    FpbEvacuatePlan *plan;

    g_return_val_if_fail(options != NULL && (vms != NULL || n_vms == 0), NULL);
    if (!validate_options(options, n_vms, now_s, error) ||
        !jobs_init(&j, vms, n_vms, options->link_bytes_per_second, now_s, error)) {
        jobs_clear(&j);
        return NULL;
    }
    so.max_parallel = max_parallel(&j, options);
    so.deadline_s = options->deadline_s;
    so.seed = seed_from(&j, previous, &seed) ? &seed : NULL;
    sim = fpb_evacuate_sim_new(j.jobs, j.n, options->link_bytes_per_second, now_s);
    fpb_evacuate_search_run(sim, j.jobs, j.n, options->link_bytes_per_second, &so, &best);
    sim_vms = g_new0(FpbEvacuateSimVm, j.n + 1);
    fpb_evacuate_sim_run(sim, best.parallel, best.modes, best.order, best.n_order, sim_vms,
                         &best.score);
    plan = build_plan(&j, &best, sim_vms, options, now_s);
    fpb_evacuate_candidate_clear(&seed);
    fpb_evacuate_candidate_clear(&best);
    jobs_clear(&j);
    return plan;
}

FpbEvacuatePlan *fpb_evacuate_plan_new(const FpbEvacuateVm *vms, guint n_vms,
                                       const FpbEvacuateOptions *options, GError **error)
{
    g_return_val_if_fail(vms != NULL || n_vms == 0, NULL);
    for (guint i = 0; i < n_vms; i++) {
        if (vms[i].state != FPB_EVACUATE_VM_PENDING) {
            g_set_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID,
                        "VM '%s' is under way already: plan again with what happened "
                        "(fpb_evacuate_plan_replan)",
                        vms[i].name != NULL ? vms[i].name : "?");
            return NULL;
        }
    }
    return fpb_evacuate_plan_replan(vms, n_vms, options, 0, NULL, error);
}

/* Lines go DONE VMs first (by finish), then by start on the link, refused
 * last; the caller's order on ties. */
static double line_key(const FpbEvacuatePlanVm *pv, int *ret_group)
{
    if (pv->refusal != NULL) {
        *ret_group = 2;
        return 0;
    }
    if (pv->state == FPB_EVACUATE_VM_DONE) {
        *ret_group = 0;
        return pv->finish_s;
    }
    *ret_group = 1;
    return pv->migration_start_s;
}

static gboolean line_before(const FpbEvacuatePlan *plan, guint a, guint b)
{
    int ga, gb;
    double ka = line_key(&plan->vms[a], &ga);
    double kb = line_key(&plan->vms[b], &gb);

    if (ga != gb) {
        return ga < gb;
    }
    if (ka != kb) {
        return ka < kb;
    }
    return a < b;
}

static void format_vm(GString *out, const FpbEvacuatePlanVm *pv, int width)
{
    static const char *const state_notes[] = {
        [FPB_EVACUATE_VM_PENDING] = "",
        [FPB_EVACUATE_VM_PREPARING] = " (inflating)",
        [FPB_EVACUATE_VM_MIGRATING] = " (on the link)",
        [FPB_EVACUATE_VM_DONE] = "",
    };
    g_autofree char *prep = NULL;

    if (pv->refusal != NULL) {
        g_string_append_printf(out, "%-*s  refused: %s\n", width, pv->name, pv->refusal);
        return;
    }
    if (pv->state == FPB_EVACUATE_VM_DONE) {
        g_string_append_printf(out, "%-*s  %-12s  done %9.1f s (reported)\n", width, pv->name,
                               fpb_policy_mode_to_string(pv->mode), pv->finish_s);
        return;
    }
    prep = fpb_policy_mode_uses_balloon(pv->mode) && pv->prep_start_s >= 0
               ? g_strdup_printf("%9.1f s", pv->prep_start_s)
               : g_strdup("        -  ");
    g_string_append_printf(out,
                           "%-*s  %-12s  prep %s  link %9.1f s at %8.1f MB/s  done %9.1f s  "
                           "%9.0f MB%s%s\n",
                           width, pv->name, fpb_policy_mode_to_string(pv->mode), prep,
                           pv->migration_start_s, pv->share_bytes_per_second / 1e6, pv->finish_s,
                           (double)pv->bytes / 1e6, pv->converges ? "" : ", may not converge",
                           state_notes[pv->state]);
}

static void format_summary(GString *out, const FpbEvacuatePlan *plan)
{
    g_string_append_printf(out,
                           "makespan %.1f s, mean completion %.1f s: %u VMs, at most %u at once "
                           "on %.1f MB/s, %.0f MB to send (the link alone needs until %.1f s)",
                           plan->makespan_s, plan->mean_completion_s, plan->n_vms - plan->n_refused,
                           plan->parallel, plan->link_bytes_per_second / 1e6,
                           (double)plan->bytes / 1e6, plan->link_bound_s);
    if (plan->deadline_s > 0 && plan->deadline_met) {
        g_string_append_printf(out, "; deadline %.1f s: met", plan->deadline_s);
    } else if (plan->deadline_s > 0) {
        g_string_append_printf(out, "; deadline %.1f s: missed by %.1f s", plan->deadline_s,
                               plan->makespan_s - plan->deadline_s);
    }
    if (plan->n_refused > 0) {
        g_string_append_printf(out, "; %u refused", plan->n_refused);
    }
    if (plan->n_not_converging > 0) {
        g_string_append_printf(out, "; %u may not converge", plan->n_not_converging);
    }
    g_string_append_c(out, '\n');
}

char *fpb_evacuate_plan_format(const FpbEvacuatePlan *plan)
{
    g_autofree guint *lines = g_new0(guint, plan->n_vms + 1);
    GString *out = g_string_new(NULL);
    int width = 4;

    for (guint i = 0; i < plan->n_vms; i++) {
        guint at = i;

        width = MAX(width, (int)strlen(plan->vms[i].name));
        while (at > 0 && line_before(plan, i, lines[at - 1])) {
            lines[at] = lines[at - 1];
            at--;
        }
        lines[at] = i;
    }
    for (guint i = 0; i < plan->n_vms; i++) {
        format_vm(out, &plan->vms[lines[i]], width);
    }
    format_summary(out, plan);
    return g_string_free(out, FALSE);
}
