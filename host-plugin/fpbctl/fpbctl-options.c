/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The options explain and migrate share, and the journal / path helpers. */
#define G_LOG_DOMAIN "fpbctl"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fpbctl.h"

void fpbctl_vm_options_init(FpbctlVmOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->floor_bytes = -1;
    o->max_prep_seconds = -1;
    o->max_bandwidth = -1;
}

void fpbctl_vm_options_clear(FpbctlVmOptions *o)
{
    g_free(o->qmp);
    g_free(o->dest_qmp);
    g_free(o->db);
    g_free(o->name);
    g_free(o->mode);
    g_free(o->objective);
    g_free(o->guest_driver);
    g_free(o->guest_init_on_alloc);
    g_free(o->qemu_tcg_dirty_tracking);
    g_free(o->migration_method);
}

void fpbctl_vm_options_add(FpbctlVmOptions *o, GOptionContext *ctx)
{
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
        {"mode", 0, 0, G_OPTION_ARG_STRING, &o->mode,
         "auto (default), none, hint, balloon or hint+balloon", "MODE"},
        {"objective", 0, 0, G_OPTION_ARG_STRING, &o->objective,
         "What auto minimises: time (default), bytes or guest-impact", "OBJECTIVE"},
        {"floor", 0, 0, G_OPTION_ARG_INT64, &o->floor_bytes,
         "Never leave the guest less memory than this (default 0)", "BYTES"},
        {"max-prep-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &o->max_prep_seconds,
         "Inflation time budget (default 10)", "SECONDS"},
        {"no-balloon", 0, 0, G_OPTION_ARG_NONE, &o->no_balloon, "Never inflate this VM", NULL},
        {"max-bandwidth", 0, 0, G_OPTION_ARG_INT64, &o->max_bandwidth,
         "Migration bandwidth cap (default: QEMU's setting)", "BYTES_PER_S"},
        {"guest-driver", 0, 0, G_OPTION_ARG_STRING, &o->guest_driver,
         "The guest's balloon driver, if known: stock or fpb (default unknown)", "KIND"},
        {"guest-init-on-alloc", 0, 0, G_OPTION_ARG_STRING, &o->guest_init_on_alloc,
         "The guest kernel's init_on_alloc, if known: 0 or 1 (default: from the kernel "
         "command line when QEMU boots the kernel, else unknown)",
         "0|1"},
        {"qemu-tcg-dirty-tracking", 0, 0, G_OPTION_ARG_STRING, &o->qemu_tcg_dirty_tracking,
         "Override what fpb derives from the QEMU version: fixed (the TCG dirty-tracking fix, "
         "upstream 03bfc2188f, is in this QEMU) or broken (docs/hint-safety.md)",
         "fixed|broken"},
        {"migration-method", 0, 0, G_OPTION_ARG_STRING, &o->migration_method,
         "auto (default: precopy, or on a QEMU that loses TCG writes postcopy, else paused), "
         "precopy, postcopy or paused (docs/hint-safety.md)",
         "METHOD"},
        {"allow-unsafe-live-migration", 0, 0, G_OPTION_ARG_NONE,
         &o->allow_unsafe_live_migration,
         "Migrate with plain live precopy even on a QEMU that may lose guest writes under TCG "
         "(QEMU < 9.0 without the fix): the destination guest may be corrupted",
         NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print JSON instead of tables", NULL},
        G_OPTION_ENTRY_NULL,
    };
    GOptionGroup *group = g_option_group_new("vm", "VM options", "VM options", NULL, NULL);

    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
}

static gboolean bad_option(GError **error, const char *option, const char *value,
                           const char *expected)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: '%s' is not %s", option,
                value, expected);
    return FALSE;
}

static gboolean apply_guest(FpbctlVmOptions *o, FpbctlQmpRequest *req, GError **error)
{
    if (o->guest_driver != NULL &&
        (g_str_equal(o->guest_driver, "unknown") ||
         !fpb_policy_driver_from_string(o->guest_driver, &req->run.facts.driver))) {
        return bad_option(error, "guest-driver", o->guest_driver, "stock or fpb");
    }
    if (o->guest_init_on_alloc != NULL) {
        if (g_str_equal(o->guest_init_on_alloc, "0")) {
            req->run.facts.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
        } else if (g_str_equal(o->guest_init_on_alloc, "1")) {
            req->run.facts.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
        } else {
            return bad_option(error, "guest-init-on-alloc", o->guest_init_on_alloc, "0 or 1");
        }
    }
    if (o->qemu_tcg_dirty_tracking != NULL &&
        (!fpb_policy_tcg_dirty_tracking_from_string(o->qemu_tcg_dirty_tracking,
                                                    &req->run.facts.tcg_dirty_tracking) ||
         req->run.facts.tcg_dirty_tracking == FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN)) {
        return bad_option(error, "qemu-tcg-dirty-tracking", o->qemu_tcg_dirty_tracking,
                          "fixed or broken");
    }
    return TRUE;
}

static gboolean apply_policy(FpbctlVmOptions *o, FpbctlQmpRequest *req, GError **error)
{
    FpbPolicySettings *p = &req->run.facts.policy;

    if (o->mode != NULL && !fpb_policy_request_from_string(o->mode, &p->mode)) {
        return bad_option(error, "mode", o->mode, "auto, none, hint, balloon or hint+balloon");
    }
    req->run.requested_mode = o->mode ? o->mode : "auto";
    if (o->objective != NULL && !fpb_policy_objective_from_string(o->objective, &p->objective)) {
        return bad_option(error, "objective", o->objective, "time, bytes or guest-impact");
    }
    if (o->floor_bytes != -1) {
        if (o->floor_bytes < 0) {
            return bad_option(error, "floor", "negative", "a size >= 0");
        }
        p->floor_bytes = o->floor_bytes;
    }
    if (o->max_prep_seconds != -1) {
        if (!(o->max_prep_seconds >= 0 && o->max_prep_seconds <= 3600)) {
            return bad_option(error, "max-prep-seconds", "out of range", "within 0..3600");
        }
        p->max_prep_seconds = o->max_prep_seconds;
    }
    p->balloon_allowed = !o->no_balloon;
    if (o->migration_method != NULL &&
        !fpb_policy_method_request_from_string(o->migration_method, &p->method)) {
        return bad_option(error, "migration-method", o->migration_method,
                          "auto, precopy, postcopy or paused");
    }
    p->allow_unsafe_live_migration = o->allow_unsafe_live_migration;
    return TRUE;
}

void fpbctl_qmp_request_init(FpbctlQmpRequest *r)
{
    fpb_qmp_target_init(&r->target);
    fpb_pipeline_request_init(&r->run);
}

gboolean fpbctl_vm_options_apply(FpbctlVmOptions *o, FpbctlQmpRequest *req, GError **error)
{
    if (o->qmp == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--qmp SOCKET is required");
        return FALSE;
    }
    if (o->max_bandwidth != -1 && o->max_bandwidth <= 0) {
        return bad_option(error, "max-bandwidth", "0 or negative", "a rate > 0");
    }
    if (!apply_guest(o, req, error) || !apply_policy(o, req, error)) {
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
    req->run.facts.max_bandwidth = o->max_bandwidth;
    req->run.facts.have_destination = o->dest_qmp != NULL;
    return TRUE;
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
