/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-migration-watch.h"

void fpb_migration_watch_init(FpbMigrationWatch *w, double stall_s, gint64 now_us)
{
    w->stall_s = stall_s;
    w->best_bytes = -1;
    w->moved_us = now_us;
}

gboolean fpb_migration_watch_sent_any(const FpbMigrationWatch *w)
{
    return w->best_bytes > 0;
}

double fpb_migration_watch_bound_s(const FpbMigrationWatch *w)
{
    if (w->stall_s <= 0 || fpb_migration_watch_sent_any(w)) {
        return MAX(w->stall_s, 0);
    }
    return MAX(w->stall_s, FPB_MIGRATION_WATCH_SETUP_S);
}

gboolean fpb_migration_watch_stalled(FpbMigrationWatch *w, gint64 sent_bytes, gint64 now_us)
{
    double bound_s;

    if (sent_bytes > w->best_bytes) {
        w->best_bytes = sent_bytes;
        w->moved_us = now_us;
        return FALSE;
    }
    bound_s = fpb_migration_watch_bound_s(w);
    return bound_s > 0 && now_us - w->moved_us >= (gint64)(bound_s * G_USEC_PER_SEC);
}
