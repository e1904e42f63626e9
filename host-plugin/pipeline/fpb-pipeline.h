/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration of one VM, whatever the backend (docs/orchestrator.md,
 * docs/architecture.md): lock the VM -> open -> recover abandoned rows ->
 * facts -> decide -> journal the intent -> prepare -> migrate -> restore -> record.
 * This module owns the order, the journal-first rule (nothing changes on a
 * guest before its intent row is written), what is undone when a step
 * fails, and the outcome; the backend (fpb-backend.h) does each step.
 *
 * Blocking; not thread-safe per backend object. Library code: it reports
 * through @progress and the returned outcome, it does not print or log.
 */
#pragma once

#include "fpb-backend.h"
#include "fpb-journal.h"
#include "fpb-outcome.h"
#include "fpb-policy.h"
#include "fpb-vm-facts.h"

G_BEGIN_DECLS

typedef void (*FpbProgressFunc)(const char *message, gpointer user_data);

/* A running migration's progress, and the prediction it is held against. */
typedef struct {
    const char *vm;
    const char *mode; /* the decided mode */
    const FpbMigrationProgress *migration;
    double predicted_seconds; /* the decision's migration time for the mode */
    gint64 predicted_bytes;
} FpbPipelineTick;

typedef void (*FpbPipelineTickFunc)(const FpbPipelineTick *tick, gpointer user_data);

/* What to do with the VM, the same for every backend. */
typedef struct {
    const char *requested_mode;
    FpbVmFactsOptions facts; /* facts.policy.mode is the requested mode */
    double timeout_s;        /* migration timeout, 0: none */
    /* cancel a migration that sent nothing for this long (0: never;
     * fpb-migration-watch.h) */
    double migration_stall_s;
    guint stall_ms; /* balloon: give up after this long without progress */
    FpbProgressFunc progress;
    gpointer progress_data;
    /* At every poll of the running migration (NULL: nobody asks); from the
     * thread that runs the pipeline. */
    FpbPipelineTickFunc tick;
    gpointer tick_data;
    /* Non-NULL: the caller sets *cancel to non-zero (g_atomic_int_set, from
     * any thread or a signal handler) to stop the run: no step is started
     * after it, an inflation stops between polls, a running migration is
     * aborted by the backend (libvirt), and the memory is given back through
     * the normal restore path (the run ends failed). Borrowed. */
    volatile gint *cancel;
} FpbPipelineRequest;

/* Defaults: auto, timeout 600 s, migration stall 60 s, balloon stall 3 s. */
void fpb_pipeline_request_init(FpbPipelineRequest *request);

typedef enum {
    FPB_MIGRATE_OK = 0,
    FPB_MIGRATE_FAILED,  /* something was tried and did not work */
    FPB_MIGRATE_REFUSED, /* nothing was done: the policy or the input said no */
} FpbMigrateResult;

/**
 * fpb_pipeline_migrate:
 * Runs the whole migration of @backend's VM and journals it (one row,
 * written before the guest is touched and updated at each phase).
 * Abandoned rows of the same VM are recovered first (fpb-recover.h). A VM
 * that cannot be reached or judged (no facts, a policy refusal), or whose
 * lock another caller holds (fpb-vm-lock.h; the lock lives beside
 * @journal), is REFUSED: nothing was done.
 * Returns: (transfer full) the outcome, always; *ret_result says how it
 * ended and outcome->error why.
 */
FpbOutcome *fpb_pipeline_migrate(FpbJournal *journal, FpbBackend *backend,
                                 const FpbPipelineRequest *request, FpbMigrateResult *ret_result);

/**
 * fpb_pipeline_explain:
 * Opens the source only, recovers abandoned rows, collects the facts (with
 * the VM's journal history) and decides, changing nothing but switching
 * stats polling on. Returns FALSE with @error when the VM cannot be
 * reached or judged (*ret_refused FALSE), or when the policy refuses
 * (*ret_refused TRUE, *ret_facts set).
 */
gboolean fpb_pipeline_explain(FpbJournal *journal, FpbBackend *backend,
                              const FpbPipelineRequest *request, FpbVmFacts **ret_facts,
                              FpbPolicyDecision **ret_decision, gboolean *ret_refused,
                              GError **error);

/* TRUE when the fpb_pipeline_migrate() running on the calling thread was
 * cancelled (its request's @cancel is set); FALSE outside a run. For the
 * wait loops of the balloon step and the backends, which run on the
 * pipeline's thread: they stop between polls (never a give-back). */
gboolean fpb_pipeline_cancelled(void);

/* The policy outcome of a journal row, for fpb_cost_model_observe(). */
void fpb_pipeline_policy_outcome(const FpbOutcome *outcome, FpbPolicyOutcome *ret);

G_END_DECLS
