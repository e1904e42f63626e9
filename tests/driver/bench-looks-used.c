/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-looks-used: memory a guest program freed that is on no free list when
 * fpb_balloon.ko walks them, and so goes over the wire anyway (issue 18 item
 * 2, measured first). Built, never run by CI:
 *
 *   FPB_GUEST_DIR=build/tests/guest build/tests/driver/bench-looks-used
 *
 * 1 GiB guest, the kernel's defaults (transparent huge pages "always" and
 * init_on_alloc=1 on Debian), fpb's driver, HOLD_MIB held and verified on the
 * destination. Scenarios:
 *   thp-half   FRAG_MIB written with huge pages, every other 4 KiB page
 *              freed (MADV_DONTNEED): the pages wait for a deferred split
 *   frag       the same without huge pages (MADV_NOHUGEPAGE): order-0 pages
 *              on the free lists, the control
 *   cache      CACHE_MIB of clean page cache (ext2 on a brd RAM disk)
 *   free       FREE_MIB written and freed by the workload (what the
 *              per-CPU lists keep of a large free)
 * Modes: off (the device offers hints, QEMU never asks: postcopy-ram on both
 * ends), on (hints), request (hints, and the host asks the driver to reclaim
 * first: fpb_qmp_balloon_set_reclaim on fpb's QEMU; split runs the
 * shrinkers, the deferred split among them; cache drops clean page cache
 * within a bound) and guest (the same reclaim done by the guest's /init
 * before the workload, fpb.reclaim=: what it gives with no time pressure).
 * Per run: the source's last memsnap line before the migrate command (free
 * memory, per-CPU list pages, THP counters, page cache), the pages the
 * driver hinted, what its reclaim freed and how long it took, bytes sent,
 * and "kept off": (sent off - sent) / freed.
 * Exit status 0 when every destination verified, 1 otherwise, 77 when the
 * guest has no fpb_balloon.ko.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-util.h"
#include "fpb-qmp-hints.h"

#define MEM_MIB 1024
#define HOLD_MIB 64
#define FRAG_MIB 512
#define CACHE_MIB 256
#define FREE_MIB 600
#define SETTLE_S 6
#define CACHE_BOUND_MIB 512 /* the request's bound: above the scenario's cache */

typedef struct {
    const char *name;
    const char *append;  /* kernel command line of the scenario */
    guint free_mib;      /* the workload's own write-and-free */
    guint freed_mib;     /* what the program gave back (or the clean cache) */
    const char *reclaim; /* fpb.reclaim= of the guest mode, NULL: no reclaim modes */
    guint32 request;     /* FPB_QMP_RECLAIM_* of the request mode */
} Scenario;

static const Scenario scenarios[] = {
    {"thp-half", "fpb.frag=512:thp", 0, FRAG_MIB / 2, "split", FPB_QMP_RECLAIM_SPLIT},
    {"frag", "fpb.frag=512", 0, FRAG_MIB / 2, NULL, 0},
    {"cache", "fpb.pagecache=256", 0, CACHE_MIB, "cache", FPB_QMP_RECLAIM_CACHE},
    {"free", NULL, FREE_MIB, FREE_MIB, NULL, 0},
};

typedef struct {
    gboolean ok;
    guint64 sent, hinted_pages;
    guint64 free_kib, cached_kib, anonhuge_kib, pcp_pages, thp_deferred, thp_split;
    double reclaim_s;
    guint64 reclaim_freed_pages;
} Outcome;

static guint64 snap_field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? g_ascii_strtoull(p + strlen(key), NULL, 10) : 0;
}

static Outcome run_one(const Scenario *sc, const char *mode)
{
    Outcome out = {0};
    DrvRun run;
    DrvResult res;
    g_autoptr(GError) error = NULL;
    gboolean with_reclaim = strcmp(mode, "guest") == 0;

    drv_run_init(&run, "fpb", MEM_MIB);
    run.guest.hold_mib = HOLD_MIB;
    run.guest.free_mib = sc->free_mib;
    run.no_hints_capability = strcmp(mode, "off") == 0;
    run.settle_s = SETTLE_S;
    if (strcmp(mode, "request") == 0) {
        run.reclaim_what = sc->request;
        run.reclaim_cache_mib = CACHE_BOUND_MIB;
    }
    /* loglevel 7: the driver's hint and reclaim lines on the console */
    g_autofree char *append = g_strdup_printf(
        "fpb.loglevel=7 fpb.memsnap=2%s%s%s%s", sc->append ? " " : "", sc->append ? sc->append : "",
        with_reclaim ? " fpb.reclaim=" : "", with_reclaim ? sc->reclaim : "");
    run.guest.extra_append = append;
    out.ok = drv_migrate(&run, &res, &error);
    if (!out.ok) {
        g_printerr("bench-looks-used: %s/%s: %s\n", sc->name, mode, error->message);
        return out;
    }
    out.sent = res.mig.transferred_bytes;
    out.hinted_pages = res.hints.pages;
    out.free_kib = snap_field(res.memsnap, " free_kib=");
    out.cached_kib = snap_field(res.memsnap, " cached_kib=");
    out.anonhuge_kib = snap_field(res.memsnap, " anonhuge_kib=");
    out.pcp_pages = snap_field(res.memsnap, " pcp_pages=");
    out.thp_deferred = snap_field(res.memsnap, " thp_deferred=");
    out.thp_split = snap_field(res.memsnap, " thp_split=");
    if (!res.memsnap[0]) {
        g_printerr("bench-looks-used: %s/%s: no memsnap line before the migration\n", sc->name,
                   mode);
    }
    out.reclaim_s = with_reclaim ? res.reclaim_s : res.hints.reclaim_us / 1e6;
    out.reclaim_freed_pages = res.hints.reclaim_freed_pages;
    return out;
}

static void print_row(const Scenario *sc, const char *mode, const Outcome *o, guint64 sent_off)
{
    double kept = 0;
    if (sent_off && o->ok) {
        kept = 100.0 * ((double)sent_off - (double)o->sent) / ((double)sc->freed_mib * 1048576.0);
    }
    printf("| %s | %s | %u | %.0f | %.1f | %.0f | %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT
           " | %.0f | %.0f | %.0f | %.2f | %.0f | %.1f | %s |\n",
           sc->name, mode, sc->freed_mib, o->free_kib / 1024.0, o->pcp_pages * 4.0 / 1024.0,
           o->anonhuge_kib / 1024.0, o->thp_deferred, o->thp_split, o->cached_kib / 1024.0,
           o->hinted_pages * 4.0 / 1024.0, o->reclaim_freed_pages * 4.0 / 1024.0, o->reclaim_s,
           o->sent / 1e6, kept, o->ok ? "yes" : "NO");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int status = 0;
    if (!drv_test_init(&argc, &argv, FALSE, &status)) {
        return status;
    }
    printf("| scenario | mode | freed MiB | free MiB | pcp MiB | AnonHuge MiB "
           "| THP deferred / split | cache MiB | hinted MiB | reclaim freed MiB | reclaim s "
           "| sent MB | kept off %% | verified |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
           "| ---: | --- |\n");
    int failures = 0;
    for (gsize i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        const Scenario *sc = &scenarios[i];
        const char *modes[] = {"off", "on", sc->request ? "request" : NULL,
                               sc->reclaim ? "guest" : NULL};
        guint64 sent_off = 0;
        for (gsize m = 0; m < G_N_ELEMENTS(modes) && modes[m]; m++) {
            Outcome o = run_one(sc, modes[m]);
            failures += !o.ok;
            if (m == 0 && o.ok) {
                sent_off = o.sent;
            }
            print_row(sc, modes[m], &o, sent_off);
        }
    }
    return failures ? 1 : 0;
}
