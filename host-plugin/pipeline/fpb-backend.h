/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a backend gives the migration pipeline (docs/architecture.md): the
 * operations on one VM and its two ends, through bare QMP
 * (backend-qmp/) or libvirt (backend-libvirt/). The pipeline owns the
 * order of the steps, the journal and every rule about what to undo; a
 * backend only does what it is asked, on the end it is asked, and says
 * what happened. A backend never includes another backend, and the
 * pipeline includes none.
 *
 * A backend object describes one VM (its source, its destination if any)
 * and holds its connections once opened. Recovery also calls a backend's
 * repair_row() for journal rows it wrote (FpbOutcome.backend is its name),
 * with or without an open object.
 */
#pragma once

#include "fpb-balloon-drive.h"
#include "fpb-outcome.h"
#include "fpb-policy.h"
#include "fpb-vm-facts.h"

G_BEGIN_DECLS

typedef enum {
    FPB_END_SOURCE,
    FPB_END_DESTINATION,
} FpbEnd;

const char *fpb_end_to_string(FpbEnd end); /* "source", "destination" */

/* What a running migration has done so far (for a live display); -1:
 * not known yet. */
typedef struct {
    const char *status; /* QEMU's MigrationStatus ("active", "postcopy-active", ...) */
    gint64 elapsed_ms;
    gint64 sent_bytes;
    gint64 remaining_bytes; /* RAM still to send in this pass */
    gint64 total_bytes;     /* the guest's RAM */
    double mbps;            /* QEMU's throughput figure */
} FpbMigrationProgress;

typedef void (*FpbMigrationTickFunc)(const FpbMigrationProgress *progress, gpointer user_data);

/* What the pipeline asks of one migration. Where to (addresses, URIs) is
 * the backend's own description of the VM. */
typedef struct {
    gint64 max_bandwidth; /* bytes/s, -1: the backend's default */
    double timeout_s;     /* cancel after this, 0: never */
    double stall_s;       /* cancel when nothing was sent for this long, 0: never */
    /* Switch QEMU's free-page hints off for this migration (the decided
     * mode does not hint, but the guest's driver negotiated hinting). */
    gboolean hints_off;
    FpbPolicyMethod method;
    /* fpb's QEMU: switch hints with its own capability (not postcopy-ram),
     * and read what they did into the row's hint_* fields. */
    gboolean hint_switch;
    gboolean hint_stats;
    /* fpb's QEMU and guest driver: ask the source's driver to free this
     * before its hint walks (FPB_QMP_RECLAIM_*, 0: nothing; the bound in
     * MiB), on the balloon at @balloon_qom_path; withdrawn when the VM
     * stays on the source. A refusal is a note, not a failure. */
    guint32 reclaim;
    guint32 reclaim_cache_mib;
    const char *balloon_qom_path;
    /* (the backend waits up to FPB_RECLAIM_WAIT_MS for the guest's answer) */
    /* Called at every poll of the running migration (NULL: nobody asks). */
    FpbMigrationTickFunc tick;
    gpointer tick_data;
} FpbBackendMigration;

/* How long a migration waits for the guest driver to answer a reclaim
 * request before it starts anyway (a 0.2 GiB THP split took 1.2 s on a TCG
 * guest of this machine). */
#define FPB_RECLAIM_WAIT_MS 30000

typedef struct _FpbBackend FpbBackend;

typedef struct {
    /* The journal's backend column; rows are repaired by the backend of
     * that name. */
    const char *name;
    /* What identifies the VM on this host whatever name reached it (the
     * key of its lock, fpb-vm-lock.h): a libvirt UUID, a QMP socket's
     * inode. May open the source end (not the VM). (transfer full), NULL
     * with @error naming the VM. */
    char *(*lock_key)(FpbBackend *self, GError **error);
    /* Connects the source and, when @need_dest, the destination. FALSE
     * with @error (naming the VM) when one cannot be reached: nothing was
     * done to either. */
    gboolean (*open)(FpbBackend *self, gboolean need_dest, GError **error);
    /* The row's identity: source_qmp (the journal's source column),
     * dest_qmp, uri, and vm when the backend knows the name before the
     * facts (NULL otherwise). */
    void (*describe)(FpbBackend *self, FpbOutcome *row);
    /* The VM's name when neither the backend nor the facts know one.
     * (transfer full) */
    char *(*fallback_name)(FpbBackend *self);
    /* The facts of the source VM (history left empty). NULL with @error
     * when the VM cannot be judged at all. */
    FpbVmFacts *(*collect_facts)(FpbBackend *self, const FpbVmFactsOptions *options,
                                 GError **error);
    /* The balloon on @end toward @target_bytes (fpb_balloon_drive()
     * contract). @give_back: the target is the VM's full size, to be kept
     * in any persistent definition too. */
    gboolean (*balloon_run)(FpbBackend *self, FpbEnd end, gint64 target_bytes, gboolean give_back,
                            double budget_s, guint stall_ms, FpbBalloonStep *ret, GError **error);
    /* One migration source -> destination; statistics into @row (mig_*).
     * TRUE only when it completed. */
    gboolean (*migrate_run)(FpbBackend *self, const FpbBackendMigration *migration, FpbOutcome *row,
                            GError **error);
    /* FALSE when @end was opened and can no longer be reached (its
     * management daemon went away). NULL: ends stay reachable. */
    gboolean (*end_alive)(FpbBackend *self, FpbEnd end);
    /* Gives the memory back (to row->prep_original_bytes) after end_alive
     * said FALSE: waits for the VM to be found again. Fills the restore_*
     * fields, appends "; ..." notes. NULL: the restore fails. */
    gboolean (*give_back_lost)(FpbBackend *self, FpbOutcome *row, GString *notes);
    /* Repairs @row, one of this backend's rows: open (its owner died: a
     * migration still running is ended, memory given back wherever the VM
     * runs now) or closed with memory missing (given back). Fills the
     * restore_* fields, appends "; what was done" to @notes. @held: an open
     * backend object of this kind whose connections may serve the row, or
     * NULL. */
    void (*repair_row)(FpbBackend *held, FpbOutcome *row, gboolean open, GString *notes);
    void (*free)(FpbBackend *self);
} FpbBackendOps;

/* Every backend object starts with this. */
struct _FpbBackend {
    const FpbBackendOps *ops;
};

void fpb_backend_free(FpbBackend *backend);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbBackend, fpb_backend_free)

/* The backend among @backends (NULL-terminated) named @name, or NULL. */
const FpbBackendOps *fpb_backend_find(const FpbBackendOps *const *backends, const char *name);

G_END_DECLS
