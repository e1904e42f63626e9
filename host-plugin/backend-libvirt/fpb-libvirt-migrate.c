/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration step through libvirt (fpb-libvirt-steps.h).
 * virDomainMigrateToURI3 blocks until the migration ends, so it runs in a
 * worker thread while this thread polls the job and enforces the timeout
 * (libvirt connections may be used from several threads).
 */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libvirt/virterror.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-steps.h"
#include "fpb-migration-watch.h"
#include "fpb-pipeline.h"

#define POLL_MS 500
/* Until postcopy is started: the switch must come during the bulk pass,
 * before the first dirty sync while the guest runs (docs/hint-safety.md). */
#define POSTCOPY_POLL_MS 20

typedef struct {
    virDomainPtr dom;
    const FpbLibvirtMigrationPlan *plan;
    virTypedParameterPtr params;
    int nparams;
    unsigned int flags;
    int rc;
    char *error; /* libvirt's message when rc < 0 */
    int error_code;
    gboolean postcopy_started;
} Job;

static gpointer migrate_thread(gpointer data)
{
    Job *job = data;

    int rc = virDomainMigrateToURI3(job->dom, job->plan->dest_uri, job->params,
                                    (unsigned int)job->nparams, job->flags);

    if (rc < 0) {
        const char *m = virGetLastErrorMessage();

        job->error = g_strdup(m ? m : "unknown libvirt error");
        job->error_code = fpb_libvirt_last_error_code();
    }
    g_atomic_int_set(&job->rc, rc < 0 ? -1 : 0);
    return NULL;
}

static gint64 get_ull(virTypedParameterPtr p, int n, const char *name)
{
    unsigned long long v = 0;

    if (virTypedParamsGetULLong(p, n, name, &v) != 1 || v > (unsigned long long)G_MAXINT64) {
        return -1;
    }
    return (gint64)v;
}

void fpb_libvirt_job_stats_to_outcome(virTypedParameterPtr p, int n, FpbOutcome *o)
{
    gint64 bps = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);

    o->mig_total_ms = get_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
    o->mig_downtime_ms = get_ull(p, n, VIR_DOMAIN_JOB_DOWNTIME);
    o->mig_setup_ms = get_ull(p, n, VIR_DOMAIN_JOB_SETUP_TIME);
    o->mig_transferred_bytes = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
    o->mig_normal_pages = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_NORMAL);
    o->mig_normal_bytes = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_NORMAL_BYTES);
    o->mig_zero_pages = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_CONSTANT);
    o->mig_dirty_sync_count = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
    o->mig_throughput_mbps = bps >= 0 ? (double)bps * 8 / 1e6 : -1;
}

/* A poll of the running job into @o. Its figures only grow; once the job
 * is aborted libvirt reads 0 for all of them (seen on a cancelled
 * migration: 44 polls of 0 after 39 MB had gone), which must not wipe
 * what the migration did send. */
static void take_poll(virTypedParameterPtr p, int n, FpbOutcome *o)
{
    gint64 processed = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);

    if (processed >= 0 && processed < o->mig_transferred_bytes) {
        return;
    }
    fpb_libvirt_job_stats_to_outcome(p, n, o);
}

static gboolean build_params(Job *job, GError **error)
{
    const FpbLibvirtMigrationPlan *plan = job->plan;
    int max = 0;
    int rc = 0;

    if (plan->migrate_uri != NULL) {
        rc |= virTypedParamsAddString(&job->params, &job->nparams, &max, VIR_MIGRATE_PARAM_URI,
                                      plan->migrate_uri);
    }
    if (plan->listen_address != NULL) {
        rc |= virTypedParamsAddString(&job->params, &job->nparams, &max,
                                      VIR_MIGRATE_PARAM_LISTEN_ADDRESS, plan->listen_address);
    }
    if (plan->max_bandwidth > 0) {
        /* libvirt's unit is MiB/s; round up so a small cap is not 0 (= none) */
        rc |= virTypedParamsAddULLong(
            &job->params, &job->nparams, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
            (unsigned long long)((plan->max_bandwidth + (1 << 20) - 1) >> 20));
    }
    if (rc < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "migration parameters");
    }
    job->flags = VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST;
    if (plan->method != FPB_POLICY_METHOD_PAUSED) {
        job->flags |= VIR_MIGRATE_LIVE;
    }
    if (plan->hints_off || plan->method == FPB_POLICY_METHOD_POSTCOPY) {
        job->flags |= VIR_MIGRATE_POSTCOPY;
    }
    return TRUE;
}

/* The postcopy method: switch as soon as libvirt lets us (it refuses
 * until the outgoing migration runs; those refusals are expected). */
static void start_postcopy(Job *job)
{
    if (job->plan->method != FPB_POLICY_METHOD_POSTCOPY || job->postcopy_started) {
        return;
    }
    if (virDomainMigrateStartPostCopy(job->dom, 0) == 0) {
        job->postcopy_started = TRUE;
        g_debug("VM '%s': postcopy started", virDomainGetName(job->dom));
    } else {
        virResetLastError();
    }
}

/* Why the watch ended the job: its timeout, or the pipeline's run was
 * cancelled (fpb_pipeline_cancelled()). */
typedef struct {
    gboolean timed_out;
    gboolean stalled; /* nothing sent for stall_bound_s */
    double stall_bound_s;
    gboolean never_sent; /* stalled in the setup, before the first byte */
    gboolean cancelled;
    gboolean aborted; /* virDomainAbortJob succeeded */
} Stop;

/* Aborts the job when due, again at every poll until libvirt takes it (the
 * job may not have begun yet; a postcopy already started cannot be aborted
 * and completes). */
static void abort_when_due(Job *job, gint64 deadline, gboolean stalled, Stop *stop)
{
    if (!stop->timed_out && !stop->cancelled && !stop->stalled) {
        stop->stalled = stalled && !job->postcopy_started;
        stop->timed_out = !stop->stalled && g_get_monotonic_time() >= deadline;
        stop->cancelled = !stop->timed_out && !stop->stalled && fpb_pipeline_cancelled();
    }
    if ((stop->timed_out || stop->stalled || stop->cancelled) && !stop->aborted) {
        stop->aborted = virDomainAbortJob(job->dom) == 0;
        if (!stop->aborted) {
            g_debug("VM '%s': virDomainAbortJob failed: %s", virDomainGetName(job->dom),
                    virGetLastErrorMessage());
        }
    }
}

static void tick(const Job *job, virTypedParameterPtr p, int n)
{
    FpbMigrationProgress progress = {
        .status = job->postcopy_started ? "postcopy-active" : "active",
        .elapsed_ms = get_ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED),
        .sent_bytes = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED),
        .remaining_bytes = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING),
        .total_bytes = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL),
        .mbps = -1,
    };
    gint64 bps = get_ull(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);

    if (job->plan->tick == NULL) {
        return;
    }
    progress.mbps = bps >= 0 ? (double)bps * 8 / 1e6 : -1;
    job->plan->tick(&progress, job->plan->tick_data);
}

/* The last statistics while running; the timeout or a cancel aborts the
 * job. */
static void watch(Job *job, FpbOutcome *o, Stop *stop)
{
    gint64 deadline = job->plan->timeout_s > 0
                          ? g_get_monotonic_time() + (gint64)(job->plan->timeout_s * G_USEC_PER_SEC)
                          : G_MAXINT64;
    FpbMigrationWatch progress;
    gboolean stalled = FALSE;

    fpb_migration_watch_init(&progress, job->plan->stall_s, g_get_monotonic_time());
    for (;;) {
        virTypedParameterPtr p = NULL;
        int n = 0;
        int type = 0;

        abort_when_due(job, deadline, stalled, stop);
        if (virDomainGetJobStats(job->dom, &type, &p, &n, 0) == 0 && type != VIR_DOMAIN_JOB_NONE &&
            n > 0) {
            take_poll(p, n, o);
            tick(job, p, n);
        }
        virTypedParamsFree(p, n);
        stalled = fpb_migration_watch_stalled(&progress, o->mig_transferred_bytes,
                                              g_get_monotonic_time());
        if (stalled && !stop->stalled) {
            stop->stall_bound_s = fpb_migration_watch_bound_s(&progress);
            stop->never_sent = !fpb_migration_watch_sent_any(&progress);
        }
        if (g_atomic_int_get(&job->rc) != 1) {
            break;
        }
        if (type != VIR_DOMAIN_JOB_NONE) {
            start_postcopy(job);
        }
        g_usleep((job->plan->method == FPB_POLICY_METHOD_POSTCOPY && !job->postcopy_started
                      ? POSTCOPY_POLL_MS
                      : POLL_MS) *
                 1000);
    }
}

/* The completed job's statistics: the destination keeps them. */
static void final_stats(virDomainPtr dom, virConnectPtr dest, FpbOutcome *o)
{
    g_autoptr(FpbVirDomain) ddom = virDomainLookupByName(dest, virDomainGetName(dom));
    virTypedParameterPtr p = NULL;
    int n = 0;
    int type = 0;

    if (ddom != NULL &&
        virDomainGetJobStats(ddom, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 && n > 0) {
        fpb_libvirt_job_stats_to_outcome(p, n, o);
    } else if (virDomainGetJobStats(dom, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 &&
               n > 0) {
        fpb_libvirt_job_stats_to_outcome(p, n, o);
    }
    virTypedParamsFree(p, n);
}

/* The run's error for a migration that did not complete. */
static void set_stop_error(const char *vm, const FpbLibvirtMigrationPlan *plan, const Job *job,
                           const Stop *stop, GError **error)
{
    if (stop->cancelled) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': the migration was cancelled (the run was asked to stop): %s", vm,
                    job->error);
    } else if (stop->stalled && stop->never_sent) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': the migration to '%s' sent nothing in its first %.0f s (the "
                    "destination did not get ready or cannot be reached); cancelled",
                    vm, plan->dest_uri, stop->stall_bound_s);
    } else if (stop->stalled) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': the migration sent nothing for %.0f s (the link or the destination "
                    "is gone); cancelled",
                    vm, stop->stall_bound_s);
    } else if (stop->timed_out) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': the migration did not complete within %.0f s; cancelled", vm,
                    plan->timeout_s);
    } else {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': migration to '%s' failed: %s", vm, plan->dest_uri, job->error);
    }
}

gboolean fpb_libvirt_migrate_run(virDomainPtr dom, virConnectPtr dest,
                                 const FpbLibvirtMigrationPlan *plan, FpbOutcome *o, GError **error)
{
    Job job = {.dom = dom, .plan = plan, .rc = 1};
    GThread *thread;
    Stop stop = {0};
    const char *vm = virDomainGetName(dom);

    if (!build_params(&job, error)) {
        virTypedParamsFree(job.params, job.nparams);
        return FALSE;
    }
    thread = g_thread_new("fpb-migrate", migrate_thread, &job);
    watch(&job, o, &stop);
    g_thread_join(thread);
    virTypedParamsFree(job.params, job.nparams);
    if (job.rc == 0) {
        final_stats(dom, dest, o);
        fpb_outcome_set(&o->mig_status, "completed");
        return TRUE;
    }
    fpb_outcome_set(&o->mig_status, stop.timed_out || stop.stalled || stop.cancelled ||
                                            job.error_code == VIR_ERR_OPERATION_ABORTED
                                        ? "cancelled"
                                        : "failed");
    set_stop_error(vm, plan, &job, &stop, error);
    g_free(job.error);
    return FALSE;
}
