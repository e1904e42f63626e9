/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Issue 14: on a QEMU that loses TCG writes in live precopy (Debian's 7.2,
 * not fpb's patched build), `fpbctl migrate` uses a safe method by default
 * and refuses a plain live migration unless asked for by name
 * (docs/hint-safety.md, "Migration methods on an unfixed TCG QEMU").
 *
 *   /tcg-safe-method/default-keeps-memory  a 1 GiB guest rewriting 64 MiB
 *       at 32 MiB/s; fpbctl migrate (auto) picks postcopy and the
 *       destination's verifier finds every page intact
 *   /tcg-safe-method/precopy-refused-then-paused  --migration-method
 *       precopy without --allow-unsafe-live-migration: exit 2, a message
 *       naming the VM, the QEMU and the way out, and the source untouched
 *       and still verified; then --migration-method paused on the same
 *       512 MiB pair: fpb stops the source, migrates, resumes the
 *       destination, whose verifier finds every page intact
 *
 * Runs Debian's QEMU: FPB_TCG_UNFIXED_QEMU, default
 * /usr/bin/qemu-system-x86_64 (skipped when absent, or when that QEMU has
 * the fix). Arguments (meson passes them): --tap FPBCTL
 */
#include <string.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "fpb-qmp.h"
#include "fpb-testbed.h"
#include "orch-helpers.h"

#define BOOT_TIMEOUT_S 300
#define VERIFY_TIMEOUT_S 180

static char *skip_reason;

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(OrchRun, orch_run_clear)

/* A guest that needs live iterations in a precopy: 1 GiB, 400 MiB of old
 * data to send, a 64 MiB region rewritten at 32 MiB/s (the measurement's
 * guest, tests/slow/test-tcg-safe-migration.c). */
static void writer_guest(FpbTestbedGuest *g)
{
    fpb_testbed_guest_init(g);
    g->mem_mib = 1024;
    g->free_mib = 400;
    g->hold_mib = 128;
    g->dirty_mib = 64;
    g->dirty_rate_mibps = 32;
}

static gboolean skip_if_needed(void)
{
    if (skip_reason != NULL) {
        g_test_skip(skip_reason);
        return TRUE;
    }
    return FALSE;
}

/* The reason codes of the outcome's decision, space-separated. */
static char *decision_codes(const char *json_text)
{
    g_autoptr(json_object) outcome = json_tokener_parse(json_text);
    json_object *decision = NULL;
    json_object *reasons = NULL;
    g_autoptr(GString) codes = g_string_new(NULL);

    if (outcome == NULL || !json_object_object_get_ex(outcome, "decision", &decision) ||
        !json_object_object_get_ex(decision, "reasons", &reasons) ||
        !json_object_is_type(reasons, json_type_array)) {
        return g_strdup("");
    }
    for (size_t i = 0; i < json_object_array_length(reasons); i++) {
        json_object *code = NULL;

        if (json_object_object_get_ex(json_object_array_get_idx(reasons, i), "code", &code)) {
            g_string_append_printf(codes, " %s", json_object_get_string(code));
        }
    }
    return g_string_free(g_steal_pointer(&codes), FALSE);
}

static void test_default_keeps_memory(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = NULL;
    g_auto(OrchRun) r = {0};
    FpbTestbedVm *src = NULL;
    FpbTestbedVm *dst = NULL;
    FpbTestbedGuest g;

    if (skip_if_needed()) {
        return;
    }
    writer_guest(&g);
    tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    src = fpb_testbed_start_source(tb, "tcgsafe", &g, &error);
    g_assert_no_error(error);
    dst = fpb_testbed_start_destination(tb, "tcgsafe-dst", &g, FALSE, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error));

    g_autofree char *db = g_build_filename(fpb_testbed_dir(tb), "journal.db", NULL);
    const char *args[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(dst),
                          "--db",
                          db,
                          "--json",
                          NULL};
    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *codes = decision_codes(r.out);
    g_test_message("decision reasons:%s", codes);
    g_assert_nonnull(strstr(codes, " METHOD_POSTCOPY_TCG"));
    g_assert_null(strstr(codes, "TCG_LIVE_MIGRATION_UNSAFE"));
    /* Every page the destination guest holds, read after the migration. */
    g_assert_true(fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
}

static void test_precopy_refused(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbTestbed) tb = NULL;
    g_auto(OrchRun) r = {0};
    FpbTestbedVm *src = NULL;
    FpbTestbedVm *dst = NULL;
    FpbTestbedGuest g;

    if (skip_if_needed()) {
        return;
    }
    writer_guest(&g);
    g.mem_mib = 512;
    g.free_mib = 0;
    tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    src = fpb_testbed_start_source(tb, "tcgrefuse", &g, &error);
    g_assert_no_error(error);
    dst = fpb_testbed_start_destination(tb, "tcgrefuse-dst", &g, FALSE, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error));

    g_autofree char *db = g_build_filename(fpb_testbed_dir(tb), "journal.db", NULL);
    const char *args[] = {"migrate",
                          "--qmp",
                          fpb_testbed_vm_qmp_path(src),
                          "--dest-qmp",
                          fpb_testbed_vm_qmp_path(dst),
                          "--to",
                          fpb_testbed_vm_incoming_uri(dst),
                          "--db",
                          db,
                          "--migration-method",
                          "precopy",
                          NULL};
    orch_run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_nonnull(strstr(r.err, "VM 'tcgrefuse'"));
    g_assert_nonnull(strstr(r.err, "LIVE_MIGRATION_REFUSED_TCG"));
    g_assert_nonnull(strstr(r.err, "QEMU 7."));
    g_assert_nonnull(strstr(r.err, "--allow-unsafe-live-migration"));

    /* Nothing was done: no migration on the source, which keeps running
     * and verifying its memory. */
    g_autoptr(FpbQmpClient) qmp =
        fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(src), 5000, &error);
    g_assert_no_error(error);
    g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate(qmp, &error);
    g_assert_no_error(error);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_NONE);
    g_clear_pointer(&qmp, fpb_qmp_client_free);
    g_assert_true(fpb_testbed_vm_wait_verified(src, 1, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);

    /* The way out the message names: a paused migration. */
    g_auto(OrchRun) paused = {0};
    args[G_N_ELEMENTS(args) - 2] = "paused";
    orch_run_fpbctl(args, &paused);
    g_assert_cmpint(paused.status, ==, 0);
    g_assert_nonnull(strstr(paused.out, "METHOD_FORCED"));
    g_assert_true(fpb_testbed_vm_wait_verified(dst, 3, VERIFY_TIMEOUT_S, &error));
    g_assert_no_error(error);
}

/* Debian's QEMU, unless it turns out to carry the fix. */
static void choose_qemu(void)
{
    const char *wanted = g_getenv("FPB_TCG_UNFIXED_QEMU");
    /* Debian's qemu-system-x86 from PATH unless named */
    g_autofree char *qemu =
        g_find_program_in_path(wanted != NULL && *wanted != '\0' ? wanted : "qemu-system-x86_64");
    const char *argv[] = {qemu, "--version", NULL};
    g_autofree char *out = NULL;
    int status = 0;

    if (qemu == NULL || !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                      NULL, &out, NULL, &status, NULL)) {
        skip_reason = g_strdup_printf("no unfixed QEMU '%s' (FPB_TCG_UNFIXED_QEMU)",
                                      wanted ? wanted : "qemu-system-x86_64");
        return;
    }
    const char *v = strstr(out, "version ");
    if (strstr(out, "fpb-patched") != NULL || v == NULL || g_ascii_strtoull(v + 8, NULL, 10) >= 9) {
        skip_reason = g_strdup_printf("'%s' has the TCG dirty-tracking fix or an unknown "
                                      "version: nothing to test",
                                      qemu);
        return;
    }
    /* The test bed takes its QEMU from FPB_QEMU. */
    g_setenv("FPB_QEMU", qemu, TRUE);
    g_test_message("QEMU: %s", qemu);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    orch_set_fpbctl(argc, argv);
    choose_qemu();
    g_test_add_func("/tcg-safe-method/default-keeps-memory", test_default_keeps_memory);
    g_test_add_func("/tcg-safe-method/precopy-refused-then-paused", test_precopy_refused);
    int rc = g_test_run();
    g_free(skip_reason);
    return rc;
}
