/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl explain DOMAIN and fpbctl migrate DOMAIN DESTURI: the libvirt
 * forms of explain and migrate (docs/libvirt.md). Without --qmp/--facts
 * a command is a libvirt one; with them it is the bare-QEMU command.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <stdio.h>
#include <string.h>

#include "fpb-conf-daemon.h"
#include "fpb-facts-json.h"
#include "fpb-libvirt-policy.h"
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-options.h"
#include "fpb-backend-libvirt.h"
#include "fpbctl-progress.h"
#include "fpbctl.h"

typedef struct {
    char *connect;
    char *config;
    char *db;
    gboolean json;
    gboolean via_fpbd;
    gboolean progress;
    char *socket;
    char *mode_help; /* --mode's help, from the mode table */
    FpbLibvirtOptions lv;
} Options;

static void options_clear(Options *o)
{
    g_free(o->connect);
    g_free(o->config);
    g_free(o->db);
    g_free(o->socket);
    g_free(o->mode_help);
    fpb_libvirt_options_clear(&o->lv);
}

/* The bare-QEMU forms name a QMP socket or a facts file, or have no
 * positional argument (their usage errors and --help stay as they were). */
static gboolean is_bare(int argc, char **argv)
{
    static const char *const flags[] = {
        "--no-balloon", "--allow-unsafe-live-migration",
        "--json",       "--via-fpbd",
        "--progress",   "--help",
        "-h",           NULL,
    };
    gboolean positional = FALSE;

    for (int i = 1; i < argc; i++) {
        if (g_str_has_prefix(argv[i], "--qmp") || g_str_has_prefix(argv[i], "--facts") ||
            g_str_has_prefix(argv[i], "--dest-qmp") || g_str_has_prefix(argv[i], "--to")) {
            return TRUE;
        }
        if (argv[i][0] != '-') {
            positional = TRUE;
        } else if (strchr(argv[i], '=') == NULL && !g_strv_contains(flags, argv[i])) {
            i++; /* the option's value */
        }
    }
    return !positional;
}

static void add_entries(Options *o, GOptionContext *ctx, gboolean migrate)
{
    FpbLibvirtOptions *lv = &o->lv;
    char *mode_help = o->mode_help =
        g_strdup_printf("%s (default: the VM's policy)", fpb_policy_request_names());
    const GOptionEntry common[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &o->connect,
         "The source libvirt (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
         "Host defaults from this fpbd.conf (default " FPB_CONF_DAEMON_DEFAULT_PATH ", if present)",
         "FILE"},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &o->db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &lv->mode, mode_help, "MODE"},
        {"objective", 0, 0, G_OPTION_ARG_STRING, &lv->objective, "time, bytes or guest-impact",
         "OBJECTIVE"},
        {"floor", 0, 0, G_OPTION_ARG_STRING, &lv->floor, "Guest memory floor, e.g. 512MiB", "SIZE"},
        {"max-prep-seconds", 0, 0, G_OPTION_ARG_STRING, &lv->max_prep,
         "Inflation time budget, 0..3600", "SECONDS"},
        {"no-balloon", 0, 0, G_OPTION_ARG_NONE, &lv->no_balloon, "Never inflate", NULL},
        {"reclaim", 0, 0, G_OPTION_ARG_STRING, &lv->reclaim,
         "What fpb's guest driver frees before hinting: none, split, cache, split+cache", "WHAT"},
        {"reclaim-cache-bound", 0, 0, G_OPTION_ARG_STRING, &lv->reclaim_cache_bound,
         "reclaim cache: only when the guest's page cache is at most this", "SIZE"},
        {"max-bandwidth", 0, 0, G_OPTION_ARG_INT64, &lv->max_bandwidth,
         "Migration bandwidth cap (default: libvirt's, unlimited)", "BYTES_PER_S"},
        {"guest-driver", 0, 0, G_OPTION_ARG_STRING, &lv->guest_driver, "stock or fpb", "KIND"},
        {"guest-init-on-alloc", 0, 0, G_OPTION_ARG_STRING, &lv->guest_init_on_alloc,
         "0 or 1 (default: from the domain's <cmdline>)", "0|1"},
        {"qemu-tcg-dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &lv->tcg,
         "fixed or broken (docs/hint-safety.md)", "fixed|broken"},
        {"migration-method", 0, 0, G_OPTION_ARG_STRING, &lv->migration_method,
         "auto (default), precopy, postcopy or paused (docs/hint-safety.md)", "METHOD"},
        {"allow-unsafe-live-migration", 0, 0, G_OPTION_ARG_NONE, &lv->allow_unsafe_live_migration,
         "Plain live precopy even on a QEMU that may lose guest writes under TCG", NULL},
        {"accept-risk", 0, 0, G_OPTION_ARG_STRING, &lv->accept_risk,
         FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW " (docs/guest-driver.md)", "RISK"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print JSON", NULL},
        G_OPTION_ENTRY_NULL,
    };
    const GOptionEntry mig[] = {
        {"migrate-uri", 0, 0, G_OPTION_ARG_STRING, &lv->migrate_uri,
         "The migration data connection, e.g. tcp://192.0.2.2 (default: libvirt's)", "URI"},
        {"listen-address", 0, 0, G_OPTION_ARG_STRING, &lv->listen_address,
         "Where the destination QEMU listens (default: libvirt's)", "ADDR"},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->timeout_s,
         "Abort the migration after this (default 600, 0: never)", "SECONDS"},
        {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->stall_s,
         "Cancel the migration when QEMU sent nothing for this long: the link or the destination "
         "is gone (default 60, 0: never; a slow migration is never cancelled by it)",
         "SECONDS"},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &o->progress,
         "With --json: one JSON progress event a second before the outcome (on a terminal a "
         "progress line is always shown)",
         NULL},
        {"via-fpbd", 0, 0, G_OPTION_ARG_NONE, &o->via_fpbd,
         "Let fpbd run the migration (from its libvirt, into its journal)", NULL},
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &o->socket,
         "With --via-fpbd: fpbd's control socket (default: fpbd.conf's)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };

    g_option_context_add_main_entries(ctx, common, NULL);
    if (migrate) {
        g_option_context_add_main_entries(ctx, mig, NULL);
    }
}

/* Options onto @req; host defaults from fpbd.conf. */
static gboolean apply(Options *o, FpbLibvirtMigrateRequest *req, GError **error)
{
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();

    if (!fpb_conf_daemon_load_file(conf, o->config ? o->config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   o->config == NULL, error) ||
        !fpb_libvirt_options_apply(&o->lv, &conf->policy, req, error)) {
        return FALSE;
    }
    req->target.source_uri = o->connect;
    return TRUE;
}

static void progress_to_stderr(const char *message, gpointer user_data)
{
    fpbctl_progress_break();
    fprintf(stderr, "%s: %s\n", (const char *)user_data, message);
}

static void print_outcome(const FpbOutcome *o)
{
    g_autofree char *text = fpb_outcome_summary(o);

    fputs(text, stdout);
}

static int run_migrate(Options *o, const char *domain, const char *dest)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(FpbOutcome) outcome = NULL;
    g_autoptr(FpbBackend) backend = NULL;
    FpbLibvirtMigrateRequest req;
    FpbMigrateResult result;

    fpb_libvirt_migrate_request_init(&req);
    if (!apply(o, &req, &error)) {
        fprintf(stderr, "fpbctl migrate: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("migrate", o->db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    req.target.domain = domain;
    req.target.dest_uri = dest;
    req.run.progress = progress_to_stderr;
    req.run.progress_data = (gpointer) "fpbctl migrate";
    fpbctl_progress_start(fpbctl_progress_mode(o->json, o->progress));
    req.run.tick = fpbctl_progress_tick;
    backend = fpb_backend_libvirt_new(&req.target);
    outcome = fpb_pipeline_migrate(journal, backend, &req.run, &result);
    fpbctl_progress_break();
    if (o->json) {
        g_autoptr(json_object) j = fpb_outcome_to_json(outcome);

        fpbctl_print_json(j, FALSE);
    } else {
        print_outcome(outcome);
    }
    if (result == FPB_MIGRATE_REFUSED && outcome->error) {
        fprintf(stderr, "fpbctl migrate: %s\n", outcome->error);
    }
    return result == FPB_MIGRATE_OK       ? FPBCTL_EXIT_OK
           : result == FPB_MIGRATE_FAILED ? FPBCTL_EXIT_FAILED
                                          : FPBCTL_EXIT_USAGE;
}

static int run_explain(Options *o, const char *domain)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(FpbVmFacts) vf = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    gboolean refused = FALSE;
    g_autoptr(FpbBackend) backend = NULL;
    FpbLibvirtMigrateRequest req;

    fpb_libvirt_migrate_request_init(&req);
    if (!apply(o, &req, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("explain", o->db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    req.target.domain = domain;
    req.run.progress = progress_to_stderr;
    req.run.progress_data = (gpointer) "fpbctl explain";
    backend = fpb_backend_libvirt_new(&req.target);
    if (!fpb_pipeline_explain(journal, backend, &req.run, &vf, &d, &refused, &error)) {
        fprintf(stderr, "fpbctl explain: %s%s\n", refused ? "refused: " : "", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (o->json) {
        g_autoptr(json_object) out = fpb_facts_json_explain(&vf->facts, d);

        json_object_object_add(out, "vm", json_object_new_string(domain));
        json_object_object_add(out, "qemu_version",
                               vf->qemu_version ? json_object_new_string(vf->qemu_version) : NULL);
        fpbctl_add_vm_runs_json(out, vf);
        fpbctl_print_json(out, TRUE);
        return FPBCTL_EXIT_OK;
    }
    printf("Facts:    libvirt domain '%s' (QEMU %s; init_on_alloc from %s)\n", domain,
           vf->qemu_version ? vf->qemu_version : "?", vf->init_on_alloc_source);
    fpbctl_print_vm_runs(vf);
    fpbctl_print_facts(&vf->facts);
    fpbctl_print_decision(d);
    fpbctl_print_predictions(d);
    return FPBCTL_EXIT_OK;
}

static int parse_and_run(int argc, char **argv, gboolean migrate)
{
    const char *name = migrate ? "migrate" : "explain";
    g_autoptr(GOptionContext) ctx = g_option_context_new(migrate ? "DOMAIN DESTURI" : "DOMAIN");
    g_autoptr(GError) error = NULL;
    g_autofree char *prg = g_strdup_printf("fpbctl %s", name);
    g_autofree char *description = fpbctl_modes_help(NULL);
    Options o = {0};
    int status;

    fpb_libvirt_options_init(&o.lv);
    add_entries(&o, ctx, migrate);
    g_option_context_set_description(ctx, description);
    g_option_context_set_summary(
        ctx, migrate ? "Migrate a libvirt domain live (peer-to-peer) to the libvirt at DESTURI:\n"
                       "facts, decision, inflation, migration, deflation on the destination,\n"
                       "journal row. For a bare QEMU use --qmp SOCKET --to URI (see the docs)."
                     : "Show the mode fpb would choose for a libvirt domain, and why.\n"
                       "For a bare QEMU use --qmp SOCKET or --facts FILE.");
    g_set_prgname(prg);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl %s: %s\n", name, error->message);
        status = FPBCTL_EXIT_USAGE;
    } else if (argc != (migrate ? 3 : 2)) {
        fprintf(stderr, "fpbctl %s: expected %s\n", name, migrate ? "DOMAIN DESTURI" : "DOMAIN");
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = !migrate     ? run_explain(&o, argv[1])
                 : o.via_fpbd ? fpbctl_migrate_via_fpbd(o.socket, o.config, o.connect, o.db, &o.lv,
                                                        argv[1], argv[2], o.json)
                              : run_migrate(&o, argv[1], argv[2]);
    }
    options_clear(&o);
    return status;
}

int fpbctl_libvirt_migrate_or(int argc, char **argv, int (*bare)(int, char **))
{
    return is_bare(argc, argv) ? bare(argc, argv) : parse_and_run(argc, argv, TRUE);
}

int fpbctl_libvirt_explain_or(int argc, char **argv, int (*bare)(int, char **))
{
    return is_bare(argc, argv) ? bare(argc, argv) : parse_and_run(argc, argv, FALSE);
}
