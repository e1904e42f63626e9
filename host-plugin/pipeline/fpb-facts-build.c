/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-facts"

#include <string.h>

#include "fpb-facts-build.h"
#include "fpb-qmp-dirty-rate.h"
#include "fpb-qmp-hints.h"
#include "fpb-qmp-json.h"
#include "fpb-qmp-virtio.h"

#define POLL_MS 100
#define DIRTY_RATE_WAIT_MS 3000
#define MIB (1024.0 * 1024.0)

/* query-kvm: enabled = KVM; present or not, disabled means TCG here (the
 * only other x86 accelerators, xen/hvf/whpx, are not run by fpb). */
static void collect_accel(const FpbFactsSource *s, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) r = s->qmp(s->ctx, "query-kvm", NULL, &error);
    gboolean enabled = FALSE;

    if (r == NULL ||
        !fpb_qmp_json_get_bool(r, "command 'query-kvm'", "enabled", &enabled, &error)) {
        fpb_vm_facts_note(v, "accelerator", error);
        return;
    }
    v->facts.accelerator = enabled ? FPB_POLICY_ACCEL_KVM : FPB_POLICY_ACCEL_TCG;
}

static void collect_features(const FpbFactsSource *s, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;
    g_autoptr(FpbQmpVirtioStatus) st = NULL;

    if (!s->balloon_path(s->ctx, v, &path, &error)) {
        fpb_vm_facts_note(v, "balloon features", error);
        return;
    }
    if (path == NULL) {
        g_ptr_array_add(v->notes, g_strdup("the VM has no virtio-balloon device"));
        return;
    }
    json_object_object_add(args, "path", json_object_new_string(path));
    if ((r = s->qmp(s->ctx, "x-query-virtio-status", args, &error)) == NULL ||
        (st = fpb_qmp_virtio_status_parse(r, &error)) == NULL) {
        fpb_vm_facts_note(v, "balloon features", error);
        return;
    }
    v->balloon_qom_path = fpb_qmp_virtio_device_qom_path(path);
    v->balloon_driver_ok = st->driver_ok;
    v->facts.guest.free_page_hint = st->guest_balloon.free_page_hint;
    v->facts.guest.stats_queue = st->guest_balloon.stats_vq;
    v->facts.guest.deflate_on_oom = st->guest_balloon.deflate_on_oom;
    v->facts.guest.free_page_reporting = st->guest_balloon.reporting;
}

/* transparent_hugepage= on @cmdline, the last one winning as in the
 * kernel; UNKNOWN when absent or not a mode. */
static FpbPolicyThp parse_thp(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline ? cmdline : "", " \t\n", -1);
    FpbPolicyThp thp = FPB_POLICY_THP_UNKNOWN;

    for (char **w = words; *w != NULL; w++) {
        if (g_str_has_prefix(*w, "transparent_hugepage=")) {
            (void)fpb_policy_thp_from_string(*w + strlen("transparent_hugepage="), &thp);
        }
    }
    return thp;
}

/* What the guest kernel's command line says: init_on_alloc (unless the
 * operator said) and the transparent huge page mode. */
static void collect_kernel_cmdline(const FpbFactsSource *s, const FpbVmFactsOptions *o,
                                   FpbVmFacts *v)
{
    const char *where = "the VM's kernel command line";
    const char *unknown = "unknown (not on the VM's kernel command line)";
    g_autofree char *cmdline = s->kernel_cmdline(s->ctx, v, &where, &unknown);

    v->facts.guest.driver = o->driver;
    v->facts.guest.transparent_hugepage = parse_thp(cmdline);
    if (o->init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN) {
        v->facts.guest.init_on_alloc = o->init_on_alloc;
        v->init_on_alloc_source = "the command line (--guest-init-on-alloc)";
        return;
    }
    v->facts.guest.init_on_alloc = fpb_vm_facts_parse_init_on_alloc(cmdline);
    v->init_on_alloc_source =
        v->facts.guest.init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN ? where : unknown;
}

static void collect_dirty_rate(const FpbFactsSource *s, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;
    gint64 deadline;

    json_object_object_add(args, "calc-time", json_object_new_int64(1));
    if ((r = s->qmp(s->ctx, "calc-dirty-rate", args, &error)) == NULL) {
        fpb_vm_facts_note(v, "dirty rate", error);
        return;
    }
    deadline = g_get_monotonic_time() + DIRTY_RATE_WAIT_MS * 1000;
    g_usleep(1000 * 1000);
    for (;;) {
        g_autoptr(json_object) q = s->qmp(s->ctx, "query-dirty-rate", NULL, &error);
        FpbQmpDirtyRateInfo info;

        if (q == NULL || !fpb_qmp_dirty_rate_info_parse(q, &info, &error)) {
            fpb_vm_facts_note(v, "dirty rate", error);
            return;
        }
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
}

/* What fpb's QEMU adds, from its schema: absent on any other QEMU. */
static void collect_qemu_extensions(const FpbFactsSource *s, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) schema = s->qmp(s->ctx, "query-qmp-schema", NULL, &error);
    FpbQmpHintsSupport support;

    if (schema == NULL || !fpb_qmp_hints_schema_parse(schema, &support, &error)) {
        fpb_vm_facts_note(v, "QMP schema", error);
        return;
    }
    v->qemu_hint_switch = support.hint_switch;
    v->qemu_hint_stats = support.hint_stats;
    /* Patches 0003 (the statistics) and 0005 (the early clear) ship
     * together in fpb's QEMU, from package revision 2. */
    v->facts.qemu.hint_window_closed = support.hint_stats;
}

/* The policy's driver kind from what the device saw; the operator's word
 * (--guest-driver) wins. */
static void take_driver(FpbVmFacts *v, const FpbVmFactsOptions *o, const FpbQmpGuestDriver *d)
{
    v->driver_seen = fpb_qmp_guest_driver_kind_to_string(d->kind);
    v->driver_name = g_strdup(d->name);
    v->driver_version = g_strdup(d->version);
    v->driver_features = d->features;
    if (o->driver != FPB_POLICY_DRIVER_UNKNOWN) {
        return;
    }
    if (d->kind == FPB_QMP_GUEST_DRIVER_IDENTIFIED && g_strcmp0(d->name, "fpb_balloon") == 0) {
        v->facts.guest.driver = FPB_POLICY_DRIVER_FPB;
    } else if (d->kind == FPB_QMP_GUEST_DRIVER_STOCK) {
        v->facts.guest.driver = FPB_POLICY_DRIVER_STOCK;
    }
}

/* Who the guest's driver is (fpb's QEMU's guest-driver property, filled
 * from the statistics queue: asked after the stats). */
static void collect_driver(const FpbFactsSource *s, const FpbVmFactsOptions *o, FpbVmFacts *v)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;
    g_autoptr(FpbQmpGuestDriver) d = NULL;

    if (v->balloon_qom_path == NULL) {
        return;
    }
    json_object_object_add(args, "path", json_object_new_string(v->balloon_qom_path));
    json_object_object_add(args, "property", json_object_new_string("guest-driver"));
    r = s->qmp(s->ctx, "qom-get", args, &error);
    if (r == NULL && fpb_qmp_guest_driver_error_is_unsupported(error)) {
        v->driver_seen = fpb_qmp_guest_driver_kind_to_string(FPB_QMP_GUEST_DRIVER_UNSUPPORTED);
        return;
    }
    if (r == NULL || (d = fpb_qmp_guest_driver_parse(r, &error)) == NULL) {
        fpb_vm_facts_note(v, "guest driver", error);
        return;
    }
    take_driver(v, o, d);
}

FpbVmFacts *fpb_facts_build(const FpbFactsSource *s, const FpbVmFactsOptions *o, GError **error)
{
    g_autoptr(FpbVmFacts) v = fpb_vm_facts_new(o);

    v->facts.can_restore = o->have_destination;
    v->facts.hints_can_be_disabled = o->have_destination;
    if (!s->size(s->ctx, v, error)) {
        return NULL;
    }
    s->identify(s->ctx, o, v);
    collect_accel(s, v);
    collect_features(s, v);
    collect_kernel_cmdline(s, o, v);
    s->stats(s->ctx, o, v);
    collect_driver(s, o, v);
    collect_qemu_extensions(s, v);
    /* fpb's QEMU switches hints off on the source alone: no destination
     * socket needed for postcopy-ram on both ends. */
    v->facts.hints_can_be_disabled = v->facts.hints_can_be_disabled || v->qemu_hint_switch;
    s->migration_parameters(s->ctx, o, v);
    if (o->sample_dirty_rate) {
        collect_dirty_rate(s, v);
    }
    return g_steal_pointer(&v);
}
