/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-migration-step"

#include "fpb-migration-step.h"

#define POLL_MS 100
/* After migrate_cancel QEMU needs a moment to reach "cancelled". */
#define CANCEL_WAIT_US (15 * G_USEC_PER_SEC)

gboolean fpb_migration_step_set_postcopy(FpbQmpClient *qmp, gboolean state, GError **error)
{
    const FpbQmpMigrationCapability cap = {"postcopy-ram", state};

    return fpb_qmp_migrate_set_capabilities(qmp, &cap, 1, error);
}

/* postcopy-ram is checked against the destination's host first (userfaultfd),
 * so a destination that cannot do it fails before the source changes. */
static gboolean set_capabilities(FpbQmpClient *src, FpbQmpClient *dst, gboolean hints_off,
                                 const char *vm, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (hints_off && dst == NULL) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                    "VM '%s': hints can only be switched off with a destination QMP socket", vm);
        return FALSE;
    }
    if ((dst != NULL && !fpb_migration_step_set_postcopy(dst, hints_off, &local)) ||
        (local == NULL && !fpb_migration_step_set_postcopy(src, hints_off, &local))) {
        g_set_error(error, local->domain, local->code,
                    "VM '%s': cannot %s free-page hints (postcopy-ram): %s", vm,
                    hints_off ? "switch off" : "leave on", local->message);
        return FALSE;
    }
    return TRUE;
}

static void store_stats(FpbOutcome *o, const FpbQmpMigrationInfo *info)
{
    fpb_outcome_set(&o->mig_status, fpb_qmp_migration_status_to_string(info->status));
    if (info->has_total_time) {
        o->mig_total_ms = info->total_time;
    }
    if (info->has_downtime) {
        o->mig_downtime_ms = info->downtime;
    }
    if (info->has_setup_time) {
        o->mig_setup_ms = info->setup_time;
    }
    if (info->has_ram) {
#define CLAMP64(x) ((gint64)MIN((x), (guint64)G_MAXINT64))
        o->mig_transferred_bytes = CLAMP64(info->ram.transferred);
        o->mig_normal_pages = CLAMP64(info->ram.normal);
        o->mig_normal_bytes = CLAMP64(info->ram.normal_bytes);
        o->mig_zero_pages = CLAMP64(info->ram.duplicate);
        o->mig_dirty_sync_count = CLAMP64(info->ram.dirty_sync_count);
#undef CLAMP64
        o->mig_throughput_mbps = info->ram.mbps;
    }
}

/* Polls query-migrate until a final state; cancels once at the timeout.
 * *ret_timed_out says whether fpb cancelled. */
static FpbQmpMigrationInfo *poll_until_final(FpbQmpClient *src, const FpbMigrationPlan *plan,
                                             FpbOutcome *o, gboolean *ret_timed_out, GError **error)
{
    gint64 start = g_get_monotonic_time();
    gint64 cancelled_at = 0;

    *ret_timed_out = FALSE;
    for (;;) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate_settled(src, error);
        gint64 now = g_get_monotonic_time();

        if (info == NULL) {
            return NULL;
        }
        store_stats(o, info);
        if (fpb_qmp_migration_status_is_final(info->status)) {
            return g_steal_pointer(&info);
        }
        if (cancelled_at == 0 && plan->timeout_s > 0 &&
            now - start >= (gint64)(plan->timeout_s * G_USEC_PER_SEC)) {
            *ret_timed_out = TRUE;
            cancelled_at = now;
            if (!fpb_qmp_migrate_cancel(src, error)) {
                return NULL;
            }
        }
        if (cancelled_at != 0 && now - cancelled_at > CANCEL_WAIT_US) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': migration still '%s' %d s after migrate_cancel", o->vm,
                        fpb_qmp_migration_status_to_string(info->status),
                        (int)(CANCEL_WAIT_US / G_USEC_PER_SEC));
            return NULL;
        }
        g_usleep(POLL_MS * 1000);
    }
}

static gboolean final_status_ok(const FpbQmpMigrationInfo *info, const FpbMigrationPlan *plan,
                                gboolean timed_out, const char *vm, GError **error)
{
    switch (info->status) {
    case FPB_QMP_MIGRATION_STATUS_COMPLETED:
        return TRUE;
    case FPB_QMP_MIGRATION_STATUS_CANCELLED:
        if (timed_out) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': migration to '%s' did not complete within %.0f s, cancelled", vm,
                        plan->uri, plan->timeout_s);
        } else {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND,
                        "VM '%s': migration to '%s' was cancelled by someone else", vm, plan->uri);
        }
        return FALSE;
    default:
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND,
                    "VM '%s': migration to '%s' %s: %s", vm, plan->uri,
                    fpb_qmp_migration_status_to_string(info->status),
                    info->error_desc ? info->error_desc : "QEMU gave no reason");
        return FALSE;
    }
}

static gboolean set_bandwidth(FpbQmpClient *src, gint64 bandwidth, GError **error)
{
    FpbQmpMigrationParameters p = {0};

    p.has_max_bandwidth = TRUE;
    p.max_bandwidth = (guint64)bandwidth;
    return fpb_qmp_migrate_set_parameters(src, &p, error);
}

/* Puts back what fpb changed on the source; failures here do not change
 * the outcome (the source may be gone), so they are dropped. */
static void put_back(FpbQmpClient *src, gboolean hints_off, gint64 old_bandwidth)
{
    g_autoptr(GError) ignored = NULL;

    if (hints_off && !fpb_migration_step_set_postcopy(src, FALSE, &ignored)) {
        g_debug("putting postcopy-ram back failed: %s", ignored->message);
        g_clear_error(&ignored);
    }
    if (old_bandwidth > 0 && !set_bandwidth(src, old_bandwidth, &ignored)) {
        g_debug("putting max-bandwidth back failed: %s", ignored->message);
    }
}

static gint64 current_bandwidth(FpbQmpClient *src)
{
    FpbQmpMigrationParameters p;

    if (!fpb_qmp_query_migrate_parameters(src, &p, NULL) || !p.has_max_bandwidth ||
        p.max_bandwidth > (guint64)G_MAXINT64) {
        return -1;
    }
    return (gint64)p.max_bandwidth;
}

gboolean fpb_migration_step_run(FpbQmpClient *src, FpbQmpClient *dst, const FpbMigrationPlan *plan,
                                FpbOutcome *o, GError **error)
{
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    gint64 old_bandwidth = plan->max_bandwidth > 0 ? current_bandwidth(src) : -1;
    gboolean timed_out = FALSE;
    gboolean ok;

    fpb_outcome_set(&o->mig_status, "not-started");
    if (!set_capabilities(src, dst, plan->hints_off, o->vm, error)) {
        return FALSE;
    }
    if (plan->max_bandwidth > 0 && !set_bandwidth(src, plan->max_bandwidth, error)) {
        put_back(src, plan->hints_off, -1);
        return FALSE;
    }
    if (!fpb_qmp_migrate(src, plan->uri, error)) {
        put_back(src, plan->hints_off, old_bandwidth);
        return FALSE;
    }
    info = poll_until_final(src, plan, o, &timed_out, error);
    ok = info != NULL && final_status_ok(info, plan, timed_out, o->vm, error);
    put_back(src, plan->hints_off, old_bandwidth);
    return ok;
}
