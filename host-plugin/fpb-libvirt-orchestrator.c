/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <string.h>
#include <unistd.h>

#include "fpb-facts-json.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-orchestrator.h"
#include "fpb-libvirt-recover.h"
#include "fpb-libvirt-steps.h"
#include "fpb-recover.h"

#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000

void fpb_libvirt_migrate_request_init(FpbLibvirtMigrateRequest *r)
{
    memset(r, 0, sizeof(*r));
    fpb_vm_facts_options_init(&r->facts);
    fpb_conf_policy_init(&r->cli_policy);
    r->requested_mode = "auto";
    r->timeout_s = 600;
    r->stall_ms = 3000;
}

char *fpb_libvirt_orchestrator_source_id(const char *uri, const char *domain)
{
    return g_strdup_printf("libvirt:%s#%s", uri ? uri : FPB_LIBVIRT_DEFAULT_URI, domain);
}

typedef struct {
    FpbJournal *journal;
    const FpbLibvirtMigrateRequest *req;
    FpbOutcome *o;
    virConnectPtr sconn;
    virConnectPtr dconn;
    virDomainPtr dom;
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

static gboolean gather(Run *run, GError **error)
{
    g_autoptr(GError) local = NULL;

    run->vf = fpb_libvirt_facts_collect(run->dom, &run->req->facts, &run->req->cli_policy, error);
    if (run->vf == NULL) {
        return FALSE;
    }
    if (!fpb_journal_load_history(run->journal, run->o->vm, &run->vf->facts.history, &local)) {
        g_ptr_array_add(run->vf->notes, g_strdup_printf("history: %s, ignoring", local->message));
    }
    for (guint i = 0; i < run->vf->notes->len; i++) {
        progress(run, "VM '%s': %s", run->o->vm, (const char *)run->vf->notes->pdata[i]);
    }
    return TRUE;
}

static void record_decision(Run *run)
{
    FpbOutcome *o = run->o;
    const FpbPolicyFacts *f = &run->vf->facts;

    o->facts = fpb_facts_json_from_facts(f);
    fpb_outcome_set(&o->qemu_version, run->vf->qemu_version);
    o->prep_original_bytes = f->balloon_actual_bytes > 0 ? f->balloon_actual_bytes : f->ram_bytes;
    if (run->d == NULL) {
        return;
    }
    o->decision = fpb_facts_json_from_decision(run->d);
    o->predictions = fpb_facts_json_from_predictions(run->d);
    fpb_outcome_set(&o->mode, fpb_policy_mode_to_string(run->d->mode));
    fpb_outcome_set(&o->hints, !f->guest.free_page_hint                   ? "not negotiated"
                               : fpb_policy_mode_uses_hints(run->d->mode) ? "on"
                                                                          : "off");
}

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
    /* live only: the persistent size stays the original one */
    ok = fpb_libvirt_balloon_run(run->dom, run->d->balloon_target_bytes, FALSE,
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
    FpbLibvirtMigrationPlan plan = {
        .dest_uri = run->req->dest_uri,
        .migrate_uri = run->req->migrate_uri,
        .listen_address = run->req->listen_address,
        .max_bandwidth = run->req->facts.max_bandwidth,
        .timeout_s = run->req->timeout_s,
        .hints_off =
            run->vf->facts.guest.free_page_hint && !fpb_policy_mode_uses_hints(run->d->mode),
        .method = run->d->method,
    };

    set_phase(run, FPB_PHASE_MIGRATING);
    progress(run, "VM '%s': migrating to '%s' (free-page hints %s)", run->o->vm, plan.dest_uri,
             run->o->hints);
    if (!fpb_libvirt_migrate_run(run->dom, run->dconn, &plan, run->o, &error)) {
        fail(run, error->message);
        save(run);
        return FALSE;
    }
    save(run);
    return TRUE;
}

/* The domain on the side that runs it now. (transfer full) */
static virDomainPtr running_domain(Run *run, gboolean migrated)
{
    if (!migrated) {
        virDomainRef(run->dom);
        return run->dom;
    }
    return virDomainLookupByName(run->dconn, run->o->vm);
}

/* libvirtd went away (restarted, crashed): where the domain runs is not
 * known until a libvirt answers again; wait for it, then give back. */
static gboolean restore_after_lost_connection(Run *run)
{
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autofree char *m = NULL;
    FpbLibvirtGiveBack gb = {
        .source_uri = run->req->source_uri,
        .dest_uri = run->req->dest_uri,
        .domain = run->o->vm,
        .original_bytes = run->o->prep_original_bytes,
        .wait_s = FPB_LIBVIRT_RECONNECT_WAIT_S,
    };
    gboolean ok;

    progress(run, "VM '%s': lost the connection to libvirt; waiting up to %.0f s for it to give "
             "the memory back (to %" G_GINT64_FORMAT " MiB)",
             run->o->vm, gb.wait_s, gb.original_bytes / (1024 * 1024));
    ok = fpb_libvirt_give_back(&gb, run->o, notes);
    progress(run, "VM '%s': %s", run->o->vm, notes->len > 2 ? notes->str + 2 : "?");
    /* the first error stays the cause; what the wait achieved follows it */
    m = g_strdup_printf("%s%s", run->o->error ? run->o->error : "lost the connection to libvirt",
                        notes->str);
    fpb_outcome_set(&run->o->error, m);
    return ok;
}

static gboolean restore(Run *run, gboolean migrated)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirDomain) where = NULL;
    const char *where_name = migrated ? "destination" : "source";
    FpbBalloonStep step;

    if (run->o->prep_target_bytes < 0 ||
        (run->o->prep_reached_bytes >= 0 &&
         run->o->prep_reached_bytes >= run->o->prep_original_bytes)) {
        fpb_outcome_set(&run->o->restore_status, "not-needed");
        return TRUE;
    }
    set_phase(run, FPB_PHASE_RESTORING);
    if (virConnectIsAlive(migrated ? run->dconn : run->sconn) != 1) {
        return restore_after_lost_connection(run);
    }
    fpb_outcome_set(&run->o->restore_where, where_name);
    progress(run, "VM '%s': giving the memory back on the %s (to %" G_GINT64_FORMAT " MiB)",
             run->o->vm, where_name, run->o->prep_original_bytes / (1024 * 1024));
    where = running_domain(run, migrated);
    if (where == NULL) {
        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_NO_DOMAIN, "not found there");
    }
    /* On the destination the persistent definition came with the migration,
     * inflated size included: fix both. */
    if (where == NULL ||
        !fpb_libvirt_balloon_run(where, run->o->prep_original_bytes,
                                 migrated && virDomainIsPersistent(where) == 1, RESTORE_BUDGET_S,
                                 RESTORE_STALL_MS, &step, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': giving memory back on the %s failed: %s",
                                             run->o->vm, where_name, error->message);
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
    if (run->o->id < 0) {
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

static gboolean journal_intent(Run *run)
{
    g_autoptr(GError) error = NULL;

    fpb_outcome_set(&run->o->phase, FPB_PHASE_INTENT);
    fpb_outcome_set(&run->o->mig_status, "not-started");
    if (!fpb_journal_insert(run->journal, run->o, &error)) {
        g_autofree char *m = g_strdup_printf("VM '%s': cannot journal the intent, nothing done: %s",
                                             run->o->vm, error->message);
        fail(run, m);
        return FALSE;
    }
    return TRUE;
}

/* Rows an fpbctl left open when it died, for this domain: undone first,
 * so their balloon is not mistaken for the guest's size. */
static void recover_abandoned(Run *run)
{
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    if (!fpb_recover_all(run->journal, run->o->source_qmp, NULL, fpb_libvirt_recover_repair,
                         summaries, NULL, &error)) {
        progress(run, "warning: %s, ignoring", error->message);
    }
    for (guint i = 0; i < summaries->len; i++) {
        progress(run, "recovered: %s", (const char *)summaries->pdata[i]);
    }
}

static FpbMigrateResult run_steps(Run *run)
{
    g_autoptr(GError) error = NULL;
    gboolean migrated;

    recover_abandoned(run);
    if (!gather(run, &error)) {
        fail(run, error->message);
        return finish(run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
    }
    run->d = fpb_policy_decide(&run->vf->facts, &error);
    record_decision(run);
    if (run->d == NULL) {
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

static FpbOutcome *new_outcome(const FpbLibvirtMigrateRequest *req)
{
    FpbOutcome *o = fpb_outcome_new();
    g_autofree char *source = fpb_libvirt_orchestrator_source_id(req->source_uri, req->domain);

    o->start_us = g_get_real_time();
    o->owner_pid = getpid();
    o->owner_start = fpb_recover_process_start_time(getpid());
    fpb_outcome_set(&o->vm, req->domain);
    fpb_outcome_set(&o->source_qmp, source);
    fpb_outcome_set(&o->uri, req->dest_uri);
    fpb_outcome_set(&o->requested_mode, req->requested_mode);
    return o;
}

/* Connects the source (and destination) and finds the domain; a failure
 * is the outcome's error. */
static gboolean open_ends(Run *run, gboolean need_dest)
{
    g_autoptr(GError) error = NULL;

    if ((run->sconn = fpb_libvirt_connect(run->req->source_uri, &error)) == NULL ||
        (run->dom = fpb_libvirt_lookup(run->sconn, run->req->domain, &error)) == NULL ||
        (need_dest && (run->dconn = fpb_libvirt_connect(run->req->dest_uri, &error)) == NULL)) {
        g_autofree char *m = g_str_has_prefix(error->message, "VM '")
                                 ? g_strdup(error->message)
                                 : g_strdup_printf("VM '%s': %s", run->req->domain, error->message);
        fail(run, m);
        return FALSE;
    }
    return TRUE;
}

static void close_ends(Run *run)
{
    fpb_libvirt_domain_unref(run->dom);
    fpb_libvirt_conn_unref(run->dconn);
    fpb_libvirt_conn_unref(run->sconn);
    fpb_vm_facts_free(run->vf);
    fpb_policy_decision_free(run->d);
}

FpbOutcome *fpb_libvirt_orchestrator_migrate(FpbJournal *journal,
                                             const FpbLibvirtMigrateRequest *req,
                                             FpbMigrateResult *ret_result)
{
    Run run = {.journal = journal, .req = req, .o = new_outcome(req)};

    if (!open_ends(&run, TRUE)) {
        *ret_result = finish(&run, FPB_PHASE_REFUSED, FPB_MIGRATE_REFUSED);
    } else {
        *ret_result = run_steps(&run);
    }
    close_ends(&run);
    return run.o;
}

gboolean fpb_libvirt_orchestrator_explain(FpbJournal *journal, const FpbLibvirtMigrateRequest *req,
                                          FpbVmFacts **ret_facts, FpbPolicyDecision **ret_decision,
                                          gboolean *ret_refused, GError **error)
{
    g_autoptr(FpbOutcome) o = new_outcome(req);
    Run run = {.journal = journal, .req = req, .o = o};
    gboolean ok = FALSE;

    *ret_refused = FALSE;
    if (!open_ends(&run, FALSE)) {
        g_set_error_literal(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_CONNECT, o->error);
    } else if (gather(&run, error)) {
        *ret_decision = fpb_policy_decide(&run.vf->facts, error);
        *ret_refused = *ret_decision == NULL;
        *ret_facts = g_steal_pointer(&run.vf);
        ok = !*ret_refused;
    }
    close_ends(&run);
    return ok;
}
