/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-baseline-demo: migrates one local test guest twice, without free-page
 * hints and with the stock driver's hints, verifies the destination's memory
 * each time, and prints both outcomes side by side.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fpb-testbed.h"

typedef struct {
    const char *label;
    gboolean hints;
    FpbTestbedMigration stats;
    gboolean verified;
    char *error;
} DemoRun;

static int mem_mib = 2048, free_mib = 1500, hold_mib = 200;

static const GOptionEntry options[] = {
    {"mem", 0, 0, G_OPTION_ARG_INT, &mem_mib, "guest RAM in MiB (default 2048)", "MIB"},
    {"free", 0, 0, G_OPTION_ARG_INT, &free_mib, "MiB the guest writes and frees (default 1500)",
     "MIB"},
    {"hold", 0, 0, G_OPTION_ARG_INT, &hold_mib, "MiB the guest holds and verifies (default 200)",
     "MIB"},
    {NULL},
};

static gboolean run_one(DemoRun *run, GError **error)
{
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(error);
    if (!tb) {
        return FALSE;
    }
    FpbTestbedGuest g;
    fpb_testbed_guest_init(&g);
    g.mem_mib = (guint)mem_mib;
    g.free_mib = (guint)free_mib;
    g.hold_mib = (guint)hold_mib;
    g.free_page_hint = run->hints;
    /* The stock driver's hints corrupt init_on_alloc=1 guests (FACTS.md). */
    g.init_on_alloc = run->hints ? 0 : -1;
    g_print("%s: booting a %d MiB guest that writes and frees %d MiB and holds %d MiB...\n",
            run->label, mem_mib, free_mib, hold_mib);
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "demo-src", &g, error);
    FpbTestbedVm *dst = src ? fpb_testbed_start_destination(tb, "demo-dst", &g, FALSE, error)
                            : NULL;
    if (!dst || !fpb_testbed_vm_wait_ready(src, 300, error)) {
        return FALSE;
    }
    g_print("%s: migrating...\n", run->label);
    if (!fpb_testbed_migrate(src, dst, NULL, 600, &run->stats, error)) {
        return FALSE;
    }
    g_print("%s: verifying the destination's memory...\n", run->label);
    run->verified = fpb_testbed_vm_wait_verified(dst, 2, 120, error);
    return run->verified;
}

static void print_table(DemoRun *runs, gsize n)
{
    g_print("\n%-26s", "");
    for (gsize i = 0; i < n; i++) {
        g_print(" %24s", runs[i].label);
    }
    g_print("\n%-26s", "bytes sent (MB)");
    for (gsize i = 0; i < n; i++) {
        g_print(" %24.0f", (double)runs[i].stats.transferred_bytes / 1e6);
    }
    g_print("\n%-26s", "pages sent (normal/zero)");
    for (gsize i = 0; i < n; i++) {
        g_autofree char *pages = g_strdup_printf("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                                 runs[i].stats.normal_pages,
                                                 runs[i].stats.duplicate_pages);
        g_print(" %24s", pages);
    }
    g_print("\n%-26s", "migration time (s)");
    for (gsize i = 0; i < n; i++) {
        g_print(" %24.1f", (double)runs[i].stats.total_ms / 1e3);
    }
    g_print("\n%-26s", "downtime (ms)");
    for (gsize i = 0; i < n; i++) {
        g_print(" %24" G_GUINT64_FORMAT, runs[i].stats.downtime_ms);
    }
    g_print("\n%-26s", "destination memory");
    for (gsize i = 0; i < n; i++) {
        g_print(" %24s", runs[i].verified ? "verified intact" : "NOT VERIFIED");
    }
    g_print("\n");
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("- migrate a local guest with and "
                                                         "without free-page hints");
    g_autoptr(GError) error = NULL;
    g_option_context_add_main_entries(ctx, options, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("fpb-baseline-demo: %s\n", error->message);
        return 2;
    }
    if (mem_mib < 256 || free_mib < 0 || hold_mib < 1 || free_mib + hold_mib > mem_mib - 200) {
        g_printerr("fpb-baseline-demo: --free plus --hold must leave 200 MiB of --mem (>= 256) "
                   "to the guest kernel\n");
        return 2;
    }
    DemoRun runs[] = {{.label = "no hints"}, {.label = "hints (init_on_alloc=0)", .hints = TRUE}};
    int status = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(runs); i++) {
        g_autoptr(GError) run_error = NULL;
        if (!run_one(&runs[i], &run_error)) {
            g_printerr("fpb-baseline-demo: %s: %s\n", runs[i].label, run_error->message);
            status = 1;
        }
    }
    print_table(runs, G_N_ELEMENTS(runs));
    return status;
}
