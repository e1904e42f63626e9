/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When fpb cancels a running migration (docs/orchestrator.md, "When fpb
 * cancels"): a migration that moves is never cancelled for being slow,
 * one that does not move is. Both backends feed it the bytes QEMU has sent
 * so far at every poll; it says when nothing was sent for the stall
 * timeout. The operator's --timeout is a separate, explicit bound.
 *
 * Before the first byte the migration is still being set up: libvirt's
 * prepare starts the destination's QEMU, the connections are made (over a
 * lossy link a lost SYN alone costs 1 s, then 3 s). Nothing moving then
 * is not a stall of the stream, so the setup is allowed
 * FPB_MIGRATION_WATCH_SETUP_S, or the stall timeout when that is longer.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the setup (until QEMU reports its first byte sent) may take. */
#define FPB_MIGRATION_WATCH_SETUP_S 60.0

typedef struct {
    double stall_s; /* 0: never */
    gint64 best_bytes;
    gint64 moved_us; /* when best_bytes last grew (or the watch began) */
} FpbMigrationWatch;

void fpb_migration_watch_init(FpbMigrationWatch *watch, double stall_s, gint64 now_us);

/* @sent_bytes: what QEMU reports sent so far (-1: not known yet, e.g. the
 * job has not begun). TRUE once nothing more was sent for stall_s seconds
 * (before the first byte: fpb_migration_watch_bound_s()). A counter that
 * goes back (a new job) is not progress. */
gboolean fpb_migration_watch_stalled(FpbMigrationWatch *watch, gint64 sent_bytes, gint64 now_us);

/* Whether QEMU has reported a byte sent yet. */
gboolean fpb_migration_watch_sent_any(const FpbMigrationWatch *watch);

/* How long standing still may last now: stall_s once a byte was sent,
 * before that MAX(stall_s, FPB_MIGRATION_WATCH_SETUP_S); 0: never. */
double fpb_migration_watch_bound_s(const FpbMigrationWatch *watch);

G_END_DECLS
