/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-qmp-facts"

#include <math.h>
#include <string.h>

#include "fpb-qmp-facts.h"

#include "fpb-qemu-binary.h"

#define STATS_POLL_INTERVAL_S 2
#define POLL_MS 100
#define DIRTY_RATE_WAIT_MS 3000
#define MIB (1024.0 * 1024.0)

/* RAM size: query-memory-size-summary's base-memory. Required. */
static gboolean collect_ram(FpbQmpClient *qmp, FpbVmFacts *v, GError **error)
{
    g_autoptr(json_object) reply = fpb_qmp_client_execute(
        qmp, "query-memory-size-summary", NULL, fpb_qmp_client_get_default_timeout(qmp), error);
    gint64 base = 0;

    if (reply == NULL || !fpb_qmp_json_get_int(reply, "command 'query-memory-size-summary'",
                                               "base-memory", 1, G_MAXINT64, &base, error)) {
        return FALSE;
    }
    v->facts.ram_bytes = base;
    return TRUE;
}

static void collect_version(FpbQmpClient *qmp, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    fpb_vm_facts_take_version(v, o, fpb_qmp_client_get_version(qmp));
    /* The socket's peer is QEMU unless a proxy sits in front of it; only
     * shown, never decided on. */
    v->qemu_binary = fpb_qemu_binary_of_pid(fpb_qmp_client_get_peer_pid(qmp));
}

/* query-kvm: enabled = KVM; present or not, disabled means TCG here (the
 * only other x86 accelerators, xen/hvf/whpx, are not run by fpb). */
static void collect_accel(FpbQmpClient *qmp, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) reply = fpb_qmp_client_execute(
        qmp, "query-kvm", NULL, fpb_qmp_client_get_default_timeout(qmp), &error);
    gboolean enabled = FALSE;

    if (reply == NULL ||
        !fpb_qmp_json_get_bool(reply, "command 'query-kvm'", "enabled", &enabled, &error)) {
        fpb_vm_facts_note(v, "accelerator", error);
        return;
    }
    v->facts.accelerator = enabled ? FPB_POLICY_ACCEL_KVM : FPB_POLICY_ACCEL_TCG;
}

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

static void collect_features(FpbQmpClient *qmp, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *virtio_path = NULL;
    g_autoptr(FpbQmpVirtioStatus) st = NULL;

    if (!fpb_qmp_virtio_find_balloon(qmp, &virtio_path, &error) ||
        (virtio_path != NULL &&
         (st = fpb_qmp_query_virtio_status(qmp, virtio_path, &error)) == NULL)) {
        fpb_vm_facts_note(v, "balloon features", error);
        return;
    }
    if (virtio_path == NULL) {
        g_ptr_array_add(v->notes, g_strdup("the VM has no virtio-balloon device"));
        return;
    }
    v->balloon_qom_path = fpb_qmp_virtio_device_qom_path(virtio_path);
    v->balloon_driver_ok = st->driver_ok;
    v->facts.guest.free_page_hint = st->guest_balloon.free_page_hint;
    v->facts.guest.stats_queue = st->guest_balloon.stats_vq;
    v->facts.guest.deflate_on_oom = st->guest_balloon.deflate_on_oom;
    v->facts.guest.free_page_reporting = st->guest_balloon.reporting;
}

static void collect_init_on_alloc(FpbQmpClient *qmp, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) append = NULL;

    v->facts.guest.driver = o->driver;
    if (o->init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN) {
        v->facts.guest.init_on_alloc = o->init_on_alloc;
        v->init_on_alloc_source = "the command line (--guest-init-on-alloc)";
        return;
    }
    /* A VM started with -kernel/-append shows its kernel command line as the
     * machine's "append" property; a disk-booted guest shows "". */
    append = fpb_qmp_qom_get(qmp, "/machine", "append", &error);
    if (append == NULL) {
        fpb_vm_facts_note(v, "kernel command line", error);
    } else if (json_object_is_type(append, json_type_string)) {
        v->facts.guest.init_on_alloc =
            fpb_vm_facts_parse_init_on_alloc(json_object_get_string(append));
    }
    v->init_on_alloc_source = v->facts.guest.init_on_alloc == FPB_POLICY_INIT_ON_ALLOC_UNKNOWN
                                  ? "unknown (not on the VM's kernel command line)"
                                  : "the VM's kernel command line (-append)";
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
static void collect_stats(FpbQmpClient *qmp, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
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

static void collect_dirty_rate(FpbQmpClient *qmp, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    FpbQmpDirtyRateInfo info;
    gint64 deadline;

    if (!fpb_qmp_calc_dirty_rate(qmp, 1, 0, &error)) {
        fpb_vm_facts_note(v, "dirty rate", error);
        return;
    }
    deadline = g_get_monotonic_time() + DIRTY_RATE_WAIT_MS * 1000;
    g_usleep(1000 * 1000);
    while (fpb_qmp_query_dirty_rate(qmp, &info, &error)) {
        if (info.status == FPB_QMP_DIRTY_RATE_MEASURED && info.has_dirty_rate &&
            info.dirty_rate >= 0) {
            /* QEMU's unit is MiB/s (pages * page size >> 20 per second). */
            v->facts.dirty_rate_bytes_per_second = (double)info.dirty_rate * MIB;
            return;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_ptr_array_add(v->notes, g_strdup("dirty rate: no result within 3 s, ignoring"));
            return;
        }
        g_usleep(POLL_MS * 1000);
    }
    fpb_vm_facts_note(v, "dirty rate", error);
}

static void collect_migration_parameters(FpbQmpClient *qmp, const FpbVmFactsOptions *o,
                                         FpbVmFacts *v)
{
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
    g_autoptr(FpbVmFacts) v = fpb_vm_facts_new(o);
    g_autoptr(GError) local = NULL;

    v->facts.can_restore = o->have_destination;
    v->facts.hints_can_be_disabled = o->have_destination;
    if (!collect_ram(qmp, v, error)) {
        return NULL;
    }
    if (!fpb_qmp_query_name(qmp, &v->name, &local)) {
        fpb_vm_facts_note(v, "VM name", local);
    }
    collect_version(qmp, o, v);
    collect_accel(qmp, v);
    collect_balloon_size(qmp, v);
    collect_features(qmp, v);
    collect_init_on_alloc(qmp, o, v);
    collect_stats(qmp, o, v);
    collect_migration_parameters(qmp, o, v);
    if (o->sample_dirty_rate) {
        collect_dirty_rate(qmp, v);
    }
    return g_steal_pointer(&v);
}
