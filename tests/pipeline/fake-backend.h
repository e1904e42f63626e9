/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake FpbBackendOps for the pipeline's unit tests (issue 19): no QEMU,
 * no libvirt. A script says which step fails and how; a simulated guest
 * (its RAM, what it uses, its balloon size, which end runs it) honours
 * balloon targets as the script says; every call is logged in order.
 *
 * All of it (script, guest, log) lives in one FakeWorld mapped
 * MAP_SHARED, so a forked child that runs the pipeline and _exit()s inside
 * a step (FakeScript.die) leaves the guest and the log to its parent,
 * which then runs recovery with the same world.
 *
 * repair_row() reaches the guest through its held backend object, else
 * through the most recently created world (fpb_recover_missing_memory()
 * never passes one). Not thread-safe: tests only.
 */
#pragma once

#include "fpb-backend.h"
#include "fpb-journal.h"

G_BEGIN_DECLS

#define FAKE_MIB (G_GINT64_CONSTANT(1024) * 1024)
#define FAKE_GUEST_RAM_BYTES (2048 * FAKE_MIB)
#define FAKE_GUEST_USED_BYTES (512 * FAKE_MIB)
#define FAKE_VM_NAME "guest1"
#define FAKE_BACKEND_NAME "fake"
#define FAKE_SOURCE "fake:/run/src.sock"
#define FAKE_DEST "fake:/run/dst.sock"
#define FAKE_URI "fake://dst"
#define FAKE_FALLBACK_NAME "fake-src"
#define FAKE_LOCK_KEY "fake-uuid:guest1"

/* How the guest answers one balloon request. */
typedef enum {
    FAKE_BALLOON_HONOUR = 0, /* reaches the target (never below what it uses) */
    FAKE_BALLOON_STALL,      /* does not move: stops no-progress */
    FAKE_BALLOON_PART,       /* moves part_bytes toward the target, then stalls */
    FAKE_BALLOON_ERROR,      /* moves part_bytes, then the backend fails */
    FAKE_BALLOON_SHORT,      /* moves part_bytes, then runs out: stops guest-short */
} FakeBalloonHow;

typedef struct {
    FakeBalloonHow how;
    gint64 part_bytes;
} FakeBalloonScript;

typedef enum {
    FAKE_MIGRATE_COMPLETE = 0,
    FAKE_MIGRATE_FAIL,        /* QEMU says failed; the guest stays on the source */
    FAKE_MIGRATE_TIMEOUT,     /* cancelled at the timeout */
    FAKE_MIGRATE_NOT_STARTED, /* refused before `migrate` (a capability) */
} FakeMigrateHow;

/* Where the process _exit(0)s, as a kill -9 would stop it. */
typedef enum {
    FAKE_DIE_NEVER = 0,
    FAKE_DIE_FACTS,             /* collecting the facts: before any journal row */
    FAKE_DIE_INFLATE_START,     /* entering the inflation, nothing done yet */
    FAKE_DIE_INFLATE,           /* the guest gave its memory to the balloon */
    FAKE_DIE_MIGRATE_RUNNING,   /* migration running, the guest on the source */
    FAKE_DIE_MIGRATE_COMPLETED, /* the guest runs on the destination */
    FAKE_DIE_GIVE_BACK,         /* part of the give-back done (give_back's part_bytes) */
} FakeDie;

typedef struct {
    gboolean open_fails;
    gboolean facts_fail;
    gboolean free_page_hint;        /* the guest negotiated hints */
    gboolean no_restore_path;       /* facts: can_restore FALSE */
    FakeBalloonScript inflate;      /* the source, before migrating */
    FakeBalloonScript give_back[2]; /* indexed by FpbEnd */
    FakeMigrateHow migrate;
    gboolean lost[2];              /* end_alive says FALSE for this end */
    gboolean lost_give_back_fails; /* give_back_lost does not find the VM */
    gboolean repair_unreachable;   /* repair_row cannot reach the guest */
    FakeBalloonScript repair_give_back;
    FakeDie die;
    /* issue 15: a TCG guest on fpb's QEMU behind a 128 MiB/s cap, where
     * the prior inflation rate makes 'none' win and a fast guest's real
     * rate a balloon; and how fast the guest inflates (bytes/s, 0: at
     * once), the budget then cutting an inflation short */
    gboolean tcg;
    double inflate_rate;
    /* non-NULL: set to 1 when the inflation ends, as a Ctrl-C then would */
    volatile gint *cancel_after_inflate;
    /* the VM's identity (lock_key; not logged as a call): FAKE_LOCK_KEY
     * unless a test names another VM; lock_key_fails: it cannot be read */
    char lock_key[64];
    gboolean lock_key_fails;
} FakeScript;

#define FAKE_MAX_CALLS 64
#define FAKE_CALL_LEN 96
#define FAKE_PHASE_LEN 16

typedef struct {
    FakeScript script;
    /* the simulated guest */
    gint64 ram_bytes;
    gint64 used_bytes;
    gint64 actual_bytes; /* its balloon size; travels with a migration */
    FpbEnd runs_on;
    gboolean migration_running;
    /* the calls, in order; phases[i]: the newest journal row's phase at
     * calls[i] ("-": no row, "?": no journal watched) */
    guint n_calls;
    gboolean calls_overflowed;
    char calls[FAKE_MAX_CALLS][FAKE_CALL_LEN];
    char phases[FAKE_MAX_CALLS][FAKE_PHASE_LEN];
    /* the last of each kind of call */
    double inflate_budget_s;
    guint inflate_stall_ms;
    double give_back_budget_s;
    guint give_back_stall_ms;
    FpbBackendMigration migration;
    guint repairs;
    gboolean repair_open;
    gboolean repair_held;
    gint64 repair_row_id;
    char repair_phase[FAKE_PHASE_LEN];
} FakeWorld;

/* A world in a shared anonymous mapping: the default script (every step
 * works, no hints), a 2 GiB guest using 512 MiB on the source. */
FakeWorld *fake_world_new(void);
void fake_world_free(FakeWorld *world);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FakeWorld, fake_world_free)

/* The calls (or their phases) joined with '|'. (transfer full) */
char *fake_world_calls(const FakeWorld *world);
char *fake_world_phases(const FakeWorld *world);
void fake_world_forget_calls(FakeWorld *world);

/* With end_alive and give_back_lost, as libvirt. */
extern const FpbBackendOps fake_backend_ops;
/* Without give_back_lost: a lost connection cannot be waited for. */
extern const FpbBackendOps fake_backend_ops_no_give_back_lost;

/* A backend object on @world (@ops NULL: fake_backend_ops). When @watch
 * is not NULL, each call notes the phase of its newest row. (transfer
 * full) */
FpbBackend *fake_backend_new(FakeWorld *world, const FpbBackendOps *ops, FpbJournal *watch);

G_END_DECLS
