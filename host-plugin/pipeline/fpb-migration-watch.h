/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When fpb cancels a running migration (docs/orchestrator.md, "When fpb
 * cancels"): a migration that moves is never cancelled for being slow,
 * one that does not move is. Both backends feed it the bytes QEMU has sent
 * so far at every poll; it says when nothing was sent for the stall
 * timeout. The operator's --timeout is a separate, explicit bound.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    double stall_s; /* 0: never */
    gint64 best_bytes;
    gint64 moved_us; /* when best_bytes last grew (or the watch began) */
} FpbMigrationWatch;

void fpb_migration_watch_init(FpbMigrationWatch *watch, double stall_s, gint64 now_us);

/* @sent_bytes: what QEMU reports sent so far (-1: not known yet, e.g. the
 * job has not begun). TRUE once nothing more was sent for stall_s seconds.
 * A counter that goes back (a new job) is not progress. */
gboolean fpb_migration_watch_stalled(FpbMigrationWatch *watch, gint64 sent_bytes, gint64 now_us);

G_END_DECLS
