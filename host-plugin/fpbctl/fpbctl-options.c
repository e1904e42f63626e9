/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The options explain and migrate share, the journal / path helpers and
 * the signal set-up of the commands Ctrl-C cancels. */
#define G_LOG_DOMAIN "fpbctl"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fpbctl.h"

void fpbctl_vm_options_init(FpbctlVmOptions *o)
{
    memset(o, 0, sizeof(*o));
    fpb_run_options_init(&o->run);
}

void fpbctl_vm_options_clear(FpbctlVmOptions *o)
{
    g_free(o->qmp);
    g_free(o->dest_qmp);
    g_free(o->db);
    g_free(o->name);
    fpb_run_options_clear(&o->run);
}

void fpbctl_vm_options_add(FpbctlVmOptions *o, GOptionContext *ctx)
{
    FpbRunOptions *r = &o->run;
    /* owned by the group: GOption keeps the pointer until the parse is over */
    char *mode_help = g_strdup_printf("%s (default auto)", fpb_policy_request_names());
    const GOptionEntry entries[] = {
        {"qmp", 0, 0, G_OPTION_ARG_FILENAME, &o->qmp, "The source VM's QMP socket", "SOCKET"},
        {"dest-qmp", 0, 0, G_OPTION_ARG_FILENAME, &o->dest_qmp,
         "The destination QEMU's QMP socket (needed to switch hints off and to give ballooned "
         "memory back)",
         "SOCKET"},
        {"db", 0, 0, G_OPTION_ARG_FILENAME, &o->db,
         "The journal (default " FPB_JOURNAL_DEFAULT_PATH ")", "PATH"},
        {"name", 0, 0, G_OPTION_ARG_STRING, &o->name,
         "The VM's name in the journal (default: its -name, else the socket's file name)", "VM"},
        {"mode", 0, 0, G_OPTION_ARG_STRING, &r->mode, mode_help, "MODE"},
        {"objective", 0, 0, G_OPTION_ARG_STRING, &r->objective,
         "What auto minimises: time (default), bytes or guest-impact", "OBJECTIVE"},
        {"floor", 0, 0, G_OPTION_ARG_STRING, &r->floor,
         "Never leave the guest less memory than this: bytes, or with a unit as 512MiB "
         "(default 0)",
         "SIZE"},
        {"max-prep-seconds", 0, 0, G_OPTION_ARG_STRING, &r->max_prep,
         "Inflation time budget, 0..3600 (default 10)", "SECONDS"},
        {"no-balloon", 0, 0, G_OPTION_ARG_NONE, &r->no_balloon, "Never inflate this VM", NULL},
        {"reclaim", 0, 0, G_OPTION_ARG_STRING, &r->reclaim,
         "What fpb's guest driver frees before a hinted migration: none (default), split "
         "(the deferred split of partly freed huge pages), cache or split+cache",
         "WHAT"},
        {"reclaim-cache-bound", 0, 0, G_OPTION_ARG_STRING, &r->reclaim_cache_bound,
         "reclaim cache: drop the guest's page cache only when it is at most this (default 0)",
         "SIZE"},
        {"max-bandwidth", 0, 0, G_OPTION_ARG_INT64, &r->max_bandwidth,
         "Migration bandwidth cap (default: QEMU's setting)", "BYTES_PER_S"},
        {"guest-driver", 0, 0, G_OPTION_ARG_STRING, &r->guest_driver,
         "The guest's balloon driver, if known: stock or fpb (default unknown)", "KIND"},
        {"guest-init-on-alloc", 0, 0, G_OPTION_ARG_STRING, &r->guest_init_on_alloc,
         "The guest kernel's init_on_alloc, if known: 0 or 1 (default: from the kernel "
         "command line when QEMU boots the kernel, else unknown)",
         "0|1"},
        {"qemu-tcg-dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &r->tcg,
         "Override what fpb derives from the QEMU version: fixed (the TCG dirty-tracking fix, "
         "upstream 03bfc2188f, is in this QEMU) or broken (docs/hint-safety.md)",
         "fixed|broken"},
        {"migration-method", 0, 0, G_OPTION_ARG_STRING, &r->migration_method,
         "auto (default: precopy, or on a QEMU that loses TCG writes postcopy, else paused), "
         "precopy, postcopy or paused (docs/hint-safety.md)",
         "METHOD"},
        {"allow-unsafe-live-migration", 0, 0, G_OPTION_ARG_NONE, &r->allow_unsafe_live_migration,
         "Migrate with plain live precopy even on a QEMU that may lose guest writes under TCG "
         "(QEMU < 9.0 without the fix): the destination guest may be corrupted",
         NULL},
        {"accept-risk", 0, 0, G_OPTION_ARG_STRING, &r->accept_risk,
         "Accept a named risk fpb refuses by default: " FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW
         " (hints of fpb's guest driver on KVM with a QEMU that is not fpb's; "
         "docs/guest-driver.md)",
         "RISK"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print JSON instead of tables", NULL},
        G_OPTION_ENTRY_NULL,
    };
    GOptionGroup *group = g_option_group_new("vm", "VM options", "VM options", mode_help, g_free);

    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
}

char *fpbctl_modes_help(const char *rest)
{
    GString *s = g_string_new("Modes (--mode):\n");

    for (int i = 0; i < FPB_POLICY_N_REQUESTS; i++) {
        g_string_append_printf(s, "  %-14s %s\n", fpb_policy_request_to_string((FpbPolicyRequest)i),
                               fpb_policy_request_help((FpbPolicyRequest)i));
    }
    if (rest != NULL) {
        g_string_append_printf(s, "\n%s", rest);
    }
    return g_string_free(s, FALSE);
}

void fpbctl_qmp_request_init(FpbctlQmpRequest *r)
{
    fpb_qmp_target_init(&r->target);
    fpb_pipeline_request_init(&r->run);
}

gboolean fpbctl_vm_options_apply(FpbctlVmOptions *o, FpbctlQmpRequest *req, GError **error)
{
    FpbConfPolicy given; /* bare QEMU has no per-VM policy of its own to layer */

    if (o->qmp == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--qmp SOCKET is required");
        return FALSE;
    }
    if (!fpb_run_options_apply(&o->run, &given, &req->run, error)) {
        return FALSE;
    }
    /* Stored canonical so the journal finds the VM's rows again. */
    {
        char *canon = fpbctl_canonical_path(o->qmp);

        g_free(o->qmp);
        o->qmp = canon;
    }
    if (o->dest_qmp != NULL) {
        char *canon = fpbctl_canonical_path(o->dest_qmp);

        g_free(o->dest_qmp);
        o->dest_qmp = canon;
    }
    req->target.source_qmp = o->qmp;
    req->target.dest_qmp = o->dest_qmp;
    req->target.vm_name = o->name;
    req->run.facts.have_destination = o->dest_qmp != NULL;
    return TRUE;
}

void fpbctl_catch_signals(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

char *fpbctl_canonical_path(const char *path)
{
    char resolved[PATH_MAX];

    if (realpath(path, resolved) != NULL) {
        return g_strdup(resolved);
    }
    return g_canonicalize_filename(path, NULL);
}

FpbJournal *fpbctl_open_journal(const char *command, const char *db)
{
    g_autoptr(GError) error = NULL;
    FpbJournal *j = fpb_journal_open(db ? db : FPB_JOURNAL_DEFAULT_PATH, &error);

    if (j == NULL) {
        fprintf(stderr, "fpbctl %s: %s\n", command, error->message);
    }
    return j;
}

void fpbctl_print_json(json_object *obj, gboolean pretty)
{
    int flags = pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;

    printf("%s\n", json_object_to_json_string_ext(obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}
