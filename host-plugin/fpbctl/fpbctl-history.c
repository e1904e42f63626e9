/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbctl history: the journal, newest first, predictions next to outcomes;
 * or drawn (--svg, --html: fpbctl-history-svg.c). */
#define G_LOG_DOMAIN "fpbctl"

#include <errno.h>

#include "fpbctl.h"
#include "fpbctl-history-svg.h"
#include "fpbctl-history-values.h"

static char *pair(double predicted_v, double actual_v, double scale, const char *fmt)
{
    g_autofree char *p =
        predicted_v < 0 ? g_strdup("-") : g_strdup_printf(fmt, predicted_v / scale);
    g_autofree char *a = actual_v < 0 ? g_strdup("-") : g_strdup_printf(fmt, actual_v / scale);

    return g_strdup_printf("%s / %s", p, a);
}

static void print_human(GPtrArray *rows)
{
    printf("%5s  %-19s  %-14s %-27s %-9s %17s %17s  %s\n", "id", "start", "vm", "mode (asked)",
           "outcome", "MB pred / actual", "s pred / actual", "error");
    for (guint i = 0; i < rows->len; i++) {
        const FpbOutcome *o = rows->pdata[i];
        g_autoptr(GDateTime) t =
            g_date_time_new_from_unix_local(MAX(o->start_us, 0) / G_USEC_PER_SEC);
        g_autofree char *when = t ? g_date_time_format(t, "%F %T") : g_strdup("?");
        g_autofree char *mode = g_strdup_printf("%s (%s)", o->mode ? o->mode : "-",
                                                o->requested_mode ? o->requested_mode : "?");
        g_autofree char *mb =
            pair(fpbctl_history_predicted(o, "bytes"), fpbctl_history_actual_bytes(o), 1e6, "%.0f");
        g_autofree char *secs = pair(fpbctl_history_predicted(o, "total_seconds"),
                                     fpbctl_history_actual_seconds(o), 1, "%.1f");

        printf("%5" G_GINT64_FORMAT "  %-19s  %-14s %-27s %-9s %17s %17s  %s\n", o->id, when,
               o->vm ? o->vm : "?", mode, o->phase ? o->phase : "?", mb, secs,
               o->error ? o->error : "");
    }
    if (rows->len == 0) {
        printf("(no migrations recorded)\n");
    }
}

/* @text to @path through a temporary file and a rename, so that a reader
 * never sees half a chart; "-" is stdout. */
static gboolean write_chart(const char *path, const char *text, GError **error)
{
    if (g_str_equal(path, "-")) {
        if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "cannot write to stdout: %s", g_strerror(errno));
            return FALSE;
        }
        return TRUE;
    }
    return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

/* --svg and --html: nothing is written (and an existing FILE is left as it
 * is) when there are no rows. */
static int draw(GPtrArray *rows, const char *vm, const char *svg, const char *html)
{
    const struct {
        const char *path;
        char *(*render)(GPtrArray *rows, const char *vm);
    } outputs[] = {{svg, fpbctl_history_svg}, {html, fpbctl_history_html}};

    if (rows->len == 0) {
        fprintf(stderr, "fpbctl history: no migrations recorded%s%s%s, nothing written\n",
                vm != NULL ? " for VM '" : "", vm != NULL ? vm : "", vm != NULL ? "'" : "");
        return FPBCTL_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(outputs); i++) {
        g_autofree char *text = NULL;
        g_autoptr(GError) error = NULL;

        if (outputs[i].path == NULL) {
            continue;
        }
        text = outputs[i].render(rows, vm);
        if (!write_chart(outputs[i].path, text, &error)) {
            fprintf(stderr, "fpbctl history: cannot write '%s': %s\n", outputs[i].path,
                    error->message);
            return FPBCTL_EXIT_FAILED;
        }
    }
    return FPBCTL_EXIT_OK;
}

static const char *check_usage(gint last, gboolean json, const char *svg, const char *html)
{
    gboolean drawing = svg != NULL || html != NULL;

    if (last < 0) {
        return "negative --last";
    }
    if (json && drawing) {
        return "--json and --svg/--html exclude each other";
    }
    if ((svg != NULL && svg[0] == '\0') || (html != NULL && html[0] == '\0')) {
        return "empty --svg/--html FILE";
    }
    if (svg != NULL && html != NULL && g_str_equal(svg, "-") && g_str_equal(html, "-")) {
        return "only one of --svg and --html can be '-'";
    }
    return NULL;
}

/* fpbctl history [--vm NAME] [--last N] [--json | --svg FILE | --html FILE]
 * [--db PATH] */
int fpbctl_cmd_history(int argc, char **argv)
{
    g_autofree char *vm = NULL;
    g_autofree char *db = NULL;
    g_autofree char *svg = NULL;
    g_autofree char *html = NULL;
    gint last = 0;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"vm", 0, 0, G_OPTION_ARG_STRING, &vm, "Only this VM", "NAME"},
        {"last", 0, 0, G_OPTION_ARG_INT, &last, "Only the newest N rows (default all)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per row and line", NULL},
        {"svg", 0, 0, G_OPTION_ARG_FILENAME, &svg,
         "Draw the rows as an SVG chart into FILE (- = stdout)", "FILE"},
        {"html", 0, 0, G_OPTION_ARG_FILENAME, &html,
         "The chart and a table as one self-contained HTML page into FILE", "FILE"},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    const char *bad = NULL;

    g_option_context_set_summary(
        ctx, "Show the journal, newest first: the decision, predicted vs actual bytes and time "
             "(prepare + migrate +\nrestore), and the outcome of every migration fpbctl ran.\n\n"
             "--svg and --html draw it instead of the table: per migration, oldest first (the "
             "newest " G_STRINGIFY(
                 FPBCTL_HISTORY_CHART_MAX_ROWS) "\nat most), bytes sent and "
                                                "total time, the prediction for the mode it ran "
                                                "beside the actual\nvalue, "
                                                "coloured by mode. The file is written through a "
                                                "temporary file and a rename; "
                                                "with\nno rows nothing is written (exit 0). FILE - "
                                                "is stdout (one of the two).");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl history");
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1 ||
        (bad = check_usage(last, json, svg, html)) != NULL) {
        fprintf(stderr, "fpbctl history: %s\n",
                error != NULL ? error->message
                : bad != NULL ? bad
                              : "unexpected argument");
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("history", db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    if ((rows = fpb_journal_list(journal, vm, (guint)last, &error)) == NULL) {
        fprintf(stderr, "fpbctl history: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (svg != NULL || html != NULL) {
        return draw(rows, vm, svg, html);
    }
    if (!json) {
        print_human(rows);
        return FPBCTL_EXIT_OK;
    }
    for (guint i = 0; i < rows->len; i++) {
        g_autoptr(json_object) obj = fpb_outcome_to_json(rows->pdata[i]);

        fpbctl_print_json(obj, FALSE);
    }
    return FPBCTL_EXIT_OK;
}
