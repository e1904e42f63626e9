/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An evacuation run (fpb-evacuate-run.h, docs/evacuate.md): the main
 * thread of the run starts VMs when the plan says, re-plans on every
 * finish (and whenever a start is due), follows the shares with the
 * running migrations' caps and journals the evacuation; each VM runs the
 * pipeline in a thread of its own. Its output is the caller's (hooks).
 */
#define G_LOG_DOMAIN "fpb-evacuate"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "fpb-evacuate-run.h"
#include "fpb-libvirt-conn.h"
#include "fpb-qmp-json.h"
#include "fpb-recover.h"

/* How often the main thread looks at the runs (phases, due starts). */
#define TICK_MS 200
/* A start planned this close to now is due now. */
#define START_SLACK_S 0.25
/* After a re-plan for a due start that started nothing, the next such
 * re-plan waits this long. A migration past its predicted end is assumed
 * to have a fixed share of its time left, so each re-plan put the next
 * start a fraction of a second ahead again: bench-evacuate re-planned
 * every tick (200 ms) for 6 s while one VM ran late. */
#define DUE_REPLAN_HOLD_S 1.0
/* VMs whose facts are collected at once (a libvirt connection each). */
#define COLLECT_PARALLEL 8
/* Exit status: FPB_EVACUATE_EXIT_NOT_EVACUATED + the VMs not evacuated (capped). */
#define EXIT_FAILED_MAX 100

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
    const FpbEvacuateRunRequest *r;
    volatile gint *cancel; /* r->cancel, or no_cancel */
    gint no_cancel;
    FpbJournal *journal; /* the main thread's connection */
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
    double due_replan_hold_s; /* no re-plan for a due start before this */
    FpbEvacuationRow *row;
    virConnectPtr conn; /* the main thread's source connection: live caps */
};

static gboolean cancelled(const Evacuation *ev)
{
    return g_atomic_int_get(ev->cancel) != 0;
}

static void say(const Evacuation *ev, FpbEvacuateRunStream stream, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void say(const Evacuation *ev, FpbEvacuateRunStream stream, const char *format, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, format);
    text = g_strdup_vprintf(format, ap);
    va_end(ap);
    ev->r->hooks.emit(stream, text, ev->r->hooks.data);
}

/* One JSON object on a line of its own (fpbctl's --json). */
static void say_json(const Evacuation *ev, json_object *j)
{
    say(ev, FPB_EVACUATE_RUN_OUT, "%s\n",
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
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

typedef struct {
    const Evacuation *ev;
    const char *name;
} Explaining;

static void explain_progress(const char *message, gpointer user_data)
{
    const Explaining *x = user_data;

    say(x->ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] %s\n", x->name, message);
}

/* The VM's facts with its history, as `fpbctl explain DOMAIN` collects
 * them (a refused VM keeps its facts: the planner says why). NULL with
 * @error when it cannot be reached or judged at all. */
static FpbVmFacts *explain_vm(Evacuation *ev, FpbJournal *journal, const char *name, GError **error)
{
    FpbLibvirtMigrateRequest req = *ev->r->base;
    Explaining x = {ev, name};
    g_autoptr(FpbBackend) backend = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    g_autoptr(GError) local = NULL;
    FpbVmFacts *vf = NULL;
    gboolean refused = FALSE;

    req.target.domain = name;
    req.target.dest_uri = NULL;
    req.run.progress = explain_progress;
    req.run.progress_data = &x;
    backend = fpb_backend_libvirt_new(&req.target);
    if (fpb_pipeline_explain(journal, backend, &req.run, &vf, &d, &refused, &local) || refused) {
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
    v->source_id = fpb_libvirt_source_id(ev->r->source_uri, name);
    v->cap = -1;
    v->started_s = v->finished_s = v->planned_finish_s = -1;
    fpb_evacuate_vm_init(&ev->pvms[ev->n], v->name, &vf->facts);
    if (ev->force_none) {
        /* over the domain's metadata too: the planner keeps a forced mode */
        ev->pvms[ev->n].facts.policy.mode = FPB_POLICY_REQUEST_NONE;
    }
    ev->n++;
}

/* One VM's facts, collected in a thread of its own: each VM takes a
 * second or more of libvirt round trips (4 VMs took 5.4 s one after the
 * other in bench-evacuate, 12 % of the makespan). */
typedef struct {
    Evacuation *ev;
    const char *name;
    GThread *thread;
    FpbVmFacts *vf; /* NULL: @error says why */
    GError *error;
} Collecting;

static gpointer collect_thread(gpointer data)
{
    Collecting *c = data;
    g_autoptr(FpbJournal) journal = fpb_journal_open(c->ev->db_path, &c->error);

    if (journal != NULL && !cancelled(c->ev)) {
        c->vf = explain_vm(c->ev, journal, c->name, &c->error);
    }
    return NULL;
}

static void collected(Evacuation *ev, Collecting *c)
{
    g_thread_join(c->thread);
    if (c->vf != NULL) {
        add_vm(ev, c->name, c->vf);
        fpb_vm_facts_free(c->vf);
    } else if (c->error != NULL) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] %s: not evacuated\n", c->name,
            c->error->message);
        g_ptr_array_add(ev->skipped, g_strdup(c->error->message));
        g_error_free(c->error);
    }
}

/* Every VM's facts, up to COLLECT_PARALLEL at once, kept in @names'
 * order; FALSE when interrupted (nothing was changed). */
static gboolean collect(Evacuation *ev, char **names, guint n)
{
    g_autofree Collecting *c = g_new0(Collecting, n + 1);

    ev->vms = g_new0(EvVm, n + 1);
    ev->pvms = g_new0(FpbEvacuateVm, n + 1);
    for (guint i = 0; i < n; i++) {
        if (i >= COLLECT_PARALLEL) {
            collected(ev, &c[i - COLLECT_PARALLEL]);
        }
        c[i] = (Collecting){.ev = ev, .name = names[i]};
        c[i].thread = g_thread_new("fpb-evac-facts", collect_thread, &c[i]);
    }
    for (guint i = n > COLLECT_PARALLEL ? n - COLLECT_PARALLEL : 0; i < n; i++) {
        collected(ev, &c[i]);
    }
    return !cancelled(ev);
}

/* ---- planning ---- */

static void print_plan(const Evacuation *ev, const FpbEvacuatePlan *plan)
{
    g_autofree char *text = NULL;

    if (ev->r->json) {
        g_autoptr(json_object) j = plan_to_json(plan);

        say_json(ev, j);
        return;
    }
    text = fpb_evacuate_plan_format(plan);
    say(ev, FPB_EVACUATE_RUN_OUT, "Plan (predicted, seconds from the start):\n%s", text);
}

/* The first plan. FALSE with the planner's message printed. */
static gboolean plan_first(Evacuation *ev)
{
    g_autoptr(GError) error = NULL;

    ev->first = fpb_evacuate_plan_new(ev->pvms, ev->n, &ev->popts, &error);
    if (ev->first == NULL) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: cannot plan: %s\n", error->message);
        return FALSE;
    }
    for (guint i = 0; i < ev->n; i++) {
        if (ev->first->vms[i].refusal != NULL) {
            ev->vms[i].stage = VM_REFUSED;
            say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] refused: %s: not evacuated\n",
                ev->vms[i].name, ev->first->vms[i].refusal);
        }
    }
    if (!ev->first->deadline_met) {
        say(ev, FPB_EVACUATE_RUN_ERR,
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
        say(ev, FPB_EVACUATE_RUN_ERR,
            "fpbctl evacuate: re-planning at %.1f s failed: %s; keeping the plan\n", now,
            error->message);
        return;
    }
    if (fabs(plan->makespan_s - current_plan(ev)->makespan_s) >= 0.05) {
        say(ev, FPB_EVACUATE_RUN_ERR,
            "fpbctl evacuate: re-planned at %.1f s (%s): makespan %.1f s\n", now, why,
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
        say(ev, FPB_EVACUATE_RUN_ERR,
            "fpbctl evacuate: [%s] warning: cannot set its migration to %lu MiB/s: %s\n", v->name,
            mib, error ? error->message : virGetLastErrorMessage());
        virResetLastError();
        return;
    }
    say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] share now %.1f MB/s (was %.1f MB/s)\n",
        v->name, (double)cap / 1e6, (double)v->cap / 1e6);
    v->cap = cap;
    e->share_bytes_per_second = (double)cap;
}

static void apply_shares(Evacuation *ev)
{
    const FpbEvacuatePlan *plan = current_plan(ev);

    if (ev->r->link <= 0 || ev->conn == NULL || plan == NULL) {
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

    say(v->ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] %s\n", v->name, message);
}

/* The request of @v's run: the base options, its mode forced (over the
 * domain's metadata too), its cap, the shared cancel flag. */
static void vm_request(const EvVm *v, FpbLibvirtMigrateRequest *req)
{
    FpbPolicyRequest mode = fpb_policy_mode_info(v->mode)->request;

    *req = *v->ev->r->base;
    req->target.domain = v->name;
    req->target.dest_uri = v->ev->r->dest_uri;
    req->target.cli_policy.has_mode = TRUE;
    req->target.cli_policy.mode = mode;
    req->run.facts.policy.mode = mode;
    req->run.requested_mode = fpb_policy_request_to_string(mode);
    req->run.facts.max_bandwidth = v->cap;
    req->run.progress = run_progress;
    req->run.progress_data = (gpointer)v;
    req->run.tick = v->ev->r->hooks.tick;
    req->run.tick_data = v->ev->r->hooks.data;
    req->run.cancel = v->ev->cancel;
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
    if (v->ev->r->hooks.vm_done != NULL) {
        v->ev->r->hooks.vm_done(v->name, v->ev->r->hooks.data);
    }
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
    v->cap = ev->r->link > 0 ? (gint64)ceil(pv->share_bytes_per_second) : -1;
    v->planned_finish_s = pv->finish_s;
    v->started_s = now;
    v->stage = VM_RUNNING;
    e->state = FPB_EVACUATE_VM_PREPARING;
    e->mode = v->mode;
    e->prep_started_s = now;
    ev->running++;
    say(ev, FPB_EVACUATE_RUN_ERR,
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

    if (ev->r->max_running > 0 && ev->running >= ev->r->max_running) {
        return; /* a finish frees a slot, and re-plans */
    }
    for (guint i = 0; i < ev->n && !any; i++) {
        any = due(ev, &ev->vms[i], now);
    }
    if (!any || cancelled(ev) || now < ev->due_replan_hold_s) {
        return;
    }
    replan(ev, now, "a start is due");
    any = FALSE;
    for (guint i = 0; i < ev->n; i++) {
        /* a hard limit: the plan's parallelism counts the link only */
        if (ev->r->max_running > 0 && ev->running >= ev->r->max_running) {
            break;
        }
        if (due(ev, &ev->vms[i], now)) {
            start_vm(ev, &ev->vms[i], now);
            any = TRUE;
        }
    }
    ev->due_replan_hold_s = any ? 0 : now + DUE_REPLAN_HOLD_S;
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
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: [%s] warning: %s, ignoring\n", v->name,
            error->message);
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
    say(ev, FPB_EVACUATE_RUN_ERR,
        "fpbctl evacuate: [%s] %s at %.1f s (planned %.1f s), journal row %" G_GINT64_FORMAT
        "%s%s\n",
        v->name, v->outcome->phase ? v->outcome->phase : "?", now, v->planned_finish_s,
        v->outcome->id, v->outcome->error ? ": " : "", v->outcome->error ? v->outcome->error : "");
    if (!cancelled(ev)) {
        replan(ev, now, "a VM finished");
        ev->due_replan_hold_s = 0; /* a slot is free: its start is not held */
    }
}

static gboolean work_left(const Evacuation *ev)
{
    if (ev->running > 0) {
        return TRUE;
    }
    for (guint i = 0; i < ev->n && !cancelled(ev); i++) {
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

        if (cancelled(ev) && !told) {
            say(ev, FPB_EVACUATE_RUN_ERR,
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
                           ev->r->source_uri ? ev->r->source_uri : FPB_LIBVIRT_DEFAULT_URI);
    fpb_evacuation_row_set(&row->dest_uri, ev->r->dest_uri);
    row->plan = plan_to_json(ev->first);
    row->predicted_makespan_seconds = ev->first->makespan_s;
    row->vms = ev->n + ev->skipped->len;
    if (!fpb_journal_insert_evacuation(ev->journal, row, &error)) {
        say(ev, FPB_EVACUATE_RUN_ERR,
            "fpbctl evacuate: cannot journal the evacuation, nothing done: %s\n", error->message);
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
    fpb_evacuation_row_set(&row->status, cancelled(ev)     ? FPB_EVACUATION_CANCELLED
                                         : row->failed > 0 ? FPB_EVACUATION_FAILED
                                                           : FPB_EVACUATION_DONE);
    if (row->failed > 0) {
        g_autofree char *m = g_strdup_printf(
            "%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " VMs not evacuated%s", row->failed,
            row->vms, cancelled(ev) ? " (interrupted by a signal)" : "");

        fpb_evacuation_row_set(&row->error, m);
    }
    if (!fpb_journal_update_evacuation(ev->journal, row, &error)) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: warning: %s, ignoring\n", error->message);
    }
}

/* An evacuation the plan refused whole still leaves its row: the operator
 * asked, and the journal should say why nothing moved. */
static void journal_refused(Evacuation *ev)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) why = g_string_new("no VM could be evacuated");
    const char *sep = ": ";
    FpbEvacuationRow *row = ev->row;

    for (guint i = 0; i < ev->n; i++, sep = "; ") {
        g_string_append_printf(why, "%s%s refused: %s", sep, ev->vms[i].name,
                               ev->first->vms[i].refusal);
    }
    for (guint i = 0; i < ev->skipped->len; i++, sep = "; ") {
        g_string_append_printf(why, "%snot judged: %s", sep, (const char *)ev->skipped->pdata[i]);
    }
    row->end_us = g_get_real_time();
    row->actual_makespan_seconds = 0;
    row->migrated = 0;
    row->failed = row->vms;
    fpb_evacuation_row_set(&row->status, FPB_EVACUATION_REFUSED);
    fpb_evacuation_row_set(&row->error, why->str);
    if (!fpb_journal_update_evacuation(ev->journal, row, &error)) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: warning: %s, ignoring\n", error->message);
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
    say(ev, FPB_EVACUATE_RUN_OUT, "\nOutcome:\n");
    for (guint i = 0; i < ev->n; i++) {
        const EvVm *v = &ev->vms[i];

        say(ev, FPB_EVACUATE_RUN_OUT, "%-16s %-12s %-11s", v->name,
            v->stage == VM_FINISHED ? fpb_policy_mode_to_string(v->mode) : "-", vm_result(v));
        if (v->stage == VM_FINISHED) {
            say(ev, FPB_EVACUATE_RUN_OUT,
                " at %7.1f s (planned %7.1f s), journal row %" G_GINT64_FORMAT, v->finished_s,
                v->planned_finish_s, v->outcome->id);
        }
        say(ev, FPB_EVACUATE_RUN_OUT, "\n");
        if (v->stage == VM_FINISHED && v->outcome->error != NULL) {
            say(ev, FPB_EVACUATE_RUN_OUT, "  error: %s\n", v->outcome->error);
        }
    }
    for (guint i = 0; i < ev->skipped->len; i++) {
        say(ev, FPB_EVACUATE_RUN_OUT, "not judged: %s\n", (const char *)ev->skipped->pdata[i]);
    }
    say(ev, FPB_EVACUATE_RUN_OUT,
        "makespan predicted %.1f s, actual %.1f s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
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
    say_json(ev, j);
}

static int exit_status(const Evacuation *ev)
{
    if (cancelled(ev)) {
        return FPB_EVACUATE_EXIT_FAILED;
    }
    if (ev->row->failed <= 0) {
        return FPB_EVACUATE_EXIT_OK;
    }
    return FPB_EVACUATE_EXIT_NOT_EVACUATED + (int)MIN(ev->row->failed, EXIT_FAILED_MAX);
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

static gboolean bad_value(GError **error, const char *option, const char *value,
                          const char *expected)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: '%s' is not %s", option,
                value, expected);
    return FALSE;
}

gboolean fpb_evacuate_run_plan_options(gint64 link, const char *parallel, double deadline_s,
                                       FpbEvacuateOptions *ret, GError **error)
{
    double lo, hi;
    gint64 n = 0;
    char v[G_ASCII_DTOSTR_BUF_SIZE];

    fpb_policy_quantity_limits(FPB_POLICY_QUANTITY_BANDWIDTH, &lo, &hi);
    if (link != -1 && !((double)link >= lo && (double)link <= hi)) {
        g_autofree char *value = g_strdup_printf("%" G_GINT64_FORMAT, link);

        return bad_value(error, "max-bandwidth", value,
                         "a link bandwidth within 1000000..100000000000 bytes per second");
    }
    if (parallel != NULL && !g_str_equal(parallel, "auto") &&
        !g_ascii_string_to_signed(parallel, 10, 1, FPB_EVACUATE_MAX_PARALLEL, &n, NULL)) {
        return bad_value(error, "parallel", parallel, "auto or a number within 1..64");
    }
    if (!(deadline_s >= 0 && deadline_s <= 86400)) {
        return bad_value(error, "deadline", g_ascii_dtostr(v, sizeof(v), deadline_s),
                         "a number of seconds within 0..86400 (0: none)");
    }
    *ret = (FpbEvacuateOptions){
        .link_bytes_per_second = link > 0 ? (double)link : hi,
        .parallel = (guint)n,
        .deadline_s = deadline_s,
    };
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

/* Plans, prints, and (unless a dry run) runs and journals. */
static int plan_and_run(Evacuation *ev)
{
    if (!plan_first(ev)) {
        return FPB_EVACUATE_EXIT_FAILED;
    }
    if (ev->r->dry_run) {
        return FPB_EVACUATE_EXIT_OK;
    }
    if (!journal_start(ev)) {
        return FPB_EVACUATE_EXIT_FAILED;
    }
    if (ev->first->n_refused == ev->n) {
        journal_refused(ev);
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: no VM can be evacuated, nothing done\n");
        return FPB_EVACUATE_EXIT_USAGE;
    }
    ev->t0_us = g_get_monotonic_time();
    run_plan(ev);
    journal_end(ev);
    if (ev->r->json) {
        print_summary_json(ev);
    } else {
        print_summary_text(ev);
    }
    return exit_status(ev);
}

/* The source connection for live caps (only with a link to share), the
 * domains (every running one when none is named) and the journal. */
static int open_all(Evacuation *ev, GStrv *ret_found)
{
    g_autoptr(GError) error = NULL;
    const FpbEvacuateRunRequest *r = ev->r;

    if (r->link > 0 && !r->dry_run &&
        (ev->conn = fpb_libvirt_connect(r->source_uri, &error)) == NULL) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: %s\n", error->message);
        return FPB_EVACUATE_EXIT_USAGE;
    }
    if (r->domains == NULL && (*ret_found = running_domains(r->source_uri, &error)) == NULL) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: %s\n", error->message);
        return FPB_EVACUATE_EXIT_USAGE;
    }
    if ((ev->journal = fpb_journal_open(r->db_path, &error)) == NULL) {
        say(ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: %s\n", error->message);
        return FPB_EVACUATE_EXIT_FAILED;
    }
    return FPB_EVACUATE_EXIT_OK;
}

int fpb_evacuate_run(const FpbEvacuateRunRequest *r)
{
    g_auto(GStrv) found = NULL;
    Evacuation ev = {.r = r, .cancel = r->cancel};
    const char *const *domains;
    int status;

    if (ev.cancel == NULL) {
        ev.cancel = &ev.no_cancel;
    }
    ev.popts = r->plan;
    ev.force_none = r->force_none;
    ev.db_path = r->db_path;
    ev.skipped = g_ptr_array_new_with_free_func(g_free);
    ev.finished = g_async_queue_new();
    fpb_libvirt_init();
    status = open_all(&ev, &found);
    domains = found != NULL ? (const char *const *)found : r->domains;
    if (status != FPB_EVACUATE_EXIT_OK) {
        /* said why */
    } else if (domains[0] == NULL) {
        say(&ev, FPB_EVACUATE_RUN_OUT, "no running domain on '%s': nothing to evacuate\n",
            r->source_uri ? r->source_uri : FPB_LIBVIRT_DEFAULT_URI);
    } else if (!collect(&ev, (char **)domains, g_strv_length((char **)domains))) {
        say(&ev, FPB_EVACUATE_RUN_ERR,
            "fpbctl evacuate: interrupted while collecting facts: nothing was changed\n");
        status = FPB_EVACUATE_EXIT_FAILED;
    } else if (ev.n == 0) {
        say(&ev, FPB_EVACUATE_RUN_ERR, "fpbctl evacuate: no VM could be judged, nothing done\n");
        status = FPB_EVACUATE_EXIT_USAGE;
    } else {
        status = plan_and_run(&ev);
    }
    evacuation_clear(&ev);
    return status;
}

/* ---- the options ---- */

void fpb_evacuate_run_options_init(FpbEvacuateRunOptions *o)
{
    memset(o, 0, sizeof(*o));
    fpb_libvirt_options_init(&o->lv);
    o->link = -1;
}

void fpb_evacuate_run_options_clear(FpbEvacuateRunOptions *o)
{
    fpb_libvirt_options_clear(&o->lv);
    g_free(o->parallel);
    g_free(o->mode);
    fpb_evacuate_run_options_init(o);
}

json_object *fpb_evacuate_run_options_to_json(const FpbEvacuateRunOptions *o)
{
    json_object *j = fpb_libvirt_options_to_json(&o->lv);

    if (o->link != -1) {
        json_object_object_add(j, "max-bandwidth", json_object_new_int64(o->link));
    }
    if (o->parallel != NULL) {
        json_object_object_add(j, "parallel", json_object_new_string(o->parallel));
    }
    if (o->deadline_s != 0) {
        json_object_object_add(j, "deadline", json_object_new_double(o->deadline_s));
    }
    if (o->mode != NULL) {
        json_object_object_add(j, "mode", json_object_new_string(o->mode));
    }
    return j;
}

static gboolean wrong_type(GError **error, const char *key, const char *what)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "option '%s' must be %s", key,
                what);
    return FALSE;
}

/* One of the evacuation's own keys; FALSE with @error on a wrong type. */
static gboolean own_key(FpbEvacuateRunOptions *o, const char *key, json_object *v, GError **error)
{
    if (g_str_equal(key, "max-bandwidth")) {
        if (!json_object_is_type(v, json_type_int)) {
            return wrong_type(error, key, "an integer");
        }
        o->link = json_object_get_int64(v);
    } else if (g_str_equal(key, "deadline")) {
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
            return wrong_type(error, key, "a number");
        }
        o->deadline_s = json_object_get_double(v);
    } else {
        char **slot = g_str_equal(key, "parallel") ? &o->parallel : &o->mode;

        if (!json_object_is_type(v, json_type_string)) {
            return wrong_type(error, key, "a string");
        }
        g_free(*slot);
        *slot = g_strdup(json_object_get_string(v));
    }
    return TRUE;
}

gboolean fpb_evacuate_run_options_from_json(json_object *j, FpbEvacuateRunOptions *o,
                                            GError **error)
{
    static const char *const own[] = {"max-bandwidth", "parallel", "deadline", "mode", NULL};
    g_autoptr(json_object) rest = NULL;

    if (j == NULL) {
        return TRUE;
    }
    if (!json_object_is_type(j, json_type_object)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "'options' is not an object");
        return FALSE;
    }
    rest = json_object_new_object();
    json_object_object_foreach(j, key, v)
    {
        if (g_str_equal(key, "objective")) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "option 'objective' is not one of an evacuation (the plan picks the "
                        "modes, for the makespan)");
            return FALSE;
        }
        if (g_strv_contains(own, key)) {
            if (!own_key(o, key, v, error)) {
                return FALSE;
            }
            continue;
        }
        json_object_object_add(rest, key, json_object_get(v));
    }
    return fpb_libvirt_options_from_json(rest, &o->lv, error);
}

gboolean fpb_evacuate_run_options_apply(const FpbEvacuateRunOptions *o, const FpbConfPolicy *host,
                                        FpbLibvirtMigrateRequest *ret_base,
                                        FpbEvacuateRunRequest *r, GError **error)
{
    if (o->mode != NULL && !g_str_equal(o->mode, "auto") && !g_str_equal(o->mode, "none")) {
        return bad_value(error, "mode", o->mode, "none or auto");
    }
    if (!fpb_evacuate_run_plan_options(o->link, o->parallel, o->deadline_s, &r->plan, error) ||
        !fpb_libvirt_options_apply(&o->lv, host, ret_base, error)) {
        return FALSE;
    }
    ret_base->run.facts.max_bandwidth = -1; /* each run gets its share */
    r->force_none = o->mode != NULL && g_str_equal(o->mode, "none");
    r->link = o->link;
    r->base = ret_base;
    return TRUE;
}
