/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-driver: Linux's virtio_balloon against fpb_balloon.ko, in the same
 * run, on the test bed (TCG). Built, never run by CI:
 *
 *   FPB_GUEST_DIR=build/tests/guest build/tests/driver/bench-driver
 *   (or: meson devenv -C build tests/driver/bench-driver)
 *
 * Scenarios (2 GiB guest, docs/FACTS.md):
 *   large-free  1500 MiB written and freed, 200 MiB held
 *   fragmented  FPB_BENCH_FRAG_MIB (default 1200) written, every other page
 *               freed, 200 MiB held
 * Modes per scenario:
 *   none        no free-page hints (plain device, stock driver): the ceiling
 *   balloon     (large-free only) inflated to FPB_BENCH_BALLOON_MIB (default
 *               600) first, no hints: the floor, what in-use memory costs
 *   stock       free-page hints, Linux's driver
 *   fpb         free-page hints, fpb_balloon.ko
 * Each run: bytes sent, migration time, syncs, the hint work's time in the
 * guest (kprobes on both drivers' work functions, fpb.trace=hint), and for
 * fpb its own walk time and longest zone->lock hold. Every destination must
 * verify its memory; a failed verification is shown, never hidden.
 *
 * FPB_BENCH_RUNS (default 1) repeats each mode; the table shows medians.
 * FPB_QEMU picks the QEMU binary (the TCG dirty-tracking bug of QEMU < 9.0
 * corrupts some destinations: docs/stock-hint-crash.md).
 * Exit status 0 when every destination verified, 1 otherwise, 77 when the
 * guest has no fpb_balloon.ko.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-util.h"

#define MEM_MIB 2048
#define HOLD_MIB 200

typedef struct {
    const char *scenario;
    const char *mode;
    /* medians over the runs that completed the migration */
    double mb, s, syncs, hint_ms, walk_ms, lock_us, hinted_mib, inflate_s;
    guint runs, verified, completed;
} Row;

static guint env_uint(const char *name, guint def)
{
    const char *v = g_getenv(name);
    guint64 n = v && *v ? g_ascii_strtoull(v, NULL, 10) : def;
    return n >= 1 && n <= 100000 ? (guint)n : def;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(GArray *a)
{
    if (a->len == 0) {
        return -1;
    }
    g_array_sort(a, cmp_double);
    return a->len % 2
               ? g_array_index(a, double, a->len / 2)
               : (g_array_index(a, double, a->len / 2 - 1) + g_array_index(a, double, a->len / 2)) /
                     2;
}

static void push(GArray *a, double v)
{
    g_array_append_val(a, v);
}

static Row measure(const char *scenario, const char *mode, guint runs)
{
    Row row = {.scenario = scenario, .mode = mode};
    GArray *mb = g_array_new(FALSE, FALSE, sizeof(double)),
           *s = g_array_new(FALSE, FALSE, sizeof(double)),
           *syncs = g_array_new(FALSE, FALSE, sizeof(double)),
           *hint = g_array_new(FALSE, FALSE, sizeof(double)),
           *walk = g_array_new(FALSE, FALSE, sizeof(double)),
           *lock = g_array_new(FALSE, FALSE, sizeof(double)),
           *hinted = g_array_new(FALSE, FALSE, sizeof(double)),
           *infl = g_array_new(FALSE, FALSE, sizeof(double));
    gboolean fpb = g_str_equal(mode, "fpb");
    for (guint i = 0; i < runs; i++) {
        DrvRun run;
        gboolean frag = FALSE;
        drv_run_init(&run, fpb ? "fpb" : "stock", MEM_MIB);
        run.guest.hold_mib = HOLD_MIB;
        if (g_str_equal(scenario, "large-free")) {
            run.guest.free_mib = 1500;
        } else {
            frag = TRUE;
        }
        run.guest.free_page_hint = g_str_equal(mode, "stock") || fpb;
        /* fpb-frag (tests/driver/fpb-frag.c) fragments the free memory. */
        g_autofree char *append = frag
                                      ? g_strdup_printf("fpb.loglevel=7 fpb.trace=hint fpb.frag=%u",
                                                        env_uint("FPB_BENCH_FRAG_MIB", 1200))
                                      : g_strdup("fpb.loglevel=7 fpb.trace=hint");
        run.guest.extra_append = append;
        if (g_str_equal(mode, "balloon")) {
            run.balloon_target_mib = env_uint("FPB_BENCH_BALLOON_MIB", 600);
            run.deflate_on_destination = TRUE;
        }
        DrvResult r;
        g_autoptr(GError) error = NULL;
        gboolean ok = drv_migrate(&run, &r, &error);
        row.runs++;
        gboolean completed = g_str_equal(r.mig.status, "completed");
        fprintf(stderr,
                "# %s/%s run %u: %s, %.0f MB, %.2f s, %" G_GUINT64_FORMAT
                " syncs, hint work %.1f ms in %u calls, fpb walk %.1f ms, lock %" G_GUINT64_FORMAT
                " us, hinted %" G_GUINT64_FORMAT " MiB%s%s\n",
                scenario, mode, i + 1, ok ? "verified" : "NOT VERIFIED",
                r.mig.transferred_bytes / 1e6, r.mig.total_ms / 1e3, r.mig.dirty_sync_count,
                r.hints.traced_total_ms, r.hints.traced_calls, r.hints.walk_us / 1e3,
                r.hints.max_lock_us, (r.hints.pages * 4096) >> 20, ok ? "" : ": ",
                ok ? "" : error->message);
        row.verified += ok;
        if (!completed) {
            continue;
        }
        row.completed++;
        push(mb, r.mig.transferred_bytes / 1e6);
        push(s, r.mig.total_ms / 1e3);
        push(syncs, (double)r.mig.dirty_sync_count);
        if (r.hints.traced_calls) {
            push(hint, r.hints.traced_total_ms);
        }
        if (fpb) {
            push(walk, r.hints.walk_us / 1e3);
            push(lock, (double)r.hints.max_lock_us);
            push(hinted, (double)((r.hints.pages * 4096) >> 20));
        }
        if (run.balloon_target_mib) {
            push(infl, r.inflate_s);
        }
    }
    row.mb = median(mb);
    row.s = median(s);
    row.syncs = median(syncs);
    row.hint_ms = median(hint);
    row.walk_ms = median(walk);
    row.lock_us = median(lock);
    row.hinted_mib = median(hinted);
    row.inflate_s = median(infl);
    GArray *all[] = {mb, s, syncs, hint, walk, lock, hinted, infl};
    for (gsize i = 0; i < G_N_ELEMENTS(all); i++) {
        g_array_unref(all[i]);
    }
    return row;
}

static void cell(double v, const char *fmt)
{
    if (v < 0) {
        printf(" - |");
    } else {
        printf(" ");
        printf(fmt, v);
        printf(" |");
    }
}

int main(void)
{
    g_autofree char *why = NULL;
    if (!drv_guest_has_module(&why)) {
        fprintf(stderr, "bench-driver: %s\n", why);
        return 77;
    }
    guint runs = env_uint("FPB_BENCH_RUNS", 1);
    g_autofree char *qemu = fpb_testbed_qemu_binary(NULL);
    Row rows[7];
    guint n = 0;
    rows[n++] = measure("large-free", "none", runs);
    rows[n++] = measure("large-free", "balloon", runs);
    rows[n++] = measure("large-free", "stock", runs);
    rows[n++] = measure("large-free", "fpb", runs);
    rows[n++] = measure("fragmented", "none", runs);
    rows[n++] = measure("fragmented", "stock", runs);
    rows[n++] = measure("fragmented", "fpb", runs);

    printf("\nbench-driver: %u run(s) per mode, medians; 2 GiB TCG guest, %u MiB held; QEMU %s\n\n",
           runs, HOLD_MIB, qemu ? qemu : "none found");
    printf("| scenario | mode | verified | MB sent | x floor | migration s | syncs | hint work ms "
           "(kprobe) | fpb walk ms | fpb walk ms/GiB | longest lock hold us | fpb hinted MiB |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    double floor_mb = rows[1].mb;
    gboolean all_ok = TRUE;
    for (guint i = 0; i < n; i++) {
        Row *r = &rows[i];
        all_ok = all_ok && r->verified == r->runs;
        printf("| %s | %s | %u/%u |", r->scenario, r->mode, r->verified, r->runs);
        cell(r->mb, "%.0f");
        /* The floor is measured for large-free only (same in-use size). */
        cell(floor_mb > 0 && r->mb > 0 && g_str_equal(r->scenario, "large-free") ? r->mb / floor_mb
                                                                                 : -1,
             "%.2f");
        cell(r->s, "%.2f");
        cell(r->syncs, "%.0f");
        cell(r->hint_ms, "%.1f");
        cell(r->walk_ms, "%.2f");
        cell(r->walk_ms >= 0 ? r->walk_ms / (MEM_MIB / 1024.0) : -1, "%.2f");
        cell(r->lock_us, "%.0f");
        cell(r->hinted_mib, "%.0f");
        printf("\n");
    }
    if (rows[1].inflate_s >= 0) {
        printf("\nballoon: inflating to %u MiB took %.1f s (not in the migration time)\n",
               env_uint("FPB_BENCH_BALLOON_MIB", 600), rows[1].inflate_s);
    }
    if (rows[2].hint_ms > 0 && rows[3].hint_ms >= 0) {
        printf("large-free: fpb's hint work took %.1f%% of the stock driver's (kprobe times)\n",
               100.0 * rows[3].hint_ms / rows[2].hint_ms);
    }
    /* Fragmented: how much of the freed memory each driver kept off the wire. */
    double freed_mb = env_uint("FPB_BENCH_FRAG_MIB", 1200) / 2.0 * 1.048576;
    for (guint i = 5; i <= 6; i++) {
        if (rows[4].mb > 0 && rows[i].mb > 0) {
            printf("fragmented: %s skipped %.0f MB of %.0f MB freed (%.0f%%)\n", rows[i].mode,
                   rows[4].mb - rows[i].mb, freed_mb, 100.0 * (rows[4].mb - rows[i].mb) / freed_mb);
        }
    }
    return all_ok ? 0 : 1;
}
