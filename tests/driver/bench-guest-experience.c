/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guest-experience: what a guest program feels while its balloon
 * driver answers free-page hints, fpb_balloon.ko against Linux's
 * virtio_balloon on the same guest image (issue 18 item 3). Built, never run
 * by CI:
 *
 *   FPB_QEMU=/usr/lib/fpb/qemu/bin/qemu-system-x86_64 FPB_BENCH_RUNS=3 \
 *   FPB_GUEST_DIR=build/tests/guest build/tests/driver/bench-guest-experience
 *
 * Guest: 2 GiB, the workload writes and frees FREE_MIB and holds HOLD_MIB
 * (verified on the destination), CACHE_MIB of clean page cache (ext2 on a
 * brd RAM disk, fpb.pagecache=), and fpb-alloclat (tests/driver/
 * fpb-alloclat.c, fpb.alloclat=) mapping and touching 64 KiB chunks and
 * copying as much between allocations, one line per 250 ms window. This
 * program timestamps those lines as they arrive on both serial consoles and
 * sorts the windows into phases by the host's clock:
 *
 *   before  the BEFORE_S seconds before the migrate command
 *   during  windows overlapping the migration, from the migrate command to
 *           "completed" (the span in which the host asks for hints and in
 *           which the stock driver holds what it took)
 *   after   windows starting in the AFTER_S seconds after completion (on
 *           the destination)
 *
 * Per phase: allocation latency p50/p99/max over every allocation of the
 * phase; the longest window (the probe is a closed loop: while it cannot
 * run it makes no allocation, so a stall is one sample at most, or none when
 * it falls between two allocations; a window far over 250 ms is time the
 * probe did not run); allocations/s, copy MB/s; MemFree
 * and Cached before, lowest during, after; the guest's hint work (fpb: its
 * own walk timer; stock: kprobes on report_free_page_func, fpb.trace=hint,
 * both consoles, finished work items only); MB sent; load average. Every
 * destination must verify its memory. Drivers alternate run by run;
 * FPB_BENCH_RUNS (default 3) runs each; the table shows medians.
 * FPB_BENCH_CHUNK_KIB (default 64) sets the probe's allocation size;
 * FPB_BENCH_PERIOD_US paces it (fpb-alloclat -p: one allocation due every
 * PERIOD_US, copying in between) and adds the response time, from when an
 * allocation was due to its last write, per phase (p50/p99/max): there a
 * stall counts for every allocation due during it;
 * FPB_BENCH_KEEP_SERIALS=DIR keeps both consoles of every run.
 * Exit status 0 when every destination verified, 1 otherwise, 77 when the
 * guest has no fpb_balloon.ko.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver-util.h"

#define MEM_MIB 2048
#define HOLD_MIB 200
#define FREE_MIB 1200
#define CACHE_MIB 128
#define CHUNK_KIB 64
#define BEFORE_S 6.0
#define AFTER_S 8.0
#define BOOT_TIMEOUT_S 400
#define PROBE_TIMEOUT_S 120
#define MIGRATE_TIMEOUT_S 400
#define VERIFY_TIMEOUT_S 240
#define TAIL_POLL_US 10000

enum { PH_BEFORE, PH_DURING, PH_AFTER, PH_N };
static const char *const phase_names[PH_N] = {"before", "during", "after"};

static double host_now(void)
{
    return (double)g_get_monotonic_time() / G_USEC_PER_SEC;
}

/* ---- the serial tail: window lines with the host time they arrived ---- */

typedef struct {
    double host_s;
    char *line;
} Seen;

typedef struct {
    GMutex lock;
    gint stop;
    int fds[2];
    GString *partial[2];
    GPtrArray *seen; /* Seen *, in arrival order */
    GThread *thread;
} Tail;

static void seen_free(gpointer p)
{
    Seen *s = p;
    g_free(s->line);
    g_free(s);
}

static void tail_take(Tail *t, int i, const char *buf, gssize n, double at)
{
    for (gssize k = 0; k < n; k++) {
        if (buf[k] != '\n') {
            if (buf[k] != '\r' && buf[k] != '\0') {
                g_string_append_c(t->partial[i], buf[k]);
            }
            continue;
        }
        if (strstr(t->partial[i]->str, "fpb-alloclat: w ")) {
            Seen *s = g_new0(Seen, 1);
            s->host_s = at;
            s->line = g_strdup(t->partial[i]->str);
            g_mutex_lock(&t->lock);
            g_ptr_array_add(t->seen, s);
            g_mutex_unlock(&t->lock);
        }
        g_string_truncate(t->partial[i], 0);
    }
}

static gpointer tail_main(gpointer data)
{
    Tail *t = data;
    char buf[65536];
    while (!g_atomic_int_get(&t->stop)) {
        for (int i = 0; i < 2; i++) {
            gssize n;
            while (t->fds[i] >= 0 && (n = read(t->fds[i], buf, sizeof(buf))) > 0) {
                tail_take(t, i, buf, n, host_now());
            }
        }
        g_usleep(TAIL_POLL_US);
    }
    return NULL;
}

/* Follows both consoles from their current end. */
static void tail_start(Tail *t, const char *src_path, const char *dst_path)
{
    memset(t, 0, sizeof(*t));
    g_mutex_init(&t->lock);
    const char *paths[2] = {src_path, dst_path};
    for (int i = 0; i < 2; i++) {
        t->fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (t->fds[i] >= 0) {
            lseek(t->fds[i], 0, SEEK_END);
        }
        t->partial[i] = g_string_new(NULL);
    }
    t->seen = g_ptr_array_new_with_free_func(seen_free);
    t->thread = g_thread_new("serial-tail", tail_main, t);
}

static void tail_stop(Tail *t)
{
    g_atomic_int_set(&t->stop, 1);
    g_thread_join(t->thread);
    for (int i = 0; i < 2; i++) {
        if (t->fds[i] >= 0) {
            close(t->fds[i]);
        }
        g_string_free(t->partial[i], TRUE);
    }
    g_ptr_array_unref(t->seen);
    g_mutex_clear(&t->lock);
}

/* ---- windows and phases ---- */

typedef struct {
    double end_s, len_s; /* host clock */
    guint allocs;
    double copy_mib, memfree_mib, cached_mib, avail_mib;
    GArray *lat_us;  /* double */
    GArray *resp_us; /* double; empty unless the probe is paced */
} Win;

/* Appends the comma-separated numbers of @list to @to; FALSE on junk. */
static gboolean parse_list(const char *list, GArray *to)
{
    g_auto(GStrv) items = g_strsplit(list, ",", -1);
    for (char **i = items; *i && **i; i++) {
        char *end = NULL;
        double v = g_ascii_strtod(*i, &end);
        if (end == *i || *end) {
            return FALSE;
        }
        g_array_append_val(to, v);
    }
    return TRUE;
}

static void win_clear(Win *w)
{
    g_clear_pointer(&w->lat_us, g_array_unref);
    g_clear_pointer(&w->resp_us, g_array_unref);
}

/* A window line, whole (ends in " end", as many latencies as allocs). */
static gboolean win_parse(const char *line, double host_s, Win *w)
{
    const char *p = strstr(line, "fpb-alloclat: w ");
    unsigned long seq, mf, ca, bu, av;
    double ms;
    int off = 0;
    if (!p || !g_str_has_suffix(line, " end") ||
        sscanf(p,
               "fpb-alloclat: w seq=%lu ms=%lf allocs=%u copy_mib=%lf memfree_kib=%lu "
               "cached_kib=%lu buffers_kib=%lu avail_kib=%lu lat_us=%n",
               &seq, &ms, &w->allocs, &w->copy_mib, &mf, &ca, &bu, &av, &off) != 8 ||
        off == 0) {
        return FALSE;
    }
    w->end_s = host_s;
    w->len_s = ms / 1e3;
    w->memfree_mib = mf / 1024.0;
    w->cached_mib = ca / 1024.0;
    w->avail_mib = av / 1024.0;
    w->lat_us = g_array_new(FALSE, FALSE, sizeof(double));
    w->resp_us = g_array_new(FALSE, FALSE, sizeof(double));
    g_autofree char *lists = g_strndup(p + off, strlen(p + off) - strlen(" end"));
    char *resp = strstr(lists, " resp_us=");
    if (resp) {
        *resp = '\0';
        resp += strlen(" resp_us=");
    }
    if (!parse_list(lists, w->lat_us) || w->lat_us->len != w->allocs ||
        (resp && (!parse_list(resp, w->resp_us) || w->resp_us->len != w->allocs))) {
        win_clear(w);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    guint windows;
    double secs, allocs, copy_mib;
    GArray *lat_us, *resp_us;
    double memfree_last, cached_last, memfree_min, cached_min, max_win_s;
} Phase;

static void phase_add(Phase *ph, const Win *w)
{
    ph->windows++;
    ph->secs += w->len_s;
    ph->max_win_s = MAX(ph->max_win_s, w->len_s);
    ph->allocs += w->allocs;
    ph->copy_mib += w->copy_mib;
    g_array_append_vals(ph->lat_us, w->lat_us->data, w->lat_us->len);
    g_array_append_vals(ph->resp_us, w->resp_us->data, w->resp_us->len);
    ph->memfree_last = w->memfree_mib;
    ph->cached_last = w->cached_mib;
    ph->memfree_min = ph->windows == 1 ? w->memfree_mib : MIN(ph->memfree_min, w->memfree_mib);
    ph->cached_min = ph->windows == 1 ? w->cached_mib : MIN(ph->cached_min, w->cached_mib);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; -1 when empty. */
static double pct(GArray *sorted, double q)
{
    if (sorted->len == 0) {
        return -1;
    }
    guint rank = (guint)(q * sorted->len + 0.999999);
    rank = CLAMP(rank, 1, sorted->len);
    return g_array_index(sorted, double, rank - 1);
}

typedef struct {
    gboolean verified, completed;
    double p50[PH_N], p99[PH_N], max[PH_N], allocs_s[PH_N], copy_mbs[PH_N];
    double resp_p50[PH_N], resp_p99[PH_N], resp_max[PH_N]; /* -1 unless paced */
    guint windows[PH_N], samples[PH_N];
    double memfree_before, cached_before, memfree_min, cached_min, memfree_after, cached_after;
    double max_win_s[PH_N]; /* the longest window: the probe could not run */
    double hint_ms, mb, mig_s, load1;
    guint lost, oom_kills, hint_cmds;
} RunRes;

/* Sorts the windows seen into phases by the host clock. */
static void phases_compute(GPtrArray *seen, double t0, double t1, RunRes *r)
{
    Phase ph[PH_N];
    for (int i = 0; i < PH_N; i++) {
        ph[i] = (Phase){.lat_us = g_array_new(FALSE, FALSE, sizeof(double)),
                        .resp_us = g_array_new(FALSE, FALSE, sizeof(double))};
    }
    for (guint i = 0; i < seen->len; i++) {
        Seen *s = g_ptr_array_index(seen, i);
        Win w = {0};
        if (!win_parse(s->line, s->host_s, &w)) {
            r->lost++;
            continue;
        }
        double start = w.end_s - w.len_s;
        int which = w.end_s <= t0 ? PH_BEFORE : start < t1 ? PH_DURING : PH_AFTER;
        if ((which == PH_BEFORE && w.end_s >= t0 - BEFORE_S) || which == PH_DURING ||
            (which == PH_AFTER && start < t1 + AFTER_S)) {
            phase_add(&ph[which], &w);
        }
        win_clear(&w);
    }
    for (int i = 0; i < PH_N; i++) {
        g_array_sort(ph[i].lat_us, cmp_double);
        r->windows[i] = ph[i].windows;
        r->samples[i] = ph[i].lat_us->len;
        r->max_win_s[i] = ph[i].windows ? ph[i].max_win_s : -1;
        r->p50[i] = pct(ph[i].lat_us, 0.50);
        r->p99[i] = pct(ph[i].lat_us, 0.99);
        r->max[i] = pct(ph[i].lat_us, 1.0);
        g_array_sort(ph[i].resp_us, cmp_double);
        r->resp_p50[i] = pct(ph[i].resp_us, 0.50);
        r->resp_p99[i] = pct(ph[i].resp_us, 0.99);
        r->resp_max[i] = pct(ph[i].resp_us, 1.0);
        r->allocs_s[i] = ph[i].secs > 0 ? ph[i].allocs / ph[i].secs : -1;
        r->copy_mbs[i] = ph[i].secs > 0 ? ph[i].copy_mib * 1.048576 / ph[i].secs : -1;
    }
    r->memfree_before = ph[PH_BEFORE].windows ? ph[PH_BEFORE].memfree_last : -1;
    r->cached_before = ph[PH_BEFORE].windows ? ph[PH_BEFORE].cached_last : -1;
    r->memfree_min = ph[PH_DURING].windows ? ph[PH_DURING].memfree_min : -1;
    r->cached_min = ph[PH_DURING].windows ? ph[PH_DURING].cached_min : -1;
    r->memfree_after = ph[PH_AFTER].windows ? ph[PH_AFTER].memfree_last : -1;
    r->cached_after = ph[PH_AFTER].windows ? ph[PH_AFTER].cached_last : -1;
    for (int i = 0; i < PH_N; i++) {
        g_array_unref(ph[i].lat_us);
        g_array_unref(ph[i].resp_us);
    }
}

static guint env_uint(const char *name, guint def)
{
    const char *v = g_getenv(name);
    guint64 n = v && *v ? g_ascii_strtoull(v, NULL, 10) : def;
    return n >= 1 && n <= 1000000 ? (guint)n : def;
}

/* ---- one run ---- */

static guint chunk_kib(void)
{
    return env_uint("FPB_BENCH_CHUNK_KIB", CHUNK_KIB);
}

/* 0: the probe's closed loop */
static guint period_us(void)
{
    return env_uint("FPB_BENCH_PERIOD_US", 0);
}

static double load_avg1(void)
{
    g_autofree char *text = NULL;
    return g_file_get_contents("/proc/loadavg", &text, NULL, NULL) ? g_ascii_strtod(text, NULL)
                                                                   : -1;
}

/* The highest "fpb-guest: oom_kill=N" a console printed (fpb.oomwatch=1). */
static guint oom_kills(const char *text)
{
    guint most = 0;
    for (const char *p = text; (p = strstr(p, "fpb-guest: oom_kill=")); p++) {
        most = MAX(most, (guint)g_ascii_strtoull(p + strlen("fpb-guest: oom_kill="), NULL, 10));
    }
    return most;
}

/* The guest's hint work on both consoles, read as one log (a stock work
 * item can begin on the source and end on the destination): fpb's own walk
 * timer, or the kprobe'd duration of the stock driver's work item (which on
 * the destination also gives its pages back). */
static void hint_work(FpbTestbedVm *const *vms, gboolean fpb, RunRes *r)
{
    g_autoptr(GString) both = g_string_new(NULL);
    for (int i = 0; i < 2; i++) {
        g_autofree char *text = NULL;
        if (g_file_get_contents(fpb_testbed_vm_serial_path(vms[i]), &text, NULL, NULL)) {
            g_string_append(both, text);
            g_string_append_c(both, '\n');
        }
    }
    DrvHintLog log;
    drv_parse_hint_log(both->str, &log);
    r->hint_cmds = fpb ? log.cmds : log.traced_calls;
    /* -1: no finished work item was seen (a kprobe end can be missing) */
    r->hint_ms = r->hint_cmds == 0 ? -1 : fpb ? log.walk_us / 1e3 : log.traced_total_ms;
    r->oom_kills = oom_kills(both->str);
}

static double seen_seconds(Tail *t)
{
    double secs = 0;
    g_mutex_lock(&t->lock);
    for (guint i = 0; i < t->seen->len; i++) {
        Seen *s = g_ptr_array_index(t->seen, i);
        const char *ms = strstr(s->line, " ms=");
        secs += ms ? g_ascii_strtod(ms + 4, NULL) / 1e3 : 0;
    }
    g_mutex_unlock(&t->lock);
    return secs;
}

/* Waits until the probe printed BEFORE_S worth of windows. */
static gboolean wait_baseline(Tail *t, FpbTestbedVm *src, GError **error)
{
    double deadline = host_now() + PROBE_TIMEOUT_S;
    while (seen_seconds(t) < BEFORE_S + 0.5) {
        if (!fpb_testbed_vm_running(src) || host_now() > deadline) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "VM 'src': fpb-alloclat printed %.1f s of windows, not %.1f s",
                        seen_seconds(t), BEFORE_S + 0.5);
            return FALSE;
        }
        g_usleep(100 * 1000);
    }
    return TRUE;
}

static gboolean migrate_and_watch(FpbTestbedVm **vms, Tail *t, RunRes *r, GError **error)
{
    if (!wait_baseline(t, vms[0], error)) {
        return FALSE;
    }
    FpbTestbedMigration mig = {0};
    r->load1 = load_avg1();
    double t0 = host_now();
    gboolean migrated = fpb_testbed_migrate(vms[0], vms[1], NULL, MIGRATE_TIMEOUT_S, &mig, error);
    double t1 = host_now();
    r->completed = migrated && g_str_equal(mig.status, "completed");
    r->mb = mig.transferred_bytes / 1e6;
    r->mig_s = mig.total_ms / 1e3;
    gboolean ok = migrated && fpb_testbed_vm_wait_verified(vms[1], 3, VERIFY_TIMEOUT_S, error);
    while (ok && host_now() < t1 + AFTER_S + 0.5) {
        g_usleep(100 * 1000);
    }
    g_mutex_lock(&t->lock);
    phases_compute(t->seen, t0, t1, r);
    g_mutex_unlock(&t->lock);
    return ok;
}

/* FPB_BENCH_KEEP_SERIALS=DIR: both consoles of every run are copied there
 * (the test bed's directory goes with it). */
static void keep_serials(FpbTestbedVm *const *vms, const char *driver)
{
    static guint run_no;
    const char *dir = g_getenv("FPB_BENCH_KEEP_SERIALS");
    run_no++;
    if (!dir || !*dir || g_mkdir_with_parents(dir, 0755) != 0) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        g_autofree char *text = NULL;
        gsize len = 0;
        if (vms[i] && g_file_get_contents(fpb_testbed_vm_serial_path(vms[i]), &text, &len, NULL)) {
            g_autofree char *name =
                g_strdup_printf("%02u-%s-%s.serial", run_no, driver, fpb_testbed_vm_name(vms[i]));
            g_autofree char *path = g_build_filename(dir, name, NULL);
            g_file_set_contents(path, text, len, NULL);
        }
    }
}

static gboolean run_once(const char *driver, RunRes *r, GError **error)
{
    memset(r, 0, sizeof(*r));
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(error);
    if (!tb) {
        return FALSE;
    }
    FpbTestbedGuest g;
    fpb_testbed_guest_init(&g);
    g.mem_mib = MEM_MIB;
    g.balloon_driver = driver;
    g.free_page_hint = TRUE;
    g.free_mib = FREE_MIB;
    g.hold_mib = HOLD_MIB;
    g_autofree char *pace = period_us() ? g_strdup_printf(":%u", period_us()) : g_strdup("");
    g_autofree char *append =
        g_strdup_printf("fpb.loglevel=7 fpb.trace=hint fpb.oomwatch=1 fpb.alloclat=%u%s "
                        "fpb.pagecache=%u",
                        chunk_kib(), pace, CACHE_MIB);
    g.extra_append = append;
    FpbTestbedVm *vms[2] = {NULL, NULL};
    vms[0] = fpb_testbed_start_source(tb, "src", &g, error);
    if (!vms[0] || !fpb_testbed_vm_wait_ready(vms[0], BOOT_TIMEOUT_S, error)) {
        return FALSE;
    }
    vms[1] = fpb_testbed_start_destination(tb, "dst", &g, FALSE, error);
    if (!vms[1]) {
        return FALSE;
    }
    Tail t;
    tail_start(&t, fpb_testbed_vm_serial_path(vms[0]), fpb_testbed_vm_serial_path(vms[1]));
    gboolean ok = migrate_and_watch(vms, &t, r, error);
    tail_stop(&t);
    hint_work(vms, g_str_equal(driver, "fpb"), r);
    keep_serials(vms, driver);
    r->verified = ok;
    return ok;
}

/* ---- the table ---- */

/* Median of one field over the completed runs; -1 when none has it. */
static double med(const RunRes *runs, guint n, gsize offset)
{
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(double));
    for (guint i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&runs[i] + offset);
        if (runs[i].completed && v >= 0) {
            g_array_append_val(a, v);
        }
    }
    if (a->len == 0) {
        return -1;
    }
    g_array_sort(a, cmp_double);
    return a->len % 2
               ? g_array_index(a, double, a->len / 2)
               : (g_array_index(a, double, a->len / 2 - 1) + g_array_index(a, double, a->len / 2)) /
                     2;
}

#define MED(runs, n, field) med(runs, n, G_STRUCT_OFFSET(RunRes, field))

/* One table cell of n values: " a / b / c |", "-" for a missing one. */
static void cell(const char *fmt, int n, double a, double b, double c)
{
    const double v[3] = {a, b, c};
    for (int i = 0; i < n; i++) {
        printf(i ? " / " : " ");
        if (v[i] >= 0) {
            printf(fmt, v[i]);
        } else {
            printf("-");
        }
    }
    printf(" |");
}

static void print_run(const char *driver, guint i, const RunRes *r, const GError *error)
{
    fprintf(stderr,
            "# %s run %u: %s, %.0f MB, %.2f s, load %.2f, hint work %.1f ms (%u), longest "
            "window before %.2f s, during %.2f s, after %.2f s, ",
            driver, i + 1, r->verified ? "verified" : "NOT VERIFIED", r->mb, r->mig_s, r->load1,
            r->hint_ms, r->hint_cmds, r->max_win_s[PH_BEFORE], r->max_win_s[PH_DURING],
            r->max_win_s[PH_AFTER]);
    for (int p = 0; p < PH_N; p++) {
        fprintf(stderr,
                "%s: %u win %u allocs p50 %.0f p99 %.0f max %.0f us %.1f allocs/s %.0f MB/s; ",
                phase_names[p], r->windows[p], r->samples[p], r->p50[p], r->p99[p], r->max[p],
                r->allocs_s[p], r->copy_mbs[p]);
        if (period_us()) {
            fprintf(stderr, "response p50 %.0f p99 %.0f max %.0f us; ", r->resp_p50[p],
                    r->resp_p99[p], r->resp_max[p]);
        }
    }
    fprintf(
        stderr,
        "MemFree %.0f/%.0f/%.0f MiB, Cached %.0f/%.0f/%.0f MiB, lost lines %u, oom_kill %u%s%s\n",
        r->memfree_before, r->memfree_min, r->memfree_after, r->cached_before, r->cached_min,
        r->cached_after, r->lost, r->oom_kills, error ? ": " : "", error ? error->message : "");
}

static void print_row(const char *driver, const RunRes *rs, guint n)
{
    guint verified = 0;
    for (guint i = 0; i < n; i++) {
        verified += rs[i].verified;
    }
    printf("| %s | %u/%u |", driver, verified, n);
    cell("%.0f", 2, MED(rs, n, p50[PH_BEFORE]), MED(rs, n, p50[PH_DURING]), 0);
    cell("%.0f", 3, MED(rs, n, p99[PH_BEFORE]), MED(rs, n, p99[PH_DURING]),
         MED(rs, n, p99[PH_AFTER]));
    cell("%.1f", 2, MED(rs, n, max[PH_BEFORE]) / 1e3, MED(rs, n, max[PH_DURING]) / 1e3, 0);
    if (period_us()) {
        cell("%.1f", 3, MED(rs, n, resp_p99[PH_BEFORE]) / 1e3,
             MED(rs, n, resp_p99[PH_DURING]) / 1e3, MED(rs, n, resp_p99[PH_AFTER]) / 1e3);
    }
    cell("%.0f", 2, MED(rs, n, allocs_s[PH_BEFORE]), MED(rs, n, allocs_s[PH_DURING]), 0);
    cell("%.0f", 2, MED(rs, n, copy_mbs[PH_BEFORE]), MED(rs, n, copy_mbs[PH_DURING]), 0);
    cell("%.0f", 3, MED(rs, n, memfree_before), MED(rs, n, memfree_min), MED(rs, n, memfree_after));
    cell("%.0f", 3, MED(rs, n, cached_before), MED(rs, n, cached_min), MED(rs, n, cached_after));
    cell("%.1f", 1, MED(rs, n, hint_ms), 0, 0);
    cell("%.2f", 2, MED(rs, n, max_win_s[PH_BEFORE]), MED(rs, n, max_win_s[PH_DURING]), 0);
    cell("%.0f", 1, MED(rs, n, mb), 0, 0);
    cell("%.2f", 1, MED(rs, n, mig_s), 0, 0);
    cell("%.2f", 1, MED(rs, n, load1), 0, 0);
    printf("\n");
}

static void goal_line(const char *what, double fpb99, double stock99)
{
    if (fpb99 > 0 && stock99 > 0) {
        printf("during the hint run, %s: fpb %.0f us, stock %.0f us, ratio %.3f (goal <= 0.2): "
               "%s\n",
               what, fpb99, stock99, fpb99 / stock99, fpb99 <= 0.2 * stock99 ? "met" : "missed");
    }
}

int main(void)
{
    g_autofree char *why = NULL;
    if (!drv_guest_has_module(&why)) {
        fprintf(stderr, "bench-guest-experience: %s\n", why);
        return 77;
    }
    guint runs = env_uint("FPB_BENCH_RUNS", 3);
    g_autofree char *version = NULL;
    if (!fpb_testbed_qemu_has_tcg_dirty_fix(&version)) {
        fprintf(stderr,
                "bench-guest-experience: warning: %s lacks the TCG dirty-tracking fix; hinted "
                "migrations may corrupt the destination (set FPB_QEMU to fpb's QEMU)\n",
                version);
    }
    const char *const drivers[] = {"fpb", "stock"};
    RunRes *res[2] = {g_new0(RunRes, runs), g_new0(RunRes, runs)};
    gboolean all_ok = TRUE;
    for (guint i = 0; i < runs; i++) {
        for (int d = 0; d < 2; d++) {
            g_autoptr(GError) error = NULL;
            all_ok &= run_once(drivers[d], &res[d][i], &error);
            print_run(drivers[d], i, &res[d][i], error);
        }
    }
    printf("\nbench-guest-experience: %u run(s) per driver, medians; %u MiB TCG guest, %u MiB "
           "written and freed, %u MiB held, %u MiB page cache, %u KiB allocations, %s; %s\n\n",
           runs, MEM_MIB, FREE_MIB, HOLD_MIB, CACHE_MIB, chunk_kib(),
           period_us() ? "paced (one due every FPB_BENCH_PERIOD_US)" : "closed loop", version);
    printf("| driver | verified | alloc p50 us before / during | alloc p99 us before / during / "
           "after | alloc max ms before / during |%s "
           "allocs/s before / during | copy MB/s before / "
           "during | MemFree MiB before / min during / after | Cached MiB before / min during / "
           "after | hint work ms (finished items) | longest 250 ms window s before / "
           "during | MB sent | migration s | load avg (1 min) |\n",
           period_us() ? " response p99 ms before / during / after |" : "");
    printf("| --- | --- | --- | --- | --- |%s --- | --- | --- | --- | --- | --- | --- | --- | --- "
           "| --- |\n",
           period_us() ? " --- |" : "");
    print_row("fpb", res[0], runs);
    print_row("stock", res[1], runs);
    printf("\n");
    goal_line("allocation p99", MED(res[0], runs, p99[PH_DURING]),
              MED(res[1], runs, p99[PH_DURING]));
    if (period_us()) {
        goal_line("response p99 (paced)", MED(res[0], runs, resp_p99[PH_DURING]),
                  MED(res[1], runs, resp_p99[PH_DURING]));
    }
    printf("during the hint run, the longest window (the probe did not run): fpb %.2f s, stock "
           "%.2f s\n",
           MED(res[0], runs, max_win_s[PH_DURING]), MED(res[1], runs, max_win_s[PH_DURING]));
    g_free(res[0]);
    g_free(res[1]);
    return all_ok ? 0 : 1;
}
