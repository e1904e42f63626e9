/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The numbers `fpbctl history` shows for one journal row, the table and the
 * chart alike: what the row's prediction for the mode it ran said, and what
 * happened. Rows are outside input: a value that is absent, of the wrong
 * type, negative or not finite is unknown (-1), never zero.
 * Pure: no I/O, callable from any thread.
 */
#pragma once

#include "fpb-outcome.h"

G_BEGIN_DECLS

/* predictions[mode][@key] of @outcome ("bytes", "total_seconds"), -1 when
 * unknown. */
double fpbctl_history_predicted(const FpbOutcome *outcome, const char *key);
/* Bytes QEMU sent, -1 when unknown. */
double fpbctl_history_actual_bytes(const FpbOutcome *outcome);
/* Prepare + migrate + restore in seconds, -1 when the migration time is
 * unknown. */
double fpbctl_history_actual_seconds(const FpbOutcome *outcome);

G_END_DECLS
