/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libvirt/virterror.h>
#include <string.h>

#include "fpb-backend-libvirt.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-recover.h"
#include "fpb-libvirt-qmp.h"
#include "fpb-libvirt-steps.h"
#include "fpb-qmp-hints.h"

typedef struct {
    FpbBackend parent;
    FpbLibvirtTarget target; /* strings owned below */
    char *source_uri, *domain, *dest_uri, *migrate_uri, *listen_address;
    virConnectPtr sconn;
    virConnectPtr dconn;
    virDomainPtr dom;
} FpbBackendLibvirt;

void fpb_libvirt_migrate_request_init(FpbLibvirtMigrateRequest *r)
{
    memset(r, 0, sizeof(*r));
    fpb_pipeline_request_init(&r->run);
    fpb_conf_policy_init(&r->target.cli_policy);
}

char *fpb_libvirt_source_id(const char *uri, const char *domain)
{
    return g_strdup_printf("libvirt:%s#%s", uri ? uri : FPB_LIBVIRT_DEFAULT_URI, domain);
}

static FpbBackendLibvirt *self_of(FpbBackend *be)
{
    return (FpbBackendLibvirt *)be;
}

static gboolean lv_open(FpbBackend *be, gboolean need_dest, GError **error)
{
    FpbBackendLibvirt *b = self_of(be);
    g_autoptr(GError) local = NULL;

    if ((b->sconn == NULL && (b->sconn = fpb_libvirt_connect(b->source_uri, &local)) == NULL) ||
        (b->dom == NULL && (b->dom = fpb_libvirt_lookup(b->sconn, b->domain, &local)) == NULL) ||
        (need_dest && b->dconn == NULL &&
         (b->dconn = fpb_libvirt_connect(b->dest_uri, &local)) == NULL)) {
        if (g_str_has_prefix(local->message, "VM '")) {
            g_propagate_error(error, g_steal_pointer(&local));
        } else {
            g_set_error(error, local->domain, local->code, "VM '%s': %s", b->domain,
                        local->message);
        }
        return FALSE;
    }
    return TRUE;
}

/* The UUID: the same VM whatever name or UUID the caller gave. */
static char *lock_key(FpbBackend *be, GError **error)
{
    FpbBackendLibvirt *b = self_of(be);
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (!lv_open(be, FALSE, error)) {
        return NULL;
    }
    if (virDomainGetUUIDString(b->dom, uuid) < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "VM '%s': cannot read its UUID: %s",
                    b->domain, virGetLastErrorMessage());
        return NULL;
    }
    return g_strdup_printf("libvirt-uuid:%s", uuid);
}

static void describe(FpbBackend *be, FpbOutcome *row)
{
    FpbBackendLibvirt *b = self_of(be);
    g_autofree char *source = fpb_libvirt_source_id(b->source_uri, b->domain);

    fpb_outcome_set(&row->vm, b->domain);
    fpb_outcome_set(&row->source_qmp, source);
    fpb_outcome_set(&row->uri, b->dest_uri);
}

static char *fallback_name(FpbBackend *be)
{
    return g_strdup(self_of(be)->domain);
}

static FpbVmFacts *collect_facts(FpbBackend *be, const FpbVmFactsOptions *options, GError **error)
{
    FpbBackendLibvirt *b = self_of(be);

    return fpb_libvirt_facts_collect(b->dom, options, &b->target.cli_policy, error);
}

/* Inflation is live only: the persistent size stays the original one. On
 * the destination the persistent definition came with the migration,
 * inflated size included: a give-back fixes both. */
static gboolean balloon_run(FpbBackend *be, FpbEnd end, gint64 target, gboolean give_back,
                            double budget_s, guint stall_ms, FpbBalloonStep *ret, GError **error)
{
    FpbBackendLibvirt *b = self_of(be);
    g_autoptr(FpbVirDomain) where = NULL;

    if (end == FPB_END_SOURCE) {
        return fpb_libvirt_balloon_run(b->dom, target, FALSE, budget_s, stall_ms, ret, error);
    }
    where = b->dconn ? virDomainLookupByName(b->dconn, b->domain) : NULL;
    if (where == NULL) {
        *ret = (FpbBalloonStep){.start_bytes = -1, .reached_bytes = -1, .stopped = NULL};
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_NO_DOMAIN, "not found there");
    }
    return fpb_libvirt_balloon_run(where, target, give_back && virDomainIsPersistent(where) == 1,
                                   budget_s, stall_ms, ret, error);
}

/* fpb's QEMU's hint switch on the source, through QMP pass-through (libvirt
 * has no flag for it; it leaves capabilities it does not know alone). */
static gboolean set_hint_switch(virDomainPtr dom, gboolean on, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    json_object *caps = json_object_new_array();
    json_object *cap = json_object_new_object();
    g_autoptr(json_object) r = NULL;

    json_object_object_add(cap, "capability", json_object_new_string(FPB_QMP_HINTS_CAPABILITY));
    json_object_object_add(cap, "state", json_object_new_boolean(on));
    json_object_array_add(caps, cap);
    json_object_object_add(args, "capabilities", caps);
    r = fpb_libvirt_qmp_call(dom, "migrate-set-capabilities", args, json_type_object, error);
    return r != NULL;
}

/* QMP pass-through for the reclaim request (libvirt cannot express it):
 * qom-set answers {}; what qom-get read the request's helpers check. */
static json_object *domain_qmp_call(gpointer dom, const char *command, json_object *args,
                                    GError **error)
{
    json_type type = g_str_equal(command, "qom-set") ? json_type_object : json_type_null;

    return fpb_libvirt_qmp_call(dom, command, args, type, error);
}

/* Set (and answered by the guest before the migration starts) or
 * withdrawn; a refusal or a slow guest only costs the hints. */
static void ask_reclaim(FpbBackendLibvirt *b, const FpbBackendMigration *m, gboolean on)
{
    g_autoptr(GError) error = NULL;

    if (m->reclaim != 0 &&
        (!fpb_qmp_reclaim_set_with(domain_qmp_call, b->dom, m->balloon_qom_path,
                                   on ? m->reclaim : 0, on ? m->reclaim_cache_mib : 0, &error) ||
         (on && !fpb_qmp_reclaim_wait_with(domain_qmp_call, b->dom, m->balloon_qom_path,
                                           FPB_RECLAIM_WAIT_MS, &error)))) {
        g_message("VM '%s': reclaim request (%s): %s", b->domain, on ? "set" : "withdrawn",
                  error->message);
    }
}

static gboolean migrate_run(FpbBackend *be, const FpbBackendMigration *m, FpbOutcome *row,
                            GError **error)
{
    FpbBackendLibvirt *b = self_of(be);
    FpbLibvirtMigrationPlan plan = {
        .dest_uri = b->dest_uri,
        .migrate_uri = b->migrate_uri,
        .listen_address = b->listen_address,
        .max_bandwidth = m->max_bandwidth,
        .timeout_s = m->timeout_s,
        .stall_s = m->stall_s,
        .tick = m->tick,
        .tick_data = m->tick_data,
        /* without fpb's switch: VIR_MIGRATE_POSTCOPY, never started */
        .hints_off = m->hints_off && !m->hint_switch,
        .method = m->method,
    };
    gboolean ok;

    /* The hint counters are not read here: libvirt ends the source QEMU
     * when the migration completes, and its QMP pass-through waits for the
     * migration job (docs/libvirt.md). */
    if (m->hint_switch && !set_hint_switch(b->dom, !m->hints_off, error)) {
        g_prefix_error(error, "VM '%s': cannot switch free-page hints %s: ", b->domain,
                       m->hints_off ? "off" : "on");
        return FALSE;
    }
    ask_reclaim(b, m, TRUE);
    ok = fpb_libvirt_migrate_run(b->dom, b->dconn, &plan, row, error);
    if (!ok && m->hint_switch && m->hints_off && !set_hint_switch(b->dom, TRUE, NULL)) {
        g_debug("VM '%s': putting %s back on failed", b->domain, FPB_QMP_HINTS_CAPABILITY);
    }
    if (!ok) {
        ask_reclaim(b, m, FALSE); /* the VM stays here: no request left behind */
    }
    return ok;
}

static gboolean end_alive(FpbBackend *be, FpbEnd end)
{
    FpbBackendLibvirt *b = self_of(be);
    virConnectPtr conn = end == FPB_END_DESTINATION ? b->dconn : b->sconn;

    return conn != NULL && virConnectIsAlive(conn) == 1;
}

/* libvirtd went away (restarted, crashed): where the domain runs is not
 * known until a libvirt answers again; wait for it, then give back. */
static gboolean give_back_lost(FpbBackend *be, FpbOutcome *row, GString *notes)
{
    FpbBackendLibvirt *b = self_of(be);
    FpbLibvirtGiveBack gb = {
        .source_uri = b->source_uri,
        .dest_uri = b->dest_uri,
        .domain = b->domain,
        .original_bytes = row->prep_original_bytes,
        .wait_s = FPB_LIBVIRT_RECONNECT_WAIT_S,
    };

    return fpb_libvirt_give_back(&gb, row, notes);
}

static void repair_row(FpbBackend *held, FpbOutcome *row, gboolean open, GString *notes)
{
    (void)held; /* libvirt serves many clients: each repair connects anew */
    fpb_libvirt_recover_repair(row, open, notes);
}

static void lv_free(FpbBackend *be)
{
    FpbBackendLibvirt *b = self_of(be);

    fpb_libvirt_domain_unref(b->dom);
    fpb_libvirt_conn_unref(b->dconn);
    fpb_libvirt_conn_unref(b->sconn);
    g_free(b->source_uri);
    g_free(b->domain);
    g_free(b->dest_uri);
    g_free(b->migrate_uri);
    g_free(b->listen_address);
    g_free(b);
}

const FpbBackendOps fpb_backend_libvirt_ops = {
    .name = "libvirt",
    .lock_key = lock_key,
    .open = lv_open,
    .describe = describe,
    .fallback_name = fallback_name,
    .collect_facts = collect_facts,
    .balloon_run = balloon_run,
    .migrate_run = migrate_run,
    .end_alive = end_alive,
    .give_back_lost = give_back_lost,
    .repair_row = repair_row,
    .free = lv_free,
};

FpbBackend *fpb_backend_libvirt_new(const FpbLibvirtTarget *t)
{
    FpbBackendLibvirt *b = g_new0(FpbBackendLibvirt, 1);

    b->parent.ops = &fpb_backend_libvirt_ops;
    b->target = *t; /* cli_policy: plain values */
    b->target.source_uri = b->source_uri = g_strdup(t->source_uri);
    b->target.domain = b->domain = g_strdup(t->domain);
    b->target.dest_uri = b->dest_uri = g_strdup(t->dest_uri);
    b->target.migrate_uri = b->migrate_uri = g_strdup(t->migrate_uri);
    b->target.listen_address = b->listen_address = g_strdup(t->listen_address);
    return &b->parent;
}
