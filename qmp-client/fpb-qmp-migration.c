/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-migration.h"

#include <stddef.h>

#include "fpb-qmp-call-priv.h"

static const char *const status_names[] = {
    [FPB_QMP_MIGRATION_STATUS_NONE] = "none",
    [FPB_QMP_MIGRATION_STATUS_SETUP] = "setup",
    [FPB_QMP_MIGRATION_STATUS_CANCELLING] = "cancelling",
    [FPB_QMP_MIGRATION_STATUS_CANCELLED] = "cancelled",
    [FPB_QMP_MIGRATION_STATUS_ACTIVE] = "active",
    [FPB_QMP_MIGRATION_STATUS_POSTCOPY_ACTIVE] = "postcopy-active",
    [FPB_QMP_MIGRATION_STATUS_POSTCOPY_PAUSED] = "postcopy-paused",
    [FPB_QMP_MIGRATION_STATUS_POSTCOPY_RECOVER] = "postcopy-recover",
    [FPB_QMP_MIGRATION_STATUS_COMPLETED] = "completed",
    [FPB_QMP_MIGRATION_STATUS_FAILED] = "failed",
    [FPB_QMP_MIGRATION_STATUS_COLO] = "colo",
    [FPB_QMP_MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [FPB_QMP_MIGRATION_STATUS_DEVICE] = "device",
    [FPB_QMP_MIGRATION_STATUS_WAIT_UNPLUG] = "wait-unplug",
    [FPB_QMP_MIGRATION_STATUS_UNKNOWN] = "unknown",
};

FpbQmpMigrationStatus fpb_qmp_migration_status_from_string(const char *name)
{
    for (guint i = 0; i < FPB_QMP_MIGRATION_STATUS_UNKNOWN; i++) {
        if (g_strcmp0(status_names[i], name) == 0) {
            return (FpbQmpMigrationStatus)i;
        }
    }
    return FPB_QMP_MIGRATION_STATUS_UNKNOWN;
}

const char *fpb_qmp_migration_status_to_string(FpbQmpMigrationStatus status)
{
    if ((guint)status > FPB_QMP_MIGRATION_STATUS_UNKNOWN) {
        return "unknown";
    }
    return status_names[status];
}

gboolean fpb_qmp_migration_status_is_final(FpbQmpMigrationStatus status)
{
    return status == FPB_QMP_MIGRATION_STATUS_COMPLETED ||
           status == FPB_QMP_MIGRATION_STATUS_FAILED ||
           status == FPB_QMP_MIGRATION_STATUS_CANCELLED;
}

/* A guint64 field of a struct, read from the JSON member @key. */
typedef struct {
    const char *key;
    size_t offset;
    guint64 max;
} UintField;

#define STATS_FIELD(key, member, max)                                                              \
    {                                                                                              \
        key, offsetof(FpbQmpMigrationStats, member), max                                           \
    }

/* 'int' in the schema is int64; sizes and counts are never negative. */
static const UintField stats_fields[] = {
    STATS_FIELD("transferred", transferred, G_MAXINT64),
    STATS_FIELD("remaining", remaining, G_MAXINT64),
    STATS_FIELD("total", total, G_MAXINT64),
    STATS_FIELD("duplicate", duplicate, G_MAXINT64),
    STATS_FIELD("skipped", skipped, G_MAXINT64),
    STATS_FIELD("normal", normal, G_MAXINT64),
    STATS_FIELD("normal-bytes", normal_bytes, G_MAXINT64),
    STATS_FIELD("dirty-pages-rate", dirty_pages_rate, G_MAXINT64),
    STATS_FIELD("dirty-sync-count", dirty_sync_count, G_MAXINT64),
    STATS_FIELD("postcopy-requests", postcopy_requests, G_MAXINT64),
    STATS_FIELD("page-size", page_size, G_MAXINT64),
    STATS_FIELD("multifd-bytes", multifd_bytes, G_MAXUINT64),
    STATS_FIELD("pages-per-second", pages_per_second, G_MAXUINT64),
    STATS_FIELD("precopy-bytes", precopy_bytes, G_MAXUINT64),
    STATS_FIELD("downtime-bytes", downtime_bytes, G_MAXUINT64),
    STATS_FIELD("postcopy-bytes", postcopy_bytes, G_MAXUINT64),
    STATS_FIELD("dirty-sync-missed-zero-copy", dirty_sync_missed_zero_copy, G_MAXUINT64),
};

static gboolean parse_stats(json_object *obj, FpbQmpMigrationStats *ret, GError **error)
{
    const char *what = FPB_QMP_REPLY("query-migrate") ": member 'ram'";
    FpbQmpMigrationStats stats = {0};

    for (gsize i = 0; i < G_N_ELEMENTS(stats_fields); i++) {
        const UintField *f = &stats_fields[i];

        if (!fpb_qmp_json_get_uint(obj, what, f->key, f->max,
                                   (guint64 *)((char *)&stats + f->offset), error)) {
            return FALSE;
        }
    }
    if (!fpb_qmp_json_get_double(obj, what, "mbps", &stats.mbps, error)) {
        return FALSE;
    }
    *ret = stats;
    return TRUE;
}

/* An optional non-negative millisecond count. */
static gboolean get_optional_ms(json_object *reply, const char *key, gboolean *ret_has, gint64 *ret,
                                GError **error)
{
    *ret_has = fpb_qmp_json_has(reply, key);
    return !*ret_has || fpb_qmp_json_get_int(reply, FPB_QMP_REPLY("query-migrate"), key, 0,
                                             G_MAXINT64, ret, error);
}

static gboolean parse_info_times(json_object *reply, FpbQmpMigrationInfo *info, GError **error)
{
    return get_optional_ms(reply, "total-time", &info->has_total_time, &info->total_time, error) &&
           get_optional_ms(reply, "downtime", &info->has_downtime, &info->downtime, error) &&
           get_optional_ms(reply, "setup-time", &info->has_setup_time, &info->setup_time, error) &&
           get_optional_ms(reply, "expected-downtime", &info->has_expected_downtime,
                           &info->expected_downtime, error);
}

FpbQmpMigrationInfo *fpb_qmp_migration_info_parse(json_object *reply, GError **error)
{
    const char *what = FPB_QMP_REPLY("query-migrate");
    g_autoptr(FpbQmpMigrationInfo) info = g_new0(FpbQmpMigrationInfo, 1);
    const char *status = "none";
    const char *error_desc = NULL;
    json_object *ram = NULL;

    if (!json_object_is_type(reply, json_type_object)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not a JSON object", what);
        return NULL;
    }
    if ((fpb_qmp_json_has(reply, "status") &&
         !fpb_qmp_json_get_string(reply, what, "status", &status, error)) ||
        (fpb_qmp_json_has(reply, "error-desc") &&
         !fpb_qmp_json_get_string(reply, what, "error-desc", &error_desc, error)) ||
        !parse_info_times(reply, info, error)) {
        return NULL;
    }
    info->has_ram = fpb_qmp_json_has(reply, "ram");
    if (info->has_ram &&
        (!fpb_qmp_json_get_member(reply, what, "ram", json_type_object, &ram, error) ||
         !parse_stats(ram, &info->ram, error))) {
        return NULL;
    }
    info->status = fpb_qmp_migration_status_from_string(status);
    info->error_desc = g_strdup(error_desc);
    return g_steal_pointer(&info);
}

FpbQmpMigrationInfo *fpb_qmp_query_migrate(FpbQmpClient *client, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-migrate", NULL, json_type_object, error);
    FpbQmpMigrationInfo *info;

    if (reply == NULL) {
        return NULL;
    }
    info = fpb_qmp_migration_info_parse(reply, error);
    return info ? info : fpb_qmp_call_parse_failed(client, error);
}

#define SETTLE_POLL_US (10 * 1000)
#define SETTLE_WAIT_US (1000 * 1000)

static gboolean times_pending(const FpbQmpMigrationInfo *info)
{
    return info->status == FPB_QMP_MIGRATION_STATUS_COMPLETED && info->has_total_time &&
           info->total_time == 0 && info->has_ram && info->ram.transferred > 0;
}

FpbQmpMigrationInfo *fpb_qmp_query_migrate_settled(FpbQmpClient *client, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + SETTLE_WAIT_US;
    FpbQmpMigrationInfo *info = fpb_qmp_query_migrate(client, error);

    while (info != NULL && times_pending(info) && g_get_monotonic_time() < deadline) {
        g_usleep(SETTLE_POLL_US);
        fpb_qmp_migration_info_free(info);
        info = fpb_qmp_query_migrate(client, error);
    }
    return info;
}

void fpb_qmp_migration_info_free(FpbQmpMigrationInfo *info)
{
    if (info == NULL) {
        return;
    }
    g_free(info->error_desc);
    g_free(info);
}

/* A parameter: JSON key, the has_* flag, the value, its largest value. */
typedef struct {
    const char *key;
    size_t has_offset;
    size_t offset;
    guint64 max;
} ParamField;

#define PARAM(key, member, max)                                                                    \
    {                                                                                              \
        key, offsetof(FpbQmpMigrationParameters, has_##member),                                    \
            offsetof(FpbQmpMigrationParameters, member), max                                       \
    }

static const ParamField param_fields[] = {
    PARAM("max-bandwidth", max_bandwidth, G_MAXINT64),
    PARAM("downtime-limit", downtime_limit, 2000000), /* QEMU's own upper bound, ms */
    PARAM("max-postcopy-bandwidth", max_postcopy_bandwidth, G_MAXINT64),
    PARAM("xbzrle-cache-size", xbzrle_cache_size, G_MAXINT64),
    PARAM("multifd-channels", multifd_channels, G_MAXUINT8),
    PARAM("cpu-throttle-initial", cpu_throttle_initial, 99),
    PARAM("cpu-throttle-increment", cpu_throttle_increment, 99),
    PARAM("max-cpu-throttle", max_cpu_throttle, 99),
};

#define FIELD_AT(base, offset, type) ((type *)((char *)(base) + (offset)))

gboolean fpb_qmp_migration_parameters_parse(json_object *reply, FpbQmpMigrationParameters *ret,
                                            GError **error)
{
    FpbQmpMigrationParameters params = {0};

    for (gsize i = 0; i < G_N_ELEMENTS(param_fields); i++) {
        const ParamField *f = &param_fields[i];
        gboolean has = fpb_qmp_json_has(reply, f->key);

        *FIELD_AT(&params, f->has_offset, gboolean) = has;
        if (has && !fpb_qmp_json_get_uint(reply, FPB_QMP_REPLY("query-migrate-parameters"), f->key,
                                          f->max, FIELD_AT(&params, f->offset, guint64), error)) {
            return FALSE;
        }
    }
    *ret = params;
    return TRUE;
}

gboolean fpb_qmp_query_migrate_parameters(FpbQmpClient *client, FpbQmpMigrationParameters *ret,
                                          GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-migrate-parameters", NULL, json_type_object, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_migration_parameters_parse(reply, ret, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_qmp_migrate_set_parameters(FpbQmpClient *client,
                                        const FpbQmpMigrationParameters *params, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    for (gsize i = 0; i < G_N_ELEMENTS(param_fields); i++) {
        const ParamField *f = &param_fields[i];
        guint64 value = *FIELD_AT(params, f->offset, const guint64);

        if (!*FIELD_AT(params, f->has_offset, const gboolean)) {
            continue;
        }
        if (value > f->max) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                        "QMP socket '%s': command 'migrate-set-parameters': %s %" G_GUINT64_FORMAT
                        " out of range [0, %" G_GUINT64_FORMAT "]",
                        fpb_qmp_client_get_socket_path(client), f->key, value, f->max);
            return FALSE;
        }
        json_object_object_add(args, f->key, json_object_new_uint64(value));
    }
    if (json_object_object_length(args) == 0) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                    "QMP socket '%s': command 'migrate-set-parameters': no parameter set",
                    fpb_qmp_client_get_socket_path(client));
        return FALSE;
    }
    return fpb_qmp_call_void(client, "migrate-set-parameters", args, error);
}

gboolean fpb_qmp_migrate_set_capabilities(FpbQmpClient *client,
                                          const FpbQmpMigrationCapability *caps, gsize n_caps,
                                          GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    json_object *list = json_object_new_array();

    json_object_object_add(args, "capabilities", list);
    for (gsize i = 0; i < n_caps; i++) {
        json_object *item = json_object_new_object();

        json_object_object_add(item, "capability", json_object_new_string(caps[i].name));
        json_object_object_add(item, "state", json_object_new_boolean(caps[i].state));
        json_object_array_add(list, item);
    }
    return fpb_qmp_call_void(client, "migrate-set-capabilities", args, error);
}

static gboolean call_with_uri(FpbQmpClient *client, const char *command, const char *uri,
                              GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, "uri", json_object_new_string(uri));
    return fpb_qmp_call_void(client, command, args, error);
}

gboolean fpb_qmp_migrate(FpbQmpClient *client, const char *uri, GError **error)
{
    return call_with_uri(client, "migrate", uri, error);
}

gboolean fpb_qmp_migrate_incoming(FpbQmpClient *client, const char *uri, GError **error)
{
    return call_with_uri(client, "migrate-incoming", uri, error);
}

gboolean fpb_qmp_migrate_cancel(FpbQmpClient *client, GError **error)
{
    return fpb_qmp_call_void(client, "migrate_cancel", NULL, error);
}
