/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <string.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-xml.h"
#include "fpb-libvirt-policy.h"
#include "fpb-libvirt-qmp.h"
#include "fpb-qmp.h"

#define KIB 1024
#define STATS_PERIOD_S 2
#define POLL_MS 100
/* "No cap" as the policy sees it: the top of its bandwidth range. */
#define FPB_LIBVIRT_UNLIMITED_BANDWIDTH 100e9
#define DIRTY_RATE_WAIT_MS 3000

gint64 fpb_libvirt_facts_balloon_bytes(virDomainPtr dom, GError **error)
{
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
    virDomainInfo info;
    const char *vm = virDomainGetName(dom); /* before: calls reset the last error */
    int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);

    for (int i = 0; i < n; i++) {
        if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON) {
            return (gint64)MIN(st[i].val, (unsigned long long)G_MAXINT64 / KIB) * KIB;
        }
    }
    if (virDomainGetInfo(dom, &info) < 0) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': cannot read its size", vm);
        return -1;
    }
    return (gint64)info.memory * KIB;
}

static gboolean collect_size(virDomainPtr dom, FpbVmFacts *v, GError **error)
{
    virDomainInfo info;

    if (virDomainGetInfo(dom, &info) < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': cannot read its state", v->name);
    }
    if (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_PAUSED) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': not running (libvirt state %d)", v->name, (int)info.state);
        return FALSE;
    }
    v->facts.ram_bytes = (gint64)info.maxMem * KIB;
    v->facts.balloon_actual_bytes = MIN((gint64)info.memory * KIB, v->facts.ram_bytes);
    return TRUE;
}

static void collect_version(virDomainPtr dom, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) r =
        fpb_libvirt_qmp_call(dom, "query-version", NULL, json_type_object, &error);
    g_autoptr(FpbQmpVersion) ver = r ? fpb_qmp_version_parse(r, "query-version", &error) : NULL;

    if (ver == NULL) {
        fpb_vm_facts_note(v, "QEMU version", error);
    }
    fpb_vm_facts_take_version(v, o, ver);
}

/* Shown by explain, never decided on: the version string says whether it
 * is fpb's QEMU. */
static void collect_emulator(virDomainPtr dom, const char *vm, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);

    v->qemu_binary = xml ? fpb_libvirt_xml_emulator(vm, xml, &error) : NULL;
    if (error != NULL) {
        fpb_vm_facts_note(v, "emulator", error);
    }
}

static void collect_accel(virDomainPtr dom, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) r =
        fpb_libvirt_qmp_call(dom, "query-kvm", NULL, json_type_object, &error);
    gboolean enabled = FALSE;

    if (r == NULL ||
        !fpb_qmp_json_get_bool(r, "command 'query-kvm'", "enabled", &enabled, &error)) {
        fpb_vm_facts_note(v, "accelerator", error);
        return;
    }
    v->facts.accelerator = enabled ? FPB_POLICY_ACCEL_KVM : FPB_POLICY_ACCEL_TCG;
}

/* The balloon's QOM path from its alias in the live XML: libvirt's
 * "balloon0" unless the domain gives it one of its own (<alias name=
 * 'ua-...'/>, seen on domains made by management tools). */
static char *balloon_qom_path(virDomainPtr dom, const char *vm, GError **error)
{
    g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
    g_autofree char *alias = NULL;

    if (xml == NULL) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainGetXMLDesc", vm);
        return NULL;
    }
    alias = fpb_libvirt_xml_balloon_alias(vm, xml, error);
    return alias ? g_strdup_printf("/machine/peripheral/%s", alias) : NULL;
}

static void collect_features(virDomainPtr dom, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;
    g_autoptr(FpbQmpVirtioStatus) st = NULL;
    g_autofree char *path = balloon_qom_path(dom, v->name, &error);
    g_autofree char *backend = path ? g_strdup_printf("%s/virtio-backend", path) : NULL;

    if (path != NULL) {
        json_object_object_add(args, "path", json_object_new_string(backend));
        r = fpb_libvirt_qmp_call(dom, "x-query-virtio-status", args, json_type_object, &error);
    }
    if (r == NULL || (st = fpb_qmp_virtio_status_parse(r, &error)) == NULL) {
        fpb_vm_facts_note(v, "balloon features", error);
        return;
    }
    v->balloon_qom_path = g_steal_pointer(&path);
    v->balloon_driver_ok = st->driver_ok;
    v->facts.guest.free_page_hint = st->guest_balloon.free_page_hint;
    v->facts.guest.stats_queue = st->guest_balloon.stats_vq;
    v->facts.guest.deflate_on_oom = st->guest_balloon.deflate_on_oom;
    v->facts.guest.free_page_reporting = st->guest_balloon.reporting;
}

static void collect_init_on_alloc(virDomainPtr dom, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    g_autofree char *xml = NULL;
    const char *b;
    const char *e;

    v->facts.guest.driver = o->driver;
    if (o->init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN) {
        v->facts.guest.init_on_alloc = o->init_on_alloc;
        v->init_on_alloc_source = "the command line (--guest-init-on-alloc)";
        return;
    }
    /* <cmdline> holds no markup: a text search is enough (entities such as
     * &amp; cannot spell init_on_alloc). */
    xml = virDomainGetXMLDesc(dom, 0);
    b = xml ? strstr(xml, "<cmdline>") : NULL;
    e = b ? strstr(b, "</cmdline>") : NULL;
    if (b != NULL && e != NULL) {
        g_autofree char *cmdline = g_strndup(b + 9, e - (b + 9));

        v->facts.guest.init_on_alloc = fpb_vm_facts_parse_init_on_alloc(cmdline);
    }
    v->init_on_alloc_source = v->facts.guest.init_on_alloc == FPB_POLICY_INIT_ON_ALLOC_UNKNOWN
                                  ? "unknown (not on the domain's <cmdline>)"
                                  : "the domain's <cmdline>";
}

static void store_stats(FpbVmFacts *v, const virDomainMemoryStatStruct *st, int n)
{
    FpbPolicyStats *s = &v->facts.stats;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    for (int i = 0; i < n; i++) {
        gint64 val = (gint64)MIN(st[i].val, (unsigned long long)G_MAXINT64 / KIB);

        switch (st[i].tag) {
        case VIR_DOMAIN_MEMORY_STAT_UNUSED:
            s->free_bytes = val * KIB;
            break;
        case VIR_DOMAIN_MEMORY_STAT_USABLE:
            s->available_bytes = val * KIB;
            break;
        case VIR_DOMAIN_MEMORY_STAT_DISK_CACHES:
            s->disk_caches_bytes = val * KIB;
            break;
        case VIR_DOMAIN_MEMORY_STAT_AVAILABLE:
            s->total_bytes = val * KIB;
            break;
        case VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE: /* seconds, not KiB */
            s->age_seconds = st[i].val > 0 ? (double)MAX(now - (gint64)st[i].val, 0) : -1.0;
            break;
        default:
            break;
        }
    }
}

static gboolean stats_fresh(const FpbPolicyFacts *f)
{
    return f->stats.age_seconds >= 0 && f->stats.age_seconds <= STATS_PERIOD_S + 1;
}

/* libvirt reports the stats of the balloon's last poll; switch polling on
 * when off and wait (bounded) for a sample newer than that, and one that
 * agrees with the balloon's size. */
static void collect_stats(virDomainPtr dom, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
    gint64 deadline = g_get_monotonic_time() + (gint64)o->stats_wait_ms * 1000;
    int n;

    for (;;) {
        n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
        if (n < 0) {
            g_autoptr(GError) error = NULL;

            fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED, "virDomainMemoryStats");
            fpb_vm_facts_note(v, "guest stats", error);
            return;
        }
        store_stats(v, st, n);
        if (stats_fresh(&v->facts) && fpb_vm_facts_stats_agree_with_balloon(&v->facts)) {
            return;
        }
        if (v->facts.stats.age_seconds < 0 && !v->stats_polling_enabled) {
            if (virDomainSetMemoryStatsPeriod(dom, STATS_PERIOD_S, VIR_DOMAIN_AFFECT_LIVE) == 0) {
                v->stats_polling_enabled = TRUE;
            }
        }
        if (g_get_monotonic_time() >= deadline) {
            if (v->facts.stats.age_seconds < 0) {
                g_ptr_array_add(v->notes, g_strdup("guest stats: the guest sent none, ignoring"));
            } else if (!stats_fresh(&v->facts)) {
                g_ptr_array_add(v->notes,
                                g_strdup_printf("guest stats: no sample newer than %d s; using "
                                                "one %.0f s old",
                                                STATS_PERIOD_S + 1, v->facts.stats.age_seconds));
            } else {
                fpb_vm_facts_forget_stale_stats(v);
            }
            return;
        }
        g_usleep(POLL_MS * 1000 * 5);
    }
}

static void collect_dirty_rate(virDomainPtr dom, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;
    gint64 deadline;

    json_object_object_add(args, "calc-time", json_object_new_int64(1));
    r = fpb_libvirt_qmp_call(dom, "calc-dirty-rate", args, json_type_object, &error);
    if (r == NULL) {
        fpb_vm_facts_note(v, "dirty rate", error);
        return;
    }
    deadline = g_get_monotonic_time() + DIRTY_RATE_WAIT_MS * 1000;
    g_usleep(1000 * 1000);
    for (;;) {
        g_autoptr(json_object) q =
            fpb_libvirt_qmp_call(dom, "query-dirty-rate", NULL, json_type_object, &error);
        FpbQmpDirtyRateInfo info;

        if (q == NULL || !fpb_qmp_dirty_rate_info_parse(q, &info, &error)) {
            fpb_vm_facts_note(v, "dirty rate", error);
            return;
        }
        if (info.status == FPB_QMP_DIRTY_RATE_MEASURED && info.has_dirty_rate &&
            info.dirty_rate >= 0) {
            v->facts.dirty_rate_bytes_per_second = (double)info.dirty_rate * 1024 * 1024;
            return;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_ptr_array_add(v->notes, g_strdup("dirty rate: no result within 3 s, ignoring"));
            return;
        }
        g_usleep(POLL_MS * 1000);
    }
}

static void collect_migration_parameters(virDomainPtr dom, const FpbVmFactsOptions *o,
                                         FpbVmFacts *v)
{
    unsigned long long downtime_ms = 0;

    if (virDomainMigrateGetMaxDowntime(dom, &downtime_ms, 0) == 0 && downtime_ms > 0 &&
        downtime_ms <= 60000) {
        v->facts.downtime_limit_seconds = (double)downtime_ms / 1000.0;
    }
    /* libvirt's default cap is "unlimited" (it sets QEMU's max-bandwidth to
     * its maximum), so the migration's own throughput is the limit, not
     * QEMU's 128 MiB/s default that the policy assumes for an unknown cap. */
    v->facts.bandwidth_bytes_per_second =
        o->max_bandwidth > 0 ? (double)o->max_bandwidth : FPB_LIBVIRT_UNLIMITED_BANDWIDTH;
}

FpbVmFacts *fpb_libvirt_facts_collect(virDomainPtr dom, const FpbVmFactsOptions *o,
                                      const FpbConfPolicy *cli_policy, GError **error)
{
    g_autoptr(FpbVmFacts) v = fpb_vm_facts_new(o);
    FpbConfPolicy meta;

    v->name = g_strdup(virDomainGetName(dom));
    /* The destination's libvirt gives memory back; libvirt's postcopy
     * flag sets postcopy-ram on both ends (hints off). */
    v->facts.can_restore = TRUE;
    v->facts.hints_can_be_disabled = TRUE;
    /* host defaults (in o->policy) < the domain's metadata < the command line */
    if (!fpb_libvirt_policy_read(dom, FALSE, &meta, error)) {
        return NULL;
    }
    fpb_libvirt_policy_apply(&meta, &v->facts.policy);
    fpb_libvirt_policy_apply(cli_policy, &v->facts.policy);
    if (!collect_size(dom, v, error)) {
        return NULL;
    }
    collect_version(dom, o, v);
    collect_emulator(dom, v->name, v);
    collect_accel(dom, v);
    collect_features(dom, v);
    collect_init_on_alloc(dom, o, v);
    collect_stats(dom, o, v);
    collect_migration_parameters(dom, o, v);
    if (o->sample_dirty_rate) {
        collect_dirty_rate(dom, v);
    }
    return g_steal_pointer(&v);
}
