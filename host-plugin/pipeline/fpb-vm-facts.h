/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbVmFacts: the policy's facts about one running VM as a backend
 * collects them (docs/orchestrator.md, "Facts"): RAM size, balloon size,
 * accelerator, QEMU version, the balloon driver's negotiated features,
 * guest stats, a dirty-rate sample, the downtime limit and bandwidth cap,
 * and the guest kernel's init_on_alloc where the backend can see it.
 *
 * What a backend cannot know (the guest driver kind, init_on_alloc of a
 * disk-booted guest) comes from the caller or stays unknown; the policy
 * treats unknown as the dangerous value. A fact that fails to come is a
 * note, not an error; only a VM whose RAM size cannot be read is refused.
 */
#pragma once

#include "fpb-policy.h"
#include "fpb-qmp-version.h"

G_BEGIN_DECLS

typedef struct {
    FpbPolicySettings policy;           /* the per-VM policy (CLI today) */
    FpbPolicyDriver driver;             /* UNKNOWN unless the operator says */
    FpbPolicyInitOnAlloc init_on_alloc; /* UNKNOWN: read the kernel command line */
    /* UNKNOWN: derive from query-version; else the operator's word (e.g. a
     * distro QEMU with the TCG dirty-tracking fix backported). */
    FpbPolicyTcgDirtyTracking tcg_dirty_tracking;
    gint64 max_bandwidth;       /* bytes/s fpb will set, -1: QEMU's setting */
    gboolean have_destination;  /* a destination QMP socket was given */
    guint stats_wait_ms;        /* bound on waiting for a fresh stats sample */
    gboolean sample_dirty_rate; /* one 1 s calc-dirty-rate sample */
} FpbVmFactsOptions;

/* Defaults: policy defaults, stats wait 5 s, dirty-rate sample on. */
void fpb_vm_facts_options_init(FpbVmFactsOptions *options);

typedef struct {
    char *name;         /* query-name, NULL if the VM has none */
    char *qemu_version; /* "7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" */
    char *qemu_binary;  /* the QEMU executable, NULL: unknown */
    gint64 qemu_major, qemu_minor, qemu_micro;
    char *balloon_qom_path; /* NULL: no virtio-balloon */
    gboolean balloon_driver_ok;
    const char *init_on_alloc_source; /* static string: where init_on_alloc came from */
    gboolean stats_polling_enabled;   /* fpb switched stats polling on */
    /* fpb's QEMU (query-qmp-schema): a per-migration hint switch, and
     * counters of what hints did (fpb-qmp-hints.h). */
    gboolean qemu_hint_switch;
    gboolean qemu_hint_stats;
    /* The guest's balloon driver as the device saw it: "identified" (it
     * named itself), "stock" (statistics without a name), "none" or
     * "unsupported" (this QEMU cannot tell); static. */
    const char *driver_seen;
    char *driver_name;    /* "fpb_balloon", "virtio_balloon" (presumed), NULL */
    char *driver_version; /* identified drivers only */
    guint64 driver_features;
    GPtrArray *notes;     /* char*: facts that could not be collected */
    FpbPolicyFacts facts; /* history is left empty: the journal's business */
} FpbVmFacts;

/* An empty FpbVmFacts with @options' policy and the policy's defaults,
 * for a backend's collector to fill. (transfer full) */
FpbVmFacts *fpb_vm_facts_new(const FpbVmFactsOptions *options);

/* Records a fact that could not be collected ("WHAT: why, ignoring"). */
void fpb_vm_facts_note(FpbVmFacts *v, const char *what, const GError *error);

void fpb_vm_facts_free(FpbVmFacts *vm_facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbVmFacts, fpb_vm_facts_free)

/* Records @ver (query-version, NULL: unknown) and the operator's TCG
 * dirty-tracking override in @v; shared by the QMP and libvirt collectors. */
void fpb_vm_facts_take_version(FpbVmFacts *v, const FpbVmFactsOptions *o, const FpbQmpVersion *ver);

/* TRUE when the VM runs fpb's QEMU (packaging/fpb-qemu), as its
 * query-version package string says. */
gboolean fpb_vm_facts_qemu_is_fpb(const FpbVmFacts *v);

/* init_on_alloc as the kernel command line @cmdline sets it (last one
 * wins, kstrtobool spellings); UNKNOWN when absent or unparsable. */
FpbPolicyInitOnAlloc fpb_vm_facts_parse_init_on_alloc(const char *cmdline);

/* A guest's MemTotal follows its balloon: FALSE when the stats' total is
 * far below the balloon's size, i.e. the sample was taken before the
 * balloon last grew (right after a deflation) and understates free memory.
 * Unknown totals agree. */
gboolean fpb_vm_facts_stats_agree_with_balloon(const FpbPolicyFacts *facts);

/* Forgets stats that disagree with the balloon, with a note. */
void fpb_vm_facts_forget_stale_stats(FpbVmFacts *v);

G_END_DECLS
