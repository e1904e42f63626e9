/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl's live view of running migrations (docs/man/fpbctl.8,
 * "PROGRESS"): on a terminal one line, rewritten in place, per poll of
 * QEMU (at most 4 a second); with --json --progress one JSON object a
 * second on stdout before the outcome; otherwise nothing. Several VMs
 * (evacuate) share the line, one entry each. Thread-safe: evacuate's
 * migrations tick from their own threads.
 */
#pragma once

#include <glib.h>

#include "fpb-pipeline.h"

G_BEGIN_DECLS

typedef enum {
    FPBCTL_PROGRESS_OFF,
    FPBCTL_PROGRESS_LINE, /* stdout is a terminal, no --json */
    FPBCTL_PROGRESS_JSON, /* --json --progress */
} FpbctlProgressMode;

/* What the options and stdout ask for. */
FpbctlProgressMode fpbctl_progress_mode(gboolean json, gboolean progress);

/* Starts the view (one per process). */
void fpbctl_progress_start(FpbctlProgressMode mode);

/* An FpbPipelineTickFunc (user_data unused). */
void fpbctl_progress_tick(const FpbPipelineTick *tick, gpointer user_data);

/* @vm's migration ended: its entry leaves the line. */
void fpbctl_progress_done(const char *vm);

/* Ends the line on a terminal, so that other output starts on its own
 * line (call before printing anything else). */
void fpbctl_progress_break(void);

G_END_DECLS
