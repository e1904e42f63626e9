/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-balloon.h"

#include "fpb-qmp-call-priv.h"

json_object *fpb_qmp_qom_get(FpbQmpClient *client, const char *qom_path, const char *property,
                             GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, "path", json_object_new_string(qom_path));
    json_object_object_add(args, "property", json_object_new_string(property));
    return fpb_qmp_client_execute(client, "qom-get", args,
                                  fpb_qmp_client_get_default_timeout(client), error);
}

gboolean fpb_qmp_qom_set(FpbQmpClient *client, const char *qom_path, const char *property,
                         json_object *value, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    json_object_object_add(args, "path", json_object_new_string(qom_path));
    json_object_object_add(args, "property", json_object_new_string(property));
    json_object_object_add(args, "value", json_object_get(value));
    return fpb_qmp_call_void(client, "qom-set", args, error);
}

gboolean fpb_qmp_balloon_info_parse(json_object *reply, guint64 *ret_actual, GError **error)
{
    return fpb_qmp_json_get_uint(reply, FPB_QMP_REPLY("query-balloon"), "actual", G_MAXINT64,
                                 ret_actual, error);
}

gboolean fpb_qmp_query_balloon(FpbQmpClient *client, guint64 *ret_actual, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-balloon", NULL, json_type_object, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_balloon_info_parse(reply, ret_actual, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_qmp_balloon_set_target(FpbQmpClient *client, guint64 target_bytes, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    /* QEMU refuses 0 ("Parameter 'target' expects a size"); say so here. */
    if (target_bytes == 0 || target_bytes > G_MAXINT64) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                    "QMP socket '%s': command 'balloon': target %" G_GUINT64_FORMAT " out of range",
                    fpb_qmp_client_get_socket_path(client), target_bytes);
        return FALSE;
    }
    json_object_object_add(args, "value", json_object_new_int64((gint64)target_bytes));
    return fpb_qmp_call_void(client, "balloon", args, error);
}

/* A missing stat is the same as one the guest never sent. */
static gboolean get_stat(json_object *stats, const char *key, guint64 *ret, GError **error)
{
    *ret = FPB_QMP_STAT_UNAVAILABLE;
    if (!fpb_qmp_json_has(stats, key)) {
        return TRUE;
    }
    return fpb_qmp_json_get_uint(stats, "command 'qom-get' guest-stats: reply member 'stats'", key,
                                 G_MAXUINT64, ret, error);
}

gboolean fpb_qmp_balloon_stats_parse(json_object *reply, FpbQmpBalloonStats *ret, GError **error)
{
    const char *what = "command 'qom-get' guest-stats: reply";
    FpbQmpBalloonStats s = {0};
    json_object *stats = NULL;

    if (!fpb_qmp_json_get_member(reply, what, "stats", json_type_object, &stats, error) ||
        !fpb_qmp_json_get_int(reply, what, "last-update", 0, G_MAXINT64, &s.last_update, error) ||
        !get_stat(stats, "stat-swap-in", &s.swap_in, error) ||
        !get_stat(stats, "stat-swap-out", &s.swap_out, error) ||
        !get_stat(stats, "stat-major-faults", &s.major_faults, error) ||
        !get_stat(stats, "stat-minor-faults", &s.minor_faults, error) ||
        !get_stat(stats, "stat-free-memory", &s.free_memory, error) ||
        !get_stat(stats, "stat-total-memory", &s.total_memory, error) ||
        !get_stat(stats, "stat-available-memory", &s.available_memory, error) ||
        !get_stat(stats, "stat-disk-caches", &s.disk_caches, error) ||
        !get_stat(stats, "stat-htlb-pgalloc", &s.htlb_pgalloc, error) ||
        !get_stat(stats, "stat-htlb-pgfail", &s.htlb_pgfail, error)) {
        return FALSE;
    }
    *ret = s;
    return TRUE;
}

gboolean fpb_qmp_balloon_get_stats(FpbQmpClient *client, const char *qom_path,
                                   FpbQmpBalloonStats *ret, GError **error)
{
    g_autoptr(json_object) reply = fpb_qmp_qom_get(client, qom_path, "guest-stats", error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_balloon_stats_parse(reply, ret, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_qmp_balloon_get_stats_interval(FpbQmpClient *client, const char *qom_path,
                                            gint64 *ret_seconds, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_qom_get(client, qom_path, "guest-stats-polling-interval", error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_json_to_int(reply, "command 'qom-get' guest-stats-polling-interval: reply", 0,
                             G_MAXUINT32, ret_seconds, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_qmp_balloon_set_stats_interval(FpbQmpClient *client, const char *qom_path,
                                            guint seconds, GError **error)
{
    g_autoptr(json_object) value = json_object_new_int64(seconds);

    return fpb_qmp_qom_set(client, qom_path, "guest-stats-polling-interval", value, error);
}

static gboolean get_bool_property(FpbQmpClient *client, const char *qom_path, const char *property,
                                  gboolean *ret, GError **error)
{
    g_autoptr(json_object) reply = fpb_qmp_qom_get(client, qom_path, property, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!json_object_is_type(reply, json_type_boolean)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "QMP socket '%s': command 'qom-get' %s: reply is a %s, expected a boolean",
                    fpb_qmp_client_get_socket_path(client), property,
                    json_type_to_name(json_object_get_type(reply)));
        return FALSE;
    }
    *ret = json_object_get_boolean(reply) ? TRUE : FALSE;
    return TRUE;
}

gboolean fpb_qmp_balloon_get_free_page_hint(FpbQmpClient *client, const char *qom_path,
                                            gboolean *ret, GError **error)
{
    return get_bool_property(client, qom_path, "free-page-hint", ret, error);
}

gboolean fpb_qmp_balloon_get_free_page_reporting(FpbQmpClient *client, const char *qom_path,
                                                 gboolean *ret, GError **error)
{
    return get_bool_property(client, qom_path, "free-page-reporting", ret, error);
}
