/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The evacuation planner (host-plugin/evacuate/, docs/evacuate.md): one VM
 * is the policy's own decision; inflation overlaps others' transfers; a
 * slow link is the bound; a fast link with slow VMs wants parallelism;
 * `parallel` and the deadline are kept; a re-plan moves what is left;
 * deterministic, fast, and safe at 4 PiB.
 */
#include <math.h>
#include <string.h>

#include "fpb-cost-model.h"
#include "fpb-evacuate-plan.h"
#include "fpb-evacuate-search.h"
#include "fpb-evacuate-sim.h"
#include "fpb-policy-decision.h"

#define MIB (1024 * 1024LL)
#define GIB (1024 * MIB)
#define GBE10 1.25e9 /* a 10 Gbit/s link */

/* A KVM guest on a fixed QEMU with fpb's driver: every mode allowed. */
static void kvm_facts(FpbPolicyFacts *f, gint64 ram, gint64 free_bytes, double dirty)
{
    fpb_policy_facts_init(f);
    f->ram_bytes = ram;
    f->balloon_actual_bytes = ram;
    f->accelerator = FPB_POLICY_ACCEL_KVM;
    g_assert_true(fpb_policy_qemu_set_version(&f->qemu, 9, 0, 0));
    g_assert_true(fpb_policy_qemu_set_package(&f->qemu, ""));
    f->guest.free_page_hint = TRUE;
    f->guest.stats_queue = TRUE;
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
    f->stats.free_bytes = free_bytes;
    f->stats.available_bytes = free_bytes;
    f->stats.age_seconds = 1.0;
    f->dirty_rate_bytes_per_second = dirty;
    f->can_restore = TRUE;
    f->hints_can_be_disabled = TRUE;
}

/* A TCG guest on fpb's patched QEMU 7.2 whose migrations were measured
 * to move 266 MB/s (T from its history: the planner and the policy see
 * the same T), far below a 10 Gbit/s link. */
static void tcg_facts(FpbPolicyFacts *f, gint64 ram, gint64 free_bytes, double dirty)
{
    kvm_facts(f, ram, free_bytes, dirty);
    f->accelerator = FPB_POLICY_ACCEL_TCG;
    g_assert_true(fpb_policy_qemu_set_version(&f->qemu, 7, 2, 22));
    g_assert_true(
        fpb_policy_qemu_set_package(&f->qemu, "Debian 1:7.2+dfsg-7+deb12u18 fpb-patched"));
    f->history.bandwidth = (FpbPolicyEstimate){.value = 266e6, .samples = 3};
}

/* Only 'none' can run: no hints negotiated, no balloon allowed. */
static void only_none(FpbPolicyFacts *f)
{
    f->guest.free_page_hint = FALSE;
    f->policy.balloon_allowed = FALSE;
}

static FpbEvacuateOptions options(double link, guint parallel, double deadline)
{
    return (FpbEvacuateOptions){
        .link_bytes_per_second = link,
        .parallel = parallel,
        .deadline_s = deadline,
    };
}

static FpbEvacuatePlan *plan_or_die(const FpbEvacuateVm *vms, guint n, FpbEvacuateOptions o)
{
    g_autoptr(GError) error = NULL;
    FpbEvacuatePlan *plan = fpb_evacuate_plan_new(vms, n, &o, &error);

    g_assert_no_error(error);
    g_assert_nonnull(plan);
    return plan;
}

/* The most planned migrations on the link at one instant. */
static guint max_concurrent(const FpbEvacuatePlan *plan)
{
    guint most = 0;

    for (guint i = 0; i < plan->n_vms; i++) {
        const FpbEvacuatePlanVm *a = &plan->vms[i];
        guint here = 0;

        if (a->refusal != NULL || a->state == FPB_EVACUATE_VM_DONE) {
            continue;
        }
        for (guint j = 0; j < plan->n_vms; j++) {
            const FpbEvacuatePlanVm *b = &plan->vms[j];

            if (b->refusal == NULL && b->state != FPB_EVACUATE_VM_DONE &&
                b->migration_start_s <= a->migration_start_s &&
                a->migration_start_s < b->migration_end_s) {
                here++;
            }
        }
        most = MAX(most, here);
    }
    return most;
}

/* What every plan must hold, whatever the VMs. */
static void check_plan(const FpbEvacuatePlan *plan)
{
    double latest = plan->now_s, sum = 0;
    guint counted = 0;

    g_assert_true(isfinite(plan->makespan_s) && isfinite(plan->mean_completion_s));
    g_assert_cmpint(plan->bytes, >=, 0);
    g_assert_cmpuint(plan->parallel, >=, 1);
    for (guint i = 0; i < plan->n_vms; i++) {
        const FpbEvacuatePlanVm *v = &plan->vms[i];

        g_assert_nonnull(v->name);
        if (v->refusal != NULL) {
            continue;
        }
        counted++;
        sum += v->finish_s;
        latest = MAX(latest, v->finish_s);
        if (v->state == FPB_EVACUATE_VM_DONE) {
            continue;
        }
        g_assert_true(isfinite(v->prep_start_s) && isfinite(v->migration_start_s) &&
                      isfinite(v->migration_end_s) && isfinite(v->finish_s));
        if (v->state == FPB_EVACUATE_VM_PENDING) {
            g_assert_cmpfloat(v->prep_start_s, >=, plan->now_s);
            g_assert_cmpfloat(v->migration_start_s, >=, plan->now_s);
        }
        g_assert_cmpfloat(v->prep_start_s, <=, v->migration_start_s);
        g_assert_cmpfloat(v->migration_end_s, >=, v->migration_start_s);
        g_assert_cmpfloat(v->finish_s, >=, v->migration_end_s);
        g_assert_cmpfloat(v->share_bytes_per_second, >, 0);
        g_assert_cmpfloat(v->share_bytes_per_second, <=, plan->link_bytes_per_second * 1.000001);
        g_assert_cmpint(v->bytes, >=, 0);
    }
    g_assert_cmpfloat(fabs(plan->makespan_s - latest), <=, 1e-9 * MAX(1.0, latest));
    if (counted > 0) {
        g_assert_cmpfloat(fabs(plan->mean_completion_s - sum / counted), <=,
                          1e-6 * MAX(1.0, latest));
    }
    /* the link carries no more than its bandwidth: no plan beats bytes / L */
    g_assert_cmpfloat(plan->makespan_s, >=, plan->link_bound_s * (1 - 1e-9));
    g_assert_cmpuint(max_concurrent(plan), <=, plan->parallel);
}

/* One VM is fpb_policy_decide() for it, alone on the link, objective time:
 * the same mode and makespan = its predicted prep + migrate + restore. */
static void test_one_vm_is_decide(void)
{
    FpbPolicyFacts variants[6];

    kvm_facts(&variants[0], 8 * GIB, 6 * GIB, 50e6);
    tcg_facts(&variants[1], 2 * GIB, 1800 * MIB, 1e6);
    tcg_facts(&variants[2], 4 * GIB, 3 * GIB, 0);
    variants[2].guest.free_page_hint = FALSE; /* none or balloon */
    variants[2].policy.max_prep_seconds = 60;
    kvm_facts(&variants[3], 16 * GIB, 1 * GIB, 200e6);
    variants[3].policy.objective = FPB_POLICY_OBJECTIVE_BYTES; /* the plan's objective counts */
    tcg_facts(&variants[4], 1 * GIB, 900 * MIB, 20e6);
    variants[4].stats.age_seconds = -1; /* stale: no balloon */
    kvm_facts(&variants[5], 32 * GIB, 30 * GIB, 0);
    variants[5].policy.mode = FPB_POLICY_REQUEST_BALLOON; /* forced */
    for (guint i = 0; i < G_N_ELEMENTS(variants); i++) {
        const double links[] = {100e6, GBE10, 40e9};

        for (guint l = 0; l < G_N_ELEMENTS(links); l++) {
            FpbPolicyFacts f = variants[i];
            FpbEvacuateVm vm;
            g_autoptr(FpbEvacuatePlan) plan = NULL;
            g_autoptr(FpbPolicyDecision) d = NULL;
            double total;

            fpb_evacuate_vm_init(&vm, "solo", &f);
            plan = plan_or_die(&vm, 1, options(links[l], 0, 0));
            check_plan(plan);
            f.bandwidth_bytes_per_second = links[l];
            f.policy.objective = FPB_POLICY_OBJECTIVE_TIME;
            d = fpb_policy_decide(&f, NULL);
            g_assert_nonnull(d);
            total = fpb_policy_prediction_total_seconds(&d->predictions[d->mode]);
            g_assert_cmpstr(fpb_policy_mode_to_string(plan->vms[0].mode), ==,
                            fpb_policy_mode_to_string(d->mode));
            g_assert_cmpuint(plan->parallel, ==, 1);
            g_assert_cmpfloat(fabs(plan->makespan_s - total), <=, 1e-6 * total);
            g_assert_cmpfloat(
                fabs(plan->vms[0].migration_start_s - d->predictions[d->mode].prep_seconds), <=,
                1e-9 * total);
            g_assert_cmpfloat(fabs((double)(plan->vms[0].bytes - d->predictions[d->mode].bytes)),
                              <=, 1e-6 * (double)d->predictions[d->mode].bytes + 2);
        }
    }
}

/* TCG guests whose free memory is all dirty, no hints: 'none' sends all
 * of it, a balloon takes ~45 s to inflate. Alone, each is better off
 * without the balloon (decide() picks 'none'); in an evacuation the
 * inflations run while the first VM is on the link, so the rest go
 * ballooned and the whole is shorter than any sequence of VMs alone. */
static void balloon_guests(FpbEvacuateVm *vms, FpbPolicyFacts *facts, guint n)
{
    for (guint i = 0; i < n; i++) {
        tcg_facts(&facts[i], 4 * GIB, 3 * GIB, 0);
        facts[i].guest.free_page_hint = FALSE;
        facts[i].policy.max_prep_seconds = 60;
        facts[i].history.zero_share = (FpbPolicyEstimate){.value = 0.0, .samples = 1};
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
}

static gboolean overlaps(double a0, double a1, double b0, double b1)
{
    return MIN(a1, b1) - MAX(a0, b0) > 1.0;
}

static void test_prep_overlaps_transfers(void)
{
    FpbEvacuateVm vms[4];
    FpbPolicyFacts facts[4];
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) all_none = NULL;
    double alone = 0;
    guint ballooned = 0, overlapping = 0;

    balloon_guests(vms, facts, 4);
    for (guint i = 0; i < 4; i++) {
        FpbPolicyFacts f = facts[i];
        g_autoptr(FpbPolicyDecision) d = NULL;

        f.bandwidth_bytes_per_second = 100e6;
        d = fpb_policy_decide(&f, NULL);
        g_assert_nonnull(d);
        g_assert_cmpint(d->mode, ==, FPB_POLICY_MODE_NONE);
        alone += fpb_policy_prediction_total_seconds(&d->predictions[d->mode]);
    }
    plan = plan_or_die(vms, 4, options(100e6, 0, 0));
    check_plan(plan);
    for (guint i = 0; i < 4; i++) {
        const FpbEvacuatePlanVm *a = &plan->vms[i];

        if (!fpb_policy_mode_uses_balloon(a->mode)) {
            continue;
        }
        ballooned++;
        for (guint j = 0; j < 4; j++) {
            const FpbEvacuatePlanVm *b = &plan->vms[j];

            if (j != i && overlaps(a->prep_start_s, a->migration_start_s, b->migration_start_s,
                                   b->migration_end_s)) {
                overlapping++;
                break;
            }
        }
    }
    g_assert_cmpuint(ballooned, >=, 2);
    g_assert_cmpuint(overlapping, >=, 1);
    g_assert_cmpfloat(plan->makespan_s, <, 0.8 * alone);
    for (guint i = 0; i < 4; i++) {
        vms[i].facts.policy.mode = FPB_POLICY_REQUEST_NONE;
    }
    all_none = plan_or_die(vms, 4, options(100e6, 0, 0));
    g_assert_cmpfloat(plan->makespan_s, <, 0.9 * all_none->makespan_s);
}

/* KVM guests (QEMU's throughput is the 100 GB/s prior) on a 100 MB/s
 * link: the link is the bottleneck, the makespan is sum(bytes) / L, and
 * one at a time finishes each VM as early as possible. */
static void test_slow_link_is_the_bound(void)
{
    const double dirty[] = {0, 2e6};

    for (guint d = 0; d < G_N_ELEMENTS(dirty); d++) {
        FpbEvacuateVm vms[5];
        FpbPolicyFacts facts[5];
        g_autoptr(FpbEvacuatePlan) plan = NULL;
        double bytes = 0;

        for (guint i = 0; i < 5; i++) {
            kvm_facts(&facts[i], (gint64)(i + 1) * GIB, FPB_POLICY_UNKNOWN, dirty[d]);
            facts[i].stats.age_seconds = -1;
            only_none(&facts[i]);
            fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
        }
        plan = plan_or_die(vms, 5, options(100e6, 0, 0));
        check_plan(plan);
        for (guint i = 0; i < 5; i++) {
            bytes += (double)plan->vms[i].bytes;
        }
        g_assert_cmpuint(plan->parallel, ==, 1);
        g_assert_cmpfloat(plan->makespan_s, >=, bytes / 100e6 * (1 - 1e-9));
        g_assert_cmpfloat(plan->makespan_s, <=, bytes / 100e6 * 1.01);
    }
}

/* Eight TCG guests (266 MB/s each) on a 10 Gbit/s link: one alone leaves
 * most of the link idle, so the plan runs several at once, and is far
 * shorter than one at a time. */
static void fast_link_guests(FpbEvacuateVm *vms, FpbPolicyFacts *facts, guint n)
{
    for (guint i = 0; i < n; i++) {
        tcg_facts(&facts[i], 2 * GIB, 512 * MIB, 10e6);
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
}

static void test_fast_link_wants_parallelism(void)
{
    FpbEvacuateVm vms[8];
    FpbPolicyFacts facts[8];
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) serial = NULL;

    fast_link_guests(vms, facts, 8);
    plan = plan_or_die(vms, 8, options(GBE10, 0, 0));
    serial = plan_or_die(vms, 8, options(GBE10, 1, 0));
    check_plan(plan);
    check_plan(serial);
    g_assert_cmpuint(plan->parallel, >=, 4);
    g_assert_cmpuint(max_concurrent(plan), >=, 4);
    g_assert_cmpuint(serial->parallel, ==, 1);
    g_assert_cmpuint(max_concurrent(serial), ==, 1);
    g_assert_cmpfloat(plan->makespan_s, <, 0.4 * serial->makespan_s);
    /* each runs at its own throughput: the link is not what holds it */
    for (guint i = 0; i < 8; i++) {
        g_assert_cmpfloat(plan->vms[i].share_bytes_per_second, <=, 266e6 * 1.000001);
    }
}

/* Without a measured T, a TCG stream between hosts is taken to move
 * FPB_COST_PRIOR_THROUGHPUT_TCG_NETWORK, not the unix-socket prior: on a
 * 1 Gbit/s link two guests go at once, each within that rate; measured
 * at 266 MB/s, their shares are what the link gives. */
static void test_tcg_network_prior(void)
{
    FpbEvacuateVm vms[2];
    FpbPolicyFacts facts[2];
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) measured = NULL;

    for (guint i = 0; i < 2; i++) {
        tcg_facts(&facts[i], GIB, 512 * MIB, 0);
        facts[i].history.bandwidth.samples = 0;
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
    plan = plan_or_die(vms, 2, options(125e6, 0, 0));
    check_plan(plan);
    g_assert_cmpuint(max_concurrent(plan), ==, 2);
    for (guint i = 0; i < 2; i++) {
        g_assert_cmpfloat(plan->vms[i].share_bytes_per_second, <=,
                          FPB_COST_PRIOR_THROUGHPUT_TCG_NETWORK * 1.000001);
        facts[i].history.bandwidth.samples = 3;
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
    measured = plan_or_die(vms, 2, options(125e6, 0, 0));
    check_plan(measured);
    g_assert_cmpfloat(measured->vms[0].share_bytes_per_second, >,
                      FPB_COST_PRIOR_THROUGHPUT_TCG_NETWORK * 1.01);
}

static void test_parallel_respected(void)
{
    FpbEvacuateVm vms[8];
    FpbPolicyFacts facts[8];

    fast_link_guests(vms, facts, 8);
    for (guint n = 1; n <= 3; n++) {
        g_autoptr(FpbEvacuatePlan) plan = plan_or_die(vms, 8, options(GBE10, n, 0));

        check_plan(plan);
        g_assert_cmpuint(plan->parallel, <=, n);
        g_assert_cmpuint(max_concurrent(plan), <=, n);
    }
}

static void test_deadline(void)
{
    FpbEvacuateVm vms[4];
    FpbPolicyFacts facts[4];
    g_autoptr(FpbEvacuatePlan) free_plan = NULL;
    g_autoptr(FpbEvacuatePlan) missed = NULL;
    g_autoptr(FpbEvacuatePlan) met = NULL;
    g_autofree char *text = NULL;

    balloon_guests(vms, facts, 4);
    free_plan = plan_or_die(vms, 4, options(100e6, 0, 0));
    g_assert_true(free_plan->deadline_met);
    missed = plan_or_die(vms, 4, options(100e6, 0, 10));
    check_plan(missed);
    g_assert_false(missed->deadline_met);
    g_assert_cmpfloat(missed->deadline_s, ==, 10);
    /* a missed deadline: the least makespan found, whatever the mean */
    g_assert_cmpfloat(missed->makespan_s, <=, free_plan->makespan_s * (1 + 1e-9));
    text = fpb_evacuate_plan_format(missed);
    g_assert_nonnull(strstr(text, "deadline 10.0 s: missed by"));
    met = plan_or_die(vms, 4, options(100e6, 0, free_plan->makespan_s * 1.5));
    g_assert_true(met->deadline_met);
}

/* The VM of @plan that goes on the link first. */
static guint first_started(const FpbEvacuatePlan *plan)
{
    guint first = 0;

    for (guint i = 1; i < plan->n_vms; i++) {
        if (plan->vms[i].migration_start_s < plan->vms[first].migration_start_s) {
            first = i;
        }
    }
    return first;
}

/* @vms[@first] reported done at @now (as @plan had it, but late). */
static FpbEvacuatePlan *replan_done_late(FpbEvacuateVm *vms, guint n, FpbEvacuateOptions o,
                                         const FpbEvacuatePlan *plan, guint first, double now)
{
    g_autoptr(GError) error = NULL;
    FpbEvacuatePlan *again;

    vms[first].state = FPB_EVACUATE_VM_DONE;
    vms[first].mode = plan->vms[first].mode;
    vms[first].migration_started_s = plan->vms[first].migration_start_s;
    vms[first].finished_s = now;
    again = fpb_evacuate_plan_replan(vms, n, &o, now, plan, &error);
    g_assert_no_error(error);
    check_plan(again);
    g_assert_cmpfloat(again->vms[first].finish_s, ==, now);
    for (guint i = 0; i < n; i++) {
        if (i != first) {
            g_assert_cmpfloat(again->vms[i].prep_start_s, >=, now);
            g_assert_cmpfloat(again->vms[i].migration_start_s, >=, now);
        }
    }
    return again;
}

/* Three VMs one at a time over a slow link, 'none' only; the first
 * finishes 30 s late: re-planned then, each of the others goes on the
 * link 30 s later than planned, and so does the makespan. */
static void test_replan_after_late_finish(void)
{
    FpbEvacuateVm vms[3];
    FpbPolicyFacts facts[3];
    FpbEvacuateOptions o = options(100e6, 1, 0);
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) again = NULL;
    guint first;

    for (guint i = 0; i < 3; i++) {
        kvm_facts(&facts[i], (gint64)(i + 1) * GIB, 512 * MIB, 1e6);
        only_none(&facts[i]);
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
    plan = plan_or_die(vms, 3, o);
    first = first_started(plan);
    again = replan_done_late(vms, 3, o, plan, first, plan->vms[first].finish_s + 30);
    for (guint i = 0; i < 3; i++) {
        if (i != first) {
            g_assert_cmpfloat(
                fabs(again->vms[i].migration_start_s - (plan->vms[i].migration_start_s + 30)), <=,
                1e-6 * plan->makespan_s);
        }
    }
    g_assert_cmpfloat(fabs(again->makespan_s - (plan->makespan_s + 30)), <=,
                      1e-6 * plan->makespan_s);
}

/* The ballooned guests: while the first was on the link the others'
 * inflations were to run; re-planned 30 s after it should have ended (the
 * others not started yet), an inflation can no longer hide behind it, so
 * the plan changes their modes rather than wait for a balloon. */
static void test_replan_changes_modes(void)
{
    FpbEvacuateVm vms[3];
    FpbPolicyFacts facts[3];
    FpbEvacuateOptions o = options(100e6, 1, 0);
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) again = NULL;
    guint first, ballooned = 0, ballooned_after = 0;

    balloon_guests(vms, facts, 3);
    plan = plan_or_die(vms, 3, o);
    first = first_started(plan);
    again = replan_done_late(vms, 3, o, plan, first, plan->vms[first].finish_s + 30);
    for (guint i = 0; i < 3; i++) {
        if (i != first) {
            ballooned += fpb_policy_mode_uses_balloon(plan->vms[i].mode) ? 1 : 0;
            ballooned_after += fpb_policy_mode_uses_balloon(again->vms[i].mode) ? 1 : 0;
        }
    }
    g_assert_cmpuint(ballooned, ==, 2);
    g_assert_cmpuint(ballooned_after, <, ballooned);
    g_assert_cmpfloat(again->makespan_s, >, plan->makespan_s);
}

/* A VM on the link half done: it keeps its mode and finishes in half its
 * time at its share; what waits stays within `parallel`. */
static void test_replan_in_flight(void)
{
    FpbEvacuateVm vms[8];
    FpbPolicyFacts facts[8];
    FpbEvacuateOptions o = options(GBE10, 3, 0);
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) again = NULL;
    g_autoptr(GError) error = NULL;
    const FpbEvacuatePlanVm *v0;
    double now = 5;

    fast_link_guests(vms, facts, 8);
    plan = plan_or_die(vms, 8, o);
    v0 = &plan->vms[0];
    vms[0].state = FPB_EVACUATE_VM_MIGRATING;
    vms[0].mode = v0->mode;
    vms[0].migration_started_s = 1;
    vms[0].progress = 0.5;
    again = fpb_evacuate_plan_replan(vms, 8, &o, now, plan, &error);
    g_assert_no_error(error);
    check_plan(again);
    g_assert_cmpint(again->vms[0].mode, ==, v0->mode);
    g_assert_cmpfloat(again->vms[0].migration_start_s, ==, 1);
    /* its share now is what it had (266 MB/s, its own T, within the link) */
    g_assert_cmpfloat(fabs(again->vms[0].migration_end_s -
                           (now + 0.5 * (v0->migration_end_s - v0->migration_start_s))),
                      <=, 1e-6 * again->makespan_s);
    g_assert_cmpuint(max_concurrent(again), <=, 3);
    /* progress unknown: estimated from the time it ran */
    vms[0].progress = -1;
    g_clear_pointer(&again, fpb_evacuate_plan_free);
    again = fpb_evacuate_plan_replan(vms, 8, &o, now, plan, &error);
    g_assert_no_error(error);
    check_plan(again);
    g_assert_cmpfloat(again->vms[0].migration_end_s, >, now);
}

/* Re-planned at once with nothing changed, the plan being run stays. */
static void test_replan_keeps_the_plan(void)
{
    FpbEvacuateVm vms[8];
    FpbPolicyFacts facts[8];
    FpbEvacuateOptions o = options(GBE10, 0, 0);
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autoptr(FpbEvacuatePlan) again = NULL;
    g_autofree char *a = NULL, *b = NULL;

    fast_link_guests(vms, facts, 8);
    plan = plan_or_die(vms, 8, o);
    again = fpb_evacuate_plan_replan(vms, 8, &o, 0, plan, NULL);
    g_assert_nonnull(again);
    a = fpb_evacuate_plan_format(plan);
    b = fpb_evacuate_plan_format(again);
    g_assert_cmpstr(a, ==, b);
}

/* 32 different VMs: the same plan every time. How long planning takes is
 * printed, not asserted (a loaded CI machine took 78 ms once): a time is a
 * benchmark's figure, not a test's. */
static void mixed_guests(FpbEvacuateVm *vms, FpbPolicyFacts *facts, char **names, guint n)
{
    for (guint i = 0; i < n; i++) {
        gint64 ram = (gint64)(1 + (i * 7) % 16) * GIB;

        if (i % 3 == 0) {
            kvm_facts(&facts[i], ram, ram * (i % 5) / 6, (double)((i * 13) % 7) * 10e6);
        } else {
            tcg_facts(&facts[i], ram, ram * (1 + i % 4) / 5, (double)(i % 4) * 5e6);
        }
        if (i % 4 == 1) {
            facts[i].guest.free_page_hint = FALSE;
            facts[i].policy.max_prep_seconds = 30;
        }
        if (i % 7 == 2) {
            facts[i].history.zero_share = (FpbPolicyEstimate){.value = 0.05, .samples = 1};
        }
        names[i] = g_strdup_printf("guest-%02u", i);
        fpb_evacuate_vm_init(&vms[i], names[i], &facts[i]);
    }
}

static void test_deterministic(void)
{
    FpbEvacuateVm vms[32];
    FpbPolicyFacts facts[32];
    char *names[33] = {NULL};
    g_autofree char *first = NULL;

    mixed_guests(vms, facts, names, 32);
    for (int run = 0; run < 3; run++) {
        gint64 t0 = g_get_monotonic_time();
        g_autoptr(FpbEvacuatePlan) plan = plan_or_die(vms, 32, options(GBE10, 0, 0));
        gint64 us = g_get_monotonic_time() - t0;
        g_autofree char *text = fpb_evacuate_plan_format(plan);

        g_test_message("32 VMs planned in %.1f ms: parallel %u, makespan %.1f s", us / 1000.0,
                       plan->parallel, plan->makespan_s);
        check_plan(plan);
        if (first == NULL) {
            first = g_steal_pointer(&text);
        } else {
            g_assert_cmpstr(text, ==, first);
        }
    }
    for (guint i = 0; i < 32; i++) {
        g_free(names[i]);
    }
}

/* 4 PiB guests (FPB_POLICY_MAX_RAM_BYTES) at both ends of the link range:
 * every number finite, sizes saturate rather than wrap. */
static void test_extreme_ranges(void)
{
    const double links[] = {1e6, 100e9};
    FpbEvacuateVm vms[6];
    FpbPolicyFacts facts[6];

    for (guint i = 0; i < 6; i++) {
        kvm_facts(&facts[i], FPB_POLICY_MAX_RAM_BYTES, FPB_POLICY_MAX_RAM_BYTES / 2, 1e12);
        if (i % 2 == 1) {
            tcg_facts(&facts[i], FPB_POLICY_MAX_RAM_BYTES, FPB_POLICY_MAX_RAM_BYTES, 0);
            facts[i].policy.max_prep_seconds = 3600;
        }
        fpb_evacuate_vm_init(&vms[i], NULL, &facts[i]);
    }
    for (guint l = 0; l < G_N_ELEMENTS(links); l++) {
        g_autoptr(FpbEvacuatePlan) plan = plan_or_die(vms, 6, options(links[l], 0, 1));
        g_autofree char *text = fpb_evacuate_plan_format(plan);

        check_plan(plan);
        g_assert_false(plan->deadline_met);
        g_assert_cmpfloat(plan->makespan_s, >, 0);
        g_assert_nonnull(strstr(text, "makespan"));
    }
}

/* A VM the policy refuses is reported, not planned, and not an error. */
static void test_refused_vm(void)
{
    FpbEvacuateVm vms[3];
    FpbPolicyFacts facts[3];
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autofree char *text = NULL;

    fast_link_guests(vms, facts, 3);
    vms[1].name = "no-way-back";
    vms[1].facts.can_restore = FALSE;
    vms[1].facts.policy.mode = FPB_POLICY_REQUEST_BALLOON;
    plan = plan_or_die(vms, 3, options(GBE10, 0, 0));
    check_plan(plan);
    g_assert_cmpuint(plan->n_refused, ==, 1);
    g_assert_nonnull(plan->vms[1].refusal);
    g_assert_nonnull(strstr(plan->vms[1].refusal, "BALLOON_NO_RESTORE_PATH"));
    g_assert_null(plan->vms[0].refusal);
    text = fpb_evacuate_plan_format(plan);
    g_assert_nonnull(strstr(text, "no-way-back  refused: policy mode 'balloon' cannot run"));
}

static void expect_invalid(const FpbEvacuateVm *vms, guint n, FpbEvacuateOptions o, double now,
                           const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbEvacuatePlan) plan = fpb_evacuate_plan_replan(vms, n, &o, now, NULL, &error);

    g_assert_null(plan);
    g_assert_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID);
    if (strstr(error->message, needle) == NULL) {
        g_error("'%s' does not say '%s'", error->message, needle);
    }
}

static void test_invalid(void)
{
    FpbEvacuateVm vms[2];
    FpbPolicyFacts facts[2];
    g_autoptr(GError) error = NULL;
    FpbEvacuateOptions o = options(GBE10, 0, 0);

    fast_link_guests(vms, facts, 2);
    expect_invalid(vms, 2, options(0, 0, 0), 0, "link bandwidth");
    expect_invalid(vms, 2, options(NAN, 0, 0), 0, "link bandwidth");
    expect_invalid(vms, 2, options(1e12, 0, 0), 0, "link bandwidth");
    expect_invalid(vms, 2, options(GBE10, 65, 0), 0, "parallel 65");
    expect_invalid(vms, 2, options(GBE10, 0, -1), 0, "deadline");
    expect_invalid(vms, 2, options(GBE10, 0, INFINITY), 0, "deadline");
    expect_invalid(vms, 2, o, NAN, "now");
    vms[0].state = FPB_EVACUATE_VM_DONE;
    vms[0].finished_s = 20;
    expect_invalid(vms, 2, o, 10, "VM 'vm-0': finished_s 20");
    g_assert_null(fpb_evacuate_plan_new(vms, 2, &o, &error));
    g_assert_error(error, FPB_EVACUATE_ERROR, FPB_EVACUATE_ERROR_INVALID);
    vms[0].state = FPB_EVACUATE_VM_MIGRATING;
    vms[0].migration_started_s = 1;
    vms[0].progress = 2;
    expect_invalid(vms, 2, o, 10, "progress 2");
    vms[0].progress = 0.5;
    vms[0].mode = (FpbPolicyMode)17;
    expect_invalid(vms, 2, o, 10, "mode 17");
    vms[0].mode = FPB_POLICY_MODE_NONE;
    vms[0].facts.ram_bytes = 0;
    expect_invalid(vms, 2, o, 10, "ram_bytes");
}

/* No VMs: an empty plan that is done now. */
static void test_empty(void)
{
    FpbEvacuateOptions o = options(GBE10, 0, 5);
    g_autoptr(FpbEvacuatePlan) plan = fpb_evacuate_plan_new(NULL, 0, &o, NULL);
    g_autofree char *text = NULL;

    g_assert_nonnull(plan);
    g_assert_cmpfloat(plan->makespan_s, ==, 0);
    g_assert_true(plan->deadline_met);
    text = fpb_evacuate_plan_format(plan);
    g_assert_true(g_str_has_prefix(text, "makespan 0.0 s"));
}

/* One line per VM, in start order, and the makespan line. */
static void test_format(void)
{
    FpbEvacuateVm vms[4];
    FpbPolicyFacts facts[4];
    g_autoptr(FpbEvacuatePlan) plan = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    balloon_guests(vms, facts, 4);
    plan = plan_or_die(vms, 4, options(100e6, 0, 0));
    text = fpb_evacuate_plan_format(plan);
    g_test_message("%s", text);
    lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 4 + 2); /* the last is "" after the newline */
    g_assert_true(g_str_has_prefix(lines[4], "makespan "));
    g_assert_cmpstr(lines[5], ==, "");
    for (guint i = 0; i < 4; i++) {
        g_assert_true(g_str_has_prefix(lines[i], "vm-"));
        g_assert_nonnull(strstr(lines[i], " link "));
        g_assert_nonnull(strstr(lines[i], " MB/s "));
    }
}

static void test_water_fill(void)
{
    const double caps[] = {1, 2, 10, 10};
    double shares[4];

    fpb_evacuate_sim_water_fill(12, caps, 4, shares);
    g_assert_cmpfloat(shares[0], ==, 1);
    g_assert_cmpfloat(shares[1], ==, 2);
    g_assert_cmpfloat(shares[2], ==, 4.5);
    g_assert_cmpfloat(shares[3], ==, 4.5);
    fpb_evacuate_sim_water_fill(100, caps, 4, shares);
    g_assert_cmpfloat(shares[2], ==, 10); /* below every cap: each its own */
}

static FpbEvacuateScore score(double makespan, double mean, guint not_converging)
{
    return (FpbEvacuateScore){
        .makespan_s = makespan,
        .mean_completion_s = mean,
        .bytes = 1e9,
        .not_converging = not_converging,
    };
}

/* The objective: makespan, ties within 1% go to the mean completion; not
 * converging loses first; with a deadline, meeting it first, and among
 * misses the makespan alone. */
static void test_objective(void)
{
    FpbEvacuateScore a = score(100, 80, 0), b = score(100.9, 50, 0), c = score(103, 40, 0);
    FpbEvacuateScore d = score(50, 40, 1);

    g_assert_cmpint(fpb_evacuate_score_compare(&b, &a, 0), <, 0); /* tie: mean */
    g_assert_cmpint(fpb_evacuate_score_compare(&a, &c, 0), <, 0); /* 3% apart */
    g_assert_cmpint(fpb_evacuate_score_compare(&a, &d, 0), <, 0); /* d may not converge */
    g_assert_cmpint(fpb_evacuate_score_compare(&a, &a, 0), ==, 0);
    g_assert_cmpint(fpb_evacuate_score_compare(&a, &b, 100.5), <, 0); /* a meets it */
    g_assert_cmpint(fpb_evacuate_score_compare(&a, &b, 90), <, 0);    /* both miss: makespan */
    g_assert_cmpint(fpb_evacuate_score_compare(&b, &a, 200), <, 0);   /* both meet: as without */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/evacuate/one-vm-is-decide", test_one_vm_is_decide);
    g_test_add_func("/evacuate/prep-overlaps-transfers", test_prep_overlaps_transfers);
    g_test_add_func("/evacuate/slow-link-is-the-bound", test_slow_link_is_the_bound);
    g_test_add_func("/evacuate/fast-link-wants-parallelism", test_fast_link_wants_parallelism);
    g_test_add_func("/evacuate/tcg-network-prior", test_tcg_network_prior);
    g_test_add_func("/evacuate/parallel-respected", test_parallel_respected);
    g_test_add_func("/evacuate/deadline", test_deadline);
    g_test_add_func("/evacuate/replan/late-finish", test_replan_after_late_finish);
    g_test_add_func("/evacuate/replan/changes-modes", test_replan_changes_modes);
    g_test_add_func("/evacuate/replan/in-flight", test_replan_in_flight);
    g_test_add_func("/evacuate/replan/keeps-the-plan", test_replan_keeps_the_plan);
    g_test_add_func("/evacuate/deterministic", test_deterministic);
    g_test_add_func("/evacuate/extreme-ranges", test_extreme_ranges);
    g_test_add_func("/evacuate/refused-vm", test_refused_vm);
    g_test_add_func("/evacuate/invalid", test_invalid);
    g_test_add_func("/evacuate/empty", test_empty);
    g_test_add_func("/evacuate/format", test_format);
    g_test_add_func("/evacuate/sim/water-fill", test_water_fill);
    g_test_add_func("/evacuate/objective", test_objective);
    return g_test_run();
}
