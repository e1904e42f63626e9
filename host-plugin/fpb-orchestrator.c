/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-orchestrator"

#include <string.h>
#include <unistd.h>

#include "fpb-balloon-step.h"
#include "fpb-facts-json.h"
#include "fpb-migration-step.h"
#include "fpb-orchestrator.h"
#include "fpb-recover.h"

/* Giving memory back must not be cut short by the prep budget. */
#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000

void fpb_migrate_request_init(FpbMigrateRequest *r)
{
    memset(r, 0, sizeof(*r));
    fpb_vm_facts_options_init(&r->facts);
    r->requested_mode = "auto";
    r->timeout_s = 600;
    r->stall_ms = 3000;
    r->connect_timeout_ms = 5000;
}

/* One migration in progress: what the steps share. */
typedef struct {
    FpbJournal *journal;
    const FpbMigrateRequest *req;
    FpbOutcome *o;
    FpbQmpClient *src;
    FpbQmpClient *dst;
    FpbVmFacts *vf;
    FpbPolicyDecision *d;
} Run;

static void progress(const Run *run, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void progress(const Run *run, const char *format, ...)
{
    g_autofree char *message = NULL;
    va_list ap;

    if (run->req->progress == NULL) {
        return;
    }
    va_start(ap, format);
    message = g_strdup_vprintf(format, ap);
    va_end(ap);
    run->req->progress(message, run->req->progress_data);
}

static char *default_vm_name(const FpbMigrateRequest *req, const FpbVmFacts *vf)
{
    if (req->vm_name != NULL) {
        return g_strdup(req->vm_name);
    }
    if (vf != NULL && vf->name != NULL && *vf->name != '\0') {
        return g_strdup(vf->name);
    }
    return g_path_get_basename(req->source_qmp);
}

/* Journal writes after the intent: a failure is reported, the migration
 * goes on (the guest's state matters more than the row). */
static void save(Run *run)
{
    g_autoptr(GError) error = NULL;

    if (run->o->id >= 0 && !fpb_journal_update(run->journal, run->o, &error)) {
        progress(run, "warning: %s, ignoring", error->message);
    }
}

static void set_phase(Run *run, const char *phase)
{
    fpb_outcome_set(&run->o->phase, phase);
    save(run);
}

static void fail(Run *run, const char *message)
{
    fpb_outcome_set_error(run->o, message);
}

static FpbQmpClient *connect_vm(Run *run, const char *path, const char *role)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *qmp = fpb_qmp_client_connect(path, run->req->connect_timeout_ms, &error);

    if (qmp == NULL) {
        g_autofree char *name = default_vm_name(run->req, NULL);
        g_autofree char *m = g_strdup_printf("VM '%s': cannot reach the %s QMP socket '%s': %s",
                                             name, role, path, error->message);
        fail(run, m);
    }
    return qmp;
}

static void recover_abandoned(Run *run)
{
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    if (!fpb_recover_all(run->journal, run->req->source_qmp, run->src, NULL, summaries, NULL,
                         &error)) {
        progress(run, "warning: %s, ignoring", error->message);
    }
    for (guint i = 0; i < summaries->len; i++) {
        progress(run, "recovered: %s", (const char *)summaries->pdata[i]);
    }
}

/* facts + history; FALSE only when the VM's size cannot be read. */
static gboolean gather(Run *run, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = NULL;

    run->vf = fpb_vm_facts_collect(run->src, &run->req->facts, error);
    if (run->vf == NULL) {
        return FALSE;
    }
    name = default_vm_name(run->req, run->vf);
    fpb_outcome_set(&run->o->vm, name);
    if (!fpb_journal_load_history(run->journal, name, &run->vf->facts.history, &local)) {
        g_ptr_array_add(run->vf->notes, g_strdup_printf("history: %s, ignoring", local->message));
    }
    for (guint i = 0; i < run->vf->notes->len; i++) {
        progress(run, "VM '%s': %s", name, (const char *)run->vf->notes->pdata[i]);
    }
    return TRUE;
}

static const char *hints_state(const FpbVmFacts *vf, FpbPolicyMode mode)
{
    if (!vf->facts.guest.free_page_hint) {
        return "not negotiated";
    }
    return fpb_policy_mode_uses_hints(mode) ? "on" : "off";
}

static void record_decision(Run *run)
{
    FpbOutcome *o = run->o;

    o->facts = fpb_facts_json_from_facts(&run->vf->facts);
    fpb_outcome_set(&o->qemu_version, run->vf->qemu_version);
    o->prep_original_bytes = run->vf->facts.balloon_actual_bytes > 0
                                 ? run->vf->facts.balloon_actual_bytes
                                 : run->vf->facts.ram_bytes;
    if (run->d == NULL) {
        return;
    }
    o->decision = fpb_facts_json_from_decision(run->d);
    o->predictions = fpb_facts_json_from_predictions(run->d);
    fpb_outcome_set(&o->mode, fpb_policy_mode_to_string(run->d->mode));
    fpb_outcome_set(&o->hints, hints_state(run->vf, run->d->mode));
}

/* A partial inflation goes on with what was reached; a guest that gave
 * (next to) nothing does not answer the balloon, and migrating would only
 * hide that: the run fails and the source keeps its memory. */
static gboolean ignored_balloon(Run *run, const FpbBalloonStep *step)
{
    g_autofree char *m = NULL;
    gint64 taken = step->start_bytes - step->reached_bytes;

    if (g_strcmp0(step->stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ||
        taken >= (gint64)FPB_COST_MIN_INFLATE_BYTES) {
        return TRUE;
    }
    m = g_strdup_printf("VM '%s': the guest gave %" G_GINT64_FORMAT " MiB of %" G_GINT64_FORMAT
                        " MiB to the balloon in %.1f s (%s): it does not answer the balloon; "
                        "not migrated",
                        run->o->vm, MAX(taken, 0) / (1024 * 1024),
                        run->d->inflate_bytes / (1024 * 1024), step->seconds, step->stopped);
    fail(run, m);
    return FALSE;
}

/* Inflates toward the decision's target. FALSE when QMP failed. */
static gboolean prepare(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbBalloonStep step;
    gboolean ok;

    if (!fpb_policy_mode_uses_balloon(run->d->mode)) {
        fpb_outcome_set(&run->o->prep_stopped, "not-needed");
        run->o->prep_seconds = 0;
        return TRUE;
    }
    run->o->prep_target_bytes = run->d->balloon_target_bytes;
    set_phase(run, FPB_PHASE_PREPARING);
    progress(run, "VM '%s': inflating the balloon by %" G_GINT64_FORMAT " MiB", run->o->vm,
             run->d->inflate_bytes / (1024 * 1024));
    ok = fpb_balloon_step_run(run->src, run->d->balloon_target_bytes,
                              run->vf->facts.policy.max_prep_seconds, run->req->stall_ms, &step,
                              &error);
    run->o->prep_reached_bytes = step.reached_bytes;
    run->o->prep_seconds = step.seconds;
    fpb_outcome_set(&run->o->prep_stopped, ok ? step.stopped : "error");
    save(run);
    if (!ok) {
        g_autofree char *m = g_strdup_printf("VM '%s': inflating the balloon failed: %s",
                                             run->o->vm, error->message);
        fail(run, m);
        return FALSE;
    }
    progress(run, "VM '%s': balloon at %" G_GINT64_FORMAT " MiB after %.1f s (%s)", run->o->vm,
             step.reached_bytes / (1024 * 1024), step.seconds, step.stopped);
    return ignored_balloon(run, &step);
}

static gboolean migrate(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbMigrationPlan plan = {
        .uri = run->req->uri,
        .max_bandwidth = run->req->facts.max_bandwidth,
        .timeout_s = run->req->timeout_s,
        .hints_off = run->vf->facts.guest.free_page_hint && run->dst != NULL &&
                     !fpb_policy_mode_uses_hints(run->d->mode),
        .method = run->d->method,
    };

    set_phase(run, FPB_PHASE_MIGRATING);
    progress(run, "VM '%s': migrating to '%s' (free-page hints %s)", run->o->vm, plan.uri,
             run->o->hints);
    if (!fpb_migration_step_run(run->src, run->dst, &plan, run->o, &error)) {
        fail(run, error->message);
        save(run);
        return FALSE;
    }
    save(run);
    return TRUE;
}

/* Gives the memory back: on the destination after a migration, else on
 * the source. Any restore failure fails the whole run. */
static gboolean restore(Run *run, gboolean migrated)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *where = migrated ? run->dst : run->src;
    const char *where_name = migrated ? "destination" : "source";
    FpbBalloonStep step;

    /* An unknown reached size after a failed inflation may still be a
     * smaller guest: give back unless it is known that nothing was taken. */
    if (run->o->prep_target_bytes < 0 ||
        (run->o->prep_reached_bytes >= 0 &&
         run->o->prep_reached_bytes >= run->o->prep_original_bytes)) {
        fpb_outcome_set(&run->o->restore_status, "not-needed");
        return TRUE;
    }
    set_phase(run, FPB_PHASE_RESTORING);
    fpb_outcome_set(&run->o->restore_where, where_name);
    progress(run, "VM '%s': giving the memory back on the %s (to %" G_GINT64_FORMAT " MiB)",
             run->o->vm, where_name, run->o->prep_original_bytes / (1024 * 1024));
    if (where == NULL || !fpb_balloon_step_run(where, run->o->prep_original_bytes, RESTORE_BUDGET_S,
                                               RESTORE_STALL_MS, &step, &error)) {
        g_autofree char *m =
            g_strdup_printf("VM '%s': giving memory back on the %s failed: %s", run->o->vm,
                            where_name, error ? error->message : "no QMP socket for it");
        fpb_outcome_set(&run->o->restore_status, "failed");
        fail(run, m);
        return FALSE;
    }
    run->o->restore_seconds = step.seconds;
    run->o->restore_final_bytes = step.reached_bytes;
    fpb_outcome_set(&run->o->restore_status,
                    g_strcmp0(step.stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ? "done" : "partial");
    return g_strcmp0(run->o->restore_status, "done") == 0 ||
           (fail(run, "the guest did not take all its memory back in time"), FALSE);
}

void fpb_orchestrator_policy_outcome(const FpbOutcome *o, FpbPolicyOutcome *ret)
{
    FpbPolicyMode mode = FPB_POLICY_MODE_NONE;

    fpb_policy_mode_from_string(o->mode ? o->mode : "none", &mode);
    *ret = (FpbPolicyOutcome){
        .mode = mode,
        .succeeded = g_strcmp0(o->phase, FPB_PHASE_DONE) == 0,
        .inflated_bytes = (o->prep_reached_bytes >= 0 && o->prep_original_bytes >= 0)
                              ? MAX(o->prep_original_bytes - o->prep_reached_bytes, 0)
                              : -1,
        .prep_seconds = o->prep_seconds,
        .deflated_bytes = (o->restore_final_bytes >= 0 && o->prep_reached_bytes >= 0)
                              ? MAX(o->restore_final_bytes - o->prep_reached_bytes, 0)
                              : -1,
        .restore_seconds = o->restore_seconds,
        .transferred_bytes = o->mig_transferred_bytes,
        .normal_bytes = o->mig_normal_bytes,
        .zero_pages = o->mig_zero_pages,
        .migrate_seconds = (o->mig_total_ms >= 0 && o->mig_setup_ms >= 0)
                               ? (double)(o->mig_total_ms - o->mig_setup_ms) / 1000.0
                               : -1.0,
    };
}

/* Folds the outcome into the VM's history (calibration). */
static void learn(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbPolicyOutcome po;
    FpbPolicyHistory h = run->vf->facts.history;

    fpb_orchestrator_policy_outcome(run->o, &po);
    fpb_cost_model_observe(&h, &run->vf->facts, &po);
    if (!fpb_journal_save_history(run->journal, run->o->vm, &h, &error)) {
        progress(run, "warning: %s, ignoring", error->message);
    }
}

static FpbMigrateResult finish(Run *run, const char *phase, FpbMigrateResult result)
{
    g_autoptr(GError) error = NULL;

    fpb_outcome_set(&run->o->phase, phase);
    run->o->end_us = g_get_real_time();
    if (run->o->vm == NULL) {
        run->o->vm = default_vm_name(run->req, run->vf);
    }
    if (run->o->id < 0) {
        /* Nothing was changed: the row is written once, complete. */
        if (!fpb_journal_insert(run->journal, run->o, &error)) {
            progress(run, "warning: %s, ignoring", error->message);
        }
    } else {
        save(run);
    }
    if (run->d != NULL && run->o->mig_status != NULL &&
        g_strcmp0(run->o->mig_status, "not-started") != 0) {
        learn(run);
    }
    return result;
}

static gboolean decide(Run *run, GError **error)
{
    run->d = fpb_policy_decide(&run->vf->facts, error);
    record_decision(run);
    return run->d != NULL;
}

/* Writes the intent row; without it nothing may change on the guest. */
static gboolean journal_intent(Run *run)
{
    g_autoptr(GError) error = NULL;

    fpb_outcome_set(&run->o->phase, FPB_PHASE_INTENT);
    fpb_outcome_set(&run->o->mig_status, "not-started");
    if (!fpb_journal_insert(run->journal, run->o, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': cannot journal the intent, nothing done: "
                                             "%s",
                                             run->o->vm, error->message);
        fail(run, m);
        return FALSE;
    }
    return TRUE;
}

static FpbMigrateResult run_steps(Run *run)
{
    g_autoptr(GError) error = NULL;
    gboolean migrated;

    if (!gather(run, &error)) {
        fail(run, error->message);
        return finish(run, FPB_PHASE_FAILED, FPB_MIGRATE_FAILED);
    }
    if (!decide(run, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': %s", run->o->vm, error->message);
        fail(run, m);
        return finish(run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
    }
    progress(
        run, "VM '%s': decided '%s' (%s)", run->o->vm, run->o->mode,
        fpb_policy_reason_code_to_string(((FpbPolicyReason *)run->d->reasons->pdata[0])->code));
    if (!journal_intent(run)) {
        return finish(run, FPB_PHASE_FAILED, FPB_MIGRATE_FAILED);
    }
    migrated = prepare(run) && migrate(run);
    if (!restore(run, migrated) || !migrated) {
        return finish(run, FPB_PHASE_FAILED, FPB_MIGRATE_FAILED);
    }
    return finish(run, FPB_PHASE_DONE, FPB_MIGRATE_OK);
}

static FpbOutcome *new_outcome(const FpbMigrateRequest *req)
{
    FpbOutcome *o = fpb_outcome_new();

    o->start_us = g_get_real_time();
    o->owner_pid = getpid();
    o->owner_start = fpb_recover_process_start_time(getpid());
    fpb_outcome_set(&o->source_qmp, req->source_qmp);
    fpb_outcome_set(&o->dest_qmp, req->dest_qmp);
    fpb_outcome_set(&o->uri, req->uri);
    fpb_outcome_set(&o->requested_mode, req->requested_mode);
    return o;
}

FpbOutcome *fpb_orchestrator_migrate(FpbJournal *journal, const FpbMigrateRequest *req,
                                     FpbMigrateResult *ret_result)
{
    g_autoptr(FpbQmpClient) src = NULL;
    g_autoptr(FpbQmpClient) dst = NULL;
    g_autoptr(FpbVmFacts) vf = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    Run run = {.journal = journal, .req = req, .o = new_outcome(req)};

    /* An unreachable VM is refused input: nothing was done to anything. */
    src = run.src = connect_vm(&run, req->source_qmp, "source");
    if (src == NULL) {
        *ret_result = finish(&run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
        return run.o;
    }
    recover_abandoned(&run);
    if (req->dest_qmp != NULL) {
        dst = run.dst = connect_vm(&run, req->dest_qmp, "destination");
        if (dst == NULL) {
            *ret_result = finish(&run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
            return run.o;
        }
    }
    *ret_result = run_steps(&run);
    vf = run.vf;
    d = run.d;
    return run.o;
}

gboolean fpb_orchestrator_explain(FpbJournal *journal, const FpbMigrateRequest *req,
                                  FpbVmFacts **ret_facts, FpbPolicyDecision **ret_decision,
                                  gboolean *ret_refused, GError **error)
{
    g_autoptr(FpbOutcome) o = new_outcome(req);
    g_autoptr(FpbQmpClient) src =
        fpb_qmp_client_connect(req->source_qmp, req->connect_timeout_ms, error);
    g_autoptr(FpbVmFacts) vf = NULL;
    Run run = {.journal = journal, .req = req, .o = o, .src = src};

    *ret_refused = FALSE;
    if (src == NULL) {
        return FALSE;
    }
    recover_abandoned(&run);
    if (!gather(&run, error)) {
        return FALSE;
    }
    vf = run.vf;
    *ret_decision = fpb_policy_decide(&vf->facts, error);
    *ret_refused = *ret_decision == NULL;
    *ret_facts = g_steal_pointer(&vf);
    return !*ret_refused;
}
