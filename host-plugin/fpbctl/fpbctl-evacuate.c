/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl evacuate: empty a libvirt host (docs/evacuate.md). The options,
 * then the run (fpb-evacuate-run.h): here, in fpbctl's own process, or
 * (--via-fpbd) in fpbd's, for a member of its socket-group, fpbctl only
 * showing what fpbd's run prints (fpbctl-fpbd.c). SIGINT/SIGTERM cancel
 * the runs (memory given back), in either form.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fpb-conf-daemon.h"
#include "fpb-evacuate-run.h"
#include "fpb-libvirt-conn.h"
#include "fpb-qmp-json.h"
#include "fpbctl-progress.h"
#include "fpbctl.h"

typedef struct {
    char *connect;
    char *to;
    char *config;
    char *db;
    char *socket;
    gboolean via_fpbd;
    gboolean dry_run;
    gboolean json;
    gboolean progress;
    FpbEvacuateRunOptions ev; /* --max-bandwidth, --parallel, --deadline, --mode, per VM */
} Options;

/* SIGINT/SIGTERM: every run's FpbPipelineRequest.cancel. */
static volatile gint cancel_requested;

static void on_signal(int sig)
{
    (void)sig;
    g_atomic_int_set(&cancel_requested, 1);
}

/* The run's output: the plan and the outcome on stdout, the rest on
 * stderr, each starting on a line of its own (not after the progress
 * line). */
static void emit(FpbEvacuateRunStream stream, const char *text, gpointer data)
{
    (void)data;
    fpbctl_progress_break();
    if (stream == FPB_EVACUATE_RUN_OUT) {
        fputs(text, stdout);
        fflush(stdout);
    } else {
        fputs(text, stderr);
    }
}

static void vm_done(const char *vm, gpointer data)
{
    (void)data;
    fpbctl_progress_done(vm);
}

/* The run in this process: host defaults from fpbd.conf, the journal at --db. */
static int run_here(Options *o, char **domains)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();
    FpbLibvirtMigrateRequest base;
    FpbEvacuateRunRequest r = {
        .source_uri = o->connect,
        .dest_uri = o->to,
        .db_path = o->db ? o->db : FPB_JOURNAL_DEFAULT_PATH,
        .domains = domains[0] != NULL ? (const char *const *)domains : NULL,
        .dry_run = o->dry_run,
        .json = o->json,
        .cancel = &cancel_requested,
        .hooks = {.emit = emit, .tick = fpbctl_progress_tick, .vm_done = vm_done},
    };
    int status;

    fpb_libvirt_migrate_request_init(&base);
    if (!fpb_conf_daemon_load_file(conf, o->config ? o->config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   o->config == NULL, &error) ||
        !fpb_evacuate_run_options_apply(&o->ev, &conf->policy, &base, &r, &error)) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    base.target.source_uri = o->connect;
    fpbctl_catch_signals(on_signal);
    fpbctl_progress_start(fpbctl_progress_mode(o->json, o->progress));
    status = fpb_evacuate_run(&r);
    fpbctl_progress_break();
    return status;
}

/* The request fpbd runs (docs/libvirt.md, "Control protocol"). (transfer full) */
static json_object *fpbd_request(const Options *o, char **domains)
{
    json_object *req = json_object_new_object();
    json_object *names = json_object_new_array();

    json_object_object_add(req, "op", json_object_new_string("evacuate"));
    json_object_object_add(req, "dest", json_object_new_string(o->to));
    for (guint i = 0; domains[i] != NULL; i++) {
        json_object_array_add(names, json_object_new_string(domains[i]));
    }
    json_object_object_add(req, "domains", names);
    json_object_object_add(req, "options", fpb_evacuate_run_options_to_json(&o->ev));
    json_object_object_add(req, "dry-run", json_object_new_boolean(o->dry_run));
    json_object_object_add(req, "json", json_object_new_boolean(o->json));
    json_object_object_add(
        req, "progress",
        json_object_new_boolean(fpbctl_progress_mode(o->json, o->progress) != FPBCTL_PROGRESS_OFF));
    return req;
}

/* fpbd runs it from its own libvirt into its own journal. */
static int run_via_fpbd(const Options *o, char **domains)
{
    g_autoptr(json_object) req = NULL;

    if (o->connect != NULL || o->db != NULL) {
        fprintf(stderr, "fpbctl evacuate: with --via-fpbd, fpbd evacuates its own libvirt into "
                        "its own journal (fpbd.conf uri, journal): drop --connect and --db\n");
        return FPBCTL_EXIT_USAGE;
    }
    req = fpbd_request(o, domains);
    fpbctl_progress_start(fpbctl_progress_mode(o->json, o->progress));
    return fpbctl_evacuate_via_fpbd(o->socket, o->config, req);
}

static int run(Options *o, int argc, char **argv)
{
    g_auto(GStrv) domains = g_new0(char *, argc + 1);

    for (int i = 1; i < argc; i++) {
        domains[i - 1] = g_strdup(argv[i]);
    }
    if (o->to == NULL || *o->to == '\0') {
        fprintf(stderr, "fpbctl evacuate: --to DESTURI is required\n");
        return FPBCTL_EXIT_USAGE;
    }
    if (o->socket != NULL && !o->via_fpbd) {
        fprintf(stderr, "fpbctl evacuate: --socket is for --via-fpbd\n");
        return FPBCTL_EXIT_USAGE;
    }
    return o->via_fpbd ? run_via_fpbd(o, domains) : run_here(o, domains);
}

static void options_clear(Options *o)
{
    g_free(o->connect);
    g_free(o->to);
    g_free(o->config);
    g_free(o->db);
    g_free(o->socket);
    fpb_evacuate_run_options_clear(&o->ev);
}

static const char summary[] =
    "Empty a libvirt host: move DOMAIN... (default: every running domain of the\n"
    "source) live to the libvirt at --to, as one plan. Collects every VM's facts and\n"
    "history (as `fpbctl explain DOMAIN`), plans each VM's mode, the order, how many\n"
    "migrate at once and each one's share of the link (--max-bandwidth: the whole\n"
    "link), prints the plan, then runs it: one `fpbctl migrate` pipeline per VM, in\n"
    "a thread of its own, started when the plan says, its mode forced to the plan's\n"
    "and its bandwidth capped to its share; re-plans when a VM finishes. Journals a\n"
    "row per VM and one for the evacuation. libvirt only (no --qmp form).\n"
    "With --via-fpbd fpbd runs the same evacuation from its own libvirt into its\n"
    "own journal, under its checks (destination, root-only options, one migration\n"
    "per VM, max-migrations), and fpbctl prints what it prints.";

static const char description[] =
    "A VM that fails stays on the source with its memory given back; the others go\n"
    "on. SIGINT/SIGTERM: no more VMs start, running migrations are cancelled and\n"
    "every balloon is given back, then fpbctl exits 1. A VM's cap is its share when\n"
    "it starts; when a re-plan changes the share of a VM on the link by more than\n"
    "5%, its running migration's cap follows (virDomainMigrateSetMaxSpeed).\n"
    "A VM killed with its fpbctl (kill -9) is repaired by `fpbctl recover`, which\n"
    "also closes the evacuation row (abandoned).\n"
    "--via-fpbd: SIGINT/SIGTERM (or fpbctl gone) cancel the evacuation in fpbd\n"
    "the same way; fpbctl prints fpbd's outcome and exits 1.\n\n"
    "Exit status: 0 every VM migrated (or nothing to evacuate; --dry-run: planned);\n"
    "1 interrupted by a signal, or the evacuation could not be journaled or planned;\n"
    "2 bad usage or nothing could be done (no VM could be judged or planned);\n"
    "10+N: N VMs were not evacuated (failed, refused by the plan, not judged;\n"
    "at most 110).";

static void add_entries(Options *o, GOptionContext *ctx)
{
    FpbLibvirtOptions *lv = &o->ev.lv;
    const GOptionEntry entries[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &o->connect,
         "The source libvirt (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &o->to, "The destination libvirt (required)", "DESTURI"},
        {"max-bandwidth", 0, 0, G_OPTION_ARG_INT64, &o->ev.link,
         "The whole link's bandwidth, shared by the migrations (default: unlimited, no caps)",
         "BYTES_PER_S"},
        {"parallel", 0, 0, G_OPTION_ARG_STRING, &o->ev.parallel,
         "Most migrations at once, 1..64, or auto (default: the planner chooses)", "N|auto"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &o->ev.mode,
         "none: plan and run every VM as none (plain live migration, a baseline); auto "
         "(default): the plan picks each VM's mode",
         "none|auto"},
        {"deadline", 0, 0, G_OPTION_ARG_DOUBLE, &o->ev.deadline_s,
         "Plan to finish within this (a plan that misses it is run with a warning)", "SECONDS"},
        {"dry-run", 0, 0, G_OPTION_ARG_NONE, &o->dry_run, "Print the plan, change nothing", NULL},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &o->progress,
         "With --json: one JSON progress event a second per VM (on a terminal a progress line "
         "is always shown)",
         NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o->json,
         "Print the plan as one JSON object, and the outcome as another", NULL},
        {"via-fpbd", 0, 0, G_OPTION_ARG_NONE, &o->via_fpbd,
         "Let fpbd run the evacuation (from its libvirt, into its journal; for its "
         "socket-group)",
         NULL},
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &o->socket,
         "With --via-fpbd: fpbd's control socket (default: fpbd.conf's)", "PATH"},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &o->db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &o->config,
         "Host defaults from this fpbd.conf (default " FPB_CONF_DAEMON_DEFAULT_PATH ", if present)",
         "FILE"},
        {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->timeout_s,
         "Abort one VM's migration after this (default 600, 0: never)", "SECONDS"},
        {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lv->stall_s,
         "Cancel the migration when QEMU sent nothing for this long: the link or the destination "
         "is gone (default 60, 0: never; a slow migration is never cancelled by it)",
         "SECONDS"},
        {"migrate-uri", 0, 0, G_OPTION_ARG_STRING, &lv->migrate_uri,
         "The migration data connection, e.g. tcp://192.0.2.2 (default: libvirt's)", "URI"},
        {"listen-address", 0, 0, G_OPTION_ARG_STRING, &lv->listen_address,
         "Where the destination QEMUs listen (default: libvirt's)", "ADDR"},
        {"floor", 0, 0, G_OPTION_ARG_STRING, &lv->floor, "Guest memory floor, e.g. 512MiB", "SIZE"},
        {"max-prep-seconds", 0, 0, G_OPTION_ARG_STRING, &lv->max_prep,
         "Inflation time budget per VM, 0..3600", "SECONDS"},
        {"no-balloon", 0, 0, G_OPTION_ARG_NONE, &lv->no_balloon, "Never inflate", NULL},
        {"reclaim", 0, 0, G_OPTION_ARG_STRING, &lv->reclaim,
         "What fpb's guest driver frees before hinting: none, split, cache, split+cache", "WHAT"},
        {"reclaim-cache-bound", 0, 0, G_OPTION_ARG_STRING, &lv->reclaim_cache_bound,
         "reclaim cache: only when the guest's page cache is at most this", "SIZE"},
        {"guest-driver", 0, 0, G_OPTION_ARG_STRING, &lv->guest_driver, "stock or fpb", "KIND"},
        {"guest-init-on-alloc", 0, 0, G_OPTION_ARG_STRING, &lv->guest_init_on_alloc,
         "0 or 1 (default: from each domain's <cmdline>)", "0|1"},
        {"qemu-tcg-dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &lv->tcg,
         "fixed or broken (docs/hint-safety.md)", "fixed|broken"},
        {"migration-method", 0, 0, G_OPTION_ARG_STRING, &lv->migration_method,
         "auto (default), precopy, postcopy or paused (docs/hint-safety.md)", "METHOD"},
        {"allow-unsafe-live-migration", 0, 0, G_OPTION_ARG_NONE, &lv->allow_unsafe_live_migration,
         "Plain live precopy even on a QEMU that may lose guest writes under TCG", NULL},
        G_OPTION_ENTRY_NULL,
    };

    g_option_context_add_main_entries(ctx, entries, NULL);
}

/* fpbctl evacuate --to DESTURI [--connect URI] [DOMAIN...] [options] */
int fpbctl_cmd_evacuate(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("--to DESTURI [DOMAIN...]");
    g_autoptr(GError) error = NULL;
    Options o = {0};
    int status;

    fpb_evacuate_run_options_init(&o.ev);
    add_entries(&o, ctx);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_description(ctx, description);
    g_set_prgname("fpbctl evacuate");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = run(&o, argc, argv);
    }
    options_clear(&o);
    return status;
}
