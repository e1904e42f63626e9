/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's metrics renderer (host-plugin/fpbd/fpbd-metrics.h) on a temporary
 * journal of hand-made rows: exact lines, label escaping, the mode and
 * outcome labels, savings both ways, histogram buckets (cumulative, +Inf
 * equal to _count), the gauges of open and unrestored rows; then promtool
 * (Debian's prometheus package) must accept the text: a missing promtool
 * fails the test, CI installs it (scripts/install-deps). The textfile
 * writer: atomic replacement, mode 0644, errors naming the file.
 */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fpbd-metrics.h"

static char *dir;

typedef struct {
    const char *vm;
    const char *phase;
    const char *mode;
    const char *requested;
    gint64 duration_ms;
    gint64 sent;
    gint64 downtime_ms;
    const char *predictions;
} Row;

static FpbOutcome *row_new(const Row *r)
{
    FpbOutcome *o = fpb_outcome_new();

    fpb_outcome_set(&o->vm, r->vm);
    fpb_outcome_set(&o->phase, r->phase);
    fpb_outcome_set(&o->mode, r->mode);
    fpb_outcome_set(&o->requested_mode, r->requested ? r->requested : "auto");
    o->start_us = 1700000000000000;
    o->end_us = r->duration_ms >= 0 ? o->start_us + r->duration_ms * 1000 : -1;
    o->mig_transferred_bytes = r->sent;
    o->mig_downtime_ms = r->downtime_ms;
    o->predictions = r->predictions ? json_tokener_parse(r->predictions) : NULL;
    return o;
}

static void insert(FpbJournal *j, FpbOutcome *o)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(fpb_journal_insert(j, o, &error));
    g_assert_no_error(error);
}

/* The weird VM name: a quote, a backslash, a newline. */
#define WEIRD "q\"b\\c\nd"

static FpbJournal *sample_journal(const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    FpbJournal *j = fpb_journal_open(path, &error);
    const Row rows[] = {
        /* 3 s, 600 of 1000 predicted for none: 400 saved; ratio 600/500 */
        {"a", "done", "balloon", NULL, 3000, 600, 50,
         "{\"none\":{\"bytes\":1000},\"balloon\":{\"bytes\":500}}"},
        /* 40 s, 1200 sent against 1000 for none: 200 excess; ratio 0.8 */
        {"a", "done", "balloon", NULL, 40000, 1200, 300,
         "{\"none\":{\"bytes\":1000},\"balloon\":{\"bytes\":1500}}"},
        /* failed: bytes counted, no savings, no times */
        {"a", "failed", "hint", NULL, 1000, 100, 7, "{\"none\":{\"bytes\":1000}}"},
        {WEIRD, "done", NULL, "observed", 2000, 5000, 5, NULL},
        {"c", "refused", NULL, "auto", 0, -1, -1, NULL},
        {"c", "recovered", "balloon", NULL, 9000, -1, -1, NULL},
        {"d", "migrating", "balloon", NULL, -1, -1, -1, NULL},
        {"e", "preparing", "balloon", NULL, -1, -1, -1, NULL},
        {"f", "intent", NULL, NULL, -1, -1, -1, NULL},
        {"\xff", "done", "none", NULL, 500, 10, 1, "{\"none\":{\"bytes\":\"x\"}}"},
    };

    g_assert_no_error(error);
    for (gsize i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autoptr(FpbOutcome) o = row_new(&rows[i]);

        if (g_str_equal(rows[i].vm, "a") && g_str_equal(rows[i].phase, "failed")) {
            /* the restore gave back only 900 of 1000 */
            fpb_outcome_set(&o->restore_status, "partial");
            o->prep_original_bytes = 1000;
            o->restore_final_bytes = 900;
        } else if (g_str_equal(rows[i].vm, "d")) {
            o->prep_original_bytes = 2048;
            o->prep_target_bytes = 512;
            o->prep_reached_bytes = 1024;
        } else if (g_str_equal(rows[i].vm, "e")) {
            /* inflating: reached not written yet, the target counts */
            o->prep_original_bytes = 4096;
            o->prep_target_bytes = 1024;
        }
        insert(j, o);
    }
    return j;
}

/* A fresh journal of the sample rows each time. */
static char *render_sample(void)
{
    static int n;
    g_autofree char *name = g_strdup_printf("sample-%d.db", ++n);
    g_autoptr(FpbJournal) j = sample_journal(name);
    g_autoptr(GError) error = NULL;
    char *text = fpbd_metrics_render_journal(j, &error);

    g_assert_no_error(error);
    g_assert_nonnull(text);
    return text;
}

static void assert_line(const char *text, const char *line)
{
    g_autofree char *wrapped = g_strdup_printf("\n%s\n", line);
    g_autofree char *all = g_strdup_printf("\n%s", text);

    if (strstr(all, wrapped) == NULL) {
        g_test_message("output:\n%s", text);
        g_error("line not in the output: %s", line);
    }
}

static void assert_no(const char *text, const char *fragment)
{
    if (strstr(text, fragment) != NULL) {
        g_error("unexpected in the output: %s", fragment);
    }
}

static void test_lines(void)
{
    g_autofree char *text = render_sample();
    static const char *const lines[] = {
        ("# HELP fpb_migrations_total Migration attempts that ended, by VM, mode and outcome "
         "(journal phase)."),
        "# TYPE fpb_migrations_total counter",
        "fpb_migrations_total{vm=\"a\",mode=\"balloon\",outcome=\"done\"} 2",
        "fpb_migrations_total{vm=\"a\",mode=\"hint\",outcome=\"failed\"} 1",
        "fpb_migrations_total{vm=\"c\",mode=\"undecided\",outcome=\"refused\"} 1",
        "fpb_migrations_total{vm=\"c\",mode=\"balloon\",outcome=\"recovered\"} 1",
        "fpb_migration_sent_bytes_total{vm=\"a\",mode=\"balloon\"} 1800",
        "fpb_migration_sent_bytes_total{vm=\"a\",mode=\"hint\"} 100",
        "fpb_migration_saved_bytes_total{vm=\"a\",mode=\"balloon\"} 400",
        "fpb_migration_excess_bytes_total{vm=\"a\",mode=\"balloon\"} 200",
        "# TYPE fpb_migration_duration_seconds histogram",
        "fpb_migration_duration_seconds_bucket{mode=\"balloon\",le=\"2.5\"} 0",
        "fpb_migration_duration_seconds_bucket{mode=\"balloon\",le=\"5\"} 1",
        "fpb_migration_duration_seconds_bucket{mode=\"balloon\",le=\"30\"} 1",
        "fpb_migration_duration_seconds_bucket{mode=\"balloon\",le=\"60\"} 2",
        "fpb_migration_duration_seconds_bucket{mode=\"balloon\",le=\"+Inf\"} 2",
        "fpb_migration_duration_seconds_sum{mode=\"balloon\"} 43",
        "fpb_migration_duration_seconds_count{mode=\"balloon\"} 2",
        "fpb_migration_duration_seconds_sum{mode=\"observed\"} 2",
        "fpb_migration_duration_seconds_sum{mode=\"none\"} 0.5",
        "fpb_migration_downtime_seconds_bucket{mode=\"balloon\",le=\"0.05\"} 1",
        "fpb_migration_downtime_seconds_bucket{mode=\"balloon\",le=\"0.25\"} 1",
        "fpb_migration_downtime_seconds_bucket{mode=\"balloon\",le=\"0.5\"} 2",
        "fpb_migration_downtime_seconds_sum{mode=\"balloon\"} 0.35",
        "fpb_migration_downtime_seconds_sum{mode=\"observed\"} 0.005",
        "fpb_migration_bytes_prediction_ratio_bucket{mode=\"balloon\",le=\"0.75\"} 0",
        "fpb_migration_bytes_prediction_ratio_bucket{mode=\"balloon\",le=\"0.9\"} 1",
        "fpb_migration_bytes_prediction_ratio_bucket{mode=\"balloon\",le=\"1.1\"} 1",
        "fpb_migration_bytes_prediction_ratio_bucket{mode=\"balloon\",le=\"1.25\"} 2",
        "fpb_migration_bytes_prediction_ratio_sum{mode=\"balloon\"} 2",
        "fpb_migration_last_bytes_prediction_ratio{vm=\"a\",mode=\"balloon\"} 0.8",
        "fpb_balloon_taken_bytes{vm=\"d\"} 1024",
        "fpb_balloon_taken_bytes{vm=\"e\"} 3072",
        "fpb_balloon_taken_bytes{vm=\"f\"} 0",
        "fpb_balloon_unrestored_bytes{vm=\"a\"} 100",
        "# TYPE fpb_recoveries_total counter",
        "fpb_recoveries_total{vm=\"c\"} 1",
        "fpb_journal_rows 10",
        /* escaping: \" \\ \n */
        "fpb_migrations_total{vm=\"q\\\"b\\\\c\\nd\",mode=\"observed\",outcome=\"done\"} 1",
        "fpb_migration_sent_bytes_total{vm=\"q\\\"b\\\\c\\nd\",mode=\"observed\"} 5000",
        /* not UTF-8: U+FFFD */
        "fpb_migrations_total{vm=\"\xef\xbf\xbd\",mode=\"none\",outcome=\"done\"} 1",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        assert_line(text, lines[i]);
    }
    /* open rows are not counted as ended; a failure has no savings or
     * times; an observed row, no prediction; a bad prediction, none */
    assert_no(text, "vm=\"d\",mode=");
    assert_no(text, "fpb_migration_saved_bytes_total{vm=\"a\",mode=\"hint\"}");
    assert_no(text, "fpb_migration_duration_seconds_bucket{mode=\"hint\"");
    assert_no(text, "fpb_migration_saved_bytes_total{vm=\"q");
    assert_no(text, "fpb_migration_saved_bytes_total{vm=\"\xef");
}

/* Each line a comment or NAME{LABELS} VALUE; each histogram series'
 * buckets non-decreasing with rising bounds, +Inf last and equal to
 * _count; one TYPE line per family. */
static void test_structure(void)
{
    g_autofree char *text = render_sample();
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GHashTable) types = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) inf = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autofree char *series = NULL;
    double last_le = -1;
    double last_count = -1;
    guint checked = 0;

    g_assert_true(g_str_has_suffix(text, "\n"));
    for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++) {
        const char *l = lines[i];
        const char *le = strstr(l, ",le=\"");
        const char *space = strrchr(l, ' ');

        if (g_str_has_prefix(l, "# TYPE ")) {
            g_auto(GStrv) w = g_strsplit(l, " ", -1);

            g_assert_false(g_hash_table_contains(types, w[2]));
            g_hash_table_add(types, (gpointer)l);
            continue;
        }
        if (l[0] == '#') {
            g_assert_true(g_str_has_prefix(l, "# HELP fpb_"));
            continue;
        }
        g_assert_true(g_str_has_prefix(l, "fpb_"));
        g_assert_nonnull(space);
        if (strstr(l, "_bucket{") == NULL || le == NULL) {
            continue;
        }
        {
            g_autofree char *key = g_strndup(l, le - l);
            double bound =
                g_str_has_prefix(le, ",le=\"+Inf\"") ? G_MAXDOUBLE : g_ascii_strtod(le + 5, NULL);
            double count = g_ascii_strtod(space + 1, NULL);

            if (g_strcmp0(key, series) != 0) {
                g_free(series);
                series = g_strdup(key);
                last_le = -1;
                last_count = -1;
            }
            g_assert_cmpfloat(bound, >, last_le);
            g_assert_cmpfloat(count, >=, last_count);
            last_le = bound;
            last_count = count;
            checked++;
            if (bound == G_MAXDOUBLE) {
                g_hash_table_insert(inf, g_strdup(key), g_strdup(space + 1));
            }
        }
    }
    g_assert_cmpuint(checked, >, 20);
    /* +Inf == _count, for every series */
    {
        GHashTableIter it;
        gpointer k;
        gpointer v;

        g_hash_table_iter_init(&it, inf);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            g_autofree char *base = g_strndup(k, strstr(k, "_bucket{") - (char *)k);
            g_autofree char *labels = g_strdup(strstr(k, "_bucket{") + 7);
            g_autofree char *count = g_strdup_printf("%s_count%s} %s", base, labels, (char *)v);

            assert_line(text, count);
        }
        g_assert_cmpuint(g_hash_table_size(inf), >=, 6);
    }
}

/* Two journals of the same rows, and one read twice: the same text
 * (series are sorted, not in hash order). */
static void test_deterministic(void)
{
    g_autofree char *a = render_sample();
    g_autoptr(FpbJournal) j = sample_journal("again.db");
    g_autoptr(GError) error = NULL;
    g_autofree char *b = fpbd_metrics_render_journal(j, &error);
    g_autofree char *c = fpbd_metrics_render_journal(j, &error);

    g_assert_no_error(error);
    g_assert_cmpstr(a, ==, b);
    g_assert_cmpstr(b, ==, c);
}

static void test_empty(void)
{
    g_autoptr(GPtrArray) rows = g_ptr_array_new();
    g_autofree char *text = fpbd_metrics_render(rows);

    g_assert_cmpstr(text, ==,
                    "# HELP fpb_journal_rows Migration rows in the journal the metrics are from.\n"
                    "# TYPE fpb_journal_rows gauge\n"
                    "fpb_journal_rows 0\n");
}

/* promtool check metrics: the text parses and passes its lint (names,
 * units, _total on counters, HELP). */
static void test_promtool(void)
{
    g_autofree char *promtool = g_find_program_in_path("promtool");
    g_autofree char *text = render_sample();
    g_autofree char *file = g_build_filename(dir, "sample.prom", NULL);
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    int status = -1;
    const char *argv[] = {"sh", "-c", "exec \"$0\" check metrics < \"$1\"", NULL, NULL, NULL};

    if (promtool == NULL) {
        g_test_fail_printf("promtool not found in PATH: install Debian's prometheus package "
                           "(scripts/install-deps does)");
        return;
    }
    argv[3] = promtool;
    argv[4] = file;
    g_assert_true(g_file_set_contents(file, text, -1, NULL));
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, &error));
    g_assert_no_error(error);
    g_test_message("promtool check metrics: exit %d, stdout '%s', stderr '%s'", status, out, err);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_cmpstr(out, ==, "");
    g_assert_cmpstr(err, ==, "");
}

static void test_textfile(void)
{
    g_autofree char *path = g_build_filename(dir, "tf", "fpb.prom", NULL);
    g_autofree char *sub = g_build_filename(dir, "tf", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = NULL;
    struct stat st;
    guint n = 0;

    /* a missing directory: the error names the file */
    g_assert_false(fpbd_metrics_write_textfile(path, "x 1\n", &error));
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, path));
    g_clear_error(&error);

    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    g_assert_true(fpbd_metrics_write_textfile(path, "a 1\n", &error));
    g_assert_true(fpbd_metrics_write_textfile(path, "b 2\n", &error));
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "b 2\n");
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 07777, ==, 0644);
    /* no temporary file left beside it */
    d = g_dir_open(sub, 0, NULL);
    while (g_dir_read_name(d) != NULL) {
        n++;
    }
    g_assert_cmpuint(n, ==, 1);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    int rc;

    g_test_init(&argc, &argv, NULL);
    dir = g_dir_make_tmp("fpbd-metrics.XXXXXX", &error);
    g_assert_no_error(error);
    g_test_add_func("/fpbd/metrics/lines", test_lines);
    g_test_add_func("/fpbd/metrics/structure", test_structure);
    g_test_add_func("/fpbd/metrics/deterministic", test_deterministic);
    g_test_add_func("/fpbd/metrics/empty", test_empty);
    g_test_add_func("/fpbd/metrics/promtool", test_promtool);
    g_test_add_func("/fpbd/metrics/textfile", test_textfile);
    rc = g_test_run();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

        if (system(cmd) != 0) {
            g_printerr("cannot remove '%s'\n", dir);
        }
    }
    g_free(dir);
    return rc;
}
