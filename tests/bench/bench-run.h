/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One benchmark run: boot a test-bed guest pair shaped by a scenario, run
 * `fpbctl migrate --json` with one mode, wait for the destination to verify
 * its memory, and keep what fpbctl's JSON line says next to it.
 *
 * Not thread-safe (the test bed is not).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A guest shape; sizes are percent of guest RAM so larger guests scale. */
typedef struct {
    const char *name;
    const char *what;
    guint free_pct, frag_pct, hold_pct, dirty_pct;
    guint dirty_rate_mibps;
} BenchScenario;

/* The scenarios of issue 9, in table order. */
const BenchScenario *bench_scenarios(gsize *ret_n);
const BenchScenario *bench_scenario_find(const char *name);

/* A benchmark mode: the label in the tables, what fpbctl is asked for, and
 * which guest driver it needs (NULL: the run's default driver). */
typedef struct {
    const char *label;
    const char *fpbctl_mode;
    const char *driver;
} BenchMode;

const BenchMode *bench_modes(gsize *ret_n);
const BenchMode *bench_mode_find(const char *label);

/* What every run shares. */
typedef struct {
    const char *fpbctl;
    const char *db;
    const char *log_path; /* fpbctl's stderr is appended here */
    guint mem_mib;
    int init_on_alloc;             /* -1: kernel default */
    const char *default_driver;    /* "fpb" or "stock" */
    gboolean guest_has_fpb_driver; /* tests/guest/guest-modules lists fpb_balloon */
    guint verify_passes;
    guint timeout_s; /* fpbctl --timeout */
} BenchSetup;

/* Unknown numbers are -1. */
typedef struct {
    char *scenario;
    char *mode;       /* BenchMode label */
    char *driver;     /* guest driver */
    char *vm;         /* fpbctl --name: per-VM history in the journal */
    gint64 bandwidth; /* bytes/s; 0 = unlimited */
    guint rep;
    gboolean calibration;
    /* ok, refused, skipped, failed, corrupted (destination failed to verify) */
    char *status;
    char *reason;
    char *decided;
    char *qemu_version;
    double history_migrations;
    double bytes, normal_pages, zero_pages, syncs, downtime_ms;
    double prep_s, mig_s, restore_s, total_s;
    double taken_bytes, impact_mib_s;
    /* fpb's QEMU's hint counters (hint_stats in fpbctl's JSON); -1 unknown */
    double hint_reported_bytes, hint_cleared_bytes;
    double pred_bytes, pred_prep_s, pred_mig_s, pred_restore_s, pred_total_s, pred_impact_mib_s;
    gboolean verified;
    double wall_s;
} BenchRun;

BenchRun *bench_run_new(const char *scenario, const char *mode, const char *driver, const char *vm,
                        gint64 bandwidth, guint rep, gboolean calibration);
void bench_run_free(BenchRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchRun, bench_run_free)

/* Runs @run (fields above `status` filled in) and fills in the rest. A
 * failure of the run is recorded in run->status, never returned. */
void bench_run_execute(const BenchSetup *setup, BenchRun *run);

G_END_DECLS
