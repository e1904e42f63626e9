/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl evacuate: empty a libvirt host (docs/evacuate.md). Every VM's
 * facts as `fpbctl explain DOMAIN` collects them, one plan for all of them
 * (host-plugin/evacuate/), then the plan run: one thread per VM, each
 * running the one pipeline (fpb_pipeline_migrate()) with its own backend
 * object and journal connection, its mode forced to the plan's and its
 * bandwidth capped to its share; the main thread starts VMs when the plan
 * says, re-plans on every finish (and whenever a start is due) and journals
 * the evacuation. SIGINT/SIGTERM cancel the runs (memory given back).
 * libvirt backend only.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "fpb-backend-libvirt.h"
#include "fpb-conf-daemon.h"
#include "fpb-evacuate-plan.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-options.h"
#include "fpb-recover.h"
#include "fpbctl-progress.h"
#include "fpbctl.h"

/* How often the main thread looks at the runs (phases, due starts). */
#define TICK_MS 200
/* A start planned this close to now is due now. */
#define START_SLACK_S 0.25
/* Exit status: FAILED_BASE + the number of VMs not evacuated (capped). */
#define EXIT_FAILED_BASE 10
#define EXIT_FAILED_MAX 100

typedef struct {
    char *connect;
    char *to;
    char *config;
    char *db;
    char *parallel;
    char *mode;  /* --mode: none or auto (NULL: auto) */
    gint64 link; /* --max-bandwidth: the whole link, bytes/s; -1: unlimited */
    double deadline_s;
    gboolean dry_run;
    gboolean json;
    gboolean progress;
    FpbLibvirtOptions lv; /* the per-VM options; lv.max_bandwidth unused */
} Options;

typedef enum {
    VM_WAITING,  /* not started */
    VM_REFUSED,  /* the plan refused it: never started */
    VM_RUNNING,  /* its thread runs the pipeline */
    VM_FINISHED, /* its pipeline returned */
} VmStage;

typedef struct _Evacuation Evacuation;

/* One VM of the evacuation. The main thread owns everything but @outcome
 * and @result, which its thread writes before it queues itself. */
typedef struct {
    Evacuation *ev;
    guint index; /* in ev->vms, ev->pvms and the plans */
    char *name;
    char *source_id; /* the journal's source column */
    VmStage stage;
    FpbPolicyMode mode; /* RUNNING, FINISHED: the mode it was given */
    double share;       /* the plan's share when it started, bytes/s */
    gint64 cap;         /* its max-bandwidth, -1: none */
    double planned_finish_s;
    double started_s;
    double finished_s;
    GThread *thread;
    FpbOutcome *outcome;
    FpbMigrateResult result;
} EvVm;

struct _Evacuation {
    const Options *o;
    FpbLibvirtMigrateRequest base; /* strings borrowed from o */
    FpbJournal *journal;           /* the main thread's connection */
    const char *db_path;
    guint n;
    EvVm *vms;
    FpbEvacuateVm *pvms; /* the planner's view, in the same order */
    GPtrArray *skipped;  /* char*: "VM 'x': why" of VMs that could not be judged */
    FpbEvacuateOptions popts;
    gboolean force_none;    /* --mode none: every VM planned and run as none */
    FpbEvacuatePlan *first; /* the plan as printed and journaled */
    FpbEvacuatePlan *plan;  /* the latest */
    GAsyncQueue *finished;  /* EvVm* */
    gint64 t0_us;           /* monotonic, the plan's time 0 */
    guint running;
    FpbEvacuationRow *row;
    virConnectPtr conn; /* the main thread's source connection: live caps */
};

/* SIGINT/SIGTERM: every run's FpbPipelineRequest.cancel. */
static volatile gint cancel_requested;

static void on_signal(int sig)
{
    (void)sig;
    g_atomic_int_set(&cancel_requested, 1);
}

static void catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static gboolean cancelled(void)
{
    return g_atomic_int_get(&cancel_requested) != 0;
}

static double now_s(const Evacuation *ev)
{
    return (double)(g_get_monotonic_time() - ev->t0_us) / G_USEC_PER_SEC;
}

/* ---- the plan as JSON ---- */

static const char *state_name(FpbEvacuateVmState state)
{
    static const char *const names[] = {
        [FPB_EVACUATE_VM_PENDING] = "pending",
        [FPB_EVACUATE_VM_PREPARING] = "preparing",
        [FPB_EVACUATE_VM_MIGRATING] = "migrating",
        [FPB_EVACUATE_VM_DONE] = "done",
    };

    return (guint)state < G_N_ELEMENTS(names) ? names[state] : "?";
}

/* Seconds to the millisecond, printed as such (not 7.8570000000000002). */
static json_object *seconds_or_null(double s)
{
    char text[G_ASCII_DTOSTR_BUF_SIZE];

    if (s < 0 || !isfinite(s)) {
        return NULL;
    }
    return json_object_new_double_s(round(s * 1000) / 1000,
                                    g_ascii_formatd(text, sizeof(text), "%.3f", s));
}

static json_object *plan_vm_to_json(const FpbEvacuatePlanVm *pv)
{
    json_object *j = json_object_new_object();

    json_object_object_add(j, "name", json_object_new_string(pv->name));
    json_object_object_add(j, "state", json_object_new_string(state_name(pv->state)));
    if (pv->refusal != NULL) {
        json_object_object_add(j, "refusal", json_object_new_string(pv->refusal));
        return j;
    }
    json_object_object_add(j, "mode", json_object_new_string(fpb_policy_mode_to_string(pv->mode)));
    json_object_object_add(j, "prep_start_s", seconds_or_null(pv->prep_start_s));
    json_object_object_add(j, "migration_start_s", seconds_or_null(pv->migration_start_s));
    json_object_object_add(j, "share_bytes_per_second",
                           json_object_new_double(round(pv->share_bytes_per_second)));
    json_object_object_add(j, "migration_end_s", seconds_or_null(pv->migration_end_s));
    json_object_object_add(j, "finish_s", seconds_or_null(pv->finish_s));
    json_object_object_add(j, "bytes", json_object_new_int64(pv->bytes));
    json_object_object_add(j, "converges", json_object_new_boolean(pv->converges));
    return j;
}

static json_object *plan_to_json(const FpbEvacuatePlan *plan)
{
    json_object *j = json_object_new_object();
    json_object *vms = json_object_new_array();

    json_object_object_add(j, "now_s", seconds_or_null(plan->now_s));
    json_object_object_add(j, "link_bytes_per_second",
                           json_object_new_double(plan->link_bytes_per_second));
    json_object_object_add(j, "parallel", json_object_new_int64(plan->parallel));
    json_object_object_add(j, "makespan_s", seconds_or_null(plan->makespan_s));
    json_object_object_add(j, "mean_completion_s", seconds_or_null(plan->mean_completion_s));
    json_object_object_add(j, "bytes", json_object_new_int64(plan->bytes));
    json_object_object_add(j, "link_bound_s", seconds_or_null(plan->link_bound_s));
    json_object_object_add(j, "deadline_s",
                           plan->deadline_s > 0 ? json_object_new_double(plan->deadline_s) : NULL);
    json_object_object_add(j, "deadline_met", json_object_new_boolean(plan->deadline_met));
    json_object_object_add(j, "n_refused", json_object_new_int64(plan->n_refused));
    json_object_object_add(j, "n_not_converging", json_object_new_int64(plan->n_not_converging));
    for (guint i = 0; i < plan->n_vms; i++) {
        json_object_array_add(vms, plan_vm_to_json(&plan->vms[i]));
    }
    json_object_object_add(j, "vms", vms);
    return j;
}

/* ---- facts: explain, once per VM ---- */

static void explain_progress(const char *message, gpointer user_data)
{
    fprintf(stderr, "fpbctl evacuate: [%s] %s\n", (const char *)user_data, message);
}

/* The VM's facts with its history, as `fpbctl explain DOMAIN` collects
 * them (a refused VM keeps its facts: the planner says why). NULL with
 * @error when it cannot be reached or judged at all. */
static FpbVmFacts *explain_vm(Evacuation *ev, const char *name, GError **error)
{
    FpbLibvirtMigrateRequest req = ev->base;
    g_autoptr(FpbBackend) backend = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    g_autoptr(GError) local = NULL;
    FpbVmFacts *vf = NULL;
    gboolean refused = FALSE;

    req.target.domain = name;
    req.target.dest_uri = NULL;
    req.run.progress = explain_progress;
    req.run.progress_data = (gpointer)name;
    backend = fpb_backend_libvirt_new(&req.target);
    if (fpb_pipeline_explain(ev->journal, backend, &req.run, &vf, &d, &refused, &local) ||
        refused) {
        return vf;
    }
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
}

static void add_vm(Evacuation *ev, const char *name, const FpbVmFacts *vf)
{
    EvVm *v = &ev->vms[ev->n];

    v->ev = ev;
    v->index = ev->n;
    v->name = g_strdup(name);
    v->source_id = fpb_libvirt_source_id(ev->o->connect, name);
    v->cap = -1;
    v->started_s = v->finished_s = v->planned_finish_s = -1;
    fpb_evacuate_vm_init(&ev->pvms[ev->n], v->name, &vf->facts);
    if (ev->force_none) {
        /* over the domain's metadata too: the planner keeps a forced mode */
        ev->pvms[ev->n].facts.policy.mode = FPB_POLICY_REQUEST_NONE;
    }
    ev->n++;
}

/* Every VM's facts; FALSE when interrupted (nothing was changed). */
static gboolean collect(Evacuation *ev, char **names, guint n)
{
    ev->vms = g_new0(EvVm, n + 1);
    ev->pvms = g_new0(FpbEvacuateVm, n + 1);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbVmFacts) vf = NULL;

        if (cancelled()) {
            return FALSE;
        }
        vf = explain_vm(ev, names[i], &error);
        if (vf == NULL) {
            fprintf(stderr, "fpbctl evacuate: [%s] %s: not evacuated\n", names[i], error->message);
            g_ptr_array_add(ev->skipped, g_strdup(error->message));
            continue;
        }
        add_vm(ev, names[i], vf);
    }
    return !cancelled();
}

/* ---- planning ---- */

static void print_plan(const Evacuation *ev, const FpbEvacuatePlan *plan)
{
    g_autofree char *text = NULL;

    if (ev->o->json) {
        g_autoptr(json_object) j = plan_to_json(plan);

        fpbctl_print_json(j, FALSE);
        return;
    }
    text = fpb_evacuate_plan_format(plan);
    printf("Plan (predicted, seconds from the start):\n%s", text);
    fflush(stdout);
}

/* The first plan. FALSE with the planner's message printed. */
static gboolean plan_first(Evacuation *ev)
{
    g_autoptr(GError) error = NULL;

    ev->first = fpb_evacuate_plan_new(ev->pvms, ev->n, &ev->popts, &error);
    if (ev->first == NULL) {
        fprintf(stderr, "fpbctl evacuate: cannot plan: %s\n", error->message);
        return FALSE;
    }
    for (guint i = 0; i < ev->n; i++) {
        if (ev->first->vms[i].refusal != NULL) {
            ev->vms[i].stage = VM_REFUSED;
            fprintf(stderr, "fpbctl evacuate: [%s] refused: %s: not evacuated\n", ev->vms[i].name,
                    ev->first->vms[i].refusal);
        }
    }
    if (!ev->first->deadline_met) {
        fprintf(stderr,
                "fpbctl evacuate: the plan misses the %.1f s deadline by %.1f s; running it "
                "anyway\n",
                ev->first->deadline_s, ev->first->makespan_s - ev->first->deadline_s);
    }
    print_plan(ev, ev->first);
    return TRUE;
}

/* The plan being run: the latest re-plan, else the first. */
static const FpbEvacuatePlan *current_plan(const Evacuation *ev)
{
    return ev->plan != NULL ? ev->plan : ev->first;
}

/* Plans again at @now with what happened; keeps the old plan on error. */
static void apply_shares(Evacuation *ev);

static void replan(Evacuation *ev, double now, const char *why)
{
    g_autoptr(GError) error = NULL;
    FpbEvacuatePlan *plan =
        fpb_evacuate_plan_replan(ev->pvms, ev->n, &ev->popts, now, current_plan(ev), &error);

    if (plan == NULL) {
        fprintf(stderr, "fpbctl evacuate: re-planning at %.1f s failed: %s; keeping the plan\n",
                now, error->message);
        return;
    }
    if (fabs(plan->makespan_s - current_plan(ev)->makespan_s) >= 0.05) {
        fprintf(stderr, "fpbctl evacuate: re-planned at %.1f s (%s): makespan %.1f s\n", now, why,
                plan->makespan_s);
    }
    fpb_evacuate_plan_free(ev->plan);
    ev->plan = plan;
    apply_shares(ev);
}

/* A migration on the link follows its share as the plan changes: when a
 * VM finishes, the others get its part of the link (libvirt takes a new
 * speed during the migration job; it counts in MiB/s). Without this the
 * caps of the start stayed and the link ran part empty (the benchmark in
 * docs/benchmarks.md, "Evacuating a host"). */
static void set_speed(Evacuation *ev, EvVm *v, FpbEvacuateVm *e, gint64 cap)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirDomain) dom = fpb_libvirt_lookup(ev->conn, v->name, &error);
    unsigned long mib = (unsigned long)MAX((cap + (1 << 20) - 1) >> 20, 1);

    if (dom == NULL || virDomainMigrateSetMaxSpeed(dom, mib, 0) != 0) {
        fprintf(stderr,
                "fpbctl evacuate: [%s] warning: cannot set its migration to %lu MiB/s: %s\n",
                v->name, mib, error ? error->message : virGetLastErrorMessage());
        virResetLastError();
        return;
    }
    fprintf(stderr, "fpbctl evacuate: [%s] share now %.1f MB/s (was %.1f MB/s)\n", v->name,
            (double)cap / 1e6, (double)v->cap / 1e6);
    v->cap = cap;
    e->share_bytes_per_second = (double)cap;
}

static void apply_shares(Evacuation *ev)
{
    const FpbEvacuatePlan *plan = current_plan(ev);

    if (ev->o->link <= 0 || ev->conn == NULL || plan == NULL) {
        return;
    }
    for (guint i = 0; i < ev->n; i++) {
        EvVm *v = &ev->vms[i];
        FpbEvacuateVm *e = &ev->pvms[i];
        double share = plan->vms[i].share_bytes_per_second;

        if (v->stage == VM_RUNNING && e->state == FPB_EVACUATE_VM_MIGRATING && share > 0 &&
            v->cap > 0 && fabs(share - (double)v->cap) > 0.05 * (double)v->cap) {
            set_speed(ev, v, e, (gint64)ceil(share));
        }
    }
}

/* ---- one VM's run, in its own thread ---- */

static void run_progress(const char *message, gpointer user_data)
{
    const EvVm *v = user_data;

    fpbctl_progress_break();
    fprintf(stderr, "fpbctl evacuate: [%s] %s\n", v->name, message);
}

/* The request of @v's run: the base options, its mode forced (over the
 * domain's metadata too), its cap, the shared cancel flag. */
static void vm_request(const EvVm *v, FpbLibvirtMigrateRequest *req)
{
    FpbPolicyRequest mode = fpb_policy_mode_info(v->mode)->request;

    *req = v->ev->base;
    req->target.domain = v->name;
    req->target.dest_uri = v->ev->o->to;
    req->target.cli_policy.has_mode = TRUE;
    req->target.cli_policy.mode = mode;
    req->run.facts.policy.mode = mode;
    req->run.requested_mode = fpb_policy_request_to_string(mode);
    req->run.facts.max_bandwidth = v->cap;
    req->run.progress = run_progress;
    req->run.progress_data = (gpointer)v;
    req->run.tick = fpbctl_progress_tick;
    req->run.cancel = &cancel_requested;
}

static gpointer vm_thread(gpointer data)
{
    EvVm *v = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = fpb_journal_open(v->ev->db_path, &error);
    g_autoptr(FpbBackend) backend = NULL;
    FpbLibvirtMigrateRequest req;

    if (journal == NULL) {
        /* nothing was done: no change without a record */
        v->outcome = fpb_outcome_new();
        fpb_outcome_set(&v->outcome->vm, v->name);
        fpb_outcome_set(&v->outcome->phase, FPB_PHASE_FAILED);
        fpb_outcome_set_error(v->outcome, error->message);
        v->result = FPB_MIGRATE_FAILED;
    } else {
        vm_request(v, &req);
        backend = fpb_backend_libvirt_new(&req.target);
        v->outcome = fpb_pipeline_migrate(journal, backend, &req.run, &v->result);
    }
    fpbctl_progress_done(v->name);
    g_async_queue_push(v->ev->finished, v);
    return NULL;
}

static void start_vm(Evacuation *ev, EvVm *v, double now)
{
    const FpbEvacuatePlanVm *pv = &current_plan(ev)->vms[v->index];
    FpbEvacuateVm *e = &ev->pvms[v->index];
    g_autofree char *thread_name = g_strdup_printf("fpb-evac-%u", v->index);

    v->mode = pv->mode;
    v->share = pv->share_bytes_per_second;
    /* no --max-bandwidth: the link is "unlimited", nothing to share */
    v->cap = ev->o->link > 0 ? (gint64)ceil(pv->share_bytes_per_second) : -1;
    v->planned_finish_s = pv->finish_s;
    v->started_s = now;
    v->stage = VM_RUNNING;
    e->state = FPB_EVACUATE_VM_PREPARING;
    e->mode = v->mode;
    e->prep_started_s = now;
    ev->running++;
    fprintf(stderr,
            "fpbctl evacuate: [%s] starting at %.1f s: mode %s, cap %s%.1f MB/s (planned: on "
            "the link at %.1f s, done at %.1f s)\n",
            v->name, now, fpb_policy_mode_to_string(v->mode), v->cap > 0 ? "" : "none, share ",
            v->share / 1e6, pv->migration_start_s, pv->finish_s);
    v->thread = g_thread_new(thread_name, vm_thread, v);
}

/* ---- the main loop ---- */

static gboolean due(const Evacuation *ev, const EvVm *v, double now)
{
    const FpbEvacuatePlanVm *pv = &current_plan(ev)->vms[v->index];

    return v->stage == VM_WAITING && pv->refusal == NULL && pv->prep_start_s <= now + START_SLACK_S;
}

/* Starts the VMs whose time has come, after re-planning with what runs
 * now: the plan has them wait while the link is full. */
static void start_due(Evacuation *ev)
{
    double now = now_s(ev);
    gboolean any = FALSE;

    for (guint i = 0; i < ev->n && !any; i++) {
        any = due(ev, &ev->vms[i], now);
    }
    if (!any || cancelled()) {
        return;
    }
    replan(ev, now, "a start is due");
    for (guint i = 0; i < ev->n; i++) {
        if (due(ev, &ev->vms[i], now)) {
            start_vm(ev, &ev->vms[i], now);
        }
    }
}

/* The phase of @v's journal row, as far as the journal says yet; NULL
 * before the row exists. (transfer full) */
static char *row_phase(Evacuation *ev, const EvVm *v)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list_open(ev->journal, v->source_id, NULL);

    for (guint i = 0; rows != NULL && i < rows->len; i++) {
        const FpbOutcome *r = rows->pdata[i];

        if (r->owner_pid == getpid() && r->start_us >= ev->row->start_us) {
            return g_strdup(r->phase);
        }
    }
    return NULL;
}

/* Running VMs on the link, as their rows say: the planner's MIGRATING
 * (its share: the cap it was given), finished migrating when restoring. */
static void observe_phases(Evacuation *ev)
{
    for (guint i = 0; i < ev->n; i++) {
        EvVm *v = &ev->vms[i];
        FpbEvacuateVm *e = &ev->pvms[i];
        g_autofree char *phase = NULL;

        if (v->stage != VM_RUNNING || (phase = row_phase(ev, v)) == NULL) {
            continue;
        }
        if (e->state == FPB_EVACUATE_VM_PREPARING &&
            (g_str_equal(phase, FPB_PHASE_MIGRATING) || g_str_equal(phase, FPB_PHASE_RESTORING))) {
            e->state = FPB_EVACUATE_VM_MIGRATING;
            e->migration_started_s = now_s(ev);
            e->share_bytes_per_second = v->cap > 0 ? (double)v->cap : -1;
        }
        if (g_str_equal(phase, FPB_PHASE_RESTORING)) {
            e->progress = 1.0;
        }
    }
}

static void link_row(Evacuation *ev, const EvVm *v)
{
    g_autoptr(GError) error = NULL;

    if (v->outcome->id >= 0 &&
        !fpb_journal_set_evacuation(ev->journal, v->outcome->id, ev->row->id, &error)) {
        fprintf(stderr, "fpbctl evacuate: [%s] warning: %s, ignoring\n", v->name, error->message);
    }
}

static void finish_vm(Evacuation *ev, EvVm *v)
{
    FpbEvacuateVm *e = &ev->pvms[v->index];
    double now = now_s(ev);

    g_thread_join(v->thread);
    v->thread = NULL;
    v->stage = VM_FINISHED;
    v->finished_s = now;
    ev->running--;
    /* a failed VM is finished too: it no longer uses the link (the
     * planner has no failed state) */
    e->state = FPB_EVACUATE_VM_DONE;
    e->finished_s = now;
    e->progress = -1;
    link_row(ev, v);
    fprintf(stderr,
            "fpbctl evacuate: [%s] %s at %.1f s (planned %.1f s), journal row %" G_GINT64_FORMAT
            "%s%s\n",
            v->name, v->outcome->phase ? v->outcome->phase : "?", now, v->planned_finish_s,
            v->outcome->id, v->outcome->error ? ": " : "",
            v->outcome->error ? v->outcome->error : "");
    if (!cancelled()) {
        replan(ev, now, "a VM finished");
    }
}

static gboolean work_left(const Evacuation *ev)
{
    if (ev->running > 0) {
        return TRUE;
    }
    for (guint i = 0; i < ev->n && !cancelled(); i++) {
        if (ev->vms[i].stage == VM_WAITING) {
            return TRUE;
        }
    }
    return FALSE;
}

static void run_plan(Evacuation *ev)
{
    gboolean told = FALSE;

    while (work_left(ev)) {
        EvVm *v;

        if (cancelled() && !told) {
            fprintf(stderr,
                    "fpbctl evacuate: interrupted: starting no more VMs, cancelling %u "
                    "running, giving their memory back\n",
                    ev->running);
            told = TRUE;
        }
        start_due(ev);
        v = g_async_queue_timeout_pop(ev->finished, TICK_MS * 1000);
        if (v != NULL) {
            finish_vm(ev, v);
        }
        observe_phases(ev);
    }
}

/* ---- the evacuation row and the outcome ---- */

static gboolean journal_start(Evacuation *ev)
{
    g_autoptr(GError) error = NULL;
    FpbEvacuationRow *row = ev->row = fpb_evacuation_row_new();

    fpb_evacuation_row_set(&row->status, FPB_EVACUATION_RUNNING);
    row->start_us = g_get_real_time();
    row->owner_pid = getpid();
    row->owner_start = fpb_recover_process_start_time(getpid());
    fpb_evacuation_row_set(&row->source_uri,
                           ev->o->connect ? ev->o->connect : FPB_LIBVIRT_DEFAULT_URI);
    fpb_evacuation_row_set(&row->dest_uri, ev->o->to);
    row->plan = plan_to_json(ev->first);
    row->predicted_makespan_seconds = ev->first->makespan_s;
    row->vms = ev->n + ev->skipped->len;
    if (!fpb_journal_insert_evacuation(ev->journal, row, &error)) {
        fprintf(stderr, "fpbctl evacuate: cannot journal the evacuation, nothing done: %s\n",
                error->message);
        return FALSE;
    }
    return TRUE;
}

static guint count_migrated(const Evacuation *ev)
{
    guint migrated = 0;

    for (guint i = 0; i < ev->n; i++) {
        migrated += ev->vms[i].stage == VM_FINISHED && ev->vms[i].result == FPB_MIGRATE_OK;
    }
    return migrated;
}

static void journal_end(Evacuation *ev)
{
    g_autoptr(GError) error = NULL;
    FpbEvacuationRow *row = ev->row;
    double last = 0;

    for (guint i = 0; i < ev->n; i++) {
        last = MAX(last, ev->vms[i].finished_s);
    }
    row->end_us = g_get_real_time();
    row->actual_makespan_seconds = last;
    row->migrated = count_migrated(ev);
    row->failed = row->vms - row->migrated;
    fpb_evacuation_row_set(&row->status, cancelled()       ? FPB_EVACUATION_CANCELLED
                                         : row->failed > 0 ? FPB_EVACUATION_FAILED
                                                           : FPB_EVACUATION_DONE);
    if (row->failed > 0) {
        g_autofree char *m =
            g_strdup_printf("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " VMs not evacuated%s",
                            row->failed, row->vms, cancelled() ? " (interrupted by a signal)" : "");

        fpb_evacuation_row_set(&row->error, m);
    }
    if (!fpb_journal_update_evacuation(ev->journal, row, &error)) {
        fprintf(stderr, "fpbctl evacuate: warning: %s, ignoring\n", error->message);
    }
}

static const char *vm_result(const EvVm *v)
{
    switch (v->stage) {
    case VM_REFUSED:
        return "refused";
    case VM_WAITING:
        return "not started";
    case VM_RUNNING:
        return "running";
    case VM_FINISHED:
    default:
        return v->outcome->phase ? v->outcome->phase : "?";
    }
}

static void print_summary_text(const Evacuation *ev)
{
    printf("\nOutcome:\n");
    for (guint i = 0; i < ev->n; i++) {
        const EvVm *v = &ev->vms[i];

        printf("%-16s %-12s %-11s", v->name,
               v->stage == VM_FINISHED ? fpb_policy_mode_to_string(v->mode) : "-", vm_result(v));
        if (v->stage == VM_FINISHED) {
            printf(" at %7.1f s (planned %7.1f s), journal row %" G_GINT64_FORMAT, v->finished_s,
                   v->planned_finish_s, v->outcome->id);
        }
        printf("\n");
        if (v->stage == VM_FINISHED && v->outcome->error != NULL) {
            printf("  error: %s\n", v->outcome->error);
        }
    }
    for (guint i = 0; i < ev->skipped->len; i++) {
        printf("not judged: %s\n", (const char *)ev->skipped->pdata[i]);
    }
    printf("makespan predicted %.1f s, actual %.1f s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
           " VMs migrated, evacuation %s (journal evacuation %" G_GINT64_FORMAT ")\n",
           ev->row->predicted_makespan_seconds, ev->row->actual_makespan_seconds, ev->row->migrated,
           ev->row->vms, ev->row->status, ev->row->id);
}

static void print_summary_json(const Evacuation *ev)
{
    g_autoptr(json_object) j = fpb_evacuation_row_to_json(ev->row);
    json_object *vms = json_object_new_array();

    for (guint i = 0; i < ev->n; i++) {
        const EvVm *v = &ev->vms[i];
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(v->name));
        json_object_object_add(o, "result", json_object_new_string(vm_result(v)));
        json_object_object_add(o, "planned_finish_s", seconds_or_null(v->planned_finish_s));
        json_object_object_add(o, "finished_s", seconds_or_null(v->finished_s));
        json_object_object_add(o, "row",
                               v->outcome != NULL ? fpb_outcome_to_json(v->outcome) : NULL);
        json_object_array_add(vms, o);
    }
    json_object_object_add(j, "runs", vms);
    fpbctl_print_json(j, FALSE);
}

static int exit_status(const Evacuation *ev)
{
    if (cancelled()) {
        return FPBCTL_EXIT_FAILED;
    }
    if (ev->row->failed <= 0) {
        return FPBCTL_EXIT_OK;
    }
    return EXIT_FAILED_BASE + (int)MIN(ev->row->failed, EXIT_FAILED_MAX);
}

/* ---- setup ---- */

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* The running domains of the source, by name. (transfer full) */
static GStrv running_domains(const char *uri, GError **error)
{
    g_autoptr(FpbVirConnect) conn = fpb_libvirt_connect(uri, error);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    virDomainPtr *doms = NULL;
    int n;

    if (conn == NULL) {
        return NULL;
    }
    n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (n < 0) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "listing the domains of '%s'",
                              uri ? uri : FPB_LIBVIRT_DEFAULT_URI);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        g_ptr_array_add(names, g_strdup(virDomainGetName(doms[i])));
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static void options_clear(Options *o)
{
    g_free(o->connect);
    g_free(o->to);
    g_free(o->config);
    g_free(o->db);
    g_free(o->parallel);
    g_free(o->mode);
    fpb_libvirt_options_clear(&o->lv);
}

static gboolean bad_value(GError **error, const char *option, const char *value,
                          const char *expected)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: '%s' is not %s", option,
                value, expected);
    return FALSE;
}

/* --max-bandwidth, --parallel and --deadline onto the planner's options. */
static gboolean plan_options(const Options *o, FpbEvacuateOptions *ret, GError **error)
{
    double lo, hi;
    gint64 parallel = 0;
    char v[G_ASCII_DTOSTR_BUF_SIZE];

    fpb_policy_quantity_limits(FPB_POLICY_QUANTITY_BANDWIDTH, &lo, &hi);
    if (o->link != -1 && !((double)o->link >= lo && (double)o->link <= hi)) {
        g_autofree char *value = g_strdup_printf("%" G_GINT64_FORMAT, o->link);

        return bad_value(error, "max-bandwidth", value,
                         "a link bandwidth within 1000000..100000000000 bytes per second");
    }
    if (o->parallel != NULL && !g_str_equal(o->parallel, "auto") &&
        !g_ascii_string_to_signed(o->parallel, 10, 1, FPB_EVACUATE_MAX_PARALLEL, &parallel, NULL)) {
        return bad_value(error, "parallel", o->parallel, "auto or a number within 1..64");
    }
    if (!(o->deadline_s >= 0 && o->deadline_s <= 86400)) {
        return bad_value(error, "deadline", g_ascii_dtostr(v, sizeof(v), o->deadline_s),
                         "a number of seconds within 0..86400 (0: none)");
    }
    *ret = (FpbEvacuateOptions){
        .link_bytes_per_second = o->link > 0 ? (double)o->link : hi,
        .parallel = (guint)parallel,
        .deadline_s = o->deadline_s,
    };
    return TRUE;
}

/* Everything but the VMs: options checked, host defaults, the journal. */
static gboolean setup(Evacuation *ev, const Options *o)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();

    ev->o = o;
    ev->skipped = g_ptr_array_new_with_free_func(g_free);
    ev->finished = g_async_queue_new();
    fpb_libvirt_migrate_request_init(&ev->base);
    if (o->to == NULL || *o->to == '\0') {
        fprintf(stderr, "fpbctl evacuate: --to DESTURI is required\n");
        return FALSE;
    }
    if (o->mode != NULL && !g_str_equal(o->mode, "auto") && !g_str_equal(o->mode, "none")) {
        fprintf(stderr, "fpbctl evacuate: --mode: '%s' is not none or auto\n", o->mode);
        return FALSE;
    }
    ev->force_none = o->mode != NULL && g_str_equal(o->mode, "none");
    if (!plan_options(o, &ev->popts, &error) ||
        !fpb_conf_daemon_load_file(conf, o->config ? o->config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   o->config == NULL, &error) ||
        !fpb_libvirt_options_apply(&o->lv, &conf->policy, &ev->base, &error)) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        return FALSE;
    }
    ev->base.target.source_uri = o->connect;
    ev->base.run.facts.max_bandwidth = -1; /* each run gets its share */
    if (o->link > 0 && !o->dry_run &&
        (ev->conn = fpb_libvirt_connect(o->connect, &error)) == NULL) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        return FALSE;
    }
    ev->db_path = o->db ? o->db : FPB_JOURNAL_DEFAULT_PATH;
    return TRUE;
}

static void evacuation_clear(Evacuation *ev)
{
    for (guint i = 0; i < ev->n; i++) {
        g_free(ev->vms[i].name);
        g_free(ev->vms[i].source_id);
        fpb_outcome_free(ev->vms[i].outcome);
    }
    g_free(ev->vms);
    g_free(ev->pvms);
    g_clear_pointer(&ev->skipped, g_ptr_array_unref);
    g_clear_pointer(&ev->finished, g_async_queue_unref);
    fpb_evacuate_plan_free(ev->first);
    fpb_evacuate_plan_free(ev->plan);
    fpb_evacuation_row_free(ev->row);
    fpb_journal_free(ev->journal);
    g_clear_pointer(&ev->conn, fpb_libvirt_conn_unref);
}

/* Plans, prints, and (unless --dry-run) runs and journals. */
static int plan_and_run(Evacuation *ev)
{
    if (!plan_first(ev)) {
        return FPBCTL_EXIT_FAILED;
    }
    if (ev->o->dry_run) {
        return FPBCTL_EXIT_OK;
    }
    if (ev->first->n_refused == ev->n) {
        fprintf(stderr, "fpbctl evacuate: no VM can be evacuated, nothing done\n");
        return FPBCTL_EXIT_USAGE;
    }
    if (!journal_start(ev)) {
        return FPBCTL_EXIT_FAILED;
    }
    ev->t0_us = g_get_monotonic_time();
    fpbctl_progress_start(fpbctl_progress_mode(ev->o->json, ev->o->progress));
    run_plan(ev);
    fpbctl_progress_break();
    journal_end(ev);
    if (ev->o->json) {
        print_summary_json(ev);
    } else {
        print_summary_text(ev);
    }
    return exit_status(ev);
}

static int run(const Options *o, int argc, char **argv)
{
    g_auto(GStrv) given = g_new0(char *, argc + 1);
    char **domains = given;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) found = NULL;
    Evacuation ev = {0};
    int status;

    for (int i = 1; i < argc; i++) {
        given[i - 1] = g_strdup(argv[i]);
    }
    catch_signals();
    fpb_libvirt_init();
    if (!setup(&ev, o)) {
        evacuation_clear(&ev);
        return FPBCTL_EXIT_USAGE;
    }
    if (domains[0] == NULL && (domains = found = running_domains(o->connect, &error)) == NULL) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        evacuation_clear(&ev);
        return FPBCTL_EXIT_USAGE;
    }
    if (domains[0] == NULL) {
        printf("no running domain on '%s': nothing to evacuate\n",
               o->connect ? o->connect : FPB_LIBVIRT_DEFAULT_URI);
        evacuation_clear(&ev);
        return FPBCTL_EXIT_OK;
    }
    if ((ev.journal = fpbctl_open_journal("evacuate", o->db)) == NULL) {
        evacuation_clear(&ev);
        return FPBCTL_EXIT_FAILED;
    }
    if (!collect(&ev, domains, g_strv_length(domains))) {
        fprintf(stderr, "fpbctl evacuate: interrupted while collecting facts: nothing was "
                        "changed\n");
        status = FPBCTL_EXIT_FAILED;
    } else if (ev.n == 0) {
        fprintf(stderr, "fpbctl evacuate: no VM could be judged, nothing done\n");
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = plan_and_run(&ev);
    }
    evacuation_clear(&ev);
    return status;
}

static const char summary[] =
    "Empty a libvirt host: move DOMAIN... (default: every running domain of the\n"
    "source) live to the libvirt at --to, as one plan. Collects every VM's facts and\n"
    "history (as `fpbctl explain DOMAIN`), plans each VM's mode, the order, how many\n"
    "migrate at once and each one's share of the link (--max-bandwidth: the whole\n"
    "link), prints the plan, then runs it: one `fpbctl migrate` pipeline per VM, in\n"
    "a thread of its own, started when the plan says, its mode forced to the plan's\n"
    "and its bandwidth capped to its share; re-plans when a VM finishes. Journals a\n"
    "row per VM and one for the evacuation. libvirt only (no --qmp form).";

static const char description[] =
    "A VM that fails stays on the source with its memory given back; the others go\n"
    "on. SIGINT/SIGTERM: no more VMs start, running migrations are cancelled and\n"
    "every balloon is given back, then fpbctl exits 1. A VM's cap is its share when\n"
    "it starts; when a re-plan changes the share of a VM on the link by more than\n"
    "5%, its running migration's cap follows (virDomainMigrateSetMaxSpeed).\n"
    "A VM killed with its fpbctl (kill -9) is repaired by `fpbctl recover`, which\n"
    "also closes the evacuation row (abandoned).\n\n"
    "Exit status: 0 every VM migrated (or nothing to evacuate; --dry-run: planned);\n"
    "1 interrupted by a signal, or the evacuation could not be journaled or planned;\n"
    "2 bad usage or nothing could be done (no VM could be judged or planned);\n"
    "10+N: N VMs were not evacuated (failed, refused by the plan, not judged;\n"
    "at most 110).";

static void add_entries(Options *o, GOptionContext *ctx)
{
    FpbLibvirtOptions *lv = &o->lv;
    const GOptionEntry entries[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &o->connect,
         "The source libvirt (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &o->to, "The destination libvirt (required)", "DESTURI"},
        {"max-bandwidth", 0, 0, G_OPTION_ARG_INT64, &o->link,
         "The whole link's bandwidth, shared by the migrations (default: unlimited, no caps)",
         "BYTES_PER_S"},
        {"parallel", 0, 0, G_OPTION_ARG_STRING, &o->parallel,
         "Most migrations at once, 1..64, or auto (default: the planner chooses)", "N|auto"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &o->mode,
         "none: plan and run every VM as none (plain live migration, a baseline); auto "
         "(default): the plan picks each VM's mode",
         "none|auto"},
        {"deadline", 0, 0, G_OPTION_ARG_DOUBLE, &o->deadline_s,
         "Plan to finish within this (a plan that misses it is run with a warning)", "SECONDS"},
        {"dry-run", 0, 0, G_OPTION_ARG_NONE, &o->dry_run, "Print the plan, change nothing", NULL},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &o->progress,
         "With --json: one JSON progress event a second per VM (on a terminal a progress line "
         "is always shown)",
         NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o->json,
         "Print the plan as one JSON object, and the outcome as another", NULL},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &o->db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
         "Host defaults from this fpbd.conf (default " FPB_CONF_DAEMON_DEFAULT_PATH ", if present)",
         "FILE"},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->timeout_s,
         "Abort one VM's migration after this (default 600, 0: never)", "SECONDS"},
        {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->stall_s,
         "Cancel the migration when QEMU sent nothing for this long: the link or the destination "
         "is gone (default 60, 0: never; a slow migration is never cancelled by it)",
         "SECONDS"},
        {"migrate-uri", 0, 0, G_OPTION_ARG_STRING, &lv->migrate_uri,
         "The migration data connection, e.g. tcp://192.0.2.2 (default: libvirt's)", "URI"},
        {"listen-address", 0, 0, G_OPTION_ARG_STRING, &lv->listen_address,
         "Where the destination QEMUs listen (default: libvirt's)", "ADDR"},
        {"floor", 0, 0, G_OPTION_ARG_STRING, &lv->floor, "Guest memory floor, e.g. 512MiB", "SIZE"},
        {"max-prep-seconds", 0, 0, G_OPTION_ARG_STRING, &lv->max_prep,
         "Inflation time budget per VM, 0..3600", "SECONDS"},
        {"no-balloon", 0, 0, G_OPTION_ARG_NONE, &lv->no_balloon, "Never inflate", NULL},
        {"guest-driver", 0, 0, G_OPTION_ARG_STRING, &lv->guest_driver, "stock or fpb", "KIND"},
        {"guest-init-on-alloc", 0, 0, G_OPTION_ARG_STRING, &lv->guest_init_on_alloc,
         "0 or 1 (default: from each domain's <cmdline>)", "0|1"},
        {"qemu-tcg-dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &lv->tcg,
         "fixed or broken (docs/hint-safety.md)", "fixed|broken"},
        {"migration-method", 0, 0, G_OPTION_ARG_STRING, &lv->migration_method,
         "auto (default), precopy, postcopy or paused (docs/hint-safety.md)", "METHOD"},
        {"allow-unsafe-live-migration", 0, 0, G_OPTION_ARG_NONE, &lv->allow_unsafe_live_migration,
         "Plain live precopy even on a QEMU that may lose guest writes under TCG", NULL},
        G_OPTION_ENTRY_NULL,
    };

    g_option_context_add_main_entries(ctx, entries, NULL);
}

/* fpbctl evacuate --to DESTURI [--connect URI] [DOMAIN...] [options] */
int fpbctl_cmd_evacuate(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("--to DESTURI [DOMAIN...]");
    g_autoptr(GError) error = NULL;
    Options o = {0};
    int status;

    fpb_libvirt_options_init(&o.lv);
    o.link = -1;
    add_entries(&o, ctx);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, description);
    g_set_prgname("fpbctl evacuate");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = run(&o, argc, argv);
    }
    options_clear(&o);
    return status;
}
