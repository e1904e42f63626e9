/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl: fpb's admin CLI. main() dispatches to one function per
 * subcommand through the table `commands`; a new subcommand is one entry
 * there plus its function. Exit codes are shared by all subcommands.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "fpb-facts-json.h"
#include "fpb-policy.h"
#include "fpbctl.h"
#include "fpb-backend-libvirt.h"
#include "fpb-libvirt-conn.h"

const FpbBackendOps *const fpbctl_backends[] = {&fpb_backend_qmp_ops, &fpb_backend_libvirt_ops,
                                                NULL};

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} FpbctlCommand;

static int cmd_explain(int argc, char **argv);

/* DOMAIN arguments mean libvirt (fpbctl-libvirt.c), --qmp/--facts bare QEMU. */
static int cmd_explain_any(int argc, char **argv)
{
    return fpbctl_libvirt_explain_or(argc, argv, cmd_explain);
}

static int cmd_migrate_any(int argc, char **argv)
{
    return fpbctl_libvirt_migrate_or(argc, argv, fpbctl_cmd_migrate);
}

static const FpbctlCommand commands[] = {
    {"explain",
     "show the migration mode fpb would choose for a VM, why, and every option's "
     "prediction",
     cmd_explain_any},
    {"migrate", "migrate a VM: collect facts, decide, prepare, migrate, restore, record",
     cmd_migrate_any},
    {"evacuate",
     "empty a libvirt host: plan every VM's mode, order and share of the link, run the plan",
     fpbctl_cmd_evacuate},
    {"history", "show the journal: decisions, predictions and outcomes, newest first",
     fpbctl_cmd_history},
    {"recover", "give back memory that a killed fpbctl left taken", fpbctl_cmd_recover},
    {"policy", "show or set a libvirt domain's per-VM policy (metadata)", fpbctl_cmd_policy},
    {"status", "show what fpbd is doing", fpbctl_cmd_status},
    {"enable-hints", "add (or --disable: remove) the free-page-hint override in a domain's XML",
     fpbctl_cmd_enable_hints},
};

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: fpbctl COMMAND [OPTION...]\n\n"
                 "fpb chooses, per VM and per migration, between virtio-balloon free-page\n"
                 "hints, balloon inflation, both, or neither.\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\nRun 'fpbctl COMMAND --help' for a command's options, 'fpbctl --version'\n"
                 "for fpb's version.\n"
                 "Exit status: 0 success, 1 the operation ran and failed (e.g. a migration),\n"
                 "2 bad usage or refused input (nothing was done).\n");
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;

    /* A libvirtd that dies mid-call must be an error, not a killed fpbctl
     * that leaves its journal row open: libvirt's client writes to its
     * socket without MSG_NOSIGNAL. */
    signal(SIGPIPE, SIG_IGN);
    if (!fpb_libvirt_event_loop_start(&error)) {
        g_printerr("fpbctl: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (argc < 2) {
        print_usage(stderr);
        return FPBCTL_EXIT_USAGE;
    }
    if (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h") ||
        g_str_equal(argv[1], "help")) {
        print_usage(stdout);
        return FPBCTL_EXIT_OK;
    }
    if (g_str_equal(argv[1], "--version")) {
        printf("fpbctl %s\n", FPB_VERSION);
        return FPBCTL_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(argv[1], commands[i].name)) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "fpbctl: unknown command '%s' (try 'fpbctl --help')\n", argv[1]);
    return FPBCTL_EXIT_USAGE;
}

/* ---- explain ---- */

char *fpbctl_format_mem(gint64 bytes)
{
    if (bytes < 0) {
        return g_strdup("unknown");
    }
    return g_format_size_full((guint64)bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static const char *yes_no(gboolean b)
{
    return b ? "yes" : "no";
}

static const char *init_on_alloc_name(FpbPolicyInitOnAlloc v)
{
    switch (v) {
    case FPB_POLICY_INIT_ON_ALLOC_ON:
        return "on";
    case FPB_POLICY_INIT_ON_ALLOC_OFF:
        return "off";
    case FPB_POLICY_INIT_ON_ALLOC_UNKNOWN:
    default:
        return "unknown";
    }
}

static void print_facts_vm(const FpbPolicyFacts *f)
{
    g_autofree char *ram = fpbctl_format_mem(f->ram_bytes);
    g_autofree char *actual = fpbctl_format_mem(f->balloon_actual_bytes);
    g_autofree char *free_mem = fpbctl_format_mem(f->stats.free_bytes);
    g_autofree char *avail = fpbctl_format_mem(f->stats.available_bytes);
    g_autofree char *age = f->stats.age_seconds < 0
                               ? g_strdup("of unknown age")
                               : g_strdup_printf("%.1f s old", f->stats.age_seconds);

    g_autofree char *qemu = fpb_policy_qemu_version_to_string(&f->qemu);

    printf("VM:       RAM %s, balloon actual %s, accelerator %s\n", ram, actual,
           fpb_policy_accel_to_string(f->accelerator));
    printf("QEMU:     %s%s%s%s, TCG dirty tracking %s%s\n", qemu ? qemu : "version unknown",
           f->qemu.package_known ? " ('" : "", f->qemu.package_known ? f->qemu.package : "",
           f->qemu.package_known ? "')" : "",
           fpb_policy_tcg_dirty_tracking_to_string(fpb_policy_facts_tcg_dirty_tracking(f)),
           f->qemu.tcg_dirty_tracking_overridden ? " (operator override)" : "");
    const char *thp = fpb_policy_thp_to_string(f->guest.transparent_hugepage);

    printf("Guest:    free-page hints %s (driver %s, init_on_alloc %s, THP %s), stats: free %s, "
           "available %s (%s)\n",
           f->guest.free_page_hint ? "negotiated" : "not negotiated",
           fpb_policy_driver_to_string(f->guest.driver), init_on_alloc_name(f->guest.init_on_alloc),
           thp ? thp : "kernel default", free_mem, avail, age);
}

static void print_facts_policy(const FpbPolicyFacts *f)
{
    g_autofree char *floor_mem = fpbctl_format_mem(f->policy.floor_bytes);

    g_autofree char *bound = fpbctl_format_mem(f->policy.reclaim_cache_bound_bytes);

    printf("Policy:   mode %s, objective %s, floor %s, max prep %.1f s, balloon %s, reclaim %s",
           fpb_policy_request_to_string(f->policy.mode),
           fpb_policy_objective_to_string(f->policy.objective), floor_mem,
           f->policy.max_prep_seconds, f->policy.balloon_allowed ? "allowed" : "not allowed",
           fpb_policy_reclaim_to_string(f->policy.reclaim));
    if (f->policy.reclaim & FPB_POLICY_RECLAIM_CACHE) {
        printf(" (cache up to %s)", bound);
    }
    printf("\n");
    printf("Paths:    can give memory back: %s, hints can be switched off: %s\n",
           yes_no(f->can_restore), yes_no(f->hints_can_be_disabled));
}

void fpbctl_print_decision(const FpbPolicyDecision *d)
{
    g_autofree char *target = fpbctl_format_mem(d->balloon_target_bytes);
    g_autofree char *inflate = fpbctl_format_mem(d->inflate_bytes);

    if (fpb_policy_mode_uses_balloon(d->mode)) {
        printf("\nDecision: %s (inflate by %s to a balloon target of %s)\n",
               fpb_policy_mode_to_string(d->mode), inflate, target);
    } else {
        printf("\nDecision: %s\n", fpb_policy_mode_to_string(d->mode));
    }
    printf("Method:   %s\n\nReasons:\n", fpb_policy_method_to_string(d->method));
    for (guint i = 0; i < d->reasons->len; i++) {
        const FpbPolicyReason *r = g_ptr_array_index(d->reasons, i);

        printf("  %-30s %s\n", fpb_policy_reason_code_to_string(r->code), r->text);
    }
}

void fpbctl_print_predictions(const FpbPolicyDecision *d)
{
    printf("\n  %-13s %10s %9s %8s %8s %8s %8s %10s  %s\n", "option", "sent", "inflate", "prep",
           "migrate", "restore", "total", "impact", "feasible");
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const FpbPolicyPrediction *p = &d->predictions[i];
        g_autofree char *inflate = fpbctl_format_mem(p->inflate_bytes);

        printf("%s %-13s %7.0f MB %9s %6.1f s %6.1f s %6.1f s %6.1f s %7.1f GB*s  %s%s%s\n",
               i == (int)d->mode ? "*" : " ", fpb_policy_mode_to_string((FpbPolicyMode)i),
               (double)p->bytes / 1e6, inflate, p->prep_seconds, p->migrate_seconds,
               p->restore_seconds, fpb_policy_prediction_total_seconds(p),
               p->guest_impact_byte_seconds / 1e9, p->feasible ? "yes" : "no: ",
               p->feasible ? "" : fpb_policy_reason_code_to_string(p->why_not),
               p->converges ? "" : " (may not converge)");
    }
}

/* "fpb_balloon 0.4 (identified)", "virtio_balloon (presumed: statistics
 * without a name)", "unknown (...)". (transfer full) */
static char *driver_text(const FpbVmFacts *vf)
{
    if (g_strcmp0(vf->driver_seen, "identified") == 0) {
        return g_strdup_printf("%s %s (it named itself, features 0x%" G_GINT64_MODIFIER "x)",
                               vf->driver_name, vf->driver_version ? vf->driver_version : "?",
                               vf->driver_features);
    }
    if (g_strcmp0(vf->driver_seen, "stock") == 0) {
        return g_strdup_printf("%s (presumed: statistics without a name)", vf->driver_name);
    }
    return g_strdup_printf("unknown (%s)", vf->driver_seen == NULL ? "not asked"
                                           : g_str_equal(vf->driver_seen, "unsupported")
                                               ? "this QEMU cannot tell"
                                               : "no statistics from the guest yet");
}

void fpbctl_print_vm_runs(const FpbVmFacts *vf)
{
    g_autofree char *driver = driver_text(vf);

    printf("Binary:   %s: %s\n", vf->qemu_binary ? vf->qemu_binary : "unknown",
           fpb_vm_facts_qemu_is_fpb(vf) ? "fpb's QEMU (package fpb-qemu-system-x86)"
                                        : "not fpb's QEMU");
    printf("Hints:    per-migration switch %s, counters %s\n",
           vf->qemu_hint_switch ? "x-fpb-free-page-hints" : "none (postcopy-ram is used)",
           vf->qemu_hint_stats ? "x-fpb-query-hint-stats" : "none");
    printf("Driver:   %s\n", driver);
}

void fpbctl_add_vm_runs_json(json_object *out, const FpbVmFacts *vf)
{
    json_object *driver = json_object_new_object();

    json_object_object_add(out, "qemu_binary",
                           vf->qemu_binary ? json_object_new_string(vf->qemu_binary) : NULL);
    json_object_object_add(out, "qemu_is_fpb",
                           json_object_new_boolean(fpb_vm_facts_qemu_is_fpb(vf)));
    json_object_object_add(out, "qemu_hint_switch", json_object_new_boolean(vf->qemu_hint_switch));
    json_object_object_add(out, "qemu_hint_stats", json_object_new_boolean(vf->qemu_hint_stats));
    json_object_object_add(driver, "seen",
                           vf->driver_seen ? json_object_new_string(vf->driver_seen) : NULL);
    json_object_object_add(driver, "name",
                           vf->driver_name ? json_object_new_string(vf->driver_name) : NULL);
    json_object_object_add(driver, "version",
                           vf->driver_version ? json_object_new_string(vf->driver_version) : NULL);
    json_object_object_add(driver, "features", json_object_new_int64((gint64)vf->driver_features));
    json_object_object_add(out, "guest_driver", driver);
}

void fpbctl_print_facts(const FpbPolicyFacts *f)
{
    print_facts_vm(f);
    print_facts_policy(f);
}

static int print_explain_json(const FpbPolicyFacts *facts, const FpbPolicyDecision *d)
{
    g_autoptr(json_object) out = fpb_facts_json_explain(facts, d);

    printf("%s\n",
           json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
    return FPBCTL_EXIT_OK;
}

static int print_explain_human(const char *source, const FpbPolicyFacts *facts,
                               const FpbPolicyDecision *d)
{
    printf("Facts:    %s\n", source);
    fpbctl_print_facts(facts);
    fpbctl_print_decision(d);
    fpbctl_print_predictions(d);
    return FPBCTL_EXIT_OK;
}

/* The options given on the command line win over the file, as they win
 * over what a VM says (its policy keys, the operator's word on the guest
 * and QEMU, the cap, the method and the risks accepted), so a saved
 * situation can be replayed with what a migration would be asked for. */
static void options_onto_facts(const FpbConfPolicy *given, const FpbPipelineRequest *req,
                               FpbPolicyFacts *f)
{
    const FpbVmFactsOptions *o = &req->facts;

    fpb_run_options_apply_policy(given, &f->policy);
    f->policy.method = o->policy.method;
    f->policy.allow_unsafe_live_migration = o->policy.allow_unsafe_live_migration;
    f->policy.accept_kvm_dirty_log_window = o->policy.accept_kvm_dirty_log_window;
    if (o->driver != FPB_POLICY_DRIVER_UNKNOWN) {
        f->guest.driver = o->driver;
    }
    if (o->init_on_alloc != FPB_POLICY_INIT_ON_ALLOC_UNKNOWN) {
        f->guest.init_on_alloc = o->init_on_alloc;
    }
    if (o->tcg_dirty_tracking != FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN) {
        f->qemu.tcg_dirty_tracking_overridden = TRUE;
        f->qemu.tcg_dirty_tracking_override = o->tcg_dirty_tracking;
    }
    if (o->max_bandwidth > 0) {
        f->bandwidth_bytes_per_second = (double)o->max_bandwidth;
    }
}

static int explain_from_file(const char *facts_path, const FpbctlVmOptions *o)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) decision = NULL;
    FpbPipelineRequest req;
    FpbConfPolicy given;
    FpbPolicyFacts facts;

    fpb_pipeline_request_init(&req);
    if (!fpb_run_options_apply(&o->run, &given, &req, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (!fpb_facts_json_load_file(facts_path, &facts, &error)) {
        fprintf(stderr, "fpbctl explain: %s: %s\n", facts_path, error->message);
        return FPBCTL_EXIT_USAGE;
    }
    options_onto_facts(&given, &req, &facts);
    if ((decision = fpb_policy_decide(&facts, &error)) == NULL) {
        fprintf(stderr, "fpbctl explain: %s: %s\n", facts_path, error->message);
        return FPBCTL_EXIT_USAGE;
    }
    return o->json ? print_explain_json(&facts, decision)
                   : print_explain_human(facts_path, &facts, decision);
}

static void progress_to_stderr(const char *message, gpointer user_data)
{
    fprintf(stderr, "%s: %s\n", (const char *)user_data, message);
}

static int print_vm_explain_json(const FpbVmFacts *vf, const FpbPolicyDecision *d)
{
    g_autoptr(json_object) out = fpb_facts_json_explain(&vf->facts, d);
    json_object *notes = json_object_new_array();

    json_object_object_add(out, "vm", vf->name ? json_object_new_string(vf->name) : NULL);
    json_object_object_add(out, "qemu_version",
                           vf->qemu_version ? json_object_new_string(vf->qemu_version) : NULL);
    json_object_object_add(out, "init_on_alloc_source",
                           json_object_new_string(vf->init_on_alloc_source));
    fpbctl_add_vm_runs_json(out, vf);
    for (guint i = 0; i < vf->notes->len; i++) {
        json_object_array_add(notes, json_object_new_string(vf->notes->pdata[i]));
    }
    json_object_object_add(out, "notes", notes);
    fpbctl_print_json(out, TRUE);
    return FPBCTL_EXIT_OK;
}

static int print_vm_explain_human(const FpbctlQmpRequest *req, const FpbVmFacts *vf,
                                  const FpbPolicyDecision *d)
{
    printf("Facts:    QMP socket '%s' (VM '%s', QEMU %s; init_on_alloc from %s)\n",
           req->target.source_qmp, vf->name ? vf->name : "?",
           vf->qemu_version ? vf->qemu_version : "?", vf->init_on_alloc_source);
    fpbctl_print_vm_runs(vf);
    fpbctl_print_facts(&vf->facts);
    fpbctl_print_decision(d);
    fpbctl_print_predictions(d);
    return FPBCTL_EXIT_OK;
}

static int explain_from_vm(FpbctlVmOptions *o)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) journal = NULL;
    g_autoptr(FpbVmFacts) vf = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    gboolean refused = FALSE;
    g_autoptr(FpbBackend) backend = NULL;
    FpbctlQmpRequest req;

    fpbctl_qmp_request_init(&req);
    if (!fpbctl_vm_options_apply(o, &req, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if ((journal = fpbctl_open_journal("explain", o->db)) == NULL) {
        return FPBCTL_EXIT_FAILED;
    }
    req.run.progress = progress_to_stderr;
    req.run.progress_data = (gpointer) "fpbctl explain";
    backend = fpb_backend_qmp_new(&req.target);
    /* An unreachable VM is refused input too: nothing was done. */
    if (!fpb_pipeline_explain(journal, backend, &req.run, &vf, &d, &refused, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    return o->json ? print_vm_explain_json(vf, d) : print_vm_explain_human(&req, vf, d);
}

/* fpbctl explain (--facts FILE | --qmp SOCKET [options]) [--json] */
static int cmd_explain(int argc, char **argv)
{
    g_autofree char *facts_path = NULL;
    FpbctlVmOptions o;
    const GOptionEntry entries[] = {
        {"facts", 0, 0, G_OPTION_ARG_FILENAME, &facts_path,
         "Read the VM's facts from FILE (JSON, the shape 'explain --json' prints under "
         "\"facts\"; see docs/cost-model.md) instead of asking a VM; the VM options below "
         "given too win over the file",
         "FILE"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("(--facts FILE | --qmp SOCKET)");
    g_autoptr(GError) error = NULL;
    g_autofree char *modes = fpb_policy_mode_names_join(FALSE, ", ", ", ", NULL);
    g_autofree char *summary = NULL;
    g_autofree char *description = NULL;
    int status;

    fpbctl_vm_options_init(&o);
    summary = g_strdup_printf("Show the migration mode fpb would choose for a VM, the reasons, "
                              "and the prediction of every option\n(%s). Nothing is changed, "
                              "except that the VM's balloon\nstats polling is switched on.",
                              modes);
    g_option_context_set_summary(ctx, summary);
    description = fpbctl_modes_help("Exit status: 0 success; 1 the journal cannot be opened; 2 "
                                    "bad usage or refused input (unreadable or malformed file, a "
                                    "missing or out-of-range field, an unreachable VM, a forced "
                                    "mode that cannot run).");
    g_option_context_set_description(ctx, description);
    fpbctl_vm_options_add(&o, ctx);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl explain");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        status = FPBCTL_EXIT_USAGE;
    } else if (argc > 1) {
        fprintf(stderr, "fpbctl explain: unexpected argument '%s'\n", argv[1]);
        status = FPBCTL_EXIT_USAGE;
    } else if ((facts_path == NULL) == (o.qmp == NULL)) {
        fprintf(stderr, "fpbctl explain: --facts FILE is required, or --qmp SOCKET "
                        "(one of them)\n");
        status = FPBCTL_EXIT_USAGE;
    } else {
        status = facts_path ? explain_from_file(facts_path, &o) : explain_from_vm(&o);
    }
    fpbctl_vm_options_clear(&o);
    return status;
}
