/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's metrics (docs/metrics.md): the journal's migration rows rendered
 * as Prometheus text exposition format 0.0.4, the format Prometheus
 * scrapes and node_exporter's textfile collector reads. Everything is
 * computed from the rows, so the numbers survive a restart of fpbd and
 * include fpbctl's migrations. Rows are outside input: nothing here
 * asserts on their contents; label values are escaped and made UTF-8.
 */
#pragma once

#include <glib.h>

#include "fpb-journal.h"

G_BEGIN_DECLS

/* The Content-Type of fpbd_metrics_render()'s text. */
#define FPBD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders @rows (element-type FpbOutcome), oldest first: the "last" gauges
 * take the newest row of a VM. Pure. Returns (transfer full). */
char *fpbd_metrics_render(GPtrArray *rows);

/* Reads every row of @journal (fpb_journal_list_summary) and renders
 * them. (transfer full), or NULL with @error. */
char *fpbd_metrics_render_journal(FpbJournal *journal, GError **error);

/* Replaces @path by @text atomically: a temporary file in the same
 * directory, written, fsync'ed and renamed over @path, mode 0644 (the
 * textfile collector runs as another user); a reader never sees half a
 * file. */
gboolean fpbd_metrics_write_textfile(const char *path, const char *text, GError **error);

G_END_DECLS
