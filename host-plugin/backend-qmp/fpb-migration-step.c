/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-migration-step"

#include "fpb-migration-step.h"

#include "fpb-migration-watch.h"

#define POLL_MS 100
/* After migrate_cancel QEMU needs a moment to reach "cancelled". */
#define CANCEL_WAIT_US (15 * G_USEC_PER_SEC)
/* A paused migration's destination leaves "inmigrate" within this. */
#define RESUME_WAIT_US (30 * G_USEC_PER_SEC)

gboolean fpb_migration_step_set_postcopy(FpbQmpClient *qmp, gboolean state, GError **error)
{
    const FpbQmpMigrationCapability cap = {"postcopy-ram", state};

    return fpb_qmp_migrate_set_capabilities(qmp, &cap, 1, error);
}

/* postcopy-ram: to switch hints off on a QEMU without fpb's switch, or
 * for the postcopy method. */
static gboolean wants_postcopy_ram(const FpbMigrationPlan *plan)
{
    return (plan->hints_off && !plan->hint_switch) || plan->method == FPB_POLICY_METHOD_POSTCOPY;
}

/* fpb's switch, on the source: the balloon there starts the hinting. */
static gboolean set_hint_switch(FpbQmpClient *src, const FpbMigrationPlan *plan, const char *vm,
                                GError **error)
{
    if (!plan->hint_switch || fpb_qmp_hints_set_switch(src, !plan->hints_off, error)) {
        return TRUE;
    }
    g_prefix_error(error, "VM '%s': cannot switch free-page hints %s (%s): ", vm,
                   plan->hints_off ? "off" : "on", FPB_QMP_HINTS_CAPABILITY);
    return FALSE;
}

/* What the hints did, read on the source after the migration ended; a
 * failure costs only the counters. */
static void read_hint_stats(FpbQmpClient *src, const FpbMigrationPlan *plan, FpbOutcome *o)
{
    g_autoptr(GError) error = NULL;
    FpbQmpHintStats st;

    if (!plan->hint_stats) {
        return;
    }
    if (!fpb_qmp_query_hint_stats(src, &st, &error)) {
        g_debug("VM '%s': reading the hint counters failed: %s", o->vm, error->message);
        return;
    }
    fpb_outcome_take_hint_stats(o, &st);
}

static const char *postcopy_ram_purpose(const FpbMigrationPlan *plan, gboolean on)
{
    if (plan->method == FPB_POLICY_METHOD_POSTCOPY) {
        return "set up postcopy";
    }
    return on ? "switch off free-page hints" : "leave free-page hints on";
}

/* postcopy-ram is checked against the destination's host first (userfaultfd),
 * so a destination that cannot do it fails before the source changes. */
static gboolean set_capabilities(FpbQmpClient *src, FpbQmpClient *dst, const FpbMigrationPlan *plan,
                                 const char *vm, GError **error)
{
    g_autoptr(GError) local = NULL;
    gboolean on = wants_postcopy_ram(plan);

    if (on && dst == NULL) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                    "VM '%s': cannot %s without a destination QMP socket", vm,
                    postcopy_ram_purpose(plan, on));
        return FALSE;
    }
    if ((dst != NULL && !fpb_migration_step_set_postcopy(dst, on, &local)) ||
        (local == NULL && !fpb_migration_step_set_postcopy(src, on, &local))) {
        g_set_error(error, local->domain, local->code, "VM '%s': cannot %s (postcopy-ram): %s", vm,
                    postcopy_ram_purpose(plan, on), local->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean run_void(FpbQmpClient *qmp, const char *command, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_client_execute(qmp, command, NULL, fpb_qmp_client_get_default_timeout(qmp), error);

    return reply != NULL;
}

/* The paused method: stops a running source. *ret_stopped says whether
 * fpb stopped it (a guest already paused stays as it is, after too). */
static gboolean stop_source(FpbQmpClient *src, const char *vm, gboolean *ret_stopped,
                            GError **error)
{
    g_autoptr(FpbQmpStatus) status = fpb_qmp_query_status(src, error);

    *ret_stopped = FALSE;
    if (status == NULL) {
        return FALSE;
    }
    if (!status->running) {
        return TRUE;
    }
    if (!run_void(src, "stop", error)) {
        g_prefix_error(error, "VM '%s': cannot stop the source for a paused migration: ", vm);
        return FALSE;
    }
    *ret_stopped = TRUE;
    return TRUE;
}

/* Resumes the destination once it has left "inmigrate" (QEMU 7.2 may
 * still load the last device state when the source says "completed"). */
static gboolean resume_destination(FpbQmpClient *dst, const char *vm, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + RESUME_WAIT_US;

    for (;;) {
        g_autoptr(FpbQmpStatus) status = fpb_qmp_query_status(dst, error);

        if (status == NULL) {
            return FALSE;
        }
        if (g_strcmp0(status->status, "inmigrate") != 0) {
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': the destination is still 'inmigrate' %d s after the migration "
                        "completed; it stays paused",
                        vm, (int)(RESUME_WAIT_US / G_USEC_PER_SEC));
            return FALSE;
        }
        g_usleep(POLL_MS * 1000);
    }
    if (!run_void(dst, "cont", error)) {
        g_prefix_error(error,
                       "VM '%s': the migration completed but the destination could not be "
                       "resumed (it stays paused): ",
                       vm);
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

static gboolean in_postcopy(FpbQmpMigrationStatus status)
{
    return status == FPB_QMP_MIGRATION_STATUS_POSTCOPY_ACTIVE ||
           status == FPB_QMP_MIGRATION_STATUS_POSTCOPY_PAUSED ||
           status == FPB_QMP_MIGRATION_STATUS_POSTCOPY_RECOVER;
}

static void tick(const FpbMigrationPlan *plan, const FpbQmpMigrationInfo *info)
{
    FpbMigrationProgress p = {
        .status = fpb_qmp_migration_status_to_string(info->status),
        .elapsed_ms = info->has_total_time ? info->total_time : -1,
        .sent_bytes = -1,
        .remaining_bytes = -1,
        .total_bytes = -1,
        .mbps = -1,
    };

    if (plan->tick == NULL) {
        return;
    }
    if (info->has_ram) {
        p.sent_bytes = (gint64)MIN(info->ram.transferred, (guint64)G_MAXINT64);
        p.remaining_bytes = (gint64)MIN(info->ram.remaining, (guint64)G_MAXINT64);
        p.total_bytes = (gint64)MIN(info->ram.total, (guint64)G_MAXINT64);
        p.mbps = info->ram.mbps;
    }
    plan->tick(&p, plan->tick_data);
}

/* Why fpb cancelled the migration, if it did. */
typedef enum {
    CANCEL_NONE,
    CANCEL_TIMEOUT, /* the operator's --timeout */
    CANCEL_STALL,   /* nothing sent for plan->stall_s */
} Cancel;

/* Polls query-migrate until a final state; cancels once at the timeout or
 * when the migration stopped moving. *ret_cancel says whether fpb
 * cancelled, and why. */
static FpbQmpMigrationInfo *poll_until_final(FpbQmpClient *src, const FpbMigrationPlan *plan,
                                             FpbOutcome *o, Cancel *ret_cancel, GError **error)
{
    gint64 start = g_get_monotonic_time();
    gint64 cancelled_at = 0;
    FpbMigrationWatch watch;

    fpb_migration_watch_init(&watch, plan->stall_s, start);
    *ret_cancel = CANCEL_NONE;
    for (;;) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate_settled(src, error);
        gint64 now = g_get_monotonic_time();

        if (info == NULL) {
            return NULL;
        }
        store_stats(o, info);
        tick(plan, info);
        if (fpb_qmp_migration_status_is_final(info->status)) {
            return g_steal_pointer(&info);
        }
        if (info->status == FPB_QMP_MIGRATION_STATUS_POSTCOPY_PAUSED) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND,
                        "VM '%s': postcopy paused: the migration stream broke after the switch, "
                        "the guest's memory is split between source and destination; recover "
                        "it with QMP 'migrate-recover' on the destination and 'migrate' with "
                        "resume=true on the source",
                        o->vm);
            return NULL;
        }
        /* Once postcopy runs the destination has the guest: cancelling
         * would lose it, so neither rule applies any more. */
        if (cancelled_at == 0 && !in_postcopy(info->status) &&
            fpb_migration_watch_stalled(&watch, o->mig_transferred_bytes, now)) {
            *ret_cancel = CANCEL_STALL;
        } else if (cancelled_at == 0 && plan->timeout_s > 0 && !in_postcopy(info->status) &&
                   now - start >= (gint64)(plan->timeout_s * G_USEC_PER_SEC)) {
            *ret_cancel = CANCEL_TIMEOUT;
        }
        if (cancelled_at == 0 && *ret_cancel != CANCEL_NONE) {
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
                                Cancel cancel, const char *vm, GError **error)
{
    switch (info->status) {
    case FPB_QMP_MIGRATION_STATUS_COMPLETED:
        return TRUE;
    case FPB_QMP_MIGRATION_STATUS_CANCELLED:
        if (cancel == CANCEL_TIMEOUT) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': migration to '%s' did not complete within %.0f s, cancelled", vm,
                        plan->uri, plan->timeout_s);
        } else if (cancel == CANCEL_STALL && info->ram.transferred == 0) {
            /* the setup's allowance (fpb-migration-watch.h) */
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': migration to '%s' sent nothing in its first %.0f s (the "
                        "destination did not get ready or cannot be reached), cancelled",
                        vm, plan->uri, MAX(plan->stall_s, FPB_MIGRATION_WATCH_SETUP_S));
        } else if (cancel == CANCEL_STALL) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "VM '%s': migration to '%s' sent nothing for %.0f s (the link or the "
                        "destination is gone), cancelled",
                        vm, plan->uri, plan->stall_s);
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

/* The cap, for precopy; and for the postcopy method also for postcopy,
 * which QEMU does not cap by default (max-postcopy-bandwidth 0). */
static gboolean set_bandwidth(FpbQmpClient *src, gint64 bandwidth, gboolean postcopy,
                              GError **error)
{
    FpbQmpMigrationParameters p = {0};

    p.has_max_bandwidth = TRUE;
    p.max_bandwidth = (guint64)bandwidth;
    p.has_max_postcopy_bandwidth = postcopy;
    p.max_postcopy_bandwidth = (guint64)bandwidth;
    return fpb_qmp_migrate_set_parameters(src, &p, error);
}

/* What the guest driver frees before the migration starts (what the bulk
 * pass sent before a page turned free is not saved by a hint), answered
 * before the migrate command; without it the migration only hints less, so
 * a refusal or a slow guest does not stop it. */
static void ask_reclaim(FpbQmpClient *src, const FpbMigrationPlan *plan, const char *vm)
{
    g_autoptr(GError) error = NULL;

    if (plan->reclaim != 0 &&
        (!fpb_qmp_balloon_set_reclaim(src, plan->balloon_qom_path, plan->reclaim,
                                      plan->reclaim_cache_mib, &error) ||
         !fpb_qmp_balloon_wait_reclaim(src, plan->balloon_qom_path, FPB_RECLAIM_WAIT_MS, &error))) {
        g_message("VM '%s': reclaim request: %s; migrating without waiting for it", vm,
                  error->message);
    }
}

/* Puts back what fpb changed on the source; failures here do not change
 * the outcome (the source may be gone), so they are dropped. @old: the
 * bandwidth parameters before, has_* FALSE for those not to touch. */
static void put_back(FpbQmpClient *src, const FpbMigrationPlan *plan, gboolean postcopy_ram,
                     const FpbQmpMigrationParameters *old)
{
    g_autoptr(GError) ignored = NULL;

    if (plan->reclaim != 0 &&
        !fpb_qmp_balloon_set_reclaim(src, plan->balloon_qom_path, 0, 0, &ignored)) {
        g_debug("withdrawing the reclaim request failed: %s", ignored->message);
        g_clear_error(&ignored);
    }

    /* the switch's default is on: later migrations (not fpb's) hint */
    if (plan->hint_switch && plan->hints_off && !fpb_qmp_hints_set_switch(src, TRUE, &ignored)) {
        g_debug("putting %s back on failed: %s", FPB_QMP_HINTS_CAPABILITY, ignored->message);
        g_clear_error(&ignored);
    }
    if (postcopy_ram && !fpb_migration_step_set_postcopy(src, FALSE, &ignored)) {
        g_debug("putting postcopy-ram back failed: %s", ignored->message);
        g_clear_error(&ignored);
    }
    if ((old->has_max_bandwidth || old->has_max_postcopy_bandwidth) &&
        !fpb_qmp_migrate_set_parameters(src, old, &ignored)) {
        g_debug("putting the bandwidth back failed: %s", ignored->message);
    }
}

/* The parameters fpb will change, to put them back after. */
static void current_bandwidth(FpbQmpClient *src, const FpbMigrationPlan *plan,
                              FpbQmpMigrationParameters *ret)
{
    FpbQmpMigrationParameters p;

    *ret = (FpbQmpMigrationParameters){0};
    if (plan->max_bandwidth <= 0 || !fpb_qmp_query_migrate_parameters(src, &p, NULL)) {
        return;
    }
    ret->has_max_bandwidth =
        p.has_max_bandwidth && p.max_bandwidth > 0 && p.max_bandwidth <= (guint64)G_MAXINT64;
    ret->max_bandwidth = p.max_bandwidth;
    ret->has_max_postcopy_bandwidth =
        plan->method == FPB_POLICY_METHOD_POSTCOPY && p.has_max_postcopy_bandwidth;
    ret->max_postcopy_bandwidth = p.max_postcopy_bandwidth;
}

/* A failed paused migration gives the guest back to the source. */
static void resume_source(FpbQmpClient *src, gboolean stopped_by_fpb)
{
    g_autoptr(GError) ignored = NULL;

    if (stopped_by_fpb && !run_void(src, "cont", &ignored)) {
        g_debug("resuming the source after a failed paused migration failed: %s", ignored->message);
    }
}

/* `migrate`, and for the postcopy method the switch right after it: QEMU
 * then moves to postcopy during the bulk pass, before any dirty sync
 * while the guest runs (docs/hint-safety.md). */
static gboolean start(FpbQmpClient *src, const FpbMigrationPlan *plan, const char *vm,
                      GError **error)
{
    if (!fpb_qmp_migrate(src, plan->uri, error)) {
        return FALSE;
    }
    if (plan->method == FPB_POLICY_METHOD_POSTCOPY &&
        !run_void(src, "migrate-start-postcopy", error)) {
        /* Best effort: the switch failing is the error worth reporting. */
        fpb_qmp_migrate_cancel(src, NULL);
        g_prefix_error(error, "VM '%s': cannot start postcopy (migration cancelled): ", vm);
        return FALSE;
    }
    return TRUE;
}

/* After a completed paused migration: resume the destination (when fpb
 * stopped the source and can reach it); downtime is stop to cont. */
static gboolean finish_paused(FpbQmpClient *dst, gboolean stopped_by_fpb, gint64 stopped_at,
                              FpbOutcome *o, GError **error)
{
    if (!stopped_by_fpb || dst == NULL) {
        return TRUE;
    }
    if (!resume_destination(dst, o->vm, error)) {
        return FALSE;
    }
    o->mig_downtime_ms = (g_get_monotonic_time() - stopped_at) / 1000;
    return TRUE;
}

gboolean fpb_migration_step_run(FpbQmpClient *src, FpbQmpClient *dst, const FpbMigrationPlan *plan,
                                FpbOutcome *o, GError **error)
{
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    FpbQmpMigrationParameters old_bandwidth;
    const FpbQmpMigrationParameters untouched = {0};
    gboolean postcopy_ram = wants_postcopy_ram(plan);
    Cancel cancel = CANCEL_NONE;
    gboolean stopped_by_fpb = FALSE;
    gint64 stopped_at = 0;
    gboolean ok;

    current_bandwidth(src, plan, &old_bandwidth);
    fpb_outcome_set(&o->mig_status, "not-started");
    if (!set_hint_switch(src, plan, o->vm, error) ||
        !set_capabilities(src, dst, plan, o->vm, error)) {
        put_back(src, plan, FALSE, &untouched);
        return FALSE;
    }
    if (plan->max_bandwidth > 0 &&
        !set_bandwidth(src, plan->max_bandwidth, plan->method == FPB_POLICY_METHOD_POSTCOPY,
                       error)) {
        put_back(src, plan, postcopy_ram, &untouched);
        return FALSE;
    }
    ask_reclaim(src, plan, o->vm);
    stopped_at = g_get_monotonic_time();
    if ((plan->method == FPB_POLICY_METHOD_PAUSED &&
         !stop_source(src, o->vm, &stopped_by_fpb, error)) ||
        !start(src, plan, o->vm, error)) {
        resume_source(src, stopped_by_fpb);
        put_back(src, plan, postcopy_ram, &old_bandwidth);
        return FALSE;
    }
    info = poll_until_final(src, plan, o, &cancel, error);
    ok = info != NULL && final_status_ok(info, plan, cancel, o->vm, error);
    if (!ok && info != NULL) {
        resume_source(src, stopped_by_fpb);
    }
    read_hint_stats(src, plan, o);
    put_back(src, plan, postcopy_ram, &old_bandwidth);
    return ok && (plan->method != FPB_POLICY_METHOD_PAUSED ||
                  finish_paused(dst, stopped_by_fpb, stopped_at, o, error));
}
