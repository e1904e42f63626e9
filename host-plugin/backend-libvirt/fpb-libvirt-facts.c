/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <string.h>

#include "fpb-facts-build.h"
#include "fpb-guest-resident.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-facts.h"
#include "fpb-libvirt-pid.h"
#include "fpb-libvirt-xml.h"
#include "fpb-libvirt-policy.h"
#include "fpb-libvirt-qmp.h"
#include "fpb-qmp.h"

#define KIB 1024
#define STATS_PERIOD_S 2
#define POLL_MS 100
/* "No cap" as the policy sees it: the top of its bandwidth range. */
#define FPB_LIBVIRT_UNLIMITED_BANDWIDTH 100e9

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

static gboolean size(gpointer ctx, FpbVmFacts *v, GError **error)
{
    virDomainPtr dom = ctx;
    const char *vm = virDomainGetName(dom); /* before: calls reset the last error */
    virDomainInfo info;

    if (virDomainGetInfo(dom, &info) < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': cannot read its state", vm);
    }
    if (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_PAUSED) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': not running (libvirt state %d)", vm, (int)info.state);
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

static gboolean balloon_path(gpointer ctx, FpbVmFacts *v, char **ret_path, GError **error)
{
    g_autofree char *path = balloon_qom_path(ctx, v->name, error);

    if (path == NULL) {
        return FALSE;
    }
    *ret_path = g_strdup_printf("%s/virtio-backend", path);
    return TRUE;
}

static json_object *qmp_call(gpointer ctx, const char *command, json_object *args, GError **error)
{
    /* any type, as the facts builder's contract says: query-qmp-schema
     * returns an array, qom-get whatever the property is */
    return fpb_libvirt_qmp_call(ctx, command, args, json_type_null, error);
}

/* <cmdline> holds no markup: a text search is enough (entities such as
 * &amp; cannot spell init_on_alloc). */
static char *kernel_cmdline(gpointer ctx, FpbVmFacts *v, const char **ret_where,
                            const char **ret_unknown)
{
    g_autofree char *xml = virDomainGetXMLDesc(ctx, 0);
    const char *b = xml ? strstr(xml, "<cmdline>") : NULL;
    const char *e = b ? strstr(b, "</cmdline>") : NULL;

    (void)v;
    *ret_where = "the domain's <cmdline>";
    *ret_unknown = "unknown (not on the domain's <cmdline>)";
    return b && e ? g_strndup(b + 9, e - (b + 9)) : NULL;
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
static void stats(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    virDomainPtr dom = ctx;
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

static void migration_parameters(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    virDomainPtr dom = ctx;
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

/* The zero-page probe of the cost model: only for a QEMU on this host. */
static void collect_resident(virDomainPtr dom, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    GPid pid = fpb_libvirt_qemu_pid(dom, &error);

    v->facts.guest_resident_bytes =
        pid > 0 ? fpb_guest_resident_bytes(pid, v->facts.ram_bytes, &error) : -1;
    if (v->facts.guest_resident_bytes < 0) {
        fpb_vm_facts_note(v, "resident guest memory", error);
    }
}

static void identify(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    v->name = g_strdup(virDomainGetName(ctx));
    collect_version(ctx, o, v);
    collect_emulator(ctx, v->name, v);
    collect_resident(ctx, v);
}

FpbVmFacts *fpb_libvirt_facts_collect(virDomainPtr dom, const FpbVmFactsOptions *o,
                                      const FpbConfPolicy *cli_policy, GError **error)
{
    const FpbFactsSource source = {
        .qmp = qmp_call,
        .size = size,
        .identify = identify,
        .balloon_path = balloon_path,
        .kernel_cmdline = kernel_cmdline,
        .stats = stats,
        .migration_parameters = migration_parameters,
        .ctx = dom,
    };
    FpbVmFactsOptions with_meta = *o;
    FpbConfPolicy meta;

    /* The destination's libvirt gives memory back; libvirt's postcopy
     * flag sets postcopy-ram on both ends (hints off). */
    with_meta.have_destination = TRUE;
    /* host defaults (in o->policy) < the domain's metadata < the command line */
    if (!fpb_libvirt_policy_read(dom, FALSE, &meta, error)) {
        return NULL;
    }
    fpb_libvirt_policy_apply(&meta, &with_meta.policy);
    fpb_libvirt_policy_apply(cli_policy, &with_meta.policy);
    return fpb_facts_build(&source, &with_meta, error);
}
