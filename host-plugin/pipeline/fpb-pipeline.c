/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-pipeline"

#include <string.h>
#include <unistd.h>

#include "fpb-facts-json.h"
#include "fpb-pipeline.h"
#include "fpb-qmp-hints.h"
#include "fpb-recover.h"
#include "fpb-vm-lock.h"

/* Giving memory back must not be cut short by the prep budget. */
#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000

/* The cancel flag of the run on this thread (FpbPipelineRequest.cancel):
 * the backends' wait loops run on the pipeline's thread and read it with
 * fpb_pipeline_cancelled(), so FpbBackendOps needs no new argument. */
static _Thread_local volatile gint *thread_cancel;

gboolean fpb_pipeline_cancelled(void)
{
    return thread_cancel != NULL && g_atomic_int_get(thread_cancel) != 0;
}

void fpb_pipeline_request_init(FpbPipelineRequest *r)
{
    memset(r, 0, sizeof(*r));
    fpb_vm_facts_options_init(&r->facts);
    r->requested_mode = "auto";
    r->timeout_s = 600;
    r->migration_stall_s = 60;
    r->stall_ms = 3000;
}

/* One migration in progress: what the steps share. */
typedef struct {
    FpbJournal *journal;
    FpbBackend *be;
    const FpbPipelineRequest *req;
    FpbOutcome *o;
    FpbVmFacts *vf;
    FpbPolicyDecision *d;
    double probe_seconds; /* the trial inflation's time, part of the budget */
    FpbVmLock *lock;      /* held from before open to after the last row */
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

/* The backend's name for the VM, else the guest's own, else the
 * backend's fallback (a socket's file name). */
static void name_vm(Run *run)
{
    if (run->o->vm != NULL) {
        return;
    }
    if (run->vf != NULL && run->vf->name != NULL && *run->vf->name != '\0') {
        fpb_outcome_set(&run->o->vm, run->vf->name);
        return;
    }
    run->o->vm = run->be->ops->fallback_name(run->be);
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

/* FALSE (the run fails, memory is given back by restore()) once the caller
 * cancelled the run; @when says where it stopped. */
static gboolean go_on(Run *run, const char *when)
{
    g_autofree char *m = NULL;

    if (!fpb_pipeline_cancelled()) {
        return TRUE;
    }
    m = g_strdup_printf("VM '%s': cancelled %s", run->o->vm, when);
    progress(run, "%s", m);
    fail(run, m);
    return FALSE;
}

/* Rows a dead fpbctl or fpbd left open for this VM: undone first, so their
 * balloon is not mistaken for the guest's size. */
static void recover_abandoned(Run *run)
{
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    const FpbBackendOps *const own[] = {run->be->ops, NULL};

    if (!fpb_recover_all(run->journal, run->o->source_qmp, run->be, own, summaries, NULL, &error)) {
        progress(run, "warning: %s, ignoring", error->message);
    }
    for (guint i = 0; i < summaries->len; i++) {
        progress(run, "recovered: %s", (const char *)summaries->pdata[i]);
    }
}

/* facts + history; FALSE when the VM cannot be judged. */
static gboolean gather(Run *run, GError **error)
{
    g_autoptr(GError) local = NULL;

    run->vf = run->be->ops->collect_facts(run->be, &run->req->facts, error);
    if (run->vf == NULL) {
        return FALSE;
    }
    name_vm(run);
    if (!fpb_journal_load_history(run->journal, run->o->vm, &run->vf->facts.history, &local)) {
        g_ptr_array_add(run->vf->notes, g_strdup_printf("history: %s, ignoring", local->message));
    }
    for (guint i = 0; i < run->vf->notes->len; i++) {
        progress(run, "VM '%s': %s", run->o->vm, (const char *)run->vf->notes->pdata[i]);
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
    const FpbPolicyFacts *f = &run->vf->facts;

    /* called again when a step after the decision changes it */
    g_clear_pointer(&o->facts, json_object_put);
    g_clear_pointer(&o->decision, json_object_put);
    g_clear_pointer(&o->predictions, json_object_put);
    o->facts = fpb_facts_json_from_facts(f);
    fpb_outcome_set(&o->qemu_version, run->vf->qemu_version);
    o->prep_original_bytes = f->balloon_actual_bytes > 0 ? f->balloon_actual_bytes : f->ram_bytes;
    if (run->d == NULL) {
        return;
    }
    o->decision = fpb_facts_json_from_decision(run->d);
    o->predictions = fpb_facts_json_from_predictions(run->d);
    fpb_outcome_set(&o->mode, fpb_policy_mode_to_string(run->d->mode));
    fpb_outcome_set(&o->hints, hints_state(run->vf, run->d->mode));
}

static gboolean decide(Run *run, GError **error)
{
    run->d = fpb_policy_decide(&run->vf->facts, error);
    record_decision(run);
    return run->d != NULL;
}

/* A partial inflation goes on with what was reached; a guest that gave
 * (next to) nothing does not answer the balloon, and migrating would only
 * hide that: the run fails and the source keeps its memory. A guest that
 * gave until it ran out of free memory (guest-short, guest-low) did
 * answer: however little the back-off left taken, the re-check decides
 * (in auto mode it gives the balloon back for a better mode). */
static gboolean ignored_balloon(Run *run, const FpbBalloonStep *step)
{
    g_autofree char *m = NULL;
    gint64 taken = run->o->prep_original_bytes - step->reached_bytes;

    if (g_strcmp0(step->stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ||
        g_strcmp0(step->stopped, FPB_BALLOON_STOPPED_GUEST_SHORT) == 0 ||
        g_strcmp0(step->stopped, FPB_BALLOON_STOPPED_GUEST_LOW) == 0 ||
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

/* Gives the memory back on the source before migrating (a trial, or a
 * mode abandoned): the row's restore says so, and the later restore step
 * has nothing left to do. */
static gboolean give_back_now(Run *run, const char *why)
{
    g_autoptr(GError) error = NULL;
    FpbBalloonStep step;

    progress(run, "VM '%s': giving the %s memory back on the source", run->o->vm, why);
    fpb_outcome_set(&run->o->restore_where, fpb_end_to_string(FPB_END_SOURCE));
    if (!run->be->ops->balloon_run(run->be, FPB_END_SOURCE, run->o->prep_original_bytes, TRUE,
                                   RESTORE_BUDGET_S, RESTORE_STALL_MS, &step, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': giving the %s memory back failed: %s",
                                             run->o->vm, why, error->message);

        fpb_outcome_set(&run->o->restore_status, "failed");
        fail(run, m);
        save(run);
        return FALSE;
    }
    run->o->restore_seconds = step.seconds;
    run->o->restore_final_bytes = step.reached_bytes;
    fpb_outcome_set(&run->o->restore_status,
                    g_strcmp0(step.stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ? "done" : "partial");
    save(run);
    if (g_strcmp0(run->o->restore_status, "done") != 0) {
        g_autofree char *m = g_strdup_printf(
            "VM '%s': the guest did not take all its %s memory back in time", run->o->vm, why);

        fail(run, m);
        return FALSE;
    }
    return TRUE;
}

/* The decision again with the rate the balloon showed; the row gets it. */
static void redecide(Run *run, FpbReasonCode code, char *text)
{
    g_autoptr(GError) error = NULL;
    FpbPolicyDecision *d = fpb_policy_decide(&run->vf->facts, &error);

    if (d == NULL) {
        progress(run, "VM '%s': deciding again failed (%s): keeping '%s'", run->o->vm,
                 error->message, fpb_policy_mode_to_string(run->d->mode));
        g_free(text);
        return;
    }
    fpb_policy_decision_add_reason(d, code, text);
    fpb_policy_decision_free(run->d);
    run->d = d;
    record_decision(run);
    save(run);
}

/* A trial inflation when the choice hangs on an unmeasured inflation rate
 * (fpb-policy-prep.h). FALSE when the run must stop (the backend failed,
 * or the trial memory could not be given back). */
static gboolean probe(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbBalloonStep step;
    const char *before = fpb_policy_mode_to_string(run->d->mode);
    gint64 taken;

    if (!fpb_policy_probe_worthwhile(&run->vf->facts, run->d)) {
        return TRUE;
    }
    run->o->prep_target_bytes = run->o->prep_original_bytes - FPB_POLICY_PROBE_BYTES;
    set_phase(run, FPB_PHASE_PREPARING);
    progress(run,
             "VM '%s': trying %" G_GINT64_FORMAT " MiB of inflation: at the prior rate '%s' "
             "wins, at a rate guests have shown a balloon would",
             run->o->vm, FPB_POLICY_PROBE_BYTES / (1024 * 1024), before);
    if (!run->be->ops->balloon_run(run->be, FPB_END_SOURCE, run->o->prep_target_bytes, FALSE,
                                   FPB_POLICY_PROBE_SECONDS, run->req->stall_ms, &step, &error)) {
        g_autofree char *m =
            g_strdup_printf("VM '%s': the trial inflation failed: %s", run->o->vm, error->message);

        run->o->prep_reached_bytes = step.reached_bytes;
        fpb_outcome_set(&run->o->prep_stopped, "error");
        fail(run, m);
        save(run);
        return FALSE;
    }
    run->o->prep_reached_bytes = step.reached_bytes;
    run->o->prep_seconds = run->probe_seconds = step.seconds;
    if (!go_on(run, "during the trial inflation")) {
        fpb_outcome_set(&run->o->prep_stopped, FPB_BALLOON_STOPPED_CANCELLED);
        save(run);
        return FALSE;
    }
    taken = run->o->prep_original_bytes - step.reached_bytes;
    if (fpb_policy_facts_set_measured_inflation(&run->vf->facts, taken, step.seconds)) {
        redecide(run, FPB_REASON_INFLATE_RATE_MEASURED,
                 g_strdup_printf("a trial inflation took %" G_GINT64_FORMAT " MiB in %.2f s "
                                 "(%.0f MB/s); the decision before it was '%s'",
                                 MAX(taken, 0) / (1024 * 1024), step.seconds,
                                 run->vf->facts.measured_inflate_bytes_per_second / 1e6, before));
    }
    progress(run, "VM '%s': the trial measured %.0f MB/s: '%s'", run->o->vm,
             run->vf->facts.measured_inflate_bytes_per_second / 1e6, run->o->mode);
    if (fpb_policy_mode_uses_balloon(run->d->mode)) {
        return TRUE;
    }
    fpb_outcome_set(&run->o->prep_stopped, "trial");
    return give_back_now(run, "trial");
}

/* After the preparation: a mode that no longer pays at the measured rate
 * is abandoned and its memory given back (fpb-policy-prep.h). */
static gboolean recheck(Run *run)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *why = NULL;
    FpbPolicyFacts *f = &run->vf->facts;
    gint64 taken = run->o->prep_original_bytes - run->o->prep_reached_bytes;
    FpbPolicyMode mode;

    if (!fpb_policy_facts_set_measured_inflation(f, taken, run->o->prep_seconds)) {
        return TRUE;
    }
    mode = fpb_policy_recheck_prepared(f, run->d, taken, &why);
    record_decision(run); /* the facts now carry the measured rate */
    if (mode == run->d->mode) {
        return TRUE;
    }
    progress(run, "VM '%s': %s", run->o->vm, why);
    fpb_policy_decision_add_reason(run->d, FPB_REASON_PREP_ABANDONED, g_steal_pointer(&why));
    run->d->mode = mode;
    run->d->inflate_bytes = 0;
    run->d->balloon_target_bytes = run->d->balloon_ceiling_target_bytes =
        run->o->prep_original_bytes;
    if (!fpb_policy_method_choose(f, fpb_policy_mode_uses_hints(mode), &run->d->method,
                                  run->d->reasons, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': %s", run->o->vm, error->message);

        fail(run, m);
        return FALSE;
    }
    record_decision(run);
    fpb_outcome_set(&run->o->prep_stopped, "abandoned");
    return give_back_now(run, "prepared");
}

/* Inflates toward the decision's target (live only). FALSE when the
 * backend failed or the guest did not answer. */
static gboolean prepare(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbBalloonStep step;
    gboolean ok;

    if (!fpb_policy_mode_uses_balloon(run->d->mode)) {
        if (run->o->prep_stopped == NULL) { /* else the trial's */
            fpb_outcome_set(&run->o->prep_stopped, "not-needed");
            run->o->prep_seconds = 0;
        }
        return TRUE;
    }
    /* Aimed at all the balloon may take; the budget stops it, so the
     * guest's real rate sizes it, not the prior (fpb-policy-prep.h). */
    run->o->prep_target_bytes = run->d->balloon_ceiling_target_bytes;
    set_phase(run, FPB_PHASE_PREPARING);
    progress(run,
             "VM '%s': inflating the balloon by up to %" G_GINT64_FORMAT
             " MiB (predicted %" G_GINT64_FORMAT " MiB in the %.0f s budget)",
             run->o->vm,
             (run->o->prep_original_bytes - run->d->balloon_ceiling_target_bytes) / (1024 * 1024),
             run->d->inflate_bytes / (1024 * 1024), run->vf->facts.policy.max_prep_seconds);
    ok = run->be->ops->balloon_run(
        run->be, FPB_END_SOURCE, run->d->balloon_ceiling_target_bytes, FALSE,
        MAX(run->vf->facts.policy.max_prep_seconds - run->probe_seconds, 0.5), run->req->stall_ms,
        &step, &error);
    run->o->prep_reached_bytes = step.reached_bytes;
    run->o->prep_seconds = run->probe_seconds + step.seconds;
    fpb_outcome_set(&run->o->prep_stopped, ok ? step.stopped : "error");
    save(run);
    if (ok && !go_on(run, "during the inflation")) {
        return FALSE;
    }
    if (!ok) {
        g_autofree char *m = g_strdup_printf("VM '%s': inflating the balloon failed: %s",
                                             run->o->vm, error->message);
        fail(run, m);
        return FALSE;
    }
    progress(run, "VM '%s': balloon at %" G_GINT64_FORMAT " MiB after %.1f s (%s)", run->o->vm,
             step.reached_bytes / (1024 * 1024), run->o->prep_seconds, step.stopped);
    return ignored_balloon(run, &step) && recheck(run);
}

static void tick(const FpbMigrationProgress *p, gpointer data)
{
    const Run *run = data;
    const FpbPolicyPrediction *pred = &run->d->predictions[run->d->mode];
    FpbPipelineTick t = {
        .vm = run->o->vm,
        .mode = run->o->mode,
        .migration = p,
        .predicted_seconds = pred->migrate_seconds,
        .predicted_bytes = pred->bytes,
    };

    run->req->tick(&t, run->req->tick_data);
}

/* The policy's reclaim request, when this migration hints and the source's
 * guest driver can serve it (fpb_balloon 0.4.0+ on fpb's QEMU); else 0,
 * saying why when the policy asked. */
static guint32 reclaim_request(Run *run)
{
    const FpbPolicySettings *p = &run->vf->facts.policy;

    if (p->reclaim == 0 || !fpb_policy_mode_uses_hints(run->d->mode)) {
        return 0;
    }
    if (!(run->vf->driver_features & FPB_QMP_GUEST_DRIVER_F_RECLAIM) ||
        run->vf->balloon_qom_path == NULL) {
        progress(run, "VM '%s': reclaim %s not asked: the guest driver (%s) cannot serve it",
                 run->o->vm, fpb_policy_reclaim_to_string(p->reclaim),
                 run->vf->driver_name ? run->vf->driver_name : "unknown");
        return 0;
    }
    progress(run, "VM '%s': asking the guest driver to reclaim (%s) before its hint walks",
             run->o->vm, fpb_policy_reclaim_to_string(p->reclaim));
    return (p->reclaim & FPB_POLICY_RECLAIM_SPLIT ? FPB_QMP_RECLAIM_SPLIT : 0) |
           (p->reclaim & FPB_POLICY_RECLAIM_CACHE ? FPB_QMP_RECLAIM_CACHE : 0);
}

static gboolean migrate(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbBackendMigration m = {
        .max_bandwidth = run->req->facts.max_bandwidth,
        .timeout_s = run->req->timeout_s,
        .stall_s = run->req->migration_stall_s,
        .hints_off =
            run->vf->facts.guest.free_page_hint && !fpb_policy_mode_uses_hints(run->d->mode),
        .method = run->d->method,
        .hint_switch = run->vf->qemu_hint_switch,
        .hint_stats = run->vf->qemu_hint_stats,
        .reclaim = reclaim_request(run),
        .reclaim_cache_mib =
            (guint32)MIN(run->vf->facts.policy.reclaim_cache_bound_bytes >> 20, G_MAXUINT32),
        .balloon_qom_path = run->vf->balloon_qom_path,
        .tick = run->req->tick != NULL ? tick : NULL,
        .tick_data = run,
    };
    gboolean ok;

    set_phase(run, FPB_PHASE_MIGRATING);
    progress(run, "VM '%s': migrating to '%s' (free-page hints %s)", run->o->vm,
             run->o->uri ? run->o->uri : "?", run->o->hints);
    ok = run->be->ops->migrate_run(run->be, &m, run->o, &error);
    if (!ok) {
        fail(run, error->message);
    }
    save(run);
    return ok;
}

/* The backend lost the end that runs the VM (libvirtd restarted or
 * crashed; the backend is named after what it talks to): it waits for it,
 * then gives back. */
static gboolean restore_after_lost_connection(Run *run)
{
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *m = NULL;
    gboolean ok = FALSE;

    progress(run,
             "VM '%s': lost the connection to %s; waiting for it to give the memory back "
             "(to %" G_GINT64_FORMAT " MiB)",
             run->o->vm, run->be->ops->name, run->o->prep_original_bytes / (1024 * 1024));
    if (run->be->ops->give_back_lost != NULL) {
        ok = run->be->ops->give_back_lost(run->be, run->o, notes);
    } else {
        fpb_outcome_set(&run->o->restore_status, "failed");
        g_string_append(notes, "; the backend cannot find the VM again");
    }
    progress(run, "VM '%s': %s", run->o->vm, notes->len > 2 ? notes->str + 2 : "?");
    /* the first error stays the cause; what the wait achieved follows it */
    m = run->o->error ? g_strdup_printf("%s%s", run->o->error, notes->str)
                      : g_strdup_printf("VM '%s': lost the connection to %s%s", run->o->vm,
                                        run->be->ops->name, notes->str);
    fpb_outcome_set(&run->o->error, m);
    return ok;
}

/* TRUE when nothing was taken from the guest, as far as is known. An
 * unknown reached size after a failed inflation may still be a smaller
 * guest: give back unless it is known that nothing was taken. */
static gboolean nothing_taken(const FpbOutcome *o)
{
    return o->prep_target_bytes < 0 ||
           (o->prep_reached_bytes >= 0 && o->prep_reached_bytes >= o->prep_original_bytes);
}

/* Gives the memory back: on the destination after a migration, else on
 * the source. Any restore failure fails the whole run. */
static gboolean restore(Run *run, gboolean migrated)
{
    g_autoptr(GError) error = NULL;
    FpbEnd end = migrated ? FPB_END_DESTINATION : FPB_END_SOURCE;
    FpbBalloonStep step;

    if (g_strcmp0(run->o->restore_status, "done") == 0) {
        return TRUE; /* given back on the source before migrating */
    }
    if (nothing_taken(run->o)) {
        fpb_outcome_set(&run->o->restore_status, "not-needed");
        return TRUE;
    }
    set_phase(run, FPB_PHASE_RESTORING);
    if (run->be->ops->end_alive != NULL && !run->be->ops->end_alive(run->be, end)) {
        return restore_after_lost_connection(run);
    }
    fpb_outcome_set(&run->o->restore_where, fpb_end_to_string(end));
    progress(run, "VM '%s': giving the memory back on the %s (to %" G_GINT64_FORMAT " MiB)",
             run->o->vm, fpb_end_to_string(end), run->o->prep_original_bytes / (1024 * 1024));
    if (!run->be->ops->balloon_run(run->be, end, run->o->prep_original_bytes, TRUE,
                                   RESTORE_BUDGET_S, RESTORE_STALL_MS, &step, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': giving memory back on the %s failed: %s",
                                             run->o->vm, fpb_end_to_string(end), error->message);
        fpb_outcome_set(&run->o->restore_status, "failed");
        fail(run, m);
        return FALSE;
    }
    run->o->restore_seconds = step.seconds;
    run->o->restore_final_bytes = step.reached_bytes;
    fpb_outcome_set(&run->o->restore_status,
                    g_strcmp0(step.stopped, FPB_BALLOON_STOPPED_TARGET) == 0 ? "done" : "partial");
    if (g_strcmp0(run->o->restore_status, "done") != 0) {
        g_autofree char *m = g_strdup_printf(
            "VM '%s': the guest did not take all its memory back in time", run->o->vm);

        fail(run, m);
        return FALSE;
    }
    return TRUE;
}

void fpb_pipeline_policy_outcome(const FpbOutcome *o, FpbPolicyOutcome *ret)
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
        .hint_cleared_bytes = o->hint_cleared_bytes,
    };
}

/* Folds the outcome into the VM's history (calibration). */
static void learn(Run *run)
{
    g_autoptr(GError) error = NULL;
    FpbPolicyOutcome po;
    FpbPolicyHistory h = run->vf->facts.history;

    fpb_pipeline_policy_outcome(run->o, &po);
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
    name_vm(run);
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

static FpbMigrateResult refuse(Run *run, const GError *error)
{
    g_autofree char *m = NULL;

    name_vm(run);
    m = g_str_has_prefix(error->message, "VM '")
            ? g_strdup(error->message)
            : g_strdup_printf("VM '%s': %s", run->o->vm, error->message);
    fail(run, m);
    return finish(run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
}

/* The VM's lock (fpb-vm-lock.h), before anything opens a monitor: a
 * second caller is turned away before it touches the VM. */
static gboolean lock_vm(Run *run, GError **error)
{
    g_autofree char *key = run->be->ops->lock_key(run->be, error);
    g_autofree char *dir = NULL;
    g_autofree char *name = NULL;

    if (key == NULL) {
        return FALSE;
    }
    dir = fpb_vm_lock_dir(fpb_journal_path(run->journal));
    name = run->o->vm ? g_strdup(run->o->vm) : run->be->ops->fallback_name(run->be);
    run->lock = fpb_vm_lock_take(dir, key, name, g_get_prgname() ? g_get_prgname() : "fpb", error);
    return run->lock != NULL;
}

static FpbMigrateResult run_steps(Run *run)
{
    g_autoptr(GError) error = NULL;
    gboolean migrated;

    if (!lock_vm(run, &error) || !run->be->ops->open(run->be, TRUE, &error)) {
        return refuse(run, error);
    }
    recover_abandoned(run);
    if (!gather(run, &error) || !decide(run, &error)) {
        return refuse(run, error);
    }
    progress(
        run, "VM '%s': decided '%s' (%s)", run->o->vm, run->o->mode,
        fpb_policy_reason_code_to_string(((FpbPolicyReason *)run->d->reasons->pdata[0])->code));
    if (!journal_intent(run)) {
        return finish(run, FPB_PHASE_FAILED, FPB_MIGRATE_FAILED);
    }
    migrated = go_on(run, "before anything was changed") && probe(run) && prepare(run) &&
               go_on(run, "before the migration") && migrate(run);
    if (!restore(run, migrated) || !migrated) {
        return finish(run, FPB_PHASE_FAILED, FPB_MIGRATE_FAILED);
    }
    return finish(run, FPB_PHASE_DONE, FPB_MIGRATE_OK);
}

static FpbOutcome *new_outcome(FpbBackend *be, const FpbPipelineRequest *req)
{
    FpbOutcome *o = fpb_outcome_new();

    o->start_us = g_get_real_time();
    o->owner_pid = getpid();
    o->owner_start = fpb_recover_process_start_time(getpid());
    fpb_outcome_set(&o->backend, be->ops->name);
    fpb_outcome_set(&o->requested_mode, req->requested_mode);
    be->ops->describe(be, o);
    return o;
}

FpbOutcome *fpb_pipeline_migrate(FpbJournal *journal, FpbBackend *backend,
                                 const FpbPipelineRequest *req, FpbMigrateResult *ret_result)
{
    Run run = {.journal = journal, .be = backend, .req = req, .o = new_outcome(backend, req)};
    volatile gint *outer = thread_cancel;

    thread_cancel = req->cancel;
    *ret_result = run_steps(&run);
    fpb_vm_lock_release(run.lock);
    thread_cancel = outer;
    fpb_vm_facts_free(run.vf);
    fpb_policy_decision_free(run.d);
    return run.o;
}

gboolean fpb_pipeline_explain(FpbJournal *journal, FpbBackend *backend,
                              const FpbPipelineRequest *req, FpbVmFacts **ret_facts,
                              FpbPolicyDecision **ret_decision, gboolean *ret_refused,
                              GError **error)
{
    g_autoptr(FpbOutcome) o = new_outcome(backend, req);
    Run run = {.journal = journal, .be = backend, .req = req, .o = o};

    *ret_refused = FALSE;
    if (!backend->ops->open(backend, FALSE, error)) {
        return FALSE;
    }
    recover_abandoned(&run);
    if (!gather(&run, error)) {
        return FALSE;
    }
    *ret_decision = fpb_policy_decide(&run.vf->facts, error);
    *ret_refused = *ret_decision == NULL;
    *ret_facts = g_steal_pointer(&run.vf);
    return !*ret_refused;
}
