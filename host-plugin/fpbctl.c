/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl: fpb's admin CLI. main() dispatches to one function per
 * subcommand through the table `commands`; a new subcommand is one entry
 * there plus its function. Exit codes are shared by all subcommands.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <stdio.h>
#include <stdlib.h>

#include "fpb-facts-json.h"
#include "fpb-policy.h"

enum {
    FPBCTL_EXIT_OK = 0,
    FPBCTL_EXIT_FAILED = 1, /* the operation ran and failed (e.g. a migration) */
    FPBCTL_EXIT_USAGE = 2,  /* bad usage or refused input: nothing was done */
};

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} FpbctlCommand;

static int cmd_explain(int argc, char **argv);

static const FpbctlCommand commands[] = {
    {"explain", "show the migration mode fpb would choose for a VM, why, and every option's "
                "prediction",
     cmd_explain},
};

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: fpbctl COMMAND [OPTION...]\n\n"
                 "fpb chooses, per VM and per migration, between virtio-balloon free-page\n"
                 "hints, balloon inflation, both, or neither.\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\nRun 'fpbctl COMMAND --help' for a command's options.\n"
                 "Exit status: 0 success, 2 bad usage or refused input.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return FPBCTL_EXIT_USAGE;
    }
    if (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h") ||
        g_str_equal(argv[1], "help")) {
        print_usage(stdout);
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

static char *format_mem(gint64 bytes)
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
    g_autofree char *ram = format_mem(f->ram_bytes);
    g_autofree char *actual = format_mem(f->balloon_actual_bytes);
    g_autofree char *free_mem = format_mem(f->stats.free_bytes);
    g_autofree char *avail = format_mem(f->stats.available_bytes);
    g_autofree char *age = f->stats.age_seconds < 0 ? g_strdup("of unknown age")
                                                    : g_strdup_printf("%.1f s old",
                                                                      f->stats.age_seconds);

    printf("VM:       RAM %s, balloon actual %s, accelerator %s\n", ram, actual,
           fpb_policy_accel_to_string(f->accelerator));
    printf("Guest:    free-page hints %s (driver %s, init_on_alloc %s), stats: free %s, "
           "available %s (%s)\n",
           f->guest.free_page_hint ? "negotiated" : "not negotiated",
           fpb_policy_driver_to_string(f->guest.driver),
           init_on_alloc_name(f->guest.init_on_alloc), free_mem, avail, age);
}

static void print_facts_policy(const FpbPolicyFacts *f)
{
    g_autofree char *floor_mem = format_mem(f->policy.floor_bytes);

    printf("Policy:   mode %s, objective %s, floor %s, max prep %.1f s, balloon %s\n",
           fpb_policy_request_to_string(f->policy.mode),
           fpb_policy_objective_to_string(f->policy.objective), floor_mem,
           f->policy.max_prep_seconds, f->policy.balloon_allowed ? "allowed" : "not allowed");
    printf("Paths:    can give memory back: %s, hints can be switched off: %s\n",
           yes_no(f->can_restore), yes_no(f->hints_can_be_disabled));
}

static void print_decision(const FpbPolicyDecision *d)
{
    g_autofree char *target = format_mem(d->balloon_target_bytes);
    g_autofree char *inflate = format_mem(d->inflate_bytes);

    if (fpb_policy_mode_uses_balloon(d->mode)) {
        printf("\nDecision: %s (inflate by %s to a balloon target of %s)\n\nReasons:\n",
               fpb_policy_mode_to_string(d->mode), inflate, target);
    } else {
        printf("\nDecision: %s\n\nReasons:\n", fpb_policy_mode_to_string(d->mode));
    }
    for (guint i = 0; i < d->reasons->len; i++) {
        const FpbPolicyReason *r = g_ptr_array_index(d->reasons, i);

        printf("  %-30s %s\n", fpb_policy_reason_code_to_string(r->code), r->text);
    }
}

static void print_predictions(const FpbPolicyDecision *d)
{
    printf("\n  %-13s %10s %9s %8s %8s %8s %8s %10s  %s\n", "option", "sent", "inflate", "prep",
           "migrate", "restore", "total", "impact", "feasible");
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const FpbPolicyPrediction *p = &d->predictions[i];
        g_autofree char *inflate = format_mem(p->inflate_bytes);

        printf("%s %-13s %7.0f MB %9s %6.1f s %6.1f s %6.1f s %6.1f s %7.1f GB*s  %s%s%s\n",
               i == (int)d->mode ? "*" : " ", fpb_policy_mode_to_string((FpbPolicyMode)i),
               (double)p->bytes / 1e6, inflate, p->prep_seconds, p->migrate_seconds,
               p->restore_seconds, fpb_policy_prediction_total_seconds(p),
               p->guest_impact_byte_seconds / 1e9, p->feasible ? "yes" : "no: ",
               p->feasible ? "" : fpb_policy_reason_code_to_string(p->why_not),
               p->converges ? "" : " (may not converge)");
    }
}

static int print_explain_json(const FpbPolicyFacts *facts, const FpbPolicyDecision *d)
{
    g_autoptr(json_object) out = fpb_facts_json_explain(facts, d);

    printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_SPACED |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    return FPBCTL_EXIT_OK;
}

static int print_explain_human(const char *source, const FpbPolicyFacts *facts,
                               const FpbPolicyDecision *d)
{
    printf("Facts:    %s\n", source);
    print_facts_vm(facts);
    print_facts_policy(facts);
    print_decision(d);
    print_predictions(d);
    return FPBCTL_EXIT_OK;
}

/* fpbctl explain --facts FILE [--json] */
static int cmd_explain(int argc, char **argv)
{
    g_autofree char *facts_path = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"facts", 0, 0, G_OPTION_ARG_FILENAME, &facts_path,
         "Read the VM's facts from FILE (JSON, the shape 'explain --json' prints under "
         "\"facts\"; see docs/cost-model.md)",
         "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "Print {\"facts\", \"decision\", \"predictions\"} as JSON instead of a table", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("--facts FILE");
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) decision = NULL;
    FpbPolicyFacts facts;

    g_option_context_set_summary(ctx, "Show the migration mode fpb would choose for a VM, the "
                                      "reasons, and the prediction of every option\n(none, "
                                      "hint, balloon, hint+balloon). Nothing is changed.");
    g_option_context_set_description(ctx, "Exit status: 0 success; 2 bad usage or refused "
                                          "input (unreadable or malformed file, a missing or "
                                          "out-of-range field, a forced mode that cannot run).");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_set_prgname("fpbctl explain");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl explain: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (argc > 1) {
        fprintf(stderr, "fpbctl explain: unexpected argument '%s'\n", argv[1]);
        return FPBCTL_EXIT_USAGE;
    }
    if (facts_path == NULL) {
        fprintf(stderr, "fpbctl explain: --facts FILE is required\n");
        return FPBCTL_EXIT_USAGE;
    }
    if (!fpb_facts_json_load_file(facts_path, &facts, &error) ||
        (decision = fpb_policy_decide(&facts, &error)) == NULL) {
        fprintf(stderr, "fpbctl explain: %s: %s\n", facts_path, error->message);
        return FPBCTL_EXIT_USAGE;
    }
    return json ? print_explain_json(&facts, decision)
                : print_explain_human(facts_path, &facts, decision);
}
