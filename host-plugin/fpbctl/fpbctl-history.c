/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbctl history: the journal, newest first, predictions next to outcomes. */
#define G_LOG_DOMAIN "fpbctl"

#include "fpbctl.h"

/* predictions[mode][key], -1 when absent (rows are outside input). */
static double predicted(const FpbOutcome *o, const char *key)
{
    json_object *mode = NULL;
    json_object *v = NULL;

    if (o->mode == NULL || !json_object_is_type(o->predictions, json_type_object) ||
        !json_object_object_get_ex(o->predictions, o->mode, &mode) ||
        !json_object_is_type(mode, json_type_object) || !json_object_object_get_ex(mode, key, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        return -1;
    }
    return json_object_get_double(v);
}

static double actual_total_seconds(const FpbOutcome *o)
{
    if (o->mig_total_ms < 0) {
        return -1;
    }
    return MAX(o->prep_seconds, 0) + (double)o->mig_total_ms / 1000 + MAX(o->restore_seconds, 0);
}

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
            pair(predicted(o, "bytes"), (double)o->mig_transferred_bytes, 1e6, "%.0f");
        g_autofree char *secs =
            pair(predicted(o, "total_seconds"), actual_total_seconds(o), 1, "%.1f");

        printf("%5" G_GINT64_FORMAT "  %-19s  %-14s %-27s %-9s %17s %17s  %s\n", o->id, when,
               o->vm ? o->vm : "?", mode, o->phase ? o->phase : "?", mb, secs,
               o->error ? o->error : "");
    }
    if (rows->len == 0) {
        printf("(no migrations recorded)\n");
    }
}

/* fpbctl history [--vm NAME] [--last N] [--json] [--db PATH] */
int fpbctl_cmd_history(int argc, char **argv)
{
    g_autofree char *vm = NULL;
    g_autofree char *db = NULL;
    gint last = 0;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"vm", 0, 0, G_OPTION_ARG_STRING, &vm, "Only this VM", "NAME"},
        {"last", 0, 0, G_OPTION_ARG_INT, &last, "Only the newest N rows (default all)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per row and line", NULL},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(GPtrArray) rows = NULL;

    g_option_context_set_summary(ctx, "Show the journal, newest first: the decision, predicted "
                                      "vs actual bytes and time (prepare + migrate +\nrestore), "
                                      "and the outcome of every migration fpbctl ran.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl history");
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1 || last < 0) {
        fprintf(stderr, "fpbctl history: %s\n",
                error ? error->message : "unexpected argument or negative --last");
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("history", db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    if ((rows = fpb_journal_list(journal, vm, (guint)last, &error)) == NULL) {
        fprintf(stderr, "fpbctl history: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
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
