/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An evacuation run (docs/evacuate.md, "fpbctl evacuate"): every VM's
 * facts as `fpbctl explain DOMAIN` collects them, one plan for all of
 * them (fpb-evacuate-plan.h), then the plan run: one thread per VM, each
 * running the one pipeline (fpb_pipeline_migrate()) with its own backend
 * object and journal connection, its mode forced to the plan's and its
 * bandwidth capped to its share; re-plans on every finish (and whenever a
 * start is due) and journals the evacuation. libvirt backend only.
 *
 * Shared by `fpbctl evacuate` (run in the CLI) and fpbd's "evacuate"
 * request (run for a client of its control socket), so both print the
 * same plan, write the same rows and stop the same way. It prints
 * nothing itself: every line goes through the caller's hooks.
 */
#pragma once

#include "fpb-backend-libvirt.h"
#include "fpb-conf-policy.h"
#include "fpb-libvirt-options.h"
#include "fpb-evacuate-plan.h"
#include "fpb-pipeline.h"

G_BEGIN_DECLS

/* Exit status of an evacuation (fpbctl's, docs/evacuate.md). */
enum {
    FPB_EVACUATE_EXIT_OK = 0,
    FPB_EVACUATE_EXIT_FAILED = 1, /* interrupted, or not journaled or planned */
    FPB_EVACUATE_EXIT_USAGE = 2,  /* nothing could be done */
    /* + N (at most 100): N VMs not evacuated */
    FPB_EVACUATE_EXIT_NOT_EVACUATED = 10,
};

typedef enum {
    FPB_EVACUATE_RUN_OUT, /* the plan and the outcome (stdout) */
    FPB_EVACUATE_RUN_ERR, /* progress and warnings (stderr) */
} FpbEvacuateRunStream;

/* Where the run's output goes. Called from the run's thread and from the
 * VMs' threads: each must be thread-safe. */
typedef struct {
    /* Text for one stream, as printf would write it (whole lines, or a
     * line's parts in order). */
    void (*emit)(FpbEvacuateRunStream stream, const char *text, gpointer data);
    /* At every poll of a running migration (NULL: nobody asks). */
    FpbPipelineTickFunc tick;
    /* @vm's pipeline returned (NULL: nobody asks). */
    void (*vm_done)(const char *vm, gpointer data);
    gpointer data;
} FpbEvacuateRunHooks;

typedef struct {
    const char *source_uri; /* NULL: FPB_LIBVIRT_DEFAULT_URI */
    const char *dest_uri;
    const char *db_path;
    /* NULL-terminated; NULL: every running domain of the source (empty:
     * nothing to evacuate) */
    const char *const *domains;
    gint64 link; /* --max-bandwidth, the whole link; -1: unlimited, no caps */
    FpbEvacuateOptions plan;
    gboolean force_none; /* --mode none */
    /* Most VMs whose pipeline runs at once (inflating, migrating or giving
     * back), whatever the plan says; 0: the plan alone decides. fpbd's
     * max-migrations. */
    guint max_running;
    gboolean dry_run;
    gboolean json;
    /* The per-VM options applied (fpb_libvirt_options_apply()), borrowed;
     * its target's domain and destination are set per VM. */
    const FpbLibvirtMigrateRequest *base;
    /* Non-zero (g_atomic_int_set, any thread or a signal handler): no VM
     * starts any more, the running ones are cancelled and give their
     * memory back. NULL: never. Borrowed. */
    volatile gint *cancel;
    FpbEvacuateRunHooks hooks;
} FpbEvacuateRunRequest;

/* The options of an evacuation as the operator gave them (fpbctl
 * evacuate's, or the "options" of fpbd's "evacuate" request: the same
 * names). */
typedef struct {
    FpbLibvirtOptions lv; /* the per-VM options; lv.max_bandwidth, lv.mode unused */
    gint64 link;          /* --max-bandwidth: the whole link, bytes/s; -1: unlimited */
    char *parallel;       /* NULL: auto */
    double deadline_s;    /* 0: none */
    char *mode;           /* none or auto; NULL: auto */
} FpbEvacuateRunOptions;

void fpb_evacuate_run_options_init(FpbEvacuateRunOptions *options);
void fpb_evacuate_run_options_clear(FpbEvacuateRunOptions *options);

/* The options given as a JSON object of fpbctl's option names: the
 * per-VM ones as fpbd's "migrate" has them, "max-bandwidth" (the link),
 * "parallel" (string), "deadline" (number), "mode". (transfer full) */
json_object *fpb_evacuate_run_options_to_json(const FpbEvacuateRunOptions *options);
/* Back from that object (NULL: nothing given); an unknown key, a wrong
 * type or "objective" (the plan picks the modes) is an error. */
gboolean fpb_evacuate_run_options_from_json(json_object *j, FpbEvacuateRunOptions *options,
                                            GError **error);

/* Checks @options and fills @request's plan, force_none and link, and
 * @ret_base (the per-VM options over the host defaults @host; borrows
 * @options' strings). @error names the option ("--parallel: '0' is not
 * ..."). */
gboolean fpb_evacuate_run_options_apply(const FpbEvacuateRunOptions *options,
                                        const FpbConfPolicy *host,
                                        FpbLibvirtMigrateRequest *ret_base,
                                        FpbEvacuateRunRequest *request, GError **error);

/* --max-bandwidth (-1: none), --parallel (NULL, "auto" or 1..64) and
 * --deadline (0..86400 s, 0: none) as the planner's options; @error names
 * the option. */
gboolean fpb_evacuate_run_plan_options(gint64 link, const char *parallel, double deadline_s,
                                       FpbEvacuateOptions *ret, GError **error);

/* Runs @request to its end (blocking: minutes); returns the exit status
 * (FPB_EVACUATE_EXIT_*). Any thread; calls fpb_libvirt_init(). */
int fpb_evacuate_run(const FpbEvacuateRunRequest *request);

G_END_DECLS
