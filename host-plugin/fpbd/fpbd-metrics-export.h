/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbdMetricsExport: keeps fpbd's metrics (fpbd-metrics.h) where they are
 * read, as fpbd.conf says: the HTTP endpoint (metrics-listen, served from
 * the journal at each scrape) and the node_exporter textfile
 * (metrics-textfile: written at start, when fpbd says a row changed, and
 * whenever another connection committed to the journal: fpbctl, fpbd's
 * migration and recovery threads; checked every
 * FPBD_METRICS_EXPORT_POLL_SECONDS). It reads the journal through a
 * connection of its own. Main loop only.
 */
#pragma once

#include <glib.h>

#include "fpb-conf-daemon.h"

G_BEGIN_DECLS

#define FPBD_METRICS_EXPORT_POLL_SECONDS 5

typedef struct _FpbdMetricsExport FpbdMetricsExport;

/* Opens the journal, listens, writes the textfile once. Nothing to do
 * (neither key set) is not an error: the export then does nothing.
 * Returns (transfer full), or NULL with @error. @conf must outlive it. */
FpbdMetricsExport *fpbd_metrics_export_new(const FpbConfDaemon *conf, GError **error);
/* A journal row was written or changed: the textfile is rewritten now.
 * Accepts NULL. */
void fpbd_metrics_export_changed(FpbdMetricsExport *export);
void fpbd_metrics_export_free(FpbdMetricsExport *export);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbdMetricsExport, fpbd_metrics_export_free)

G_END_DECLS
