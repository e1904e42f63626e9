/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-backend-qmp"

#include <string.h>

#include "fpb-backend-qmp-priv.h"
#include "fpb-balloon-step.h"
#include "fpb-migration-step.h"
#include "fpb-qmp-facts.h"
#include "fpb-vm-lock.h"

void fpb_qmp_target_init(FpbQmpTarget *t)
{
    memset(t, 0, sizeof(*t));
    t->connect_timeout_ms = 5000;
}

static FpbBackendQmp *self_of(FpbBackend *be)
{
    return (FpbBackendQmp *)be;
}

static char *fallback_name(FpbBackend *be)
{
    FpbBackendQmp *b = self_of(be);

    return b->vm_name ? g_strdup(b->vm_name) : g_path_get_basename(b->source_qmp);
}

static FpbQmpClient *connect_end(FpbBackendQmp *b, const char *path, FpbEnd end, GError **error)
{
    g_autoptr(GError) local = NULL;
    FpbQmpClient *qmp = fpb_qmp_client_connect(path, b->target.connect_timeout_ms, &local);

    if (qmp == NULL) {
        g_autofree char *name = fallback_name(&b->parent);

        g_set_error(error, local->domain, local->code,
                    "VM '%s': cannot reach the %s QMP socket '%s': %s", name,
                    fpb_end_to_string(end), path, local->message);
    }
    return qmp;
}

static gboolean qmp_open(FpbBackend *be, gboolean need_dest, GError **error)
{
    FpbBackendQmp *b = self_of(be);

    if (b->src == NULL && (b->src = connect_end(b, b->source_qmp, FPB_END_SOURCE, error)) == NULL) {
        return FALSE;
    }
    if (need_dest && b->dest_qmp != NULL && b->dst == NULL &&
        (b->dst = connect_end(b, b->dest_qmp, FPB_END_DESTINATION, error)) == NULL) {
        return FALSE;
    }
    return TRUE;
}

static char *lock_key(FpbBackend *be, GError **error)
{
    FpbBackendQmp *b = self_of(be);
    g_autoptr(GError) local = NULL;
    char *key = fpb_vm_lock_key_of_socket(b->source_qmp, &local);

    if (key == NULL) {
        g_autofree char *name = fallback_name(be);

        g_set_error(error, local->domain, local->code,
                    "VM '%s': cannot reach the source QMP socket: %s", name, local->message);
    }
    return key;
}

static void describe(FpbBackend *be, FpbOutcome *row)
{
    FpbBackendQmp *b = self_of(be);

    fpb_outcome_set(&row->source_qmp, b->source_qmp);
    fpb_outcome_set(&row->dest_qmp, b->dest_qmp);
    fpb_outcome_set(&row->uri, b->uri);
    fpb_outcome_set(&row->vm, b->vm_name);
}

static FpbVmFacts *collect_facts(FpbBackend *be, const FpbVmFactsOptions *options, GError **error)
{
    return fpb_qmp_facts_collect(self_of(be)->src, options, error);
}

/* Bare QEMU has no persistent definition: @give_back changes nothing. */
static gboolean balloon_run(FpbBackend *be, FpbEnd end, gint64 target, gboolean give_back,
                            double budget_s, guint stall_ms, FpbBalloonStep *ret, GError **error)
{
    FpbBackendQmp *b = self_of(be);
    FpbQmpClient *qmp = end == FPB_END_DESTINATION ? b->dst : b->src;

    (void)give_back;
    if (qmp == NULL) {
        *ret = (FpbBalloonStep){.start_bytes = -1, .reached_bytes = -1, .stopped = NULL};
        g_set_error_literal(error, FPB_QMP_ERROR, FPB_QMP_ERROR_CLOSED, "no QMP socket for it");
        return FALSE;
    }
    return fpb_balloon_step_run(qmp, target, budget_s, stall_ms, ret, error);
}

static gboolean migrate_run(FpbBackend *be, const FpbBackendMigration *m, FpbOutcome *row,
                            GError **error)
{
    FpbBackendQmp *b = self_of(be);
    FpbMigrationPlan plan = {
        .uri = b->uri,
        .max_bandwidth = m->max_bandwidth,
        .timeout_s = m->timeout_s,
        .stall_s = m->stall_s,
        .tick = m->tick,
        .tick_data = m->tick_data,
        /* postcopy-ram must be set on both ends: without the destination's
         * socket hints cannot be switched off that way (the policy knows);
         * fpb's QEMU switches them on the source alone. */
        .hints_off = m->hints_off && (b->dst != NULL || m->hint_switch),
        .method = m->method,
        .hint_switch = m->hint_switch,
        .hint_stats = m->hint_stats,
        .reclaim = m->reclaim,
        .reclaim_cache_mib = m->reclaim_cache_mib,
        .balloon_qom_path = m->balloon_qom_path,
    };

    return fpb_migration_step_run(b->src, b->dst, &plan, row, error);
}

static void qmp_free(FpbBackend *be)
{
    FpbBackendQmp *b = self_of(be);

    g_clear_pointer(&b->src, fpb_qmp_client_free);
    g_clear_pointer(&b->dst, fpb_qmp_client_free);
    g_free(b->source_qmp);
    g_free(b->dest_qmp);
    g_free(b->uri);
    g_free(b->vm_name);
    g_free(b);
}

const FpbBackendOps fpb_backend_qmp_ops = {
    .name = "qmp",
    .lock_key = lock_key,
    .open = qmp_open,
    .describe = describe,
    .fallback_name = fallback_name,
    .collect_facts = collect_facts,
    .balloon_run = balloon_run,
    .migrate_run = migrate_run,
    .repair_row = fpb_backend_qmp_repair_row,
    .free = qmp_free,
};

FpbBackend *fpb_backend_qmp_new(const FpbQmpTarget *t)
{
    FpbBackendQmp *b = g_new0(FpbBackendQmp, 1);

    b->parent.ops = &fpb_backend_qmp_ops;
    b->target = *t;
    b->target.source_qmp = b->source_qmp = g_strdup(t->source_qmp);
    b->target.dest_qmp = b->dest_qmp = g_strdup(t->dest_qmp);
    b->target.uri = b->uri = g_strdup(t->uri);
    b->target.vm_name = b->vm_name = g_strdup(t->vm_name);
    return &b->parent;
}
