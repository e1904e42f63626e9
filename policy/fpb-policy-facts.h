/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbPolicyFacts: everything the policy knows about one VM at the moment a
 * migration is planned. A plain value type: the caller owns it (usually on
 * the stack), fills it after fpb_policy_facts_init() and hands it to
 * fpb_policy_decide(). No pointers inside, so copying with `=` is fine.
 *
 * Conventions: sizes are bytes (gint64, -1 = unknown), times are seconds
 * (double, < 0 = unknown), rates are per second (double, < 0 = unknown).
 * The guest-reported numbers (stats) are untrusted: the policy clamps them,
 * it never asserts on them.
 */
#pragma once

#include <glib.h>

#include "fpb-policy-history.h"
#include "fpb-policy-mode.h"

G_BEGIN_DECLS

/* Marker for an unknown size (gint64) or, as a double, an unknown rate/time. */
#define FPB_POLICY_UNKNOWN (-1)

typedef enum {
    FPB_POLICY_ACCEL_UNKNOWN = 0,
    FPB_POLICY_ACCEL_TCG,
    FPB_POLICY_ACCEL_KVM,
} FpbPolicyAccel;

/* Which virtio-balloon driver runs in the guest. */
typedef enum {
    FPB_POLICY_DRIVER_UNKNOWN = 0,
    FPB_POLICY_DRIVER_STOCK, /* Linux drivers/virtio/virtio_balloon.c */
    FPB_POLICY_DRIVER_FPB,   /* guest-driver/: hints walk the free lists */
} FpbPolicyDriver;

/* The guest kernel's init_on_alloc (zeroes every page it allocates). */
typedef enum {
    FPB_POLICY_INIT_ON_ALLOC_UNKNOWN = 0,
    FPB_POLICY_INIT_ON_ALLOC_OFF,
    FPB_POLICY_INIT_ON_ALLOC_ON,
} FpbPolicyInitOnAlloc;

/* The guest kernel's transparent huge page mode (transparent_hugepage=):
 * with "always" freed 4 KiB pages of a huge page wait for a deferred split
 * and are on no free list, so no hint covers them (issue 18). UNKNOWN: not
 * on the command line, the kernel's build default (Debian's: always). */
typedef enum {
    FPB_POLICY_THP_UNKNOWN = 0,
    FPB_POLICY_THP_ALWAYS,
    FPB_POLICY_THP_MADVISE,
    FPB_POLICY_THP_NEVER,
} FpbPolicyThp;

/* "always", "madvise", "never"; NULL for UNKNOWN (JSON null). */
static inline const char *fpb_policy_thp_to_string(FpbPolicyThp thp)
{
    static const char *const names[] = {NULL, "always", "madvise", "never"};

    return (unsigned)thp < G_N_ELEMENTS(names) ? names[thp] : NULL;
}

/* The mode named @s; FALSE (and UNKNOWN) for any other word. */
static inline gboolean fpb_policy_thp_from_string(const char *s, FpbPolicyThp *ret)
{
    for (FpbPolicyThp t = FPB_POLICY_THP_ALWAYS; t <= FPB_POLICY_THP_NEVER; t++) {
        if (g_strcmp0(s, fpb_policy_thp_to_string(t)) == 0) {
            *ret = t;
            return TRUE;
        }
    }
    *ret = FPB_POLICY_THP_UNKNOWN;
    return FALSE;
}

/* Whether the QEMU the VM runs on records every guest write in the migration
 * dirty log under TCG. QEMU 2.11 .. 8.2 does not (upstream fix 03bfc2188f,
 * QEMU 9.0): a live migration that needs a live iteration after the bulk
 * copy loses writes (docs/hint-safety.md, docs/stock-hint-crash.md). */
typedef enum {
    FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN = 0,
    FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN,
    FPB_POLICY_TCG_DIRTY_TRACKING_FIXED,
} FpbPolicyTcgDirtyTracking;

/* fpb's QEMU (packaging/fpb-qemu) is built with --with-pkgversion="...
 * fpb-patched": query-version's package string then contains this (the same
 * marker as FPB_QEMU_PATCHED_MARKER in qmp-client/fpb-qemu-binary.h). */
#define FPB_POLICY_QEMU_PATCHED_MARKER "fpb-patched"
/* The first QEMU release with 03bfc2188f. */
#define FPB_POLICY_QEMU_FIXED_MAJOR 9
/* Room for query-version's package string, NUL included. A longer one is
 * cut (fpb_policy_qemu_set_package), which can only lose the marker: the
 * safe side. */
#define FPB_POLICY_QEMU_PACKAGE_MAX 128
/* Largest accepted version component. */
#define FPB_POLICY_QEMU_VERSION_COMPONENT_MAX 9999

/* The QEMU the VM runs on (QMP query-version), and the operator's override
 * of what it says about TCG dirty tracking (e.g. a distro build with the fix
 * backported). */
typedef struct {
    int major; /* -1: version unknown (minor and micro are then -1 too) */
    int minor;
    int micro;
    gboolean package_known; /* FALSE: package unknown ("" is a known, empty one) */
    char package[FPB_POLICY_QEMU_PACKAGE_MAX];
    gboolean tcg_dirty_tracking_overridden;
    FpbPolicyTcgDirtyTracking tcg_dirty_tracking_override; /* when overridden */
    /* This QEMU clears the dirty log of every pending chunk before it
     * publishes a hint command (fpb's patch 0005, seen in query-qmp-schema
     * as x-fpb-query-hint-stats): the KVM window of docs/guest-driver.md is
     * closed. FALSE: not known to be. */
    gboolean hint_window_closed;
} FpbPolicyQemu;

typedef enum {
    FPB_POLICY_OBJECTIVE_TIME = 0,     /* least prep + migrate + restore seconds */
    FPB_POLICY_OBJECTIVE_BYTES,        /* fewest bytes on the wire */
    FPB_POLICY_OBJECTIVE_GUEST_IMPACT, /* least guest memory taken x seconds */
} FpbPolicyObjective;

/* Features the guest driver negotiated (x-query-virtio-status), plus what
 * is known about the guest kernel that matters for hint safety. */
typedef struct {
    gboolean free_page_hint;      /* VIRTIO_BALLOON_F_FREE_PAGE_HINT */
    gboolean stats_queue;         /* VIRTIO_BALLOON_F_STATS_VQ */
    gboolean deflate_on_oom;      /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
    gboolean free_page_reporting; /* VIRTIO_BALLOON_F_REPORTING */
    FpbPolicyDriver driver;
    FpbPolicyInitOnAlloc init_on_alloc;
    FpbPolicyThp transparent_hugepage;
} FpbPolicyGuest;

/* The balloon's guest-stats (qom-get guest-stats), untrusted. */
typedef struct {
    gint64 free_bytes;        /* stat-free-memory, -1 unknown */
    gint64 available_bytes;   /* stat-available-memory, -1 unknown */
    gint64 disk_caches_bytes; /* stat-disk-caches, -1 unknown (informative) */
    gint64 total_bytes;       /* stat-total-memory, -1 unknown (informative) */
    double age_seconds;       /* now - last-update; < 0 unknown (= stale) */
} FpbPolicyStats;

/* How the migration itself runs (fpb-policy-method.h); AUTO lets the
 * policy choose: precopy, except on a QEMU that loses TCG writes. */
typedef enum {
    FPB_POLICY_METHOD_REQUEST_AUTO = 0,
    FPB_POLICY_METHOD_REQUEST_PRECOPY,
    FPB_POLICY_METHOD_REQUEST_POSTCOPY,
    FPB_POLICY_METHOD_REQUEST_PAUSED,
} FpbPolicyMethodRequest;

/* The per-VM policy (conf/: libvirt metadata or the daemon's config). */
typedef struct {
    FpbPolicyRequest mode; /* fpb-policy-mode.h */
    FpbPolicyObjective objective;
    gint64 floor_bytes;      /* never leave the guest less memory than this */
    double max_prep_seconds; /* inflation time budget, >= 0 */
    gboolean balloon_allowed;
    /* What fpb's guest driver frees before it answers free-page hints, when
     * a hinting mode is chosen (FPB_POLICY_RECLAIM_*; 0: nothing), and the
     * page cache the guest may lose to it. */
    guint reclaim;
    gint64 reclaim_cache_bound_bytes;
    FpbPolicyMethodRequest method; /* fpbctl --migration-method (not in conf/ yet) */
    /* The operator accepts a plain live precopy on a QEMU that may lose
     * TCG writes (fpbctl --allow-unsafe-live-migration); never from a
     * config file. */
    gboolean allow_unsafe_live_migration;
    /* The operator accepts the KVM dirty-log window for fpb's driver's
     * hints on a QEMU that does not close it (fpbctl --accept-risk
     * FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW); never from a config file. */
    gboolean accept_kvm_dirty_log_window;
} FpbPolicySettings;

#define FPB_POLICY_RECLAIM_SPLIT (1u << 0) /* the shrinkers: the deferred THP split */
#define FPB_POLICY_RECLAIM_CACHE (1u << 1) /* clean page cache, within the bound */
#define FPB_POLICY_RECLAIM_ALL (FPB_POLICY_RECLAIM_SPLIT | FPB_POLICY_RECLAIM_CACHE)

/* "none", "split", "cache", "split+cache" (the bits' names); "?" beyond. */
static inline const char *fpb_policy_reclaim_to_string(guint reclaim)
{
    static const char *const names[] = {"none", "split", "cache", "split+cache"};

    return reclaim < G_N_ELEMENTS(names) ? names[reclaim] : "?";
}

static inline gboolean fpb_policy_reclaim_from_string(const char *s, guint *ret)
{
    for (guint r = 0; r <= FPB_POLICY_RECLAIM_ALL; r++) {
        if (g_strcmp0(s, fpb_policy_reclaim_to_string(r)) == 0) {
            *ret = r;
            return TRUE;
        }
    }
    return FALSE;
}

/* The risk's name, as the operator accepts it. */
#define FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW "kvm-dirty-log-window"

/* Largest guest RAM the policy accepts: 2^52 bytes (4 PiB), the physical
 * address space of x86-64 with 5-level paging and of arm64 with 52-bit
 * physical addresses, so no real VM is refused (the largest hosts sold
 * today hold 32..64 TiB). Below it every prediction fits a gint64 with
 * room to spare: the model sends at most 31 passes over RAM plus page
 * headers (docs/cost-model.md, "Ranges"). */
#define FPB_POLICY_MAX_RAM_BYTES (G_GINT64_CONSTANT(1) << 52)

typedef struct {
    gint64 ram_bytes;            /* guest RAM size (the VM's configured memory),
                                  * 1..FPB_POLICY_MAX_RAM_BYTES */
    gint64 balloon_actual_bytes; /* query-balloon actual, -1 unknown (= ram_bytes) */
    FpbPolicyAccel accelerator;
    FpbPolicyQemu qemu;
    FpbPolicyGuest guest;
    FpbPolicyStats stats;
    double dirty_rate_bytes_per_second; /* calc-dirty-rate, < 0 unknown */
    double bandwidth_bytes_per_second;  /* max-bandwidth or measured, < 0 unknown */
    double downtime_limit_seconds;      /* QEMU downtime-limit, default 0.3 */
    /* The guest's inflation rate measured in this very run (a trial
     * inflation, or the preparation so far: fpb-policy-prep.h); < 0
     * unknown. When known it is used instead of history and prior. */
    double measured_inflate_bytes_per_second;
    /* How much of the guest's RAM its QEMU process holds resident
     * (host-plugin/pipeline/fpb-guest-resident.h), -1 unknown: what is not
     * resident reads as zero, which bounds the zero share of free memory
     * before any migration taught it. */
    gint64 guest_resident_bytes;
    /* A path exists to give inflated memory back after migration
     * (a destination QMP socket or libvirt on the destination). */
    gboolean can_restore;
    /* Hints can be switched off for this migration (postcopy-ram on both
     * ends, FACTS.md). When FALSE and the guest negotiated hints, QEMU will
     * use them whatever fpb wants, so 'none' and 'balloon' cannot happen. */
    gboolean hints_can_be_disabled;
    FpbPolicySettings policy;
    FpbPolicyHistory history;
} FpbPolicyFacts;

/* Defaults: everything unknown (the QEMU version and package too, no
 * override), policy auto/time, no floor, 10 s budget, balloon allowed,
 * downtime limit 0.3 s (QEMU's default), ram_bytes 0 (the caller must set
 * it). */
void fpb_policy_facts_init(FpbPolicyFacts *facts);

/* Checks what the host supplied (not the guest's numbers, which are clamped
 * later). On failure sets FPB_POLICY_ERROR_INVALID_FACTS with a message that
 * starts with the field's JSON name, e.g. "facts.ram_bytes: ...". */
gboolean fpb_policy_facts_validate(const FpbPolicyFacts *facts, GError **error);

/* Setters for the QEMU fields (the orchestrator fills them from
 * query-version). set_version returns FALSE and leaves @qemu alone when a
 * component is outside 0..9999. set_package stores @package (NULL =
 * unknown) and returns FALSE when it had to cut it to
 * FPB_POLICY_QEMU_PACKAGE_MAX - 1 bytes (cutting can only lose the
 * fpb-patched marker: the safe side). */
gboolean fpb_policy_qemu_set_version(FpbPolicyQemu *qemu, gint64 major, gint64 minor, gint64 micro);
gboolean fpb_policy_qemu_set_package(FpbPolicyQemu *qemu, const char *package);
/* "MAJOR.MINOR.MICRO" <-> the version; the parser is strict (three decimal
 * components, each 0..9999) and writes *ret_* only on success. to_string
 * returns a new string, or NULL when the version is unknown. */
gboolean fpb_policy_qemu_version_parse(const char *s, int *ret_major, int *ret_minor,
                                       int *ret_micro);
char *fpb_policy_qemu_version_to_string(const FpbPolicyQemu *qemu);

/* Pure: what query-version says about TCG dirty tracking. FIXED when the
 * package string contains FPB_POLICY_QEMU_PATCHED_MARKER or the version is
 * >= 9.0; BROKEN when the version is < 9.0 without the marker; UNKNOWN when
 * the version is unknown (@major < 0) and there is no marker. @package may
 * be NULL (unknown). The accelerator is not an input: this is a property of
 * the binary; whether it matters (not under KVM) is the hint guard's call. */
FpbPolicyTcgDirtyTracking fpb_policy_tcg_dirty_tracking_derive(int major, int minor,
                                                               const char *package);
/* The operator's override if set, else the derived value. */
FpbPolicyTcgDirtyTracking fpb_policy_facts_tcg_dirty_tracking(const FpbPolicyFacts *facts);

/* Names as used in JSON; the parse functions return FALSE on unknown names.
 * Mode and request names: fpb-policy-mode.h. */
const char *fpb_policy_accel_to_string(FpbPolicyAccel accel);
gboolean fpb_policy_accel_from_string(const char *s, FpbPolicyAccel *ret);
const char *fpb_policy_driver_to_string(FpbPolicyDriver driver);
gboolean fpb_policy_driver_from_string(const char *s, FpbPolicyDriver *ret);
const char *fpb_policy_objective_to_string(FpbPolicyObjective objective);
gboolean fpb_policy_objective_from_string(const char *s, FpbPolicyObjective *ret);
/* "unknown", "broken", "fixed" */
const char *fpb_policy_tcg_dirty_tracking_to_string(FpbPolicyTcgDirtyTracking t);
gboolean fpb_policy_tcg_dirty_tracking_from_string(const char *s, FpbPolicyTcgDirtyTracking *ret);

#define FPB_POLICY_ERROR (fpb_policy_error_quark())
GQuark fpb_policy_error_quark(void);

typedef enum {
    FPB_POLICY_ERROR_INVALID_FACTS,     /* a host-supplied fact is out of range */
    FPB_POLICY_ERROR_FORCED_INFEASIBLE, /* the policy forces a mode that cannot run */
    FPB_POLICY_ERROR_NO_FEASIBLE_MODE,  /* nothing can run safely */
    /* a plain live precopy was asked for on a QEMU that loses TCG writes,
     * without allow_unsafe_live_migration */
    FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION,
} FpbPolicyError;

G_END_DECLS
