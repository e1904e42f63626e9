/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the policy tests: the FACTS.md guest and a random facts generator. */
#pragma once

#include <glib.h>

#include "fpb-policy.h"

#define MIB (1024 * 1024LL)
#define GIB (1024 * MIB)

/* What FACTS.md's own migrations of its baseline guest teach the cost model
 * (docs/cost-model.md, "Constants"): inflation 1448 MiB in 4.0 s; zero pages
 * all but free under the default cap (balloon run: 2.6 s for 321 MB and
 * ~446k zero pages, 2.39 s of it the cap: 0.47 us a page); "in use" was
 * inferred from the hint run, i.e. with no zero pages in it. */
static inline void test_history_facts_md(FpbPolicyHistory *h)
{
    fpb_policy_history_init(h);
    h->migrations = 4;
    h->inflate_rate = (FpbPolicyEstimate){.value = 1448.0 * MIB / 4.0, .samples = 1};
    h->zero_page_seconds = (FpbPolicyEstimate){.value = 0.47e-6, .samples = 1};
    h->used_zero_share = (FpbPolicyEstimate){.value = 0.0, .samples = 1};
}

/* The FACTS.md baseline guest: 2 GiB, wrote 1500 MiB (200 MiB of it still
 * held) and freed the rest; about 320 MB in use, 1828 MB free. TCG, QEMU
 * unknown, stock driver with hints negotiated, init_on_alloc unknown; its
 * history is what FACTS.md measured (test_history_facts_md). */
static inline void test_facts_2gib(FpbPolicyFacts *f)
{
    fpb_policy_facts_init(f);
    f->ram_bytes = 2 * GIB;
    f->balloon_actual_bytes = 2 * GIB;
    f->accelerator = FPB_POLICY_ACCEL_TCG;
    f->guest.free_page_hint = TRUE;
    f->guest.stats_queue = TRUE;
    f->guest.driver = FPB_POLICY_DRIVER_STOCK;
    f->stats.free_bytes = 1828000000;
    f->stats.available_bytes = 1850000000;
    f->stats.age_seconds = 1.0;
    f->can_restore = TRUE;
    f->hints_can_be_disabled = TRUE;
    test_history_facts_md(&f->history);
}

/* Package strings of the test bed's QEMU binaries (docs/stock-hint-crash.md,
 * 0.1): Debian's, and fpb's patched build of the same source. */
#define TEST_QEMU_PACKAGE_STOCK "Debian 1:7.2+dfsg-7+deb12u18"
#define TEST_QEMU_PACKAGE_PATCHED "Debian 1:7.2+dfsg-7+deb12u18 fpb-patched"

/* Sets the QEMU the VM runs on; @version "MAJOR.MINOR.MICRO" or NULL. */
static inline void test_facts_set_qemu(FpbPolicyFacts *f, const char *version, const char *package)
{
    int major = -1, minor = -1, micro = -1;

    if (version != NULL) {
        g_assert_true(fpb_policy_qemu_version_parse(version, &major, &minor, &micro));
    }
    f->qemu.major = major;
    f->qemu.minor = minor;
    f->qemu.micro = micro;
    g_assert_true(fpb_policy_qemu_set_package(&f->qemu, package));
}

static inline void test_facts_override_tracking(FpbPolicyFacts *f, FpbPolicyTcgDirtyTracking t)
{
    f->qemu.tcg_dirty_tracking_overridden = TRUE;
    f->qemu.tcg_dirty_tracking_override = t;
}

static inline gint64 rand_size(GRand *r, gint64 max)
{
    return (gint64)(g_rand_double(r) * (double)max);
}

static inline double rand_maybe_unknown(GRand *r, double lo, double hi)
{
    return g_rand_int_range(r, 0, 4) == 0 ? FPB_POLICY_UNKNOWN : g_rand_double_range(r, lo, hi);
}

static inline void rand_estimate(GRand *r, FpbPolicyEstimate *e, double lo, double hi)
{
    if (g_rand_boolean(r)) {
        e->value = g_rand_double_range(r, lo, hi);
        e->samples = (guint)g_rand_int_range(r, 1, 50);
    }
}

/* Unknown, stock 7.2, patched 7.2, 8.2, 9.x, upstream "" packages, and now
 * and then an operator override. */
static inline void rand_qemu(GRand *r, FpbPolicyFacts *f)
{
    static const char *const packages[] = {NULL,
                                           "",
                                           TEST_QEMU_PACKAGE_STOCK,
                                           TEST_QEMU_PACKAGE_PATCHED,
                                           "v8.2.2",
                                           "Ubuntu 1:8.2.2+ds-0ubuntu1"};

    if (g_rand_int_range(r, 0, 4) > 0) {
        g_assert_true(fpb_policy_qemu_set_version(&f->qemu, g_rand_int_range(r, 5, 11),
                                                  g_rand_int_range(r, 0, 3),
                                                  g_rand_int_range(r, 0, 25)));
    }
    g_assert_true(fpb_policy_qemu_set_package(
        &f->qemu, packages[g_rand_int_range(r, 0, G_N_ELEMENTS(packages))]));
    if (g_rand_int_range(r, 0, 5) == 0) {
        test_facts_override_tracking(f, (FpbPolicyTcgDirtyTracking)g_rand_int_range(r, 0, 3));
    }
}

/* Valid host facts (fpb_policy_facts_validate passes) with arbitrary,
 * possibly absurd guest numbers. */
static inline void test_facts_random(GRand *r, FpbPolicyFacts *f)
{
    fpb_policy_facts_init(f);
    f->ram_bytes = g_rand_int_range(r, 64, 1 << 20) * MIB; /* 64 MiB .. 1 TiB */
    f->balloon_actual_bytes =
        g_rand_boolean(r) ? FPB_POLICY_UNKNOWN : MAX(1, f->ram_bytes - rand_size(r, f->ram_bytes));
    f->accelerator = (FpbPolicyAccel)g_rand_int_range(r, 0, 3);
    rand_qemu(r, f);
    f->guest.free_page_hint = g_rand_boolean(r);
    f->guest.stats_queue = g_rand_boolean(r);
    f->guest.deflate_on_oom = g_rand_boolean(r);
    f->guest.free_page_reporting = g_rand_boolean(r);
    f->qemu.hint_window_closed = g_rand_boolean(r);
    f->policy.accept_kvm_dirty_log_window = g_rand_int_range(r, 0, 4) == 0;
    f->guest.driver = (FpbPolicyDriver)g_rand_int_range(r, 0, 3);
    f->guest.init_on_alloc = (FpbPolicyInitOnAlloc)g_rand_int_range(r, 0, 3);
    if (g_rand_int_range(r, 0, 5) > 0) {
        /* guest numbers are untrusted: up to 1.5x the RAM */
        f->stats.free_bytes = rand_size(r, f->ram_bytes + f->ram_bytes / 2);
        f->stats.available_bytes = rand_size(r, f->ram_bytes + f->ram_bytes / 2);
        f->stats.total_bytes = rand_size(r, f->ram_bytes);
        f->stats.age_seconds = rand_maybe_unknown(r, 0, 60);
    }
    f->dirty_rate_bytes_per_second = rand_maybe_unknown(r, 0, 2e9);
    f->bandwidth_bytes_per_second =
        g_rand_boolean(r) ? FPB_POLICY_UNKNOWN : g_rand_double_range(r, 1e5, 2e10);
    f->downtime_limit_seconds = g_rand_double_range(r, 0.01, 2.0);
    f->can_restore = g_rand_boolean(r);
    f->hints_can_be_disabled = g_rand_boolean(r);
    f->policy.mode = (FpbPolicyRequest)g_rand_int_range(r, 0, 5);
    f->policy.objective = (FpbPolicyObjective)g_rand_int_range(r, 0, 3);
    f->policy.floor_bytes = rand_size(r, f->ram_bytes);
    f->policy.max_prep_seconds = g_rand_double_range(r, 0, 60);
    f->policy.balloon_allowed = g_rand_int_range(r, 0, 4) > 0;
    f->policy.reclaim = (guint)g_rand_int_range(r, 0, 4);
    f->policy.reclaim_cache_bound_bytes = rand_size(r, f->ram_bytes);
    f->history.migrations = (guint)g_rand_int_range(r, 0, 100);
    rand_estimate(r, &f->history.hint_efficiency, -1, 2);
    rand_estimate(r, &f->history.inflate_rate, 0, 3e10);
    rand_estimate(r, &f->history.deflate_rate, 0, 3e10);
    rand_estimate(r, &f->history.zero_share, -1, 2);
    rand_estimate(r, &f->history.bandwidth, 0, 2e11);
    rand_estimate(r, &f->history.used_zero_share, -1, 2);
    rand_estimate(r, &f->history.zero_page_seconds, -1e-3, 1e-2);
}
