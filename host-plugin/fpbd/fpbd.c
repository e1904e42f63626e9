/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd: fpb's host daemon (docs/libvirt.md, fpbd(8)). A GLib main loop
 * with libvirt's events through libvirt-glib: it follows the domains of
 * its libvirt (lifecycle events), records migrations that others started
 * (VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, journal rows with requested_mode
 * "observed"), reconnects when libvirtd goes away, and serves the control
 * socket for fpbctl and fpb-hook (fpbd-control.h). A "migrate" request
 * is checked (grammar, root-only options, the destination guard, one
 * migration per domain whatever it is called, max-migrations) before
 * anything is done or opened for it (docs/libvirt.md, "Control socket
 * security").
 */
#define G_LOG_DOMAIN "fpbd"

#include <glib-unix.h>
#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fpb-conf-daemon.h"
#include "fpb-journal.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-options.h"
#include "fpb-backend-libvirt.h"
#include "fpb-backend-qmp.h"
#include "fpb-libvirt-recover.h"
#include "fpb-libvirt-steps.h"
#include "fpb-recover.h"
#include "fpbd-control.h"
#include "fpbd-evacuate.h"
#include "fpbd-metrics-export.h"
#include "fpbd-request.h"
#include "fpbd-uri-guard.h"

typedef struct {
    FpbConfDaemon *conf;
    FpbJournal *journal;
    FpbdMetricsExport *metrics; /* metrics-listen, metrics-textfile */
    GMainLoop *loop;
    virConnectPtr conn;
    int cb_lifecycle;
    int cb_job;
    guint reconnect_id;
    GHashTable *running;     /* domain name -> NULL */
    GHashTable *migrating;   /* domain UUID -> its name: fpbd runs its migration */
    GHashTable *evacuating;  /* domain UUID -> its name: held by an evacuation */
    GPtrArray *evacuations;  /* FpbdEvacuation *: running */
    guint slots;             /* of max-migrations: 1 a migration, an evacuation its cap */
    gboolean stopping;       /* SIGTERM: quit once no migration runs */
    guint stop_timer_id;     /* stop-timeout-seconds, then stop-restore-seconds */
    gboolean cancelled;      /* the stop timeout cancelled the running migrations */
    GHashTable *recovering;  /* domain names whose old rows a recovery thread repairs */
    gboolean recovery_busy;  /* a recovery thread runs */
    gboolean recovery_again; /* the connection came back meanwhile: look again */
    guint hooks_seen;
    guint observed;
    guint migrations;
    guint evacuated; /* VMs whose pipeline an ended evacuation ran */
} Daemon;

/* Rows of both kinds are recovered at start-up (docs/libvirt.md). */
static const FpbBackendOps *const fpbd_backends[] = {&fpb_backend_qmp_ops, &fpb_backend_libvirt_ops,
                                                     NULL};

static void schedule_reconnect(Daemon *d);
static void start_recovery(Daemon *d);
static void quit_if_idle(Daemon *d);

/* ---- passive record ---- */

/* Rows fpbctl has open for the domain mean fpb runs this migration itself. */
static gboolean fpb_runs_it(Daemon *d, const char *source_id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) open = fpb_journal_list_open(d->journal, source_id, &error);

    return open != NULL && open->len > 0;
}

static void record_observed(Daemon *d, virDomainPtr dom, virTypedParameterPtr params, int n)
{
    g_autoptr(FpbOutcome) o = fpb_outcome_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *source = fpb_libvirt_source_id(d->conf->uri, virDomainGetName(dom));

    if (fpb_runs_it(d, source)) {
        g_debug("VM '%s': migration run by fpbctl, not recorded as observed",
                virDomainGetName(dom));
        return;
    }
    fpb_libvirt_job_stats_to_outcome(params, n, o);
    o->end_us = g_get_real_time();
    o->start_us = o->mig_total_ms >= 0 ? o->end_us - o->mig_total_ms * 1000 : o->end_us;
    fpb_outcome_set(&o->vm, virDomainGetName(dom));
    fpb_outcome_set(&o->source_qmp, source);
    fpb_outcome_set(&o->requested_mode, "observed");
    fpb_outcome_set(&o->phase, FPB_PHASE_DONE);
    fpb_outcome_set(&o->mig_status, "completed");
    if (!fpb_journal_insert(d->journal, o, &error)) {
        g_warning("VM '%s': cannot journal an observed migration: %s", o->vm, error->message);
        return;
    }
    d->observed++;
    fpbd_metrics_export_changed(d->metrics);
    g_message("VM '%s': observed migration recorded (row %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
              " bytes, %" G_GINT64_FORMAT " ms)",
              o->vm, o->id, o->mig_transferred_bytes, o->mig_total_ms);
}

static void on_job_completed(virConnectPtr conn G_GNUC_UNUSED, virDomainPtr dom,
                             virTypedParameterPtr params, int n, void *opaque)
{
    Daemon *d = opaque;
    int op = 0;

    if (virTypedParamsGetInt(params, n, VIR_DOMAIN_JOB_OPERATION, &op) != 1 ||
        op != VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) {
        return; /* the destination and other jobs are not ours to record */
    }
    if (d->conf->record_observed) {
        record_observed(d, dom, params, n);
    }
}

static int on_lifecycle(virConnectPtr conn G_GNUC_UNUSED, virDomainPtr dom, int event, int detail,
                        void *opaque)
{
    Daemon *d = opaque;
    const char *name = virDomainGetName(dom);

    if (event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_RESUMED) {
        g_hash_table_add(d->running, g_strdup(name));
    } else if (event == VIR_DOMAIN_EVENT_STOPPED) {
        g_hash_table_remove(d->running, name);
    }
    g_debug("VM '%s': lifecycle event %d detail %d", name, event, detail);
    return 0;
}

/* ---- connection ---- */

static void load_running(Daemon *d)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(d->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

    g_hash_table_remove_all(d->running);
    for (int i = 0; i < n; i++) {
        g_hash_table_add(d->running, g_strdup(virDomainGetName(doms[i])));
        virDomainFree(doms[i]);
    }
    free(doms);
}

static gboolean drop_connection(gpointer data)
{
    Daemon *d = data;

    if (d->conn != NULL) {
        virConnectDomainEventDeregisterAny(d->conn, d->cb_lifecycle);
        virConnectDomainEventDeregisterAny(d->conn, d->cb_job);
        virConnectClose(d->conn);
        d->conn = NULL;
    }
    schedule_reconnect(d);
    return G_SOURCE_REMOVE;
}

static void on_close(virConnectPtr conn G_GNUC_UNUSED, int reason, void *opaque)
{
    g_warning("libvirt connection closed (reason %d), reconnecting", reason);
    /* not from inside libvirt's callback */
    g_idle_add(drop_connection, opaque);
}

static gboolean try_connect(gpointer data)
{
    Daemon *d = data;
    g_autoptr(GError) error = NULL;

    d->reconnect_id = 0;
    d->conn = fpb_libvirt_connect(d->conf->uri, &error);
    if (d->conn == NULL) {
        g_message("%s, retrying in %u s", error->message, d->conf->reconnect_seconds);
        schedule_reconnect(d);
        return G_SOURCE_REMOVE;
    }
    d->cb_lifecycle =
        virConnectDomainEventRegisterAny(d->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), d, NULL);
    d->cb_job =
        virConnectDomainEventRegisterAny(d->conn, NULL, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), d, NULL);
    virConnectRegisterCloseCallback(d->conn, on_close, d, NULL);
    load_running(d);
    g_message("connected to libvirt at '%s' (%u running domains)", d->conf->uri,
              g_hash_table_size(d->running));
    /* rows of this libvirt wait for its connection, also after a restart */
    start_recovery(d);
    return G_SOURCE_REMOVE;
}

static void schedule_reconnect(Daemon *d)
{
    if (d->reconnect_id == 0) {
        d->reconnect_id = g_timeout_add_seconds(d->conf->reconnect_seconds, try_connect, d);
    }
}

/* ---- control requests ---- */

static json_object *reply_ok(void)
{
    json_object *r = json_object_new_object();

    json_object_object_add(r, "ok", json_object_new_boolean(TRUE));
    return r;
}

/* VMs whose pipeline an evacuation ran since fpbd started (migrated or
 * not), the running evacuations' so far included. */
static guint evacuated_vms(Daemon *d)
{
    guint n = d->evacuated;

    for (guint i = 0; i < d->evacuations->len; i++) {
        FpbdEvacuation *ev = d->evacuations->pdata[i];

        n += (guint)g_atomic_int_get(&ev->pipelines_done);
    }
    return n;
}

static json_object *status_reply(Daemon *d)
{
    json_object *r = reply_ok();
    json_object *doms = json_object_new_array();
    json_object *migrating = json_object_new_array();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, d->running);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        json_object_array_add(doms, json_object_new_string(key));
    }
    g_hash_table_iter_init(&it, d->migrating);
    while (g_hash_table_iter_next(&it, NULL, &key)) {
        json_object_array_add(migrating, json_object_new_string(key));
    }
    /* an evacuation's VMs are fpbd's until it ends, started or not */
    g_hash_table_iter_init(&it, d->evacuating);
    while (g_hash_table_iter_next(&it, NULL, &key)) {
        json_object_array_add(migrating, json_object_new_string(key));
    }
    json_object_object_add(r, "version", json_object_new_string(FPB_VERSION));
    json_object_object_add(r, "uri", json_object_new_string(d->conf->uri));
    json_object_object_add(r, "connected", json_object_new_boolean(d->conn != NULL));
    json_object_object_add(r, "running", doms);
    json_object_object_add(r, "observed", json_object_new_int64(d->observed));
    json_object_object_add(r, "migrating", migrating);
    json_object_object_add(r, "migrations", json_object_new_int64(d->migrations));
    json_object_object_add(r, "evacuated", json_object_new_int64(evacuated_vms(d)));
    json_object_object_add(r, "evacuations", json_object_new_int64(d->evacuations->len));
    json_object_object_add(r, "hooks", json_object_new_int64(d->hooks_seen));
    json_object_object_add(r, "journal", json_object_new_string(fpb_journal_path(d->journal)));
    return r;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* ---- migrations run by fpbd ---- */

/* One {"op":"migrate"} request: the orchestrator runs in a thread of its
 * own (it blocks for the whole migration); the main loop keeps serving and
 * sends its progress and reply. */
typedef struct {
    Daemon *d;
    FpbdControlCall *call;
    char *domain; /* as asked, then libvirt's name for it */
    char *uuid;   /* the key in Daemon.migrating once claimed */
    char *dest;
    FpbLibvirtOptions lv;
    FpbLibvirtMigrateRequest req; /* borrows the strings above */
    FpbOutcome *outcome;
    FpbMigrateResult result;
} MigrateJob;

typedef struct {
    MigrateJob *job;
    char *text;
} ProgressLine;

static gboolean send_progress(gpointer data)
{
    ProgressLine *p = data;
    g_autoptr(json_object) line = json_object_new_object();

    json_object_object_add(line, "progress", json_object_new_string(p->text));
    fpbd_control_call_send(p->job->call, line);
    g_free(p->text);
    g_free(p);
    return G_SOURCE_REMOVE;
}

/* Called in the worker thread: handed to the main loop. */
static void on_progress(const char *message, gpointer data)
{
    ProgressLine *p = g_new0(ProgressLine, 1);

    g_message("%s", message);
    p->job = data;
    p->text = g_strdup(message);
    g_idle_add(send_progress, p);
}

static const char *result_name(FpbMigrateResult r)
{
    return r == FPB_MIGRATE_OK ? "ok" : r == FPB_MIGRATE_FAILED ? "failed" : "refused";
}

static void job_free(MigrateJob *job)
{
    g_free(job->domain);
    g_free(job->uuid);
    g_free(job->dest);
    fpb_libvirt_options_clear(&job->lv);
    fpb_outcome_free(job->outcome);
    g_free(job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrateJob, job_free)

/* The reply to a migration that ran, or was refused with a journal row. */
static json_object *migrate_reply(const FpbOutcome *o, FpbMigrateResult result)
{
    json_object *r = reply_ok();
    g_autofree char *summary = fpb_outcome_summary(o);

    json_object_object_add(r, "result", json_object_new_string(result_name(result)));
    json_object_object_add(r, "summary", json_object_new_string(summary));
    if (o->error != NULL) {
        json_object_object_add(r, "error", json_object_new_string(o->error));
    }
    json_object_object_add(r, "row", fpb_outcome_to_json(o));
    return r;
}

static gboolean job_done(gpointer data)
{
    MigrateJob *job = data;
    Daemon *d = job->d;

    fpbd_control_call_reply(job->call, migrate_reply(job->outcome, job->result));
    g_message("VM '%s': migration to '%s' %s (journal row %" G_GINT64_FORMAT ")", job->domain,
              job->dest, result_name(job->result), job->outcome->id);
    g_hash_table_remove(d->migrating, job->uuid);
    d->slots--;
    d->migrations++;
    fpbd_metrics_export_changed(d->metrics);
    job_free(job);
    quit_if_idle(d);
    return G_SOURCE_REMOVE;
}

static gpointer job_thread(gpointer data)
{
    MigrateJob *job = data;
    g_autoptr(GError) error = NULL;
    /* sqlite handles are not shared between threads: one of its own */
    g_autoptr(FpbJournal) journal = fpb_journal_open(job->d->conf->journal_path, &error);

    if (journal == NULL) {
        job->outcome = fpb_outcome_new();
        fpb_outcome_set(&job->outcome->vm, job->domain);
        fpb_outcome_set(&job->outcome->phase, FPB_PHASE_REFUSED);
        fpb_outcome_set_error(job->outcome, error->message);
        job->result = FPB_MIGRATE_REFUSED;
    } else {
        g_autoptr(FpbBackend) backend = fpb_backend_libvirt_new(&job->req.target);

        job->outcome = fpb_pipeline_migrate(journal, backend, &job->req.run, &job->result);
    }
    g_idle_add(job_done, job);
    return NULL;
}

static MigrateJob *job_new(Daemon *d, const char *domain, const char *dest)
{
    MigrateJob *job = g_new0(MigrateJob, 1);

    job->d = d;
    job->domain = g_strdup(domain);
    job->dest = g_strdup(dest);
    fpb_libvirt_options_init(&job->lv);
    fpb_libvirt_migrate_request_init(&job->req);
    return job;
}

/* What the request asks, checked without touching anything: the options,
 * those only root may give, the destination. NULL when all pass. */
static json_object *check_request(Daemon *d, MigrateJob *job, json_object *options,
                                  FpbdControlCall *call)
{
    g_autoptr(GError) error = NULL;
    gboolean root = fpbd_control_call_peer_is_root(call);
    guint uid = fpbd_control_call_peer_uid(call);
    const FpbdUriGuard guard = {
        .transports = (const char *const *)d->conf->allowed_destinations,
        .hosts = (const char *const *)d->conf->allowed_destination_hosts,
    };
    const char *why = NULL;
    const char *option;

    if (!fpb_libvirt_options_from_json(options, &job->lv, &error) ||
        !fpb_libvirt_options_apply(&job->lv, &d->conf->policy, &job->req, &error)) {
        return fpbd_control_error_reply("VM '%s': migrate: %s", job->domain, error->message);
    }
    if (!root && (option = fpbd_request_root_only_option(options, &why)) != NULL) {
        g_warning("VM '%s': migrate: option '%s' from uid %u refused: root only", job->domain,
                  option, uid);
        return fpbd_control_error_reply("VM '%s': migrate: option '%s' is accepted from root "
                                        "only (it %s); nothing was done",
                                        job->domain, option, why);
    }
    if (!fpbd_uri_guard_check(&guard, job->dest, root, &error)) {
        g_warning("VM '%s': migrate to '%s' from uid %u refused: %s", job->domain, job->dest, uid,
                  error->message);
        return fpbd_control_error_reply("VM '%s': migrate to '%s' refused: %s; nothing was done",
                                        job->domain, job->dest, error->message);
    }
    return NULL;
}

/* Without its libvirt connection fpbd cannot tell which domain this is:
 * a refused migration, journaled like the orchestrator's own refusals. */
static json_object *refuse_unconnected(Daemon *d, MigrateJob *job)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *m = g_strdup_printf("VM '%s': fpbd is not connected to libvirt at '%s' "
                                         "(retrying every %u s), not migrating",
                                         job->domain, d->conf->uri, d->conf->reconnect_seconds);
    g_autofree char *source = fpb_libvirt_source_id(d->conf->uri, job->domain);
    FpbOutcome *o = job->outcome = fpb_outcome_new();

    o->start_us = o->end_us = g_get_real_time();
    fpb_outcome_set(&o->vm, job->domain);
    fpb_outcome_set(&o->source_qmp, source);
    fpb_outcome_set(&o->uri, job->dest);
    fpb_outcome_set(&o->requested_mode, job->req.run.requested_mode);
    fpb_outcome_set(&o->backend, fpb_backend_libvirt_ops.name);
    fpb_outcome_set(&o->phase, FPB_PHASE_REFUSED);
    fpb_outcome_set_error(o, m);
    if (!fpb_journal_insert(d->journal, o, &error)) {
        g_warning("VM '%s': cannot journal a refused migration: %s, ignoring", job->domain,
                  error->message);
    }
    fpbd_metrics_export_changed(d->metrics);
    g_message("%s", m);
    return migrate_reply(o, FPB_MIGRATE_REFUSED);
}

/* One migration per domain, by its UUID whatever name the request used,
 * and at most max-migrations at once. NULL once claimed. */
static json_object *claim_domain(Daemon *d, MigrateJob *job)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirDomain) dom = fpb_libvirt_lookup(d->conn, job->domain, &error);
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    const char *running;

    if (dom == NULL) {
        return fpbd_control_error_reply("%s", error->message);
    }
    if (virDomainGetUUIDString(dom, uuid) < 0) {
        return fpbd_control_error_reply("VM '%s': libvirt gave no UUID for it", job->domain);
    }
    if (g_hash_table_contains(d->recovering, virDomainGetName(dom))) {
        return fpbd_control_error_reply("VM '%s': fpbd is recovering an earlier migration's "
                                        "journal row for it, try again later",
                                        job->domain);
    }
    if ((running = g_hash_table_lookup(d->migrating, uuid)) != NULL) {
        return fpbd_control_error_reply("VM '%s': fpbd is migrating it already (as '%s', UUID %s)",
                                        job->domain, running, uuid);
    }
    if ((running = g_hash_table_lookup(d->evacuating, uuid)) != NULL) {
        return fpbd_control_error_reply("VM '%s': fpbd is evacuating it already (as '%s', UUID "
                                        "%s)",
                                        job->domain, running, uuid);
    }
    if (d->slots >= d->conf->max_migrations) {
        return fpbd_control_error_reply("VM '%s': fpbd runs %u migrations already "
                                        "(max-migrations), try again later",
                                        job->domain, d->slots);
    }
    g_free(job->domain);
    job->domain = g_strdup(virDomainGetName(dom));
    job->uuid = g_strdup(uuid);
    g_hash_table_insert(d->migrating, g_strdup(uuid), g_strdup(job->domain));
    d->slots++;
    return NULL;
}

static void launch(Daemon *d, MigrateJob *job, FpbdControlCall *call)
{
    job->req.target.source_uri = d->conf->uri;
    job->req.target.domain = job->domain;
    job->req.target.dest_uri = job->dest;
    job->req.run.progress = on_progress;
    job->req.run.progress_data = job;
    job->call = fpbd_control_call_keep(call);
    g_message("VM '%s': migrating to '%s' for a client (uid %u)", job->domain, job->dest,
              fpbd_control_call_peer_uid(call));
    g_thread_unref(g_thread_new("fpbd-migrate", job_thread, job));
}

static json_object *start_migration(Daemon *d, json_object *req, FpbdControlCall *call)
{
    const char *domain = get_str(req, "domain");
    json_object *options = NULL;
    g_autoptr(MigrateJob) job = NULL;
    json_object *refusal;

    if (d->stopping) {
        return fpbd_control_error_reply("VM '%s': fpbd is stopping, not starting a migration",
                                        domain);
    }
    json_object_object_get_ex(req, "options", &options);
    job = job_new(d, domain, get_str(req, "dest"));
    if ((refusal = check_request(d, job, options, call)) != NULL) {
        return refusal;
    }
    if (d->conn == NULL) {
        return refuse_unconnected(d, job);
    }
    if ((refusal = claim_domain(d, job)) != NULL) {
        return refusal;
    }
    launch(d, g_steal_pointer(&job), call);
    return NULL;
}

/* ---- evacuations run by fpbd ---- */

/* The running domains of fpbd's libvirt, by name, for an evacuation that
 * names none. (transfer full) */
static GPtrArray *running_names(Daemon *d)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(d->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

    for (int i = 0; i < n; i++) {
        g_ptr_array_add(names, g_strdup(virDomainGetName(doms[i])));
        virDomainFree(doms[i]);
    }
    free(doms);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    return names;
}

/* One domain of the evacuation as migrate's claim_domain() sees it: it
 * exists, and nobody migrates, evacuates or recovers it; @held: the
 * evacuation's own so far (UUID -> name). NULL when it may be held. */
static json_object *check_evacuated_domain(Daemon *d, const char *name, GHashTable *held,
                                           char **ret_uuid, char **ret_name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirDomain) dom = fpb_libvirt_lookup(d->conn, name, &error);
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    const char *other;

    if (dom == NULL) {
        return fpbd_control_error_reply("%s: evacuate: nothing was done", error->message);
    }
    if (virDomainGetUUIDString(dom, uuid) < 0) {
        return fpbd_control_error_reply("VM '%s': evacuate: libvirt gave no UUID for it; nothing "
                                        "was done",
                                        name);
    }
    if (g_hash_table_contains(d->recovering, virDomainGetName(dom))) {
        return fpbd_control_error_reply("VM '%s': evacuate: fpbd is recovering an earlier "
                                        "migration's journal row for it, try again later",
                                        name);
    }
    if ((other = g_hash_table_lookup(d->migrating, uuid)) != NULL ||
        (other = g_hash_table_lookup(d->evacuating, uuid)) != NULL) {
        return fpbd_control_error_reply("VM '%s': evacuate: fpbd is migrating it already (as "
                                        "'%s', UUID %s); nothing was done",
                                        name, other, uuid);
    }
    if ((other = g_hash_table_lookup(held, uuid)) != NULL) {
        return fpbd_control_error_reply("VM '%s': evacuate: named twice (also as '%s', UUID %s); "
                                        "nothing was done",
                                        name, other, uuid);
    }
    *ret_uuid = g_strdup(uuid);
    *ret_name = g_strdup(virDomainGetName(dom));
    return NULL;
}

/* Every domain of @ev (or every running one) checked; then ev->domains
 * holds libvirt's names and ev->uuids their UUIDs. Nothing held yet. */
static json_object *check_evacuated_domains(Daemon *d, FpbdEvacuation *ev)
{
    g_autoptr(GHashTable) held = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) asked =
        ev->domains->len > 0 ? g_ptr_array_ref(ev->domains) : running_names(d);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < asked->len; i++) {
        char *uuid = NULL;
        char *name = NULL;
        json_object *refusal = check_evacuated_domain(d, asked->pdata[i], held, &uuid, &name);

        if (refusal != NULL) {
            return refusal;
        }
        g_ptr_array_add(ev->uuids, uuid);
        g_ptr_array_add(names, name);
        g_hash_table_insert(held, uuid, name);
    }
    g_ptr_array_unref(ev->domains);
    ev->domains = g_steal_pointer(&names);
    return NULL;
}

/* fpbd's max-migrations holds for an evacuation's pipelines: it takes
 * --parallel slots (auto: as many as are free, at most one per VM) or is
 * refused; its plan never puts more on the link than it holds. */
static json_object *check_evacuation_slots(Daemon *d, FpbdEvacuation *ev)
{
    guint max = d->conf->max_migrations;
    guint free_slots = max > d->slots ? max - d->slots : 0;
    guint want = ev->run.plan.parallel;

    if (free_slots == 0) {
        return fpbd_control_error_reply("%s: evacuate: fpbd runs %u migrations already "
                                        "(max-migrations %u), try again later; nothing was done",
                                        ev->vms_text, d->slots, max);
    }
    if (want > free_slots) {
        return fpbd_control_error_reply("%s: evacuate: --parallel %u is more than fpbd may run "
                                        "now: max-migrations %u, %u running, %u free; nothing "
                                        "was done",
                                        ev->vms_text, want, max, d->slots, free_slots);
    }
    ev->slots = want > 0 ? want : MIN(free_slots, MAX(ev->domains->len, 1));
    if (want == 0 && ev->slots < ev->domains->len) {
        ev->run.plan.parallel = ev->slots;
    }
    return NULL;
}

static void evacuation_done(FpbdEvacuation *ev, gpointer data)
{
    Daemon *d = data;

    for (guint i = 0; i < ev->uuids->len; i++) {
        g_hash_table_remove(d->evacuating, ev->uuids->pdata[i]);
    }
    d->slots -= ev->slots;
    d->evacuated += (guint)g_atomic_int_get(&ev->pipelines_done);
    g_ptr_array_remove(d->evacuations, ev);
    fpbd_evacuation_free(ev);
    fpbd_metrics_export_changed(d->metrics);
    quit_if_idle(d);
}

/* Holds the domains and the slots, then runs it. */
static void launch_evacuation(Daemon *d, FpbdEvacuation *ev, FpbdControlCall *call)
{
    for (guint i = 0; i < ev->uuids->len; i++) {
        g_hash_table_insert(d->evacuating, g_strdup(ev->uuids->pdata[i]),
                            g_strdup(ev->domains->pdata[i]));
    }
    d->slots += ev->slots;
    g_ptr_array_add(d->evacuations, ev);
    g_message("%s: evacuating to '%s' for a client (uid %u), at most %u at once", ev->vms_text,
              ev->dest, fpbd_control_call_peer_uid(call), ev->slots);
    fpbd_evacuation_start(ev, call, d->conf->uri, d->conf->journal_path, ev->slots, evacuation_done,
                          d);
}

static json_object *start_evacuation(Daemon *d, json_object *req, FpbdControlCall *call)
{
    const FpbdUriGuard guard = {
        .transports = (const char *const *)d->conf->allowed_destinations,
        .hosts = (const char *const *)d->conf->allowed_destination_hosts,
    };
    g_autoptr(FpbdEvacuation) ev = NULL;
    json_object *refusal = NULL;

    if (d->stopping) {
        return fpbd_control_error_reply("evacuate: fpbd is stopping, not starting an evacuation");
    }
    ev = fpbd_evacuation_new(req, &d->conf->policy, &guard, fpbd_control_call_peer_is_root(call),
                             fpbd_control_call_peer_uid(call), &refusal);
    if (ev == NULL) {
        json_object *m = NULL;

        /* as migrate's refusals: the peer's uid in fpbd's log */
        json_object_object_get_ex(refusal, "error", &m);
        g_warning("control socket: uid %u: %s", fpbd_control_call_peer_uid(call),
                  json_object_get_string(m));
        return refusal;
    }
    if (d->conn == NULL) {
        return fpbd_control_error_reply("%s: evacuate: fpbd is not connected to libvirt at '%s' "
                                        "(retrying every %u s); nothing was done",
                                        ev->vms_text, d->conf->uri, d->conf->reconnect_seconds);
    }
    if ((refusal = check_evacuated_domains(d, ev)) != NULL ||
        (refusal = check_evacuation_slots(d, ev)) != NULL) {
        return refusal;
    }
    launch_evacuation(d, g_steal_pointer(&ev), call);
    return NULL;
}

static json_object *handle(json_object *req, FpbdControlCall *call, gpointer data)
{
    Daemon *d = data;
    g_autoptr(GError) error = NULL;
    const char *op = NULL;

    if (!fpbd_request_check(req, &op, &error)) {
        return fpbd_control_error_reply("%s", error->message);
    }
    if (g_strcmp0(op, "ping") == 0) {
        return reply_ok();
    }
    if (g_strcmp0(op, "status") == 0) {
        return status_reply(d);
    }
    if (g_strcmp0(op, "hook") == 0) {
        const char *vm = get_str(req, "domain");
        const char *action = get_str(req, "action");
        const char *sub = get_str(req, "subaction");

        d->hooks_seen++;
        g_message("VM '%s': hook %s %s", vm ? vm : "?", action ? action : "?", sub ? sub : "?");
        return reply_ok();
    }
    if (g_strcmp0(op, "migrate") == 0) {
        return start_migration(d, req, call);
    }
    if (g_strcmp0(op, "evacuate") == 0) {
        return start_evacuation(d, req, call);
    }
    return fpbd_control_error_reply("unknown op (expected ping, status, hook, migrate or "
                                    "evacuate)");
}

/* ---- journal rows abandoned by a dead process ---- */

/* A recovery pass: the rows chosen in the main loop, repaired in a thread
 * of its own (a give-back waits for libvirt and the balloon: minutes). */
typedef struct {
    Daemon *d;
    GPtrArray *rows; /* (element-type FpbOutcome) */
} RecoveryJob;

/* Rows fpbd repairs: bare-QMP ones, and those of its own libvirt while it
 * is connected (else they wait for the connection). Other libvirts' rows
 * are left to `fpbctl recover`: fpbd would only mark them failed. */
static gboolean recoverable(Daemon *d, const FpbOutcome *row)
{
    g_autofree char *uri = NULL;
    g_autofree char *name = NULL;

    if (g_strcmp0(row->backend, fpb_backend_libvirt_ops.name) != 0) {
        return TRUE;
    }
    return d->conn != NULL && fpb_libvirt_source_id_parse(row->source_qmp, &uri, &name) &&
           g_strcmp0(uri, d->conf->uri) == 0;
}

static void log_recovered(const FpbOutcome *row, const char *summary)
{
    g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, row->id);

    /* MESSAGE last: g_log_structured reads the fields after it as its arguments */
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "FPB_VM", row->vm ? row->vm : "",
                     "FPB_JOURNAL_ROW", id, "FPB_PHASE", row->phase ? row->phase : "",
                     "FPB_RESTORE_STATUS", row->restore_status ? row->restore_status : "",
                     "MESSAGE", "fpbd: recovered: %s", summary);
}

static gboolean recovery_done(gpointer data)
{
    RecoveryJob *job = data;
    Daemon *d = job->d;

    g_hash_table_remove_all(d->recovering);
    d->recovery_busy = FALSE;
    fpbd_metrics_export_changed(d->metrics);
    g_ptr_array_unref(job->rows);
    g_free(job);
    if (d->recovery_again && !d->stopping) {
        d->recovery_again = FALSE;
        start_recovery(d);
    }
    quit_if_idle(d);
    return G_SOURCE_REMOVE;
}

/* After the VM rows: an evacuation whose process died (an fpbctl, or an
 * earlier fpbd killed while it ran one) is closed once its VM rows are. */
static gboolean close_dead_evacuations(FpbJournal *journal, GError **error)
{
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);

    if (!fpb_recover_evacuations(journal, summaries, NULL, error)) {
        return FALSE;
    }
    for (guint i = 0; i < summaries->len; i++) {
        g_message("fpbd: recovered: %s", (const char *)summaries->pdata[i]);
    }
    return TRUE;
}

/* TRUE when an open evacuation row's process is gone. */
static gboolean dead_evacuations(Daemon *d)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) open = fpb_journal_list_evacuations(d->journal, TRUE, &error);

    if (open == NULL) {
        g_warning("fpbd: cannot list open evacuation rows: %s, ignoring", error->message);
        return FALSE;
    }
    for (guint i = 0; i < open->len; i++) {
        if (!fpb_recover_evacuation_owner_alive(open->pdata[i])) {
            return TRUE;
        }
    }
    return FALSE;
}

static gpointer recovery_thread(gpointer data)
{
    RecoveryJob *job = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = fpb_journal_open(job->d->conf->journal_path, &error);

    for (guint i = 0; journal != NULL && i < job->rows->len; i++) {
        FpbOutcome *row = job->rows->pdata[i];
        g_autofree char *summary = NULL;

        if (!fpb_recover_row(journal, row, NULL, fpbd_backends, &summary, &error)) {
            break;
        }
        log_recovered(row, summary);
    }
    if (journal != NULL && error == NULL) {
        close_dead_evacuations(journal, &error);
    }
    if (error != NULL) {
        g_warning("fpbd: recovering abandoned journal rows: %s, retrying at the next connection",
                  error->message);
    }
    g_idle_add(recovery_done, job);
    return NULL;
}

/* Chooses the abandoned rows to repair now; rows a live process (another
 * fpbctl, a migration of this fpbd) owns are left alone. */
static GPtrArray *abandoned_rows(Daemon *d)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) open = fpb_journal_list_open(d->journal, NULL, &error);
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)fpb_outcome_free);

    if (open == NULL) {
        g_warning("fpbd: cannot list open journal rows: %s, ignoring", error->message);
        return rows;
    }
    for (guint i = 0; i < open->len; i++) {
        FpbOutcome *row = open->pdata[i];
        g_autofree char *uri = NULL;
        g_autofree char *name = NULL;

        if (fpb_recover_row_owner_alive(row) || !recoverable(d, row)) {
            continue;
        }
        if (fpb_libvirt_source_id_parse(row->source_qmp, &uri, &name)) {
            g_hash_table_add(d->recovering, g_steal_pointer(&name));
        }
        g_ptr_array_add(rows, g_ptr_array_steal_index(open, i--));
    }
    return rows;
}

/* Main loop only. Runs at start-up and at every (re)connection. */
static void start_recovery(Daemon *d)
{
    RecoveryJob *job;

    if (d->recovery_busy) {
        d->recovery_again = TRUE;
        return;
    }
    if (d->stopping) {
        return;
    }
    job = g_new0(RecoveryJob, 1);
    job->d = d;
    job->rows = abandoned_rows(d);
    if (job->rows->len == 0 && !dead_evacuations(d)) {
        g_ptr_array_unref(job->rows);
        g_free(job);
        return;
    }
    g_message("fpbd: recovering %u journal row%s%s left open by a process that is gone",
              job->rows->len, job->rows->len == 1 ? "" : "s",
              job->rows->len == 0 ? " (an evacuation's)" : "");
    d->recovery_busy = TRUE;
    g_thread_unref(g_thread_new("fpbd-recover", recovery_thread, job));
}

/* ---- stopping ---- */

static void quit_if_idle(Daemon *d)
{
    if (d->stopping && g_hash_table_size(d->migrating) == 0 && d->evacuations->len == 0 &&
        !d->recovery_busy) {
        g_main_loop_quit(d->loop);
    }
}

/* stop-restore-seconds after the cancel: fpbd goes anyway. The rows stay
 * open; the next fpbd (or `fpbctl recover`) gives the memory back. */
static gboolean stop_give_up(gpointer data)
{
    Daemon *d = data;

    d->stop_timer_id = 0;
    g_warning("fpbd: %u migration%s still running %u s after cancelling, stopping anyway "
              "(their journal rows stay open and are recovered at the next start)",
              g_hash_table_size(d->migrating), g_hash_table_size(d->migrating) == 1 ? "" : "s",
              d->conf->stop_restore_seconds);
    g_main_loop_quit(d->loop);
    return G_SOURCE_REMOVE;
}

static void abort_one(Daemon *d, const char *uuid, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirDomain) dom =
        d->conn != NULL ? fpb_libvirt_lookup(d->conn, uuid, &error) : NULL;

    if (dom == NULL || virDomainAbortJob(dom) < 0) {
        if (error == NULL) {
            fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainAbortJob",
                                  name);
        }
        g_warning("fpbd: stopping: cannot cancel the migration of VM '%s': %s, ignoring", name,
                  error->message);
        return;
    }
    g_message("VM '%s': fpbd is stopping: migration cancelled, giving its memory back", name);
}

/* stop-timeout-seconds after SIGTERM: the migrations still running are
 * cancelled; their orchestrators then give the balloons back. */
static gboolean stop_cancel(gpointer data)
{
    Daemon *d = data;
    GHashTableIter it;
    gpointer uuid;
    gpointer name;

    d->cancelled = TRUE;
    g_message("fpbd: stop-timeout-seconds (%u) reached, cancelling %u migration%s",
              d->conf->stop_timeout_seconds, g_hash_table_size(d->migrating),
              g_hash_table_size(d->migrating) == 1 ? "" : "s");
    g_hash_table_iter_init(&it, d->migrating);
    while (g_hash_table_iter_next(&it, &uuid, &name)) {
        abort_one(d, uuid, name);
    }
    d->stop_timer_id = g_timeout_add_seconds(d->conf->stop_restore_seconds, stop_give_up, d);
    return G_SOURCE_REMOVE;
}

/* ---- main ---- */

/* A migration in flight may finish, up to stop-timeout-seconds; then it
 * is cancelled and its restore gets stop-restore-seconds: fpbd.service's
 * TimeoutStopSec covers both. A second signal quits at once (the rows stay
 * open and are recovered at the next start). */
static gboolean on_signal(gpointer data)
{
    Daemon *d = data;
    guint n = g_hash_table_size(d->migrating);

    if (d->stopping) {
        g_message("fpbd: second signal, stopping now");
        g_main_loop_quit(d->loop);
        return G_SOURCE_CONTINUE;
    }
    d->stopping = TRUE;
    if (n == 0 && d->evacuations->len == 0 && !d->recovery_busy) {
        g_main_loop_quit(d->loop);
        return G_SOURCE_CONTINUE;
    }
    /* an evacuation would start VMs for minutes: cancelled now, its
     * running VMs give their memory back within the stop's bounds */
    for (guint i = 0; i < d->evacuations->len; i++) {
        fpbd_evacuation_cancel(d->evacuations->pdata[i], "fpbd is stopping");
    }
    g_message("fpbd: stopping after %u running migration%s%s, cancelling them in %u s "
              "(signal again to quit now)",
              n, n == 1 ? "" : "s", d->recovery_busy ? " and the journal recovery" : "",
              d->conf->stop_timeout_seconds);
    d->stop_timer_id = g_timeout_add_seconds(d->conf->stop_timeout_seconds, stop_cancel, d);
    return G_SOURCE_CONTINUE;
}

static int run(Daemon *d)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbdControl) control = NULL;
    g_autoptr(FpbdMetricsExport) metrics = NULL;
    const FpbdControlConfig cc = {
        .group = d->conf->socket_group,
        .max_clients = d->conf->max_clients,
        .idle_seconds = d->conf->client_idle_seconds,
    };

    if ((d->journal = fpb_journal_open(d->conf->journal_path, &error)) == NULL) {
        g_printerr("fpbd: %s\n", error->message);
        return 1;
    }
    control = fpbd_control_new(d->conf->socket_path, &cc, handle, d, &error);
    if (control == NULL) {
        g_printerr("fpbd: control socket '%s': %s\n", d->conf->socket_path, error->message);
        return 1;
    }
    if ((metrics = d->metrics = fpbd_metrics_export_new(d->conf, &error)) == NULL) {
        g_printerr("fpbd: %s\n", error->message);
        return 1;
    }
    fpb_libvirt_init();
    /* libvirt's client writes without MSG_NOSIGNAL: a libvirtd that goes
     * away must be a closed connection, not a dead daemon. */
    signal(SIGPIPE, SIG_IGN);
    gvir_event_register();
    d->loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, d);
    g_unix_signal_add(SIGINT, on_signal, d);
    g_message("fpbd %s: control socket '%s', journal '%s'", FPB_VERSION, d->conf->socket_path,
              d->conf->journal_path);
    try_connect(d);
    /* bare-QMP rows need no libvirt; connected, try_connect() began a pass */
    if (d->conn == NULL) {
        start_recovery(d);
    }
    g_main_loop_run(d->loop);
    g_message("fpbd: stopping");
    if (d->reconnect_id != 0) {
        g_source_remove(d->reconnect_id);
    }
    if (d->stop_timer_id != 0) {
        g_source_remove(d->stop_timer_id);
    }
    if (d->conn != NULL) {
        virConnectDomainEventDeregisterAny(d->conn, d->cb_lifecycle);
        virConnectDomainEventDeregisterAny(d->conn, d->cb_job);
        virConnectUnregisterCloseCallback(d->conn, on_close);
        virConnectClose(d->conn);
    }
    g_main_loop_unref(d->loop);
    d->metrics = NULL;
    return 0;
}

static void print_config(const FpbConfDaemon *conf)
{
    g_autofree char *dests = g_strjoinv(",", conf->allowed_destinations);
    g_autofree char *hosts = g_strjoinv(",", conf->allowed_destination_hosts);
    gboolean v6 = conf->metrics_host != NULL && strchr(conf->metrics_host, ':') != NULL;
    g_autofree char *port =
        conf->metrics_host ? g_strdup_printf("%u", conf->metrics_port) : g_strdup("");

    printf("uri=%s\nsocket=%s\nsocket-group=%s\njournal=%s\nrecord-observed=%s\n"
           "reconnect-seconds=%u\nallowed-destinations=%s\nallowed-destination-hosts=%s\n"
           "max-clients=%u\nmax-migrations=%u\nclient-idle-seconds=%u\n"
           "stop-timeout-seconds=%u\nstop-restore-seconds=%u\n"
           "metrics-listen=%s%s%s%s%s\nmetrics-allow-remote=%s\nmetrics-textfile=%s\n",
           conf->uri, conf->socket_path, conf->socket_group ? conf->socket_group : "",
           conf->journal_path, conf->record_observed ? "true" : "false", conf->reconnect_seconds,
           dests, hosts, conf->max_clients, conf->max_migrations, conf->client_idle_seconds,
           conf->stop_timeout_seconds, conf->stop_restore_seconds, v6 ? "[" : "",
           conf->metrics_host ? conf->metrics_host : "", v6 ? "]" : "",
           conf->metrics_host ? ":" : "", port, conf->metrics_allow_remote ? "true" : "false",
           conf->metrics_textfile ? conf->metrics_textfile : "");
}

int main(int argc, char **argv)
{
    g_autofree char *config = NULL;
    gboolean check = FALSE;
    const GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
         "Configuration file (default " FPB_CONF_DAEMON_DEFAULT_PATH ")", "FILE"},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &check,
         "Check the configuration, print the effective values and exit", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();
    Daemon d = {.conf = conf};
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "fpb's host daemon: follows libvirt, records migrations, "
                                      "serves fpbctl and fpb-hook.");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("fpbd: %s\n", error->message);
        return 2;
    }
    /* The default file may be missing (defaults apply); a named one not. */
    if (!fpb_conf_daemon_load_file(conf, config ? config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   config == NULL, &error)) {
        g_printerr("fpbd: %s\n", error->message);
        return 1;
    }
    if (check) {
        print_config(conf);
        return 0;
    }
    d.running = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    d.migrating = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    d.evacuating = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    d.evacuations = g_ptr_array_new();
    d.recovering = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    status = run(&d);
    if (g_hash_table_size(d.migrating) > 0 || d.evacuations->len > 0 || d.recovery_busy) {
        /* threads still in libvirt or the balloon: not torn down under
         * them; their rows stay open for the next start */
        fflush(NULL);
        _exit(status);
    }
    g_hash_table_unref(d.recovering);
    g_hash_table_unref(d.running);
    g_hash_table_unref(d.migrating);
    g_hash_table_unref(d.evacuating);
    g_ptr_array_unref(d.evacuations);
    fpb_journal_free(d.journal);
    return status;
}
