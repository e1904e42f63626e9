/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The picture of `fpbctl history --svg/--html`: journal rows in, SVG (or one
 * self-contained HTML page: the SVG inline and a table, no scripts, no
 * external resources) out. Two panels, bytes sent and total time (prepare +
 * migrate + restore); per migration, in time order, the predicted bar (the
 * row's prediction for the mode it ran; light) beside the actual one
 * (solid), coloured by mode, with a legend. An unknown value is drawn as
 * "n/a", never as a zero bar. Each panel has its own linear scale from 0 and
 * its unit (B .. PB, ms .. h) chosen from its largest value; a positive
 * value too small for the scale still gets a 1 px bar.
 *
 * At most FPBCTL_HISTORY_CHART_MAX_ROWS migrations (the newest) are drawn;
 * the chart grows to the right (a fixed bar width) rather than squeezing
 * bars, so a page scrolls sideways.
 *
 * Pure: no I/O; rows are outside input (nothing asserts on them). Any
 * thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPBCTL_HISTORY_CHART_MAX_ROWS 500

/* An SVG document of @rows (element-type FpbOutcome, borrowed, any order).
 * @vm: the VM the rows were selected for, named in the title; NULL = all
 * VMs, and each migration is labelled with its VM. (transfer full) */
char *fpbctl_history_svg(GPtrArray *rows, const char *vm);
/* An HTML page: a title, the chart of fpbctl_history_svg() inline and a
 * table of the same rows. Also well-formed XML. (transfer full) */
char *fpbctl_history_html(GPtrArray *rows, const char *vm);

G_END_DECLS
