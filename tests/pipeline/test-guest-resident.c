/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resident guest RAM of a QEMU process (host-plugin/pipeline/
 * fpb-guest-resident.h), from smaps text and from a real process, and what
 * the cost model makes of it (the zero share of free memory before any
 * migration, issue 15).
 */
#include <gio/gio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fpb-guest-resident.h"
#include "fpb-policy.h"

#define MIB (G_GINT64_CONSTANT(1024) * 1024)

static const char smaps[] = "55d0c0000000-55d0c1000000 rw-p 00000000 00:00 0\n"
                            "Size:              16384 kB\n"
                            "Rss:               16000 kB\n"
                            "7f0000000000-7f0040000000 rw-p 00000000 00:00 0\n"
                            "Size:            1048576 kB\n"
                            "KernelPageSize:        4 kB\n"
                            "Rss:              262144 kB\n"
                            "7f1000000000-7f1080000000 rw-p 00000000 00:00 0\n"
                            "Size:            2097152 kB\n"
                            "Rss:             2000000 kB\n";

static void test_parse(void)
{
    g_autoptr(GError) error = NULL;

    /* the 1 GiB mapping, not the larger or the smaller one */
    g_assert_cmpint(fpb_guest_resident_parse(smaps, 1024 * MIB, &error), ==, 256 * MIB);
    g_assert_no_error(error);
    g_assert_cmpint(fpb_guest_resident_parse(smaps, 2048 * MIB, &error), ==, 2000000 * 1024LL);
    g_assert_cmpint(fpb_guest_resident_parse(smaps, 4096 * MIB, &error), ==, -1);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_cmpint(fpb_guest_resident_parse("Size: x kB\nRss: -5 kB\n", 1, &error), ==, -1);
    g_clear_error(&error);
    g_assert_cmpint(fpb_guest_resident_bytes(0, MIB, &error), ==, -1);
    g_assert_nonnull(error);
}

/* This process as the "QEMU": a 64 MiB mapping with 16 MiB touched. */
static void test_real_process(void)
{
    g_autoptr(GError) error = NULL;
    gsize len = 64 * MIB;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gint64 rss;

    g_assert_true(p != MAP_FAILED);
    madvise(p, len, MADV_NOHUGEPAGE);
    for (gsize i = 0; i < 16 * MIB; i += 4096) {
        p[i] = 1;
    }
    rss = fpb_guest_resident_bytes(getpid(), len, &error);
    munmap(p, len);
    g_assert_no_error(error);
    g_assert_cmpint(rss, >=, 16 * MIB);
    g_assert_cmpint(rss, <, 20 * MIB);
}

/* A guest that never touched most of its memory: without the probe the
 * model assumes a quarter of the free memory is zero; with it, all that
 * is not resident. */
static void test_model_zero_share(void)
{
    FpbPolicyFacts f;
    FpbCostInputs in;
    g_autoptr(FpbPolicyDecision) d = NULL;

    fpb_policy_facts_init(&f);
    f.ram_bytes = f.balloon_actual_bytes = 2048 * MIB;
    f.accelerator = FPB_POLICY_ACCEL_TCG;
    f.stats.free_bytes = f.stats.available_bytes = 1800 * MIB;
    f.stats.age_seconds = 1;
    f.can_restore = TRUE;
    fpb_cost_model_inputs(&f, &in);
    g_assert_cmpfloat(in.zero_share, ==, FPB_COST_PRIOR_ZERO_SHARE);
    g_assert_false(in.zero_share_from_resident);
    f.guest_resident_bytes = 448 * MIB; /* 1600 MiB never touched */
    fpb_cost_model_inputs(&f, &in);
    g_assert_true(in.zero_share_from_resident);
    g_assert_cmpfloat(ABS(in.zero_share - 1600.0 / 1800.0), <, 1e-9);
    d = fpb_policy_decide(&f, NULL);
    g_assert_nonnull(d);
    g_assert_true(fpb_policy_decision_has_reason(d, FPB_REASON_ZERO_SHARE_FROM_RESIDENT));
    /* history wins once it knows */
    f.history.zero_share = (FpbPolicyEstimate){.value = 0.5, .samples = 1};
    fpb_cost_model_inputs(&f, &in);
    g_assert_false(in.zero_share_from_resident);
    g_assert_cmpfloat(ABS(in.zero_share - 0.5), <, 1e-9);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pipeline/guest-resident/parse", test_parse);
    g_test_add_func("/pipeline/guest-resident/real-process", test_real_process);
    g_test_add_func("/pipeline/guest-resident/model-zero-share", test_model_zero_share);
    return g_test_run();
}
