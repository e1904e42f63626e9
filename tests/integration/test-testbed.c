/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test bed proves memory intact only if its verifier can fail. These
 * tests damage guest pages (from inside, and behind the guest's back through
 * the gdbstub) and require the verifier to report them, then check that the
 * test bed leaves no process and no file behind.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "fpb-testbed.h"

#define BOOT_TIMEOUT_S 120
#define VERIFY_TIMEOUT_S 60

static void small_guest(FpbTestbedGuest *g)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = 512;
    g->hold_mib = 32;
}

static void assert_detected(const char *selftest)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    small_guest(&g);
    g.selftest = selftest;
    FpbTestbedVm *vm = fpb_testbed_start_source(tb, "selftest", &g, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(vm, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    /* The workload damages a page right after its first pass. */
    g_assert_false(fpb_testbed_vm_wait_verified(vm, 3, VERIFY_TIMEOUT_S, &error));
    g_assert_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED);
    g_test_message("verifier said: %s", error->message);
    g_autofree char *counts =
        g_strdup_printf("bad=1 zero=%d stale=%d torn=%d", strcmp(selftest, "zero") == 0,
                        strcmp(selftest, "stale") == 0, strcmp(selftest, "torn") == 0);
    const char *page = "fpbw: bad page region=hold index=4096 ";
    g_assert_nonnull(strstr(error->message, counts));
    g_assert_nonnull(strstr(error->message, page));
}

static void test_selftest_zero(void)
{
    assert_detected("zero");
}

static void test_selftest_stale(void)
{
    assert_detected("stale");
}

static void test_selftest_torn(void)
{
    assert_detected("torn");
}

/* Zeroes one held page and overwrites half of another through the gdbstub. */
static void test_gdbstub_damage(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    small_guest(&g);
    g.gdbstub = TRUE;
    FpbTestbedVm *vm = fpb_testbed_start_source(tb, "poked", &g, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(vm, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_verified(vm, 1, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);

    guint64 pfn_zero = 0, pfn_torn = 0;
    g_assert_true(fpb_testbed_vm_hold_pfn(vm, 0, &pfn_zero, &error));
    g_assert_true(fpb_testbed_vm_hold_pfn(vm, 2, &pfn_torn, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(pfn_zero, !=, 0);
    g_assert_cmpuint(pfn_torn, !=, pfn_zero);
    guint8 zeros[4096] = {0};
    guint8 junk[2048];
    memset(junk, 0x5a, sizeof(junk));
    g_assert_true(fpb_testbed_vm_poke_phys(vm, pfn_zero * 4096, zeros, sizeof(zeros), &error));
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_poke_phys(vm, pfn_torn * 4096, junk, sizeof(junk), &error));
    g_assert_no_error(error);

    g_assert_false(fpb_testbed_vm_wait_verified(vm, 2, VERIFY_TIMEOUT_S, &error));
    g_assert_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED);
    g_test_message("verifier said: %s", error->message);
    g_assert_nonnull(strstr(error->message, "bad=2 zero=1 stale=0 torn=1"));
}

/* After fpb_testbed_free() no QEMU it started runs and its directory is gone. */
static void test_cleanup(void)
{
    g_autoptr(GError) error = NULL;
    FpbTestbed *tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    small_guest(&g);
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", &g, &error);
    g_assert_no_error(error);
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", &g, FALSE, &error);
    g_assert_no_error(error);
    GPid pids[] = {fpb_testbed_vm_pid(src), fpb_testbed_vm_pid(dst)};
    g_autofree char *dir = g_strdup(fpb_testbed_dir(tb));
    g_assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
    fpb_testbed_free(tb);
    for (gsize i = 0; i < G_N_ELEMENTS(pids); i++) {
        g_assert_cmpint(kill(pids[i], 0), ==, -1);
        g_assert_cmpint(errno, ==, ESRCH);
    }
    g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

/* A guest that cannot start is a clear error, and still leaves nothing. */
static void test_bad_name(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedGuest g;
    small_guest(&g);
    g_assert_null(fpb_testbed_start_source(tb, "../evil", &g, &error));
    g_assert_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/testbed/verifier/selftest-zero", test_selftest_zero);
    g_test_add_func("/testbed/verifier/selftest-stale", test_selftest_stale);
    g_test_add_func("/testbed/verifier/selftest-torn", test_selftest_torn);
    g_test_add_func("/testbed/verifier/gdbstub-damage", test_gdbstub_damage);
    g_test_add_func("/testbed/cleanup/no-process-no-file", test_cleanup);
    g_test_add_func("/testbed/errors/bad-name", test_bad_name);
    return g_test_run();
}
