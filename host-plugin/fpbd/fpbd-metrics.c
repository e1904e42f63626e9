/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's metrics (fpbd-metrics.h): one pass over the journal's rows fills
 * a table of series per metric family, which is then printed sorted by
 * labels, so the same rows always give the same text. Values are kept as
 * integers: bytes, and seconds or ratios in millionths (a duration is
 * end_us - start_us, exactly), printed as exact decimals.
 */
#define G_LOG_DOMAIN "fpbd"

#include <math.h>
#include <string.h>

#include "fpbd-metrics.h"

#define MICRO G_GINT64_CONSTANT(1000000)
/* A ratio above this (a prediction of a few bytes) is counted as this. */
#define MAX_RATIO 1000000.0

typedef struct {
    const char *le; /* the bound as printed in the le label */
    gint64 micro;   /* the bound in millionths */
} Bucket;

/* A migration of fpb takes seconds to many minutes (balloon preparation,
 * TCG guests, a slow link). */
static const Bucket duration_buckets[] = {
    {"1", 1 * MICRO},     {"2.5", 2500000},       {"5", 5 * MICRO},       {"10", 10 * MICRO},
    {"30", 30 * MICRO},   {"60", 60 * MICRO},     {"120", 120 * MICRO},   {"300", 300 * MICRO},
    {"600", 600 * MICRO}, {"1800", 1800 * MICRO}, {"3600", 3600 * MICRO},
};
/* QEMU's default downtime-limit is 300 ms: bounds around it. */
static const Bucket downtime_buckets[] = {
    {"0.01", 10000}, {"0.025", 25000}, {"0.05", 50000},  {"0.1", 100000},  {"0.25", 250000},
    {"0.5", 500000}, {"1", MICRO},     {"2.5", 2500000}, {"5", 5 * MICRO}, {"10", 10 * MICRO},
};
/* actual / predicted bytes: 1 is a perfect prediction. */
static const Bucket ratio_buckets[] = {
    {"0.5", 500000},  {"0.75", 750000},  {"0.9", 900000},  {"0.95", 950000}, {"1.05", 1050000},
    {"1.1", 1100000}, {"1.25", 1250000}, {"1.5", 1500000}, {"2", 2 * MICRO}, {"4", 4 * MICRO},
};

#define MAX_BUCKETS 12

typedef struct {
    guint64 cumulative[MAX_BUCKETS]; /* observations <= the bucket's bound */
    guint64 count;
    gint64 sum_micro;
} Histogram;

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    gboolean micro;        /* values in millionths (seconds, ratios) */
    const Bucket *buckets; /* histograms */
    gsize n_buckets;
} Family;

enum {
    F_MIGRATIONS,
    F_SENT,
    F_SAVED,
    F_EXCESS,
    F_DURATION,
    F_DOWNTIME,
    F_RATIO,
    F_LAST_RATIO,
    F_TAKEN,
    F_UNRESTORED,
    F_RECOVERIES,
    F_ROWS,
    N_FAMILIES,
};

#define HISTOGRAM(b) TRUE, b, G_N_ELEMENTS(b)

/* docs/metrics.md describes each; the order here is the output's. */
static const Family families[N_FAMILIES] = {
    [F_MIGRATIONS] = {"fpb_migrations_total", "counter",
                      "Migration attempts that ended, by VM, mode and outcome (journal phase).",
                      FALSE, NULL, 0},
    [F_SENT] = {"fpb_migration_sent_bytes_total", "counter",
                "Bytes migrations sent (QEMU's ram transferred), by VM and mode.", FALSE, NULL, 0},
    [F_SAVED] = {"fpb_migration_saved_bytes_total", "counter",
                 "Bytes completed migrations sent less than predicted for mode none.", FALSE, NULL,
                 0},
    [F_EXCESS] = {"fpb_migration_excess_bytes_total", "counter",
                  "Bytes completed migrations sent beyond the prediction for mode none.", FALSE,
                  NULL, 0},
    [F_DURATION] = {"fpb_migration_duration_seconds", "histogram",
                    "Completed migrations from start to end (preparation, migration, restore).",
                    HISTOGRAM(duration_buckets)},
    [F_DOWNTIME] = {"fpb_migration_downtime_seconds", "histogram",
                    "Guest downtime of completed migrations, as QEMU reports it.",
                    HISTOGRAM(downtime_buckets)},
    [F_RATIO] = {"fpb_migration_bytes_prediction_ratio", "histogram",
                 "Bytes sent divided by the bytes predicted for the mode used.",
                 HISTOGRAM(ratio_buckets)},
    [F_LAST_RATIO] = {"fpb_migration_last_bytes_prediction_ratio", "gauge",
                      "Bytes sent divided by the bytes predicted, of the VM's latest completed "
                      "migration with a prediction.",
                      TRUE, NULL, 0},
    [F_TAKEN] = {"fpb_balloon_taken_bytes", "gauge",
                 "Guest memory balloons hold for migrations in progress (open journal rows).",
                 FALSE, NULL, 0},
    [F_UNRESTORED] = {"fpb_balloon_unrestored_bytes", "gauge",
                      "Guest memory the VM's latest migration took and could not give back.", FALSE,
                      NULL, 0},
    [F_RECOVERIES] = {"fpb_recoveries_total", "counter",
                      "Journal rows left open by a dead process and recovered later.", FALSE, NULL,
                      0},
    [F_ROWS] = {"fpb_journal_rows", "gauge", "Migration rows in the journal the metrics are from.",
                FALSE, NULL, 0},
};

typedef struct {
    /* per family: label text -> gint64 * (counters, gauges) or Histogram * */
    GHashTable *series[N_FAMILIES];
    GHashTable *latest;       /* vm -> its newest row (borrowed) */
    GHashTable *latest_ratio; /* vm -> its newest row with a prediction ratio */
} Metrics;

static gint64 sat_add(gint64 a, gint64 b)
{
    return b > 0 && a > G_MAXINT64 - b ? G_MAXINT64 : a + b;
}

/* `"value"` escaped as the text format wants: \\, \" and \n. */
static void append_label(GString *s, const char *name, const char *value)
{
    g_autofree char *valid = g_utf8_make_valid(value != NULL ? value : "", -1);

    g_string_append_printf(s, "%s%s=\"", s->len > 0 ? "," : "", name);
    for (const char *p = valid; *p != '\0'; p++) {
        if (*p == '\\') {
            g_string_append(s, "\\\\");
        } else if (*p == '"') {
            g_string_append(s, "\\\"");
        } else if (*p == '\n') {
            g_string_append(s, "\\n");
        } else {
            g_string_append_c(s, *p);
        }
    }
    g_string_append_c(s, '"');
}

/* Label text from NULL-terminated name, value pairs. (transfer full) */
static char *labels(const char *name, ...) G_GNUC_NULL_TERMINATED;

static char *labels(const char *name, ...)
{
    GString *s = g_string_new(NULL);
    va_list ap;

    va_start(ap, name);
    for (const char *n = name; n != NULL; n = va_arg(ap, const char *)) {
        append_label(s, n, va_arg(ap, const char *));
    }
    va_end(ap);
    return g_string_free(s, FALSE);
}

static gpointer series(Metrics *m, int family, char *owned_labels)
{
    gpointer v = g_hash_table_lookup(m->series[family], owned_labels);

    if (v == NULL) {
        v = families[family].buckets != NULL ? (gpointer)g_new0(Histogram, 1)
                                             : (gpointer)g_new0(gint64, 1);
        g_hash_table_insert(m->series[family], owned_labels, v);
    } else {
        g_free(owned_labels);
    }
    return v;
}

static void add(Metrics *m, int family, char *owned_labels, gint64 v)
{
    gint64 *p = series(m, family, owned_labels);

    *p = sat_add(*p, v);
}

static void set(Metrics *m, int family, char *owned_labels, gint64 v)
{
    *(gint64 *)series(m, family, owned_labels) = v;
}

static void observe(Metrics *m, int family, char *owned_labels, gint64 micro)
{
    Histogram *h = series(m, family, owned_labels);
    const Family *f = &families[family];

    for (gsize i = 0; i < f->n_buckets; i++) {
        h->cumulative[i] += micro <= f->buckets[i].micro;
    }
    h->count++;
    h->sum_micro = sat_add(h->sum_micro, micro);
}

/* The mode label: the decided mode; "observed" for a migration fpbd only
 * recorded; "undecided" for a row refused before a decision. */
static const char *mode_of(const FpbOutcome *o)
{
    if (o->mode != NULL && *o->mode != '\0') {
        return o->mode;
    }
    return g_strcmp0(o->requested_mode, "observed") == 0 ? "observed" : "undecided";
}

/* predictions.MODE.bytes, -1 when unknown. */
static gint64 predicted_bytes(const FpbOutcome *o, const char *mode)
{
    json_object *p = NULL;
    json_object *bytes = NULL;

    if (o->predictions == NULL || !json_object_is_type(o->predictions, json_type_object) ||
        !json_object_object_get_ex(o->predictions, mode, &p) ||
        !json_object_object_get_ex(p, "bytes", &bytes) ||
        !json_object_is_type(bytes, json_type_int)) {
        return -1;
    }
    return MAX(json_object_get_int64(bytes), -1);
}

static gint64 ratio_micro(gint64 actual, gint64 predicted)
{
    double r = MIN((double)actual / (double)predicted, MAX_RATIO);

    return (gint64)llround(r * MICRO);
}

/* A completed migration: savings, times, the prediction's error. */
static void account_done(Metrics *m, const FpbOutcome *o, const char *vm, const char *mode)
{
    gint64 sent = o->mig_transferred_bytes;
    gint64 none = predicted_bytes(o, "none");
    gint64 predicted = predicted_bytes(o, mode);

    if (sent >= 0 && none >= 0) {
        add(m, F_SAVED, labels("vm", vm, "mode", mode, NULL), MAX(none - sent, 0));
        add(m, F_EXCESS, labels("vm", vm, "mode", mode, NULL), MAX(sent - none, 0));
    }
    if (o->start_us > 0 && o->end_us >= o->start_us) {
        observe(m, F_DURATION, labels("mode", mode, NULL), o->end_us - o->start_us);
    }
    if (o->mig_downtime_ms >= 0 && o->mig_downtime_ms < G_MAXINT64 / 1000) {
        observe(m, F_DOWNTIME, labels("mode", mode, NULL), o->mig_downtime_ms * 1000);
    }
    if (sent >= 0 && predicted > 0) {
        observe(m, F_RATIO, labels("mode", mode, NULL), ratio_micro(sent, predicted));
        g_hash_table_insert(m->latest_ratio, (gpointer)vm, (gpointer)o);
    }
}

/* What an open row's balloon holds: original - reached; while the
 * inflation runs (reached not yet written) what it was asked to take. */
static gint64 taken_bytes(const FpbOutcome *o)
{
    gint64 low = o->prep_reached_bytes >= 0 ? o->prep_reached_bytes : o->prep_target_bytes;

    if (o->prep_original_bytes < 0 || low < 0 ||
        (o->prep_reached_bytes < 0 && g_strcmp0(o->phase, FPB_PHASE_PREPARING) != 0)) {
        return 0;
    }
    return MAX(o->prep_original_bytes - low, 0);
}

static void account_row(Metrics *m, const FpbOutcome *o)
{
    const char *vm = o->vm != NULL ? o->vm : "";
    const char *mode = mode_of(o);

    g_hash_table_insert(m->latest, (gpointer)vm, (gpointer)o);
    if (fpb_outcome_phase_is_open(o->phase)) {
        add(m, F_TAKEN, labels("vm", vm, NULL), taken_bytes(o));
        return;
    }
    add(m, F_MIGRATIONS,
        labels("vm", vm, "mode", mode, "outcome", o->phase != NULL ? o->phase : "unknown", NULL),
        1);
    if (o->mig_transferred_bytes >= 0) {
        add(m, F_SENT, labels("vm", vm, "mode", mode, NULL), o->mig_transferred_bytes);
    }
    if (g_strcmp0(o->phase, FPB_PHASE_DONE) == 0) {
        account_done(m, o, vm, mode);
    }
    if (g_strcmp0(o->phase, FPB_PHASE_RECOVERED) == 0) {
        add(m, F_RECOVERIES, labels("vm", vm, NULL), 1);
    }
}

/* The "last" gauges, from each VM's newest rows. */
static void account_latest(Metrics *m)
{
    GHashTableIter it;
    gpointer vm;
    gpointer row;

    g_hash_table_iter_init(&it, m->latest_ratio);
    while (g_hash_table_iter_next(&it, &vm, &row)) {
        const FpbOutcome *o = row;

        set(m, F_LAST_RATIO, labels("vm", vm, "mode", mode_of(o), NULL),
            ratio_micro(o->mig_transferred_bytes, predicted_bytes(o, mode_of(o))));
    }
    g_hash_table_iter_init(&it, m->latest);
    while (g_hash_table_iter_next(&it, &vm, &row)) {
        const FpbOutcome *o = row;
        gboolean left = g_strcmp0(o->restore_status, "failed") == 0 ||
                        g_strcmp0(o->restore_status, "partial") == 0;

        if (left && !fpb_outcome_phase_is_open(o->phase) && o->restore_final_bytes >= 0 &&
            o->prep_original_bytes > o->restore_final_bytes) {
            set(m, F_UNRESTORED, labels("vm", vm, NULL),
                o->prep_original_bytes - o->restore_final_bytes);
        }
    }
}

static void append_micro(GString *s, gint64 v)
{
    guint64 a = v < 0 ? -(guint64)v : (guint64)v;

    g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, v < 0 ? "-" : "", a / (guint64)MICRO);
    if (a % (guint64)MICRO == 0) {
        return;
    }
    g_string_append_printf(s, ".%06u", (guint)(a % (guint64)MICRO));
    while (s->str[s->len - 1] == '0') {
        g_string_truncate(s, s->len - 1);
    }
}

static void append_sample(GString *s, const char *name, const char *suffix, const char *lbl,
                          const char *extra)
{
    gboolean any = *lbl != '\0' || extra != NULL;

    g_string_append_printf(s, "%s%s%s%s%s%s%s ", name, suffix, any ? "{" : "", lbl,
                           *lbl != '\0' && extra != NULL ? "," : "", extra ? extra : "",
                           any ? "}" : "");
}

static void append_histogram(GString *s, const Family *f, const char *lbl, const Histogram *h)
{
    for (gsize i = 0; i < f->n_buckets; i++) {
        g_autofree char *le = g_strdup_printf("le=\"%s\"", f->buckets[i].le);

        append_sample(s, f->name, "_bucket", lbl, le);
        g_string_append_printf(s, "%" G_GUINT64_FORMAT "\n", h->cumulative[i]);
    }
    append_sample(s, f->name, "_bucket", lbl, "le=\"+Inf\"");
    g_string_append_printf(s, "%" G_GUINT64_FORMAT "\n", h->count);
    append_sample(s, f->name, "_sum", lbl, NULL);
    append_micro(s, h->sum_micro);
    g_string_append_c(s, '\n');
    append_sample(s, f->name, "_count", lbl, NULL);
    g_string_append_printf(s, "%" G_GUINT64_FORMAT "\n", h->count);
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append_family(GString *s, const Family *f, GHashTable *table)
{
    guint n = 0;
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array(table, &n);

    if (n == 0) {
        return; /* as client libraries do: no series, no family */
    }
    qsort(keys, n, sizeof(*keys), compare_strings);
    g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
    for (guint i = 0; i < n; i++) {
        gpointer v = g_hash_table_lookup(table, keys[i]);

        if (f->buckets != NULL) {
            append_histogram(s, f, keys[i], v);
            continue;
        }
        append_sample(s, f->name, "", keys[i], NULL);
        if (f->micro) {
            append_micro(s, *(gint64 *)v);
        } else {
            g_string_append_printf(s, "%" G_GINT64_FORMAT, *(gint64 *)v);
        }
        g_string_append_c(s, '\n');
    }
}

char *fpbd_metrics_render(GPtrArray *rows)
{
    Metrics m = {0};
    GString *s = g_string_new(NULL);

    for (int f = 0; f < N_FAMILIES; f++) {
        m.series[f] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    m.latest = g_hash_table_new(g_str_hash, g_str_equal);
    m.latest_ratio = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < rows->len; i++) {
        account_row(&m, rows->pdata[i]);
    }
    account_latest(&m);
    set(&m, F_ROWS, g_strdup(""), rows->len);
    for (int f = 0; f < N_FAMILIES; f++) {
        append_family(s, &families[f], m.series[f]);
        g_hash_table_unref(m.series[f]);
    }
    g_hash_table_unref(m.latest);
    g_hash_table_unref(m.latest_ratio);
    return g_string_free(s, FALSE);
}

char *fpbd_metrics_render_journal(FpbJournal *journal, GError **error)
{
    g_autoptr(GPtrArray) rows = fpb_journal_list_summary(journal, 0, error);

    return rows != NULL ? fpbd_metrics_render(rows) : NULL;
}

gboolean fpbd_metrics_write_textfile(const char *path, const char *text, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local)) {
        g_set_error(error, G_FILE_ERROR, local->code, "metrics textfile '%s': %s", path,
                    local->message);
        return FALSE;
    }
    return TRUE;
}
