/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd: fpb's host daemon (docs/libvirt.md, fpbd(8)). A GLib main loop
 * with libvirt's events through libvirt-glib: it follows the domains of
 * its libvirt (lifecycle events), records migrations that others started
 * (VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, journal rows with requested_mode
 * "observed"), reconnects when libvirtd goes away, and serves the control
 * socket for fpbctl and fpb-hook (fpbd-control.h).
 */
#define G_LOG_DOMAIN "fpbd"

#include <glib-unix.h>
#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/virterror.h>
#include <stdio.h>

#include "fpb-conf-daemon.h"
#include "fpb-journal.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-orchestrator.h"
#include "fpb-libvirt-steps.h"
#include "fpbd-control.h"

typedef struct {
    FpbConfDaemon *conf;
    FpbJournal *journal;
    GMainLoop *loop;
    virConnectPtr conn;
    int cb_lifecycle;
    int cb_job;
    guint reconnect_id;
    GHashTable *running; /* domain name -> NULL */
    guint hooks_seen;
    guint observed;
} Daemon;

static void schedule_reconnect(Daemon *d);

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
    g_autofree char *source =
        fpb_libvirt_orchestrator_source_id(d->conf->uri, virDomainGetName(dom));

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

static json_object *status_reply(Daemon *d)
{
    json_object *r = reply_ok();
    json_object *doms = json_object_new_array();
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, d->running);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        json_object_array_add(doms, json_object_new_string(key));
    }
    json_object_object_add(r, "version", json_object_new_string(FPB_VERSION));
    json_object_object_add(r, "uri", json_object_new_string(d->conf->uri));
    json_object_object_add(r, "connected", json_object_new_boolean(d->conn != NULL));
    json_object_object_add(r, "running", doms);
    json_object_object_add(r, "observed", json_object_new_int64(d->observed));
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

static json_object *handle(json_object *req, gpointer data)
{
    Daemon *d = data;
    const char *op = get_str(req, "op");
    json_object *r;

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
    r = json_object_new_object();
    json_object_object_add(r, "ok", json_object_new_boolean(FALSE));
    json_object_object_add(r, "error",
                           json_object_new_string("unknown op (expected ping, status "
                                                  "or hook)"));
    return r;
}

/* ---- main ---- */

static gboolean on_signal(gpointer data)
{
    g_main_loop_quit(((Daemon *)data)->loop);
    return G_SOURCE_CONTINUE;
}

static int run(Daemon *d)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbdControl) control = NULL;

    if ((d->journal = fpb_journal_open(d->conf->journal_path, &error)) == NULL) {
        g_printerr("fpbd: %s\n", error->message);
        return 1;
    }
    control = fpbd_control_new(d->conf->socket_path, d->conf->socket_group, handle, d, &error);
    if (control == NULL) {
        g_printerr("fpbd: control socket '%s': %s\n", d->conf->socket_path, error->message);
        return 1;
    }
    fpb_libvirt_init();
    gvir_event_register();
    d->loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, d);
    g_unix_signal_add(SIGINT, on_signal, d);
    try_connect(d);
    g_message("fpbd %s: control socket '%s', journal '%s'", FPB_VERSION, d->conf->socket_path,
              d->conf->journal_path);
    g_main_loop_run(d->loop);
    g_message("fpbd: stopping");
    if (d->reconnect_id != 0) {
        g_source_remove(d->reconnect_id);
    }
    if (d->conn != NULL) {
        virConnectDomainEventDeregisterAny(d->conn, d->cb_lifecycle);
        virConnectDomainEventDeregisterAny(d->conn, d->cb_job);
        virConnectUnregisterCloseCallback(d->conn, on_close);
        virConnectClose(d->conn);
    }
    g_main_loop_unref(d->loop);
    return 0;
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
        printf("uri=%s\nsocket=%s\nsocket-group=%s\njournal=%s\nrecord-observed=%s\n"
               "reconnect-seconds=%u\n",
               conf->uri, conf->socket_path, conf->socket_group ? conf->socket_group : "",
               conf->journal_path, conf->record_observed ? "true" : "false",
               conf->reconnect_seconds);
        return 0;
    }
    d.running = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    status = run(&d);
    g_hash_table_unref(d.running);
    fpb_journal_free(d.journal);
    return status;
}
