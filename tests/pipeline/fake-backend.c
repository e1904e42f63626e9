/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fake-backend"

#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-backend.h"
#include "fpb-recover.h"

typedef struct {
    FpbBackend parent;
    FakeWorld *world;
    FpbJournal *watch; /* borrowed, may be NULL */
} FakeBackend;

#define FAKE_ERROR (g_quark_from_static_string("fake-backend-error"))

/* repair_row() without a held object reaches the guest through this. */
static FakeWorld *current_world;

FakeWorld *fake_world_new(void)
{
    FakeWorld *w =
        mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    g_assert_true(w != MAP_FAILED);
    memset(w, 0, sizeof(*w));
    w->ram_bytes = FAKE_GUEST_RAM_BYTES;
    w->used_bytes = FAKE_GUEST_USED_BYTES;
    w->actual_bytes = FAKE_GUEST_RAM_BYTES;
    w->runs_on = FPB_END_SOURCE;
    w->repair_row_id = -1;
    g_strlcpy(w->script.lock_key, FAKE_LOCK_KEY, sizeof(w->script.lock_key));
    current_world = w;
    return w;
}

void fake_world_free(FakeWorld *w)
{
    if (w == NULL) {
        return;
    }
    if (current_world == w) {
        current_world = NULL;
    }
    munmap(w, sizeof(*w));
}

static char *join(const FakeWorld *w, gboolean phases)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < w->n_calls; i++) {
        g_string_append_printf(s, "%s%s", i ? "|" : "", phases ? w->phases[i] : w->calls[i]);
    }
    if (w->calls_overflowed) {
        g_string_append(s, "|...");
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

char *fake_world_calls(const FakeWorld *w)
{
    return join(w, FALSE);
}

char *fake_world_phases(const FakeWorld *w)
{
    return join(w, TRUE);
}

void fake_world_forget_calls(FakeWorld *w)
{
    w->n_calls = 0;
    w->calls_overflowed = FALSE;
}

/* The phase of the newest journal row, as another process would read it. */
static void newest_phase(FpbJournal *watch, char *buf)
{
    g_autoptr(GPtrArray) rows = NULL;
    const FpbOutcome *row;

    if (watch == NULL) {
        g_strlcpy(buf, "?", FAKE_PHASE_LEN);
        return;
    }
    rows = fpb_journal_list(watch, NULL, 1, NULL);
    if (rows == NULL || rows->len == 0) {
        g_strlcpy(buf, rows == NULL ? "error" : "-", FAKE_PHASE_LEN);
        return;
    }
    row = rows->pdata[0];
    g_strlcpy(buf, row->phase ? row->phase : "null", FAKE_PHASE_LEN);
}

static void note(FakeWorld *w, FpbJournal *watch, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void note(FakeWorld *w, FpbJournal *watch, const char *format, ...)
{
    va_list ap;

    if (w->n_calls == FAKE_MAX_CALLS) {
        w->calls_overflowed = TRUE;
        return;
    }
    va_start(ap, format);
    g_vsnprintf(w->calls[w->n_calls], FAKE_CALL_LEN, format, ap);
    va_end(ap);
    newest_phase(watch, w->phases[w->n_calls]);
    w->n_calls++;
}

static FakeBackend *self_of(FpbBackend *be)
{
    return (FakeBackend *)be;
}

/* As kill -9: no cleanup, no atexit, nothing flushed. */
static void G_GNUC_NORETURN die(FakeBackend *b)
{
    note(b->world, b->watch, "died");
    _exit(0);
}

static char *lock_key(FpbBackend *be, GError **error)
{
    FakeBackend *b = self_of(be);

    if (b->world->script.lock_key_fails) {
        g_set_error(error, FAKE_ERROR, 0, "VM '%s': QMP socket '%s': scripted", FAKE_FALLBACK_NAME,
                    FAKE_SOURCE);
        return NULL;
    }
    return g_strdup(b->world->script.lock_key);
}

static gboolean fake_open(FpbBackend *be, gboolean need_dest, GError **error)
{
    FakeBackend *b = self_of(be);

    note(b->world, b->watch, need_dest ? "open" : "open source-only");
    if (b->world->script.open_fails) {
        g_set_error(error, FAKE_ERROR, 0,
                    "VM '%s': cannot reach the source QMP socket '%s': scripted",
                    FAKE_FALLBACK_NAME, FAKE_SOURCE);
        return FALSE;
    }
    return TRUE;
}

static void describe(FpbBackend *be, FpbOutcome *row)
{
    (void)be;
    fpb_outcome_set(&row->source_qmp, FAKE_SOURCE);
    fpb_outcome_set(&row->dest_qmp, FAKE_DEST);
    fpb_outcome_set(&row->uri, FAKE_URI);
    /* vm stays NULL: the name comes from the facts, as over bare QMP */
}

static char *fallback_name(FpbBackend *be)
{
    (void)be;
    return g_strdup(FAKE_FALLBACK_NAME);
}

/* Facts the policy can act on: KVM (the hint guard allows hints), fresh
 * stats, a way back for the balloon, hints that can be switched off. */
static void fill_facts(const FakeWorld *w, FpbVmFacts *v)
{
    FpbPolicyFacts *f = &v->facts;

    v->name = g_strdup(FAKE_VM_NAME);
    v->qemu_version = g_strdup("7.2.0 (fake)");
    v->qemu_major = 7;
    v->qemu_minor = 2;
    v->qemu_micro = 0;
    (void)fpb_policy_qemu_set_version(&f->qemu, 7, 2, 0);
    (void)fpb_policy_qemu_set_package(&f->qemu, "fake");
    f->ram_bytes = w->ram_bytes;
    f->balloon_actual_bytes = w->actual_bytes;
    f->accelerator = w->script.tcg ? FPB_POLICY_ACCEL_TCG : FPB_POLICY_ACCEL_KVM;
    if (w->script.tcg) {
        (void)fpb_policy_qemu_set_package(&f->qemu, "fake fpb-patched");
    }
    f->guest.free_page_hint = w->script.free_page_hint;
    f->guest.stats_queue = TRUE;
    f->guest.driver = FPB_POLICY_DRIVER_STOCK;
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
    f->stats = (FpbPolicyStats){
        .free_bytes = w->actual_bytes - w->used_bytes,
        .available_bytes = w->actual_bytes - w->used_bytes,
        .disk_caches_bytes = 0,
        .total_bytes = w->actual_bytes,
        .age_seconds = 1.0,
    };
    f->dirty_rate_bytes_per_second = 1.0 * FAKE_MIB;
    f->bandwidth_bytes_per_second = w->script.tcg ? 128.0 * FAKE_MIB : 1e9;
    f->downtime_limit_seconds = 0.3;
    f->can_restore = !w->script.no_restore_path;
    f->hints_can_be_disabled = TRUE;
}

static FpbVmFacts *collect_facts(FpbBackend *be, const FpbVmFactsOptions *options, GError **error)
{
    FakeBackend *b = self_of(be);
    FpbVmFacts *v;

    note(b->world, b->watch, "facts");
    if (b->world->script.die == FAKE_DIE_FACTS) {
        die(b);
    }
    if (b->world->script.facts_fail) {
        g_set_error_literal(error, FAKE_ERROR, 0, "cannot read the RAM size: scripted");
        return NULL;
    }
    v = fpb_vm_facts_new(options);
    fill_facts(b->world, v);
    return v;
}

/* Where the balloon ends when the guest answers @s for @target. */
static gint64 answer(const FakeWorld *w, const FakeBalloonScript *s, gint64 start, gint64 target)
{
    gint64 goal = CLAMP(target, w->used_bytes, w->ram_bytes);
    gint64 step = MIN(s->part_bytes, ABS(goal - start));

    switch (s->how) {
    case FAKE_BALLOON_HONOUR:
        return goal;
    case FAKE_BALLOON_STALL:
        return start;
    case FAKE_BALLOON_PART:
    case FAKE_BALLOON_SHORT:
    case FAKE_BALLOON_ERROR:
    default:
        return goal < start ? start - step : start + step;
    }
}

/* The balloon of the guest on @end toward @target, as @s says (the
 * fpb_balloon_drive() contract). */
static gboolean step_guest(FakeWorld *w, FpbEnd end, const FakeBalloonScript *s, gint64 target,
                           double budget_s, FpbBalloonStep *ret, GError **error)
{
    gint64 start = w->actual_bytes;
    double rate = target < start ? w->script.inflate_rate : 0;

    *ret = (FpbBalloonStep){.start_bytes = -1, .reached_bytes = -1, .seconds = 0, .stopped = NULL};
    if (w->runs_on != end) {
        g_set_error(error, FAKE_ERROR, 0, "VM '%s': no guest runs on the %s", FAKE_VM_NAME,
                    fpb_end_to_string(end));
        return FALSE;
    }
    w->actual_bytes = answer(w, s, start, target);
    ret->start_bytes = start;
    ret->seconds = 0.1 + (double)ABS(w->actual_bytes - start) / 1e9;
    if (rate > 0) {
        ret->seconds = (double)(start - w->actual_bytes) / rate;
        if (budget_s > 0 && ret->seconds > budget_s) {
            w->actual_bytes = start - (gint64)(rate * budget_s);
            ret->seconds = budget_s;
        }
    }
    if (s->how == FAKE_BALLOON_ERROR) {
        g_set_error_literal(error, FAKE_ERROR, 0,
                            "QMP command 'query-balloon' failed: scripted I/O error");
        return FALSE;
    }
    ret->reached_bytes = w->actual_bytes;
    ret->stopped = ABS(ret->reached_bytes - target) <= FPB_BALLOON_TOLERANCE_BYTES
                       ? FPB_BALLOON_STOPPED_TARGET
                   : s->how == FAKE_BALLOON_SHORT         ? FPB_BALLOON_STOPPED_GUEST_SHORT
                   : rate > 0 && ret->seconds >= budget_s ? FPB_BALLOON_STOPPED_BUDGET
                                                          : FPB_BALLOON_STOPPED_NO_PROGRESS;
    return TRUE;
}

static gboolean balloon_run(FpbBackend *be, FpbEnd end, gint64 target, gboolean give_back,
                            double budget_s, guint stall_ms, FpbBalloonStep *ret, GError **error)
{
    FakeBackend *b = self_of(be);
    FakeWorld *w = b->world;
    const FakeBalloonScript *s = give_back ? &w->script.give_back[end] : &w->script.inflate;
    gboolean ok;

    note(w, b->watch, "balloon %s %" G_GINT64_FORMAT "%s", fpb_end_to_string(end), target,
         give_back ? " give-back" : "");
    if (give_back) {
        w->give_back_budget_s = budget_s;
        w->give_back_stall_ms = stall_ms;
    } else {
        w->inflate_budget_s = budget_s;
        w->inflate_stall_ms = stall_ms;
    }
    if (!give_back && w->script.die == FAKE_DIE_INFLATE_START) {
        die(b);
    }
    ok = step_guest(w, end, s, target, budget_s, ret, error);
    if (!give_back && w->script.cancel_after_inflate != NULL) {
        g_atomic_int_set(w->script.cancel_after_inflate, 1);
    }
    if ((!give_back && w->script.die == FAKE_DIE_INFLATE) ||
        (give_back && w->script.die == FAKE_DIE_GIVE_BACK)) {
        die(b);
    }
    return ok;
}

/* What QEMU's final query-migrate would say of this guest. */
static void fill_stats(const FakeWorld *w, FpbOutcome *row, const char *status)
{
    fpb_outcome_set(&row->mig_status, status);
    row->mig_total_ms = 2000;
    row->mig_setup_ms = 20;
    row->mig_downtime_ms = 40;
    row->mig_normal_bytes = w->used_bytes;
    row->mig_normal_pages = w->used_bytes / 4096;
    row->mig_zero_pages = (w->actual_bytes - w->used_bytes) / 4096;
    row->mig_transferred_bytes = w->used_bytes + row->mig_zero_pages * 9;
    row->mig_dirty_sync_count = 2;
    row->mig_throughput_mbps = 2500.0;
}

static gboolean migrate_run(FpbBackend *be, const FpbBackendMigration *m, FpbOutcome *row,
                            GError **error)
{
    FakeBackend *b = self_of(be);
    FakeWorld *w = b->world;

    note(w, b->watch, "migrate%s", m->hints_off ? " hints-off" : "");
    w->migration = *m;
    fpb_outcome_set(&row->mig_status, "not-started");
    if (w->script.migrate == FAKE_MIGRATE_NOT_STARTED) {
        g_set_error(error, FAKE_ERROR, 0,
                    "VM '%s': QMP command 'migrate-set-capabilities' failed: scripted", row->vm);
        return FALSE;
    }
    w->migration_running = TRUE;
    if (w->script.die == FAKE_DIE_MIGRATE_RUNNING) {
        die(b);
    }
    w->migration_running = FALSE;
    switch (w->script.migrate) {
    case FAKE_MIGRATE_COMPLETE:
        fill_stats(w, row, "completed");
        w->runs_on = FPB_END_DESTINATION; /* the balloon's size travels along */
        if (w->script.die == FAKE_DIE_MIGRATE_COMPLETED) {
            die(b);
        }
        return TRUE;
    case FAKE_MIGRATE_TIMEOUT:
        fill_stats(w, row, "cancelled");
        g_set_error(error, FAKE_ERROR, 0, "VM '%s': migration cancelled at the timeout (%.0f s)",
                    row->vm, m->timeout_s);
        return FALSE;
    case FAKE_MIGRATE_FAIL:
    default:
        fill_stats(w, row, "failed");
        g_set_error(error, FAKE_ERROR, 0,
                    "VM '%s': migration failed: Unable to write to socket: Connection reset by "
                    "peer (scripted)",
                    row->vm);
        return FALSE;
    }
}

static gboolean end_alive(FpbBackend *be, FpbEnd end)
{
    FakeBackend *b = self_of(be);

    note(b->world, b->watch, "alive %s", fpb_end_to_string(end));
    return !b->world->script.lost[end];
}

/* Gives back to the row's original size wherever the guest runs. */
static void give_back_where_it_runs(FakeWorld *w, const FakeBalloonScript *s, FpbOutcome *row,
                                    GString *notes)
{
    g_autoptr(GError) error = NULL;
    const char *where = fpb_end_to_string(w->runs_on);
    FpbBalloonStep step;

    fpb_outcome_set(&row->restore_where, where);
    if (row->prep_original_bytes <= 0) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; the original memory size of the %s is unknown", where);
        return;
    }
    step_guest(w, w->runs_on, s, row->prep_original_bytes, 0, &step, &error);
    fpb_recover_note_restore(row, where, &step, error, notes);
}

static gboolean give_back_lost(FpbBackend *be, FpbOutcome *row, GString *notes)
{
    FakeBackend *b = self_of(be);
    FakeWorld *w = b->world;
    const FakeBalloonScript honour = {FAKE_BALLOON_HONOUR, 0};

    note(w, b->watch, "give-back-lost");
    if (w->script.lost_give_back_fails) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; VM '%s' not found running on either end (scripted)",
                               FAKE_VM_NAME);
        return FALSE;
    }
    g_string_append_printf(notes, "; found VM '%s' again on the %s", FAKE_VM_NAME,
                           fpb_end_to_string(w->runs_on));
    give_back_where_it_runs(w, &honour, row, notes);
    return g_strcmp0(row->restore_status, "done") == 0;
}

static void repair_row(FpbBackend *held, FpbOutcome *row, gboolean open, GString *notes)
{
    FakeWorld *w = held != NULL ? self_of(held)->world : current_world;
    FpbJournal *watch = held != NULL ? self_of(held)->watch : NULL;

    if (w == NULL) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append(notes, "; no fake world");
        return;
    }
    note(w, watch, open ? "repair open" : "repair closed");
    w->repairs++;
    w->repair_open = open;
    w->repair_held = held != NULL;
    w->repair_row_id = row->id;
    g_strlcpy(w->repair_phase, row->phase ? row->phase : "null", FAKE_PHASE_LEN);
    if (w->script.repair_unreachable) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append(notes, "; the guest could not be reached (scripted)");
        return;
    }
    if (open && w->migration_running) {
        note(w, watch, "repair cancel");
        w->migration_running = FALSE;
        g_string_append(notes, "; cancelled the unattended migration");
    }
    if (!fpb_recover_row_used_balloon(row)) {
        fpb_outcome_set(&row->restore_status, "not-needed");
        return;
    }
    note(w, watch, "repair balloon %s %" G_GINT64_FORMAT, fpb_end_to_string(w->runs_on),
         row->prep_original_bytes);
    give_back_where_it_runs(w, &w->script.repair_give_back, row, notes);
}

static void fake_free(FpbBackend *be)
{
    g_free(self_of(be));
}

const FpbBackendOps fake_backend_ops = {
    .name = FAKE_BACKEND_NAME,
    .lock_key = lock_key,
    .open = fake_open,
    .describe = describe,
    .fallback_name = fallback_name,
    .collect_facts = collect_facts,
    .balloon_run = balloon_run,
    .migrate_run = migrate_run,
    .end_alive = end_alive,
    .give_back_lost = give_back_lost,
    .repair_row = repair_row,
    .free = fake_free,
};

const FpbBackendOps fake_backend_ops_no_give_back_lost = {
    .name = FAKE_BACKEND_NAME,
    .lock_key = lock_key,
    .open = fake_open,
    .describe = describe,
    .fallback_name = fallback_name,
    .collect_facts = collect_facts,
    .balloon_run = balloon_run,
    .migrate_run = migrate_run,
    .end_alive = end_alive,
    .give_back_lost = NULL,
    .repair_row = repair_row,
    .free = fake_free,
};

FpbBackend *fake_backend_new(FakeWorld *world, const FpbBackendOps *ops, FpbJournal *watch)
{
    FakeBackend *b = g_new0(FakeBackend, 1);

    b->parent.ops = ops != NULL ? ops : &fake_backend_ops;
    b->world = world;
    b->watch = watch;
    return &b->parent;
}
