/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-qmp-facts"

#include <math.h>
#include <string.h>

#include "fpb-guest-resident.h"
#include "fpb-facts-build.h"
#include "fpb-qmp-facts.h"

#include "fpb-qemu-binary.h"

#define STATS_POLL_INTERVAL_S 2
#define POLL_MS 100

static void collect_balloon_size(FpbQmpClient *qmp, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    guint64 actual = 0;

    if (!fpb_qmp_query_balloon(qmp, &actual, &error)) {
        fpb_vm_facts_note(v, "balloon size", error);
        return;
    }
    v->facts.balloon_actual_bytes = (gint64)MIN(actual, (guint64)v->facts.ram_bytes);
}

/* RAM size (required) and the balloon's. */
static gboolean size(gpointer ctx, FpbVmFacts *v, GError **error)
{
    FpbQmpClient *qmp = ctx;
    g_autoptr(json_object) reply = fpb_qmp_client_execute(
        qmp, "query-memory-size-summary", NULL, fpb_qmp_client_get_default_timeout(qmp), error);
    gint64 base = 0;

    if (reply == NULL || !fpb_qmp_json_get_int(reply, "command 'query-memory-size-summary'",
                                               "base-memory", 1, G_MAXINT64, &base, error)) {
        return FALSE;
    }
    v->facts.ram_bytes = base;
    collect_balloon_size(qmp, v);
    return TRUE;
}

static void identify(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *qmp = ctx;

    if (!fpb_qmp_query_name(qmp, &v->name, &error)) {
        fpb_vm_facts_note(v, "VM name", error);
    }
    fpb_vm_facts_take_version(v, o, fpb_qmp_client_get_version(qmp));
    /* The socket's peer is QEMU unless a proxy sits in front of it; only
     * shown, never decided on. */
    v->qemu_binary = fpb_qemu_binary_of_pid(fpb_qmp_client_get_peer_pid(qmp));
    v->facts.guest_resident_bytes =
        fpb_guest_resident_bytes(fpb_qmp_client_get_peer_pid(qmp), v->facts.ram_bytes, &error);
    if (v->facts.guest_resident_bytes < 0) {
        fpb_vm_facts_note(v, "resident guest memory", error);
    }
}

/* A VM started with -kernel/-append shows its kernel command line as the
 * machine's "append" property; a disk-booted guest shows "". */
static char *kernel_cmdline(gpointer ctx, FpbVmFacts *v, const char **ret_where,
                            const char **ret_unknown)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) append = fpb_qmp_qom_get(ctx, "/machine", "append", &error);

    *ret_where = "the VM's kernel command line (-append)";
    *ret_unknown = "unknown (not on the VM's kernel command line)";
    if (append == NULL) {
        fpb_vm_facts_note(v, "kernel command line", error);
        return NULL;
    }
    return json_object_is_type(append, json_type_string) ? g_strdup(json_object_get_string(append))
                                                         : NULL;
}

static gboolean balloon_path(gpointer ctx, FpbVmFacts *v, char **ret_path, GError **error)
{
    (void)v;
    return fpb_qmp_virtio_find_balloon(ctx, ret_path, error);
}

static json_object *qmp_call(gpointer ctx, const char *command, json_object *args, GError **error)
{
    return fpb_qmp_client_execute(ctx, command, args, fpb_qmp_client_get_default_timeout(ctx),
                                  error);
}

static gboolean stats_fresh(const FpbQmpBalloonStats *s, gint64 since)
{
    return s->last_update > 0 && s->last_update >= since;
}

static void store_stats(FpbVmFacts *v, const FpbQmpBalloonStats *s)
{
    FpbPolicyStats *st = &v->facts.stats;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

#define STAT(x) ((x) == FPB_QMP_STAT_UNAVAILABLE ? -1 : (gint64)MIN((x), (guint64)G_MAXINT64))
    st->free_bytes = STAT(s->free_memory);
    st->available_bytes = STAT(s->available_memory);
    st->disk_caches_bytes = STAT(s->disk_caches);
    st->total_bytes = STAT(s->total_memory);
#undef STAT
    /* A report from the future (clock skew, a lying guest) counts as new. */
    st->age_seconds = s->last_update > 0 ? (double)MAX(now - s->last_update, 0) : -1.0;
}

/* Switches stats polling on if off, then waits (bounded) for a sample that
 * is at most one polling interval old. */
static void stats(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    FpbQmpClient *qmp = ctx;
    g_autoptr(GError) error = NULL;
    gint64 interval = 0;
    FpbQmpBalloonStats s;
    gint64 deadline = g_get_monotonic_time() + (gint64)o->stats_wait_ms * 1000;
    gint64 since;

    if (v->balloon_qom_path == NULL || !v->facts.guest.stats_queue) {
        return;
    }
    if (!fpb_qmp_balloon_get_stats_interval(qmp, v->balloon_qom_path, &interval, &error)) {
        fpb_vm_facts_note(v, "guest stats", error);
        return;
    }
    if (interval <= 0) {
        if (!fpb_qmp_balloon_set_stats_interval(qmp, v->balloon_qom_path, STATS_POLL_INTERVAL_S,
                                                &error)) {
            fpb_vm_facts_note(v, "guest stats", error);
            return;
        }
        v->stats_polling_enabled = TRUE;
        interval = STATS_POLL_INTERVAL_S;
    }
    since = g_get_real_time() / G_USEC_PER_SEC - (v->stats_polling_enabled ? 0 : interval);
    while (fpb_qmp_balloon_get_stats(qmp, v->balloon_qom_path, &s, &error)) {
        store_stats(v, &s);
        if (stats_fresh(&s, since) && fpb_vm_facts_stats_agree_with_balloon(&v->facts)) {
            return;
        }
        if (g_get_monotonic_time() >= deadline) {
            fpb_vm_facts_forget_stale_stats(v);
            return;
        }
        g_usleep(POLL_MS * 1000);
    }
    fpb_vm_facts_note(v, "guest stats", error);
}

static void migration_parameters(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    FpbQmpClient *qmp = ctx;
    g_autoptr(GError) error = NULL;
    FpbQmpMigrationParameters p;

    if (!fpb_qmp_query_migrate_parameters(qmp, &p, &error)) {
        fpb_vm_facts_note(v, "migration parameters", error);
        return;
    }
    if (p.has_downtime_limit && p.downtime_limit > 0 && p.downtime_limit <= 60000) {
        v->facts.downtime_limit_seconds = (double)p.downtime_limit / 1000.0;
    }
    /* The cap fpb will set, else QEMU's: an upper bound for the model. */
    if (o->max_bandwidth > 0) {
        v->facts.bandwidth_bytes_per_second = (double)o->max_bandwidth;
    } else if (p.has_max_bandwidth && p.max_bandwidth > 0 && p.max_bandwidth < (1ULL << 50)) {
        v->facts.bandwidth_bytes_per_second = (double)p.max_bandwidth;
    }
}

FpbVmFacts *fpb_qmp_facts_collect(FpbQmpClient *qmp, const FpbVmFactsOptions *o, GError **error)
{
    const FpbFactsSource source = {
        .qmp = qmp_call,
        .size = size,
        .identify = identify,
        .balloon_path = balloon_path,
        .kernel_cmdline = kernel_cmdline,
        .stats = stats,
        .migration_parameters = migration_parameters,
        .ctx = qmp,
    };

    return fpb_facts_build(&source, o, error);
}
