/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bench-report.h"
#include "fpb-qmp-json.h"

typedef enum { COL_STR, COL_NUM, COL_INT, COL_BOOL } ColType;

typedef struct {
    const char *name;
    ColType type;
    size_t offset;
} Column;

#define S(field, name)                                                                             \
    {                                                                                              \
        name, COL_STR, offsetof(BenchRun, field)                                                   \
    }
#define N(field, name)                                                                             \
    {                                                                                              \
        name, COL_NUM, offsetof(BenchRun, field)                                                   \
    }
#define B(field, name)                                                                             \
    {                                                                                              \
        name, COL_BOOL, offsetof(BenchRun, field)                                                  \
    }

/* One table for CSV and JSON, so both always carry the same fields. */
static const Column columns[] = {
    S(scenario, "scenario"),
    {"bandwidth_bytes_per_s", COL_INT, offsetof(BenchRun, bandwidth)},
    S(mode, "mode"),
    S(driver, "driver"),
    {"rep", COL_INT, offsetof(BenchRun, rep)},
    B(calibration, "calibration"),
    S(vm, "vm"),
    N(history_migrations, "history_migrations"),
    S(status, "status"),
    S(decided, "decided"),
    N(bytes, "bytes"),
    N(normal_pages, "normal_pages"),
    N(zero_pages, "zero_pages"),
    N(syncs, "dirty_syncs"),
    N(downtime_ms, "downtime_ms"),
    N(prep_s, "prep_s"),
    N(mig_s, "migrate_s"),
    N(restore_s, "restore_s"),
    N(total_s, "total_s"),
    N(taken_bytes, "balloon_taken_bytes"),
    N(hint_reported_bytes, "hint_reported_bytes"),
    N(hint_cleared_bytes, "hint_cleared_bytes"),
    N(impact_mib_s, "guest_impact_mib_s"),
    N(pred_bytes, "pred_bytes"),
    N(pred_prep_s, "pred_prep_s"),
    N(pred_mig_s, "pred_migrate_s"),
    N(pred_restore_s, "pred_restore_s"),
    N(pred_total_s, "pred_total_s"),
    N(pred_impact_mib_s, "pred_guest_impact_mib_s"),
    B(verified, "verified"),
    N(wall_s, "wall_s"),
    S(qemu_version, "qemu_version"),
    S(reason, "reason"),
};

static const char *col_str(const BenchRun *r, const Column *c)
{
    return *(char *const *)((const char *)r + c->offset);
}

static double col_num(const BenchRun *r, const Column *c)
{
    const char *p = (const char *)r + c->offset;

    switch (c->type) {
    case COL_NUM:
        return *(const double *)p;
    case COL_INT:
        return c->offset == offsetof(BenchRun, rep) ? *(const guint *)p : *(const gint64 *)p;
    case COL_BOOL:
        return *(const gboolean *)p;
    default:
        g_assert_not_reached();
    }
}

static void csv_cell(GString *s, const BenchRun *r, const Column *c)
{
    if (c->type == COL_STR) {
        const char *v = col_str(r, c);
        g_autofree char *q = NULL;

        if (v != NULL) {
            g_auto(GStrv) parts = g_strsplit(v, "\"", -1);
            q = g_strjoinv("\"\"", parts);
            g_string_append_printf(s, "\"%s\"", q);
        }
        return;
    }
    double v = col_num(r, c);
    if (c->type == COL_BOOL) {
        g_string_append(s, v != 0 ? "true" : "false");
    } else if (v >= 0) {
        g_string_append_printf(s, "%.15g", c->type == COL_NUM ? round(v * 1000) / 1000 : v);
    }
}

gboolean bench_report_write_csv(GPtrArray *runs, const char *path, GError **error)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(columns); i++) {
        g_string_append_printf(s, "%s%s", i ? "," : "", columns[i].name);
    }
    g_string_append_c(s, '\n');
    for (guint r = 0; r < runs->len; r++) {
        for (gsize i = 0; i < G_N_ELEMENTS(columns); i++) {
            if (i > 0) {
                g_string_append_c(s, ',');
            }
            csv_cell(s, runs->pdata[r], &columns[i]);
        }
        g_string_append_c(s, '\n');
    }
    return g_file_set_contents(path, s->str, (gssize)s->len, error);
}

static json_object *run_to_json(const BenchRun *r)
{
    json_object *o = json_object_new_object();

    for (gsize i = 0; i < G_N_ELEMENTS(columns); i++) {
        const Column *c = &columns[i];
        json_object *v = NULL;

        if (c->type == COL_STR) {
            v = col_str(r, c) ? json_object_new_string(col_str(r, c)) : NULL;
        } else if (c->type == COL_BOOL) {
            v = json_object_new_boolean(col_num(r, c) != 0);
        } else if (c->type == COL_INT) {
            v = json_object_new_int64((gint64)col_num(r, c));
        } else if (col_num(r, c) >= 0) {
            double d = round(col_num(r, c) * 1000) / 1000;
            /* counts stay integers in JSON */
            v = d == floor(d) && d < 9e15 ? json_object_new_int64((gint64)d)
                                          : json_object_new_double(d);
        }
        json_object_object_add(o, c->name, v);
    }
    return o;
}

gboolean bench_report_write_json(GPtrArray *runs, json_object *meta, const char *path,
                                 GError **error)
{
    g_autoptr(json_object) top = json_object_new_object();
    json_object *arr = json_object_new_array();

    json_object_object_add(top, "meta", json_object_get(meta));
    for (guint r = 0; r < runs->len; r++) {
        json_object_array_add(arr, run_to_json(runs->pdata[r]));
    }
    json_object_object_add(top, "runs", arr);
    const char *text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    g_autofree char *line = g_strconcat(text, "\n", NULL);
    return g_file_set_contents(path, line, -1, error);
}

char *bench_report_bandwidth_label(gint64 bandwidth)
{
    return bandwidth > 0 ? g_strdup_printf("%.0f MB/s", bandwidth / 1e6) : g_strdup("unlimited");
}

static gboolean migrated(const BenchRun *r)
{
    return r->bytes >= 0 && r->mig_s >= 0 &&
           (g_str_equal(r->status, "ok") || g_str_equal(r->status, "corrupted") ||
            g_str_equal(r->status, "unverified"));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median of one field over the cell's migrated runs; -1 if none. */
static double median_of(GPtrArray *rows, size_t offset)
{
    g_autoptr(GArray) v = g_array_new(FALSE, FALSE, sizeof(double));

    for (guint i = 0; i < rows->len; i++) {
        double d = *(const double *)((const char *)rows->pdata[i] + offset);
        if (d >= 0) {
            g_array_append_val(v, d);
        }
    }
    if (v->len == 0) {
        return -1;
    }
    qsort(v->data, v->len, sizeof(double), cmp_double);
    double *d = (double *)v->data;
    return v->len % 2 ? d[v->len / 2] : (d[v->len / 2 - 1] + d[v->len / 2]) / 2;
}

#define MEDIAN(cell, rows, field) ((cell)->field = median_of((rows), offsetof(BenchRun, field)))

static void cell_fill(BenchCell *c, GPtrArray *all)
{
    g_autoptr(GPtrArray) ok = g_ptr_array_new();

    for (guint i = 0; i < all->len; i++) {
        BenchRun *r = all->pdata[i];
        c->runs++;
        c->verified += r->verified;
        c->corrupted += g_str_equal(r->status, "corrupted");
        if (migrated(r)) {
            g_ptr_array_add(ok, r);
        }
    }
    BenchRun *first = ok->len ? ok->pdata[ok->len / 2] : all->pdata[0];
    c->migrated = ok->len;
    c->status = ok->len ? "ok" : first->status;
    c->reason = ok->len ? NULL : first->reason;
    c->decided = first->decided;
    MEDIAN(c, ok, bytes);
    MEDIAN(c, ok, normal_pages);
    MEDIAN(c, ok, zero_pages);
    MEDIAN(c, ok, syncs);
    MEDIAN(c, ok, downtime_ms);
    MEDIAN(c, ok, prep_s);
    MEDIAN(c, ok, mig_s);
    MEDIAN(c, ok, restore_s);
    MEDIAN(c, ok, total_s);
    MEDIAN(c, ok, impact_mib_s);
    MEDIAN(c, ok, pred_bytes);
    MEDIAN(c, ok, pred_total_s);
}

static gboolean same_cell(const BenchCell *c, const BenchRun *r)
{
    return g_str_equal(c->scenario, r->scenario) && g_str_equal(c->mode, r->mode) &&
           c->bandwidth == r->bandwidth;
}

GPtrArray *bench_report_cells(GPtrArray *runs)
{
    GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < runs->len; i++) {
        BenchRun *r = runs->pdata[i];
        gboolean seen = FALSE;

        for (guint j = 0; j < cells->len && !seen; j++) {
            seen = same_cell(cells->pdata[j], r);
        }
        if (r->calibration || seen) {
            continue;
        }
        BenchCell *c = g_new0(BenchCell, 1);
        g_autoptr(GPtrArray) mine = g_ptr_array_new();
        c->scenario = r->scenario;
        c->mode = r->mode;
        c->bandwidth = r->bandwidth;
        for (guint k = i; k < runs->len; k++) {
            BenchRun *o = runs->pdata[k];
            if (!o->calibration && same_cell(c, o)) {
                g_ptr_array_add(mine, o);
            }
        }
        cell_fill(c, mine);
        g_ptr_array_add(cells, c);
    }
    return cells;
}

static char *fmt(double v, const char *format, double scale)
{
    return v < 0 ? g_strdup("–") : g_strdup_printf(format, v / scale);
}

static void md_cell_row(GString *s, const BenchCell *c)
{
    g_autofree char *bw = bench_report_bandwidth_label(c->bandwidth);
    g_autofree char *mb = fmt(c->bytes, "%.0f", 1e6), *np = fmt(c->normal_pages, "%.0f", 1);
    g_autofree char *zp = fmt(c->zero_pages, "%.0f", 1), *sy = fmt(c->syncs, "%.0f", 1);
    g_autofree char *pr = fmt(c->prep_s, "%.1f", 1), *mi = fmt(c->mig_s, "%.1f", 1);
    g_autofree char *re = fmt(c->restore_s, "%.1f", 1), *to = fmt(c->total_s, "%.1f", 1);
    g_autofree char *dt = fmt(c->downtime_ms, "%.0f", 1), *im = fmt(c->impact_mib_s, "%.0f", 1);
    g_autofree char *pb = fmt(c->pred_bytes, "%.0f", 1e6), *pt = fmt(c->pred_total_s, "%.1f", 1);
    gboolean is_auto = g_str_equal(c->mode, "auto");
    g_autofree char *note = c->migrated
                                ? g_strdup_printf("%u/%u verified%s", c->verified, c->runs,
                                                  c->corrupted ? ", CORRUPTED" : "")
                                : g_strdup_printf("%s: %s", c->status, c->reason ? c->reason : "");

    g_string_append_printf(s,
                           "| %s | %s | %s%s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
                           "| %s | %s / %s | %s |\n",
                           c->scenario, bw, is_auto ? "**" : "", c->mode, is_auto ? "**" : "",
                           c->decided ? c->decided : "–", mb, np, zp, sy, pr, mi, re, to, dt, im,
                           pb, pt, note);
}

char *bench_report_markdown(GPtrArray *cells, GPtrArray *runs)
{
    GString *s = g_string_new(NULL);
    g_autofree char *derived = bench_report_derived(cells, runs);

    g_string_append(s, "| scenario | bandwidth | mode | decided | MB sent | normal pages | "
                       "zero pages | syncs | prep s | migrate s | restore s | total s | "
                       "downtime ms | balloon MiB·s | predicted MB / total s | destination |\n");
    g_string_append(s, "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | "
                       "---: | ---: | ---: | ---: | ---: | --- |\n");
    for (guint i = 0; i < cells->len; i++) {
        md_cell_row(s, cells->pdata[i]);
    }
    g_string_append_printf(s,
                           "\nMedians over the repetitions whose migration completed "
                           "(calibration runs excluded). MB = 10^6 bytes.\n\n%s",
                           derived);
    return g_string_free(s, FALSE);
}

typedef struct {
    double bytes_med, bytes_max, time_med, time_max;
    guint n;
} PredError;

static double rel_err(double pred, double actual)
{
    return fabs(pred - actual) / actual;
}

static void prediction_error(GPtrArray *runs, const char *scenario, gint64 bw, PredError *ret)
{
    g_autoptr(GArray) eb = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) et = g_array_new(FALSE, FALSE, sizeof(double));

    for (guint i = 0; i < runs->len; i++) {
        BenchRun *r = runs->pdata[i];
        if (r->calibration || !migrated(r) || (scenario && !g_str_equal(r->scenario, scenario)) ||
            (scenario && r->bandwidth != bw) || r->pred_bytes < 0 || r->pred_total_s < 0 ||
            r->bytes <= 0 || r->total_s <= 0) {
            continue;
        }
        double b = rel_err(r->pred_bytes, r->bytes), t = rel_err(r->pred_total_s, r->total_s);
        g_array_append_val(eb, b);
        g_array_append_val(et, t);
    }
    ret->n = eb->len;
    qsort(eb->data, eb->len, sizeof(double), cmp_double);
    qsort(et->data, et->len, sizeof(double), cmp_double);
    ret->bytes_med = eb->len ? g_array_index(eb, double, eb->len / 2) : -1;
    ret->bytes_max = eb->len ? g_array_index(eb, double, eb->len - 1) : -1;
    ret->time_med = et->len ? g_array_index(et, double, et->len / 2) : -1;
    ret->time_max = et->len ? g_array_index(et, double, et->len - 1) : -1;
}

static guint failures(GPtrArray *runs, const char *scenario, gint64 bw, const char *status)
{
    guint n = 0;

    for (guint i = 0; i < runs->len; i++) {
        BenchRun *r = runs->pdata[i];
        n += g_str_equal(r->status, status) &&
             (!scenario || (g_str_equal(r->scenario, scenario) && r->bandwidth == bw));
    }
    return n;
}

typedef struct {
    const BenchCell *auto_cell, *best, *floor;
} GroupBest;

static void group_best(GPtrArray *cells, const BenchCell *head, GroupBest *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (guint i = 0; i < cells->len; i++) {
        const BenchCell *c = cells->pdata[i];
        if (!g_str_equal(c->scenario, head->scenario) || c->bandwidth != head->bandwidth ||
            c->total_s < 0) {
            continue;
        }
        if (g_str_equal(c->mode, "auto")) {
            ret->auto_cell = c;
        } else if (ret->best == NULL || c->total_s < ret->best->total_s) {
            ret->best = c;
        }
        if (ret->floor == NULL || c->bytes < ret->floor->bytes) {
            ret->floor = c;
        }
    }
}

static char *pct(double v)
{
    return v < 0 ? g_strdup("–") : g_strdup_printf("%.0f%%", v * 100);
}

static void derived_row(GString *s, GPtrArray *cells, GPtrArray *runs, const BenchCell *head)
{
    GroupBest g;
    PredError e;
    g_autofree char *bw = bench_report_bandwidth_label(head->bandwidth);

    group_best(cells, head, &g);
    prediction_error(runs, head->scenario, head->bandwidth, &e);
    g_autofree char *ratio_t =
        g.auto_cell && g.best
            ? g_strdup_printf("%.2f (best: %s %.1f s)", g.auto_cell->total_s / g.best->total_s,
                              g.best->mode, g.best->total_s)
            : g_strdup("–");
    g_autofree char *ratio_b =
        g.auto_cell && g.floor && g.floor->bytes > 0
            ? g_strdup_printf("%.2f (floor: %s %.0f MB)", g.auto_cell->bytes / g.floor->bytes,
                              g.floor->mode, g.floor->bytes / 1e6)
            : g_strdup("–");
    g_autofree char *bm = pct(e.bytes_med), *bx = pct(e.bytes_max);
    g_autofree char *tm = pct(e.time_med), *tx = pct(e.time_max);

    g_string_append_printf(
        s, "| %s | %s | %s | %s | %s | %s / %s | %s / %s | %u | %u | %u |\n", head->scenario, bw,
        g.auto_cell && g.auto_cell->decided ? g.auto_cell->decided : "–", ratio_t, ratio_b, bm, bx,
        tm, tx, e.n, failures(runs, head->scenario, head->bandwidth, "corrupted"),
        failures(runs, head->scenario, head->bandwidth, "unverified"));
}

char *bench_report_derived(GPtrArray *cells, GPtrArray *runs)
{
    GString *s = g_string_new(NULL);
    PredError all;

    g_string_append(s, "| scenario | bandwidth | auto picked | auto total s ÷ best | "
                       "auto bytes ÷ floor | prediction error bytes, median / max | "
                       "prediction error total s, median / max | runs judged | "
                       "integrity failures | unverified |\n"
                       "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: |\n");
    for (guint i = 0; i < cells->len; i++) {
        const BenchCell *c = cells->pdata[i];
        gboolean first = TRUE;
        for (guint j = 0; j < i && first; j++) {
            const BenchCell *p = cells->pdata[j];
            first = !(g_str_equal(p->scenario, c->scenario) && p->bandwidth == c->bandwidth);
        }
        if (first) {
            derived_row(s, cells, runs, c);
        }
    }
    prediction_error(runs, NULL, 0, &all);
    g_autofree char *bm = pct(all.bytes_med), *bx = pct(all.bytes_max);
    g_autofree char *tm = pct(all.time_med), *tx = pct(all.time_max);
    g_string_append_printf(
        s,
        "\nAll runs: prediction error bytes %s median, %s max; total time %s "
        "median, %s max (%u runs, calibration runs not counted); integrity failures "
        "%u (calibration runs included); unverified %u; failed %u; "
        "refused %u; skipped %u.\n",
        bm, bx, tm, tx, all.n, failures(runs, NULL, 0, "corrupted"),
        failures(runs, NULL, 0, "unverified"), failures(runs, NULL, 0, "failed"),
        failures(runs, NULL, 0, "refused"), failures(runs, NULL, 0, "skipped"));
    return g_string_free(s, FALSE);
}
