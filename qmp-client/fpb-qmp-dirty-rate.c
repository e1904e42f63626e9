/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-dirty-rate.h"

#include "fpb-qmp-call-priv.h"

/* QEMU 7.2 accepts 1..60 s and 128..4096 sample pages per GiB. */
#define CALC_TIME_MAX 60
#define SAMPLE_PAGES_MIN 128
#define SAMPLE_PAGES_MAX 4096

gboolean fpb_qmp_calc_dirty_rate(FpbQmpClient *client, gint64 calc_time_s,
                                 gint64 sample_pages_per_gib, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();

    if (calc_time_s < 1 || calc_time_s > CALC_TIME_MAX ||
        (sample_pages_per_gib != 0 &&
         (sample_pages_per_gib < SAMPLE_PAGES_MIN || sample_pages_per_gib > SAMPLE_PAGES_MAX))) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID,
                    "QMP socket '%s': command 'calc-dirty-rate': calc-time %" G_GINT64_FORMAT
                    " or sample-pages %" G_GINT64_FORMAT " out of range",
                    fpb_qmp_client_get_socket_path(client), calc_time_s, sample_pages_per_gib);
        return FALSE;
    }
    json_object_object_add(args, "calc-time", json_object_new_int64(calc_time_s));
    if (sample_pages_per_gib != 0) {
        json_object_object_add(args, "sample-pages", json_object_new_int64(sample_pages_per_gib));
    }
    return fpb_qmp_call_void(client, "calc-dirty-rate", args, error);
}

static int lookup(const char *name, const char *const *names, int unknown)
{
    for (int i = 0; i < unknown; i++) {
        if (g_strcmp0(names[i], name) == 0) {
            return i;
        }
    }
    return unknown;
}

gboolean fpb_qmp_dirty_rate_info_parse(json_object *reply, FpbQmpDirtyRateInfo *ret, GError **error)
{
    static const char *const statuses[] = {"unstarted", "measuring", "measured"};
    static const char *const modes[] = {"page-sampling", "dirty-ring", "dirty-bitmap"};
    const char *what = FPB_QMP_REPLY("query-dirty-rate");
    FpbQmpDirtyRateInfo info = {0};
    const char *status = NULL;
    const char *mode = NULL;

    if (!fpb_qmp_json_get_string(reply, what, "status", &status, error) ||
        !fpb_qmp_json_get_string(reply, what, "mode", &mode, error) ||
        !fpb_qmp_json_get_int(reply, what, "start-time", 0, G_MAXINT64, &info.start_time, error) ||
        !fpb_qmp_json_get_int(reply, what, "calc-time", 0, G_MAXINT64, &info.calc_time, error) ||
        !fpb_qmp_json_get_uint(reply, what, "sample-pages", G_MAXUINT64, &info.sample_pages,
                               error)) {
        return FALSE;
    }
    info.has_dirty_rate = fpb_qmp_json_has(reply, "dirty-rate");
    if (info.has_dirty_rate &&
        !fpb_qmp_json_get_int(reply, what, "dirty-rate", 0, G_MAXINT64, &info.dirty_rate, error)) {
        return FALSE;
    }
    info.status = lookup(status, statuses, FPB_QMP_DIRTY_RATE_UNKNOWN);
    info.mode = lookup(mode, modes, FPB_QMP_DIRTY_RATE_MODE_UNKNOWN);
    *ret = info;
    return TRUE;
}

gboolean fpb_qmp_query_dirty_rate(FpbQmpClient *client, FpbQmpDirtyRateInfo *ret, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-dirty-rate", NULL, json_type_object, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_dirty_rate_info_parse(reply, ret, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}
