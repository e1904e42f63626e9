/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbctl migrate and fpbctl recover. */
#define G_LOG_DOMAIN "fpbctl"

#include <stdlib.h>

#include "fpb-libvirt-conn.h"
#include "fpb-backend-libvirt.h"
#include "fpb-libvirt-recover.h"
#include "fpb-recover.h"
#include "fpbctl-progress.h"
#include "fpbctl.h"

static void progress_to_stderr(const char *message, gpointer user_data)
{
    fpbctl_progress_break();
    fprintf(stderr, "%s: %s\n", (const char *)user_data, message);
}

static double json_number(json_object *obj, const char *a, const char *b, const char *c)
{
    json_object *v = obj;
    const char *path[] = {a, b, c};

    for (gsize i = 0; i < G_N_ELEMENTS(path) && path[i] != NULL; i++) {
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, path[i], &v)) {
            return -1;
        }
    }
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)
               ? json_object_get_double(v)
               : -1;
}

static void print_row(const char *what, double predicted, double actual, const char *unit,
                      double scale)
{
    g_autofree char *p =
        predicted < 0 ? g_strdup("-") : g_strdup_printf("%.1f %s", predicted / scale, unit);
    g_autofree char *a =
        actual < 0 ? g_strdup("-") : g_strdup_printf("%.1f %s", actual / scale, unit);

    printf("  %-18s %14s %14s\n", what, p, a);
}

/* The decision's reasons about the migration method (issue 14): how QEMU
 * migrated, and whether the destination is left paused. */
static void print_method_reasons(json_object *decision)
{
    json_object *reasons = NULL;

    if (!json_object_is_type(decision, json_type_object) ||
        !json_object_object_get_ex(decision, "reasons", &reasons) ||
        !json_object_is_type(reasons, json_type_array)) {
        return;
    }
    for (size_t i = 0; i < json_object_array_length(reasons); i++) {
        json_object *r = json_object_array_get_idx(reasons, i);
        json_object *code = NULL;
        json_object *text = NULL;

        if (!json_object_object_get_ex(r, "code", &code) ||
            !json_object_object_get_ex(r, "text", &text)) {
            continue;
        }
        const char *c = json_object_get_string(code);
        if (g_str_has_prefix(c, "METHOD_") || g_str_equal(c, "TCG_LIVE_MIGRATION_UNSAFE") ||
            g_str_equal(c, "DESTINATION_STAYS_PAUSED")) {
            printf("  %s: %s\n", c, json_object_get_string(text));
        }
    }
}

/* The outcome next to the chosen mode's prediction. */
static void print_outcome_human(const FpbOutcome *o)
{
    const char *m = o->mode;
    double total = o->prep_seconds < 0 && o->mig_total_ms < 0
                       ? -1
                       : MAX(o->prep_seconds, 0) + MAX((double)o->mig_total_ms, 0) / 1000 +
                             MAX(o->restore_seconds, 0);

    printf("\nVM '%s': %s (journal row %" G_GINT64_FORMAT ", mode %s, hints %s)\n",
           o->vm ? o->vm : "?", o->phase, o->id, m ? m : "-", o->hints ? o->hints : "-");
    if (o->error != NULL) {
        printf("  error: %s\n", o->error);
    }
    if (m == NULL) {
        return;
    }
    print_method_reasons(o->decision);
    printf("\n  %-18s %14s %14s\n", "", "predicted", "actual");
    print_row("sent", json_number(o->predictions, m, "bytes", NULL),
              (double)o->mig_transferred_bytes, "MB", 1e6);
    print_row("prepare", json_number(o->predictions, m, "prep_seconds", NULL), o->prep_seconds, "s",
              1);
    print_row("migrate", json_number(o->predictions, m, "migrate_seconds", NULL),
              o->mig_total_ms < 0 ? -1 : (double)o->mig_total_ms / 1000, "s", 1);
    print_row("restore", json_number(o->predictions, m, "restore_seconds", NULL),
              o->restore_seconds, "s", 1);
    print_row("total", json_number(o->predictions, m, "total_seconds", NULL), total, "s", 1);
    printf("  downtime %" G_GINT64_FORMAT " ms, balloon %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
           " MiB (%s), restore %s\n",
           o->mig_downtime_ms, o->prep_original_bytes / (1024 * 1024),
           o->prep_reached_bytes < 0 ? o->prep_original_bytes / (1024 * 1024)
                                     : o->prep_reached_bytes / (1024 * 1024),
           o->prep_stopped ? o->prep_stopped : "-", o->restore_status ? o->restore_status : "-");
}

/* The JSON line also goes to the log (journald when stderr is connected to
 * it, else visible with G_MESSAGES_DEBUG=fpbctl). */
static void log_outcome(const char *json_line, const FpbOutcome *o)
{
    /* MESSAGE last: g_log_structured takes the fields after it as its
     * format's arguments (FPB_VM and FPB_PHASE were silently dropped). */
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "FPB_VM", o->vm ? o->vm : "", "FPB_PHASE",
                     o->phase ? o->phase : "", "MESSAGE", "%s", json_line);
}

static int exit_status(FpbMigrateResult result)
{
    switch (result) {
    case FPB_MIGRATE_OK:
        return FPBCTL_EXIT_OK;
    case FPB_MIGRATE_REFUSED:
        return FPBCTL_EXIT_USAGE;
    case FPB_MIGRATE_FAILED:
    default:
        return FPBCTL_EXIT_FAILED;
    }
}

static int run_migrate(FpbctlVmOptions *o, const char *to)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(FpbOutcome) outcome = NULL;
    g_autoptr(json_object) json = NULL;
    FpbMigrateResult result = FPB_MIGRATE_FAILED;
    g_autoptr(FpbBackend) backend = NULL;
    FpbctlQmpRequest req;

    fpbctl_qmp_request_init(&req);
    if (!fpbctl_vm_options_apply(o, &req, &error)) {
        fprintf(stderr, "fpbctl migrate: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("migrate", o->db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    req.target.uri = to;
    req.run.progress = progress_to_stderr;
    req.run.progress_data = (gpointer) "fpbctl migrate";
    fpbctl_progress_start(fpbctl_progress_mode(o->json, o->progress));
    req.run.tick = fpbctl_progress_tick;
    backend = fpb_backend_qmp_new(&req.target);
    outcome = fpb_pipeline_migrate(journal, backend, &req.run, &result);
    fpbctl_progress_break();
    json = fpb_outcome_to_json(outcome);
    log_outcome(json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN), outcome);
    if (outcome->error != NULL) {
        fprintf(stderr, "fpbctl migrate: %s\n", outcome->error);
    }
    if (o->json) {
        fpbctl_print_json(json, FALSE);
    } else {
        print_outcome_human(outcome);
    }
    return exit_status(result);
}

/* fpbctl migrate --qmp SOCKET --to URI [--dest-qmp SOCKET] [options] */
int fpbctl_cmd_migrate(int argc, char **argv)
{
    g_autofree char *to = NULL;
    g_autofree char *description = NULL;
    FpbctlVmOptions o;
    const GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &to,
         "Where to migrate: any QEMU migration URI (unix:PATH, tcp:HOST:PORT)", "URI"},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.run.timeout_s,
         "Cancel the migration after this long (default 600, 0: never)", "SECONDS"},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &o.progress,
         "With --json: one JSON progress event a second before the outcome (on a terminal a "
         "progress line is always shown)",
         NULL},
        {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.run.stall_s,
         "Cancel the migration when QEMU sent nothing for this long: the link or the destination "
         "is gone (default 60, 0: never; a slow migration is never cancelled by it)",
         "SECONDS"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("--qmp SOCKET --to URI");
    g_autoptr(GError) error = NULL;
    int status;

    fpbctl_vm_options_init(&o);
    g_option_context_set_summary(ctx, "Migrate a VM: collect its facts, decide the mode, "
                                      "journal the intent, inflate the balloon if chosen,\n"
                                      "migrate, give the memory back, record the outcome. "
                                      "Without --dest-qmp, free-page hints\nstay on (if the "
                                      "guest negotiated them) and balloon modes cannot run.\n"
                                      "On a QEMU that loses guest writes under TCG (< 9.0, "
                                      "not fpb-patched) the migration runs as\npostcopy "
                                      "(paused without --dest-qmp); a plain live precopy needs "
                                      "--allow-unsafe-live-migration.");
    description = fpbctl_modes_help("Exit status: 0 migrated; 1 the migration (or a step of it) "
                                    "failed; 2 bad usage or refused input (nothing was done: the "
                                    "policy refused, a forced mode cannot run, a QMP socket "
                                    "cannot be reached).");
    g_option_context_set_description(ctx, description);
    fpbctl_vm_options_add(&o, ctx);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl migrate");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl migrate: %s\n", error->message);
        status = FPBCTL_EXIT_USAGE;
    } else if (argc > 1) {
        fprintf(stderr, "fpbctl migrate: unexpected argument '%s'\n", argv[1]);
        status = FPBCTL_EXIT_USAGE;
    } else if (to == NULL || *to == '\0') {
        fprintf(stderr, "fpbctl migrate: --to URI is required\n");
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = run_migrate(&o, to);
    }
    fpbctl_vm_options_clear(&o);
    return status;
}

/* ---- recover ---- */

/* @filter: a canonical QMP socket path, a libvirt source id or NULL (all). */
static int run_recover(const char *db, const char *canon)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = fpbctl_open_journal("recover", db);
    g_autoptr(GPtrArray) summaries = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) still_open = NULL;
    guint failed = 0;
    guint missing = 0;

    if (journal == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    fpb_libvirt_init();
    if (!fpb_recover_all(journal, canon, NULL, fpbctl_backends, summaries, &failed, &error)) {
        fprintf(stderr, "fpbctl recover: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    /* then rows that ended, any outcome, with memory still taken */
    if (!fpb_recover_missing_memory(journal, canon, fpbctl_backends, summaries, &missing, &error)) {
        fprintf(stderr, "fpbctl recover: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    failed += missing;
    /* then evacuations whose fpbctl died: closed once their VM rows are */
    if (!fpb_recover_evacuations(journal, summaries, NULL, &error)) {
        fprintf(stderr, "fpbctl recover: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    for (guint i = 0; i < summaries->len; i++) {
        printf("%s\n", (const char *)summaries->pdata[i]);
    }
    if (summaries->len == 0) {
        printf("nothing to recover\n");
    }
    if (failed > 0) {
        return FPBCTL_EXIT_FAILED;
    }
    still_open = fpb_journal_list_open(journal, canon, &error);
    if (still_open == NULL) {
        fprintf(stderr, "fpbctl recover: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    /* Rows in use by a live fpbctl stay open and are not a failure. */
    for (guint i = 0; i < still_open->len; i++) {
        if (!fpb_recover_row_owner_alive(still_open->pdata[i])) {
            return FPBCTL_EXIT_FAILED;
        }
    }
    return FPBCTL_EXIT_OK;
}

/* fpbctl recover [--qmp SOCKET | DOMAIN [--connect URI]] [--db PATH] */
int fpbctl_cmd_recover(int argc, char **argv)
{
    g_autofree char *qmp = NULL;
    g_autofree char *db = NULL;
    g_autofree char *connect = NULL;
    g_autofree char *filter = NULL;
    const GOptionEntry entries[] = {
        {"qmp", 0, 0, G_OPTION_ARG_FILENAME, &qmp,
         "Only the rows of the VM behind this QMP socket (source or destination)", "SOCKET"},
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
         "With DOMAIN: the libvirt the migration started from (default " FPB_LIBVIRT_DEFAULT_URI
         ")",
         "URI"},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[DOMAIN]");
    g_autoptr(GError) error = NULL;

    g_option_context_set_summary(ctx, "Find journal rows left open by an fpbctl that died "
                                      "(e.g. killed during inflation) and undo what\nit left: "
                                      "cancel an unattended migration, give the guest its "
                                      "memory back where it runs.\nWithout --qmp or DOMAIN: "
                                      "every such row (bare QEMU and libvirt). Then close\n"
                                      "the evacuation rows of a dead `fpbctl evacuate` "
                                      "whose VM rows are all closed (abandoned).");
    g_option_context_set_description(ctx, "Exit status: 0 nothing left to repair; 1 a row "
                                          "could not be repaired; 2 bad usage.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl recover");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl recover: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (argc > 2 || (argc == 2 && qmp != NULL)) {
        fprintf(stderr, "fpbctl recover: unexpected argument '%s'\n", argv[argc - 1]);
        return FPBCTL_EXIT_USAGE;
    }
    if (connect != NULL && argc != 2) {
        fprintf(stderr, "fpbctl recover: --connect needs a DOMAIN\n");
        return FPBCTL_EXIT_USAGE;
    }
    filter = argc == 2 ? fpb_libvirt_source_id(connect, argv[1])
             : qmp     ? fpbctl_canonical_path(qmp)
                       : NULL;
    return run_recover(db, filter);
}
