/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon over bare QMP: `balloon value=` and `query-balloon` through
 * the shared loop (fpb-balloon-drive.h).
 */
#pragma once

#include "fpb-balloon-drive.h"
#include "fpb-qmp.h"

G_BEGIN_DECLS

/**
 * fpb_balloon_step_run:
 * Moves the guest's size toward @target_bytes (smaller: inflate, larger:
 * deflate). Returns FALSE with @error only when QMP fails; not reaching the
 * target is a result (ret->stopped), not an error. @ret is written in both
 * cases as far as known (reached_bytes -1 when never read).
 */
gboolean fpb_balloon_step_run(FpbQmpClient *qmp, gint64 target_bytes, double budget_s,
                              guint stall_ms, FpbBalloonStep *ret, GError **error);

G_END_DECLS
