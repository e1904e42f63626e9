/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-migration-watch.h"

void fpb_migration_watch_init(FpbMigrationWatch *w, double stall_s, gint64 now_us)
{
    w->stall_s = stall_s;
    w->best_bytes = -1;
    w->moved_us = now_us;
}

gboolean fpb_migration_watch_stalled(FpbMigrationWatch *w, gint64 sent_bytes, gint64 now_us)
{
    if (sent_bytes > w->best_bytes) {
        w->best_bytes = sent_bytes;
        w->moved_us = now_us;
        return FALSE;
    }
    return w->stall_s > 0 && now_us - w->moved_us >= (gint64)(w->stall_s * G_USEC_PER_SEC);
}
