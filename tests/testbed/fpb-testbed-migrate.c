/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plain QMP migration between two test-bed VMs, for baselines. */
#include <string.h>

#include "fpb-qmp.h"
#include "fpb-testbed-priv.h"

#define POLL_MS 100

static gboolean set_capabilities(FpbQmpClient *qmp, const char *const *caps, GError **error)
{
    g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(FpbQmpMigrationCapability));
    for (gsize i = 0; caps && caps[i]; i++) {
        FpbQmpMigrationCapability cap = {.name = caps[i], .state = TRUE};
        g_array_append_val(list, cap);
    }
    return list->len == 0 || fpb_qmp_migrate_set_capabilities(
                                 qmp, (FpbQmpMigrationCapability *)list->data, list->len, error);
}

static void take_stats(const FpbQmpMigrationInfo *info, FpbTestbedMigration *stats)
{
    *stats = (FpbTestbedMigration){0};
    g_strlcpy(stats->status, fpb_qmp_migration_status_to_string(info->status),
              sizeof(stats->status));
    stats->total_ms = info->has_total_time ? (guint64)MAX(info->total_time, 0) : 0;
    stats->downtime_ms = info->has_downtime ? (guint64)MAX(info->downtime, 0) : 0;
    stats->setup_ms = info->has_setup_time ? (guint64)MAX(info->setup_time, 0) : 0;
    if (info->has_ram) {
        stats->transferred_bytes = info->ram.transferred;
        stats->normal_pages = info->ram.normal;
        stats->normal_bytes = info->ram.normal_bytes;
        stats->duplicate_pages = info->ram.duplicate;
        stats->dirty_sync_count = info->ram.dirty_sync_count;
        stats->mbps = info->ram.mbps;
    }
}

/* Polls query-migrate until a final status; cancels at the deadline. */
static gboolean wait_migration(FpbTestbedVm *src, FpbQmpClient *qmp, guint timeout_s,
                               FpbTestbedMigration *stats, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    for (;;) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate_settled(qmp, error);
        if (!info) {
            return FALSE;
        }
        take_stats(info, stats);
        if (info->status == FPB_QMP_MIGRATION_STATUS_COMPLETED) {
            return TRUE;
        }
        if (fpb_qmp_migration_status_is_final(info->status)) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION,
                        "VM '%s': migration %s: %s", src->name, stats->status,
                        info->error_desc ? info->error_desc : "no error-desc given");
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            /* Best effort: the timeout is the error worth reporting. */
            fpb_qmp_migrate_cancel(qmp, NULL);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "VM '%s': migration did not finish within %u s (cancelled)", src->name,
                        timeout_s);
            return FALSE;
        }
        g_usleep(POLL_MS * 1000);
    }
}

gboolean fpb_testbed_migrate(FpbTestbedVm *source, FpbTestbedVm *destination,
                             const char *const *capabilities, guint timeout_s,
                             FpbTestbedMigration *ret_stats, GError **error)
{
    if (!destination->incoming_uri) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "VM '%s' is not an incoming destination", destination->name);
        return FALSE;
    }
    g_autoptr(FpbQmpClient) src = fpb_qmp_client_connect(source->qmp_path, 5000, error);
    if (!src) {
        return FALSE;
    }
    if (capabilities) {
        g_autoptr(FpbQmpClient) dst = fpb_qmp_client_connect(destination->qmp_path, 5000, error);
        if (!dst || !set_capabilities(dst, capabilities, error)) {
            return FALSE;
        }
    }
    if (!set_capabilities(src, capabilities, error) ||
        !fpb_qmp_migrate(src, destination->incoming_uri, error)) {
        return FALSE;
    }
    FpbTestbedMigration stats = {0};
    if (!wait_migration(source, src, timeout_s, &stats, error)) {
        return FALSE;
    }
    *ret_stats = stats;
    return TRUE;
}

void fpb_testbed_migration_print(const char *label, const FpbTestbedMigration *s)
{
    g_print("# %s: status=%s total=%" G_GUINT64_FORMAT " ms downtime=%" G_GUINT64_FORMAT
            " ms transferred=%.1f MB normal-pages=%" G_GUINT64_FORMAT
            " zero-pages=%" G_GUINT64_FORMAT " dirty-syncs=%" G_GUINT64_FORMAT "\n",
            label, s->status, s->total_ms, s->downtime_ms, (double)s->transferred_bytes / 1e6,
            s->normal_pages, s->duplicate_pages, s->dirty_sync_count);
}
