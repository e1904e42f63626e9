/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plain QMP migration between two test-bed VMs, for baselines. */
#include <string.h>

#include "fpb-qmp-client.h"
#include "fpb-testbed-priv.h"

#define QMP_TIMEOUT_MS 10000
#define POLL_MS 100

static gboolean set_capabilities(FpbQmpClient *qmp, const char *const *caps, GError **error)
{
    if (!caps || !caps[0]) {
        return TRUE;
    }
    g_autoptr(json_object) args = json_object_new_object();
    json_object *list = json_object_new_array();
    for (gsize i = 0; caps[i]; i++) {
        json_object *cap = json_object_new_object();
        json_object_object_add(cap, "capability", json_object_new_string(caps[i]));
        json_object_object_add(cap, "state", json_object_new_boolean(TRUE));
        json_object_array_add(list, cap);
    }
    json_object_object_add(args, "capabilities", list);
    g_autoptr(json_object) reply =
        fpb_qmp_client_execute(qmp, "migrate-set-capabilities", args, QMP_TIMEOUT_MS, error);
    return reply != NULL;
}

static guint64 get_u64(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int)) {
        return 0;
    }
    gint64 n = json_object_get_int64(v);
    return n > 0 ? (guint64)n : 0;
}

static void take_stats(json_object *info, FpbTestbedMigration *stats)
{
    json_object *ram = NULL, *status = NULL, *mbps = NULL;
    json_object_object_get_ex(info, "ram", &ram);
    if (json_object_object_get_ex(info, "status", &status) &&
        json_object_is_type(status, json_type_string)) {
        g_strlcpy(stats->status, json_object_get_string(status), sizeof(stats->status));
    }
    stats->total_ms = get_u64(info, "total-time");
    stats->downtime_ms = get_u64(info, "downtime");
    stats->setup_ms = get_u64(info, "setup-time");
    stats->transferred_bytes = get_u64(ram, "transferred");
    stats->normal_pages = get_u64(ram, "normal");
    stats->normal_bytes = get_u64(ram, "normal-bytes");
    stats->duplicate_pages = get_u64(ram, "duplicate");
    stats->dirty_sync_count = get_u64(ram, "dirty-sync-count");
    if (ram && json_object_object_get_ex(ram, "mbps", &mbps)) {
        stats->mbps = json_object_get_double(mbps);
    }
}

static char *error_desc(json_object *info)
{
    json_object *desc = NULL;
    if (json_object_object_get_ex(info, "error-desc", &desc) &&
        json_object_is_type(desc, json_type_string)) {
        return g_strdup(json_object_get_string(desc));
    }
    return g_strdup("no error-desc given");
}

/* Polls query-migrate until a final status; cancels at the deadline. */
static gboolean wait_migration(FpbTestbedVm *src, FpbQmpClient *qmp, guint timeout_s,
                               FpbTestbedMigration *stats, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    for (;;) {
        g_autoptr(json_object) info =
            fpb_qmp_client_execute(qmp, "query-migrate", NULL, QMP_TIMEOUT_MS, error);
        if (!info) {
            return FALSE;
        }
        *stats = (FpbTestbedMigration){0};
        take_stats(info, stats);
        if (strcmp(stats->status, "completed") == 0) {
            return TRUE;
        }
        if (strcmp(stats->status, "failed") == 0 || strcmp(stats->status, "cancelled") == 0) {
            g_autofree char *desc = error_desc(info);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION,
                        "VM '%s': migration %s: %s", src->name, stats->status, desc);
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            g_autoptr(json_object) r =
                fpb_qmp_client_execute(qmp, "migrate_cancel", NULL, QMP_TIMEOUT_MS, NULL);
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
    if (!set_capabilities(src, capabilities, error)) {
        return FALSE;
    }
    g_autoptr(json_object) args = json_object_new_object();
    json_object_object_add(args, "uri", json_object_new_string(destination->incoming_uri));
    g_autoptr(json_object) reply = fpb_qmp_client_execute(src, "migrate", args, QMP_TIMEOUT_MS,
                                                          error);
    if (!reply) {
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
