/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The benchmark's outputs: every run as CSV and JSON, medians per scenario,
 * bandwidth and mode as Markdown, and the derived figures of issue 9.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "bench-run.h"

G_BEGIN_DECLS

/* Medians of one (scenario, bandwidth, mode) over its non-calibration runs
 * whose migration completed. Numbers -1 when no run completed. */
typedef struct {
    const char *scenario, *mode; /* borrowed from the runs */
    gint64 bandwidth;
    guint runs, migrated, verified, corrupted;
    const char *status;  /* "ok" when a run migrated, else the first run's status */
    const char *reason;  /* the first run's reason when none migrated */
    const char *decided; /* the decided mode most runs had (auto: what it picked) */
    double bytes, normal_pages, zero_pages, syncs, downtime_ms;
    double prep_s, mig_s, restore_s, total_s, impact_mib_s;
    double pred_bytes, pred_total_s;
} BenchCell;

/* @runs: BenchRun*, in the order they ran. Returns BenchCell* (g_free'd). */
GPtrArray *bench_report_cells(GPtrArray *runs);

gboolean bench_report_write_csv(GPtrArray *runs, const char *path, GError **error);
/* @meta (borrowed): the QEMU, the host, the options; written beside the runs. */
gboolean bench_report_write_json(GPtrArray *runs, json_object *meta, const char *path,
                                 GError **error);
/* The medians table and the derived figures, as Markdown. */
char *bench_report_markdown(GPtrArray *cells, GPtrArray *runs);
/* The derived figures alone (also in the Markdown). */
char *bench_report_derived(GPtrArray *cells, GPtrArray *runs);

/* "unlimited" or "125 MB/s". */
char *bench_report_bandwidth_label(gint64 bandwidth);

G_END_DECLS
