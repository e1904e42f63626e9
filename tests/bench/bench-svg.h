/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The benchmark chart: a hand-written SVG (no plotting library), one block
 * per scenario and bandwidth, a bar per mode for the bytes sent and one for
 * the total time (prepare + migrate + restore stacked); auto is drawn in
 * another colour and says which mode it picked.
 */
#pragma once

#include <glib.h>

#include "bench-report.h"

G_BEGIN_DECLS

/* @cells: BenchCell* from bench_report_cells(). Returns the SVG document. */
char *bench_svg_chart(GPtrArray *cells, const char *subtitle);

G_END_DECLS
