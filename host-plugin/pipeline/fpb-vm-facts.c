/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-vm-facts"

#include <string.h>

#include "fpb-vm-facts.h"

#include "fpb-qemu-binary.h"

void fpb_vm_facts_options_init(FpbVmFactsOptions *o)
{
    FpbPolicyFacts defaults;

    fpb_policy_facts_init(&defaults);
    memset(o, 0, sizeof(*o));
    o->policy = defaults.policy;
    o->driver = FPB_POLICY_DRIVER_UNKNOWN;
    o->init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_UNKNOWN;
    o->tcg_dirty_tracking = FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN;
    o->max_bandwidth = -1;
    o->stats_wait_ms = 5000;
    o->sample_dirty_rate = TRUE;
}

void fpb_vm_facts_free(FpbVmFacts *v)
{
    if (v == NULL) {
        return;
    }
    g_free(v->name);
    g_free(v->qemu_version);
    g_free(v->qemu_binary);
    g_free(v->balloon_qom_path);
    g_free(v->driver_name);
    g_free(v->driver_version);
    g_ptr_array_unref(v->notes);
    g_free(v);
}

FpbVmFacts *fpb_vm_facts_new(const FpbVmFactsOptions *o)
{
    FpbVmFacts *v = g_new0(FpbVmFacts, 1);

    v->notes = g_ptr_array_new_with_free_func(g_free);
    fpb_policy_facts_init(&v->facts);
    v->facts.policy = o->policy;
    return v;
}

void fpb_vm_facts_note(FpbVmFacts *v, const char *what, const GError *error)
{
    g_ptr_array_add(v->notes, g_strdup_printf("%s: %s, ignoring", what,
                                              error ? error->message : "unknown error"));
}

static gboolean parse_bool_word(const char *s, gboolean *ret)
{
    static const char *const yes[] = {"1", "y", "Y", "on", "yes", NULL};
    static const char *const no[] = {"0", "n", "N", "off", "no", NULL};

    if (g_strv_contains(yes, s)) {
        *ret = TRUE;
    } else if (g_strv_contains(no, s)) {
        *ret = FALSE;
    } else {
        return FALSE;
    }
    return TRUE;
}

FpbPolicyInitOnAlloc fpb_vm_facts_parse_init_on_alloc(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline ? cmdline : "", " \t\n", -1);
    FpbPolicyInitOnAlloc result = FPB_POLICY_INIT_ON_ALLOC_UNKNOWN;

    for (char **w = words; *w != NULL; w++) {
        gboolean on = FALSE;

        if (g_str_has_prefix(*w, "init_on_alloc=")) {
            /* The kernel parses each occurrence; the last one wins. */
            result = parse_bool_word(*w + strlen("init_on_alloc="), &on)
                         ? (on ? FPB_POLICY_INIT_ON_ALLOC_ON : FPB_POLICY_INIT_ON_ALLOC_OFF)
                         : FPB_POLICY_INIT_ON_ALLOC_UNKNOWN;
        }
    }
    return result;
}

void fpb_vm_facts_take_version(FpbVmFacts *v, const FpbVmFactsOptions *o, const FpbQmpVersion *ver)
{
    if (o->tcg_dirty_tracking != FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN) {
        v->facts.qemu.tcg_dirty_tracking_overridden = TRUE;
        v->facts.qemu.tcg_dirty_tracking_override = o->tcg_dirty_tracking;
    }
    if (ver == NULL) {
        return;
    }
    /* Out-of-range components or a cut package string leave the facts on
     * the safe side (unknown version, marker lost), so ignore the result. */
    (void)fpb_policy_qemu_set_version(&v->facts.qemu, ver->major, ver->minor, ver->micro);
    (void)fpb_policy_qemu_set_package(&v->facts.qemu, ver->package);
    v->qemu_major = ver->major;
    v->qemu_minor = ver->minor;
    v->qemu_micro = ver->micro;
    v->qemu_version = g_strdup_printf(
        "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT "%s%s%s", ver->major,
        ver->minor, ver->micro, ver->package && *ver->package ? " (" : "",
        ver->package ? ver->package : "", ver->package && *ver->package ? ")" : "");
}

gboolean fpb_vm_facts_qemu_is_fpb(const FpbVmFacts *v)
{
    return v->facts.qemu.package_known && fpb_qemu_package_is_fpb(v->facts.qemu.package);
}

/* Slack: the kernel's own reservation (about 6 % of a 1 GiB guest here)
 * plus a margin. */
#define STATS_SLACK_SHARE 0.10
#define STATS_SLACK_BYTES (64.0 * 1024 * 1024)

gboolean fpb_vm_facts_stats_agree_with_balloon(const FpbPolicyFacts *f)
{
    gint64 actual = f->balloon_actual_bytes > 0 ? f->balloon_actual_bytes : f->ram_bytes;

    return f->stats.total_bytes <= 0 || (double)(actual - f->stats.total_bytes) <=
                                            STATS_SLACK_SHARE * (double)actual + STATS_SLACK_BYTES;
}

void fpb_vm_facts_forget_stale_stats(FpbVmFacts *v)
{
    if (fpb_vm_facts_stats_agree_with_balloon(&v->facts)) {
        return;
    }
    g_ptr_array_add(v->notes,
                    g_strdup_printf("guest stats: MemTotal %" G_GINT64_FORMAT
                                    " MiB predates the balloon's %" G_GINT64_FORMAT
                                    " MiB (a sample from before the last deflation), ignoring",
                                    v->facts.stats.total_bytes >> 20,
                                    v->facts.balloon_actual_bytes >> 20));
    v->facts.stats = (FpbPolicyStats){-1, -1, -1, -1, -1.0};
}
