/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl's pieces: the subcommands (one file each, plus fpbctl.c's explain),
 * the options they share (fpbctl-options.c) and the table printers.
 */
#pragma once

#include <stdio.h>

#include "fpb-libvirt-options.h"
#include "fpb-backend-qmp.h"
#include "fpb-pipeline.h"
#include "fpb-run-options.h"
#include "fpb-policy.h"

G_BEGIN_DECLS

enum {
    FPBCTL_EXIT_OK = 0,
    FPBCTL_EXIT_FAILED = 1, /* the operation ran and failed (e.g. a migration) */
    FPBCTL_EXIT_USAGE = 2,  /* bad usage or refused input: nothing was done */
};

int fpbctl_cmd_migrate(int argc, char **argv);
int fpbctl_cmd_history(int argc, char **argv);
int fpbctl_cmd_recover(int argc, char **argv);
/* libvirt (fpbctl-policy.c, fpbctl-libvirt.c) */
int fpbctl_cmd_policy(int argc, char **argv);
int fpbctl_cmd_enable_hints(int argc, char **argv);
int fpbctl_cmd_status(int argc, char **argv);
/* fpbctl evacuate (fpbctl-evacuate.c): many libvirt domains, one plan. */
int fpbctl_cmd_evacuate(int argc, char **argv);
/* The libvirt form of explain/migrate, or @bare for the --qmp/--facts form. */
int fpbctl_libvirt_explain_or(int argc, char **argv, int (*bare)(int, char **));
int fpbctl_libvirt_migrate_or(int argc, char **argv, int (*bare)(int, char **));

/* fpbd's control socket (fpbctl-fpbd.c). */
typedef struct _FpbctlFpbd FpbctlFpbd;
/* Connects to @path (5 s at most) and sends @request (borrowed); reads
 * then time out after @io_timeout_s (0: never). */
FpbctlFpbd *fpbctl_fpbd_request(const char *path, json_object *request, guint io_timeout_s,
                                GError **error);
/* The next line fpbd sends (a JSON object). (transfer full) */
json_object *fpbctl_fpbd_read(FpbctlFpbd *fpbd, GError **error);
void fpbctl_fpbd_close(FpbctlFpbd *fpbd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbctlFpbd, fpbctl_fpbd_close)
/* One request, one reply. (transfer full) */
json_object *fpbctl_fpbd_ask(const char *path, json_object *request, GError **error);
/* @socket, else fpbd.conf's (@config, or the default file). (transfer full) */
char *fpbctl_fpbd_socket(const char *socket, const char *config, GError **error);
/* fpbctl migrate DOMAIN DESTURI --via-fpbd: fpbd runs it, fpbctl follows. */
int fpbctl_migrate_via_fpbd(const char *socket, const char *config, const char *connect,
                            const char *db, const FpbLibvirtOptions *lv, const char *domain,
                            const char *dest, gboolean json);

/* fpbctl evacuate --via-fpbd: sends @request (borrowed, an "evacuate"),
 * shows what fpbd's run prints, returns its exit status. SIGINT/SIGTERM
 * cancel the evacuation in fpbd (the outcome is still shown). */
int fpbctl_evacuate_via_fpbd(const char *socket, const char *config, json_object *request);

/* The backends fpbctl drives (NULL-terminated): journal rows of either are
 * recovered. */
extern const FpbBackendOps *const fpbctl_backends[];

/* A migration of a VM on bare QEMU as fpbctl asks for it. */
typedef struct {
    FpbQmpTarget target;
    FpbPipelineRequest run;
} FpbctlQmpRequest;

void fpbctl_qmp_request_init(FpbctlQmpRequest *request);

/* Options shared by explain and migrate of the bare-QMP form: the VM and
 * its destination, and the run's options as every form has them (the
 * per-VM policy, what the operator knows about the guest, the method,
 * the cap; --timeout is migrate's). */
typedef struct {
    char *qmp;
    char *dest_qmp;
    char *db;
    char *name;
    gboolean json;
    gboolean progress; /* migrate --progress */
    FpbRunOptions run;
} FpbctlVmOptions;

void fpbctl_vm_options_init(FpbctlVmOptions *options);
void fpbctl_vm_options_clear(FpbctlVmOptions *options);
/* Adds the shared options to @ctx (which must outlive the parse). */
void fpbctl_vm_options_add(FpbctlVmOptions *options, GOptionContext *ctx);
/* Checks the options (fpb_run_options_apply()) and fills @req (strings
 * borrowed from @options). On FALSE, @error says which option is wrong. */
gboolean fpbctl_vm_options_apply(FpbctlVmOptions *options, FpbctlQmpRequest *req, GError **error);

/* The "Modes:" part of explain's and migrate's --help, from the mode
 * table, followed by @rest (NULL: nothing). (transfer full) */
char *fpbctl_modes_help(const char *rest);

/* The journal at --db (default FPB_JOURNAL_DEFAULT_PATH); prints the error. */
FpbJournal *fpbctl_open_journal(const char *command, const char *db);

/* A socket path as the journal stores it: absolute, symlinks resolved. */
char *fpbctl_canonical_path(const char *path);

/* SIGINT and SIGTERM call @handler (async-signal-safe only); interrupted
 * system calls restart, so the caller polls what the handler sets. */
void fpbctl_catch_signals(void (*handler)(int));

/* "1.5 GiB", "unknown" for < 0. */
char *fpbctl_format_mem(gint64 bytes);
void fpbctl_print_json(json_object *obj, gboolean pretty);
void fpbctl_print_decision(const FpbPolicyDecision *d);
void fpbctl_print_predictions(const FpbPolicyDecision *d);
void fpbctl_print_facts(const FpbPolicyFacts *f);
/* What the VM runs, for explain: the QEMU binary and whether it is fpb's,
 * fpb's hint switch and counters, the guest's balloon driver ("Binary:",
 * "Hints:", "Driver:" lines; members qemu_binary, qemu_is_fpb,
 * qemu_hint_switch, qemu_hint_stats, guest_driver of @out). */
void fpbctl_print_vm_runs(const FpbVmFacts *vf);
void fpbctl_add_vm_runs_json(json_object *out, const FpbVmFacts *vf);

G_END_DECLS
