/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-machine.h"

#include "fpb-qmp-call-priv.h"

FpbQmpStatus *fpb_qmp_status_parse(json_object *reply, GError **error)
{
    const char *what = FPB_QMP_REPLY("query-status");
    g_autoptr(FpbQmpStatus) status = g_new0(FpbQmpStatus, 1);
    const char *name = NULL;

    if (!fpb_qmp_json_get_string(reply, what, "status", &name, error) ||
        !fpb_qmp_json_get_bool(reply, what, "running", &status->running, error)) {
        return NULL;
    }
    if (fpb_qmp_json_has(reply, "singlestep") &&
        !fpb_qmp_json_get_bool(reply, what, "singlestep", &status->singlestep, error)) {
        return NULL;
    }
    status->status = g_strdup(name);
    return g_steal_pointer(&status);
}

FpbQmpStatus *fpb_qmp_query_status(FpbQmpClient *client, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-status", NULL, json_type_object, error);
    FpbQmpStatus *status;

    if (reply == NULL) {
        return NULL;
    }
    status = fpb_qmp_status_parse(reply, error);
    return status ? status : fpb_qmp_call_parse_failed(client, error);
}

void fpb_qmp_status_free(FpbQmpStatus *status)
{
    if (status == NULL) {
        return;
    }
    g_free(status->status);
    g_free(status);
}

FpbQmpVersion *fpb_qmp_query_version(FpbQmpClient *client, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-version", NULL, json_type_object, error);
    FpbQmpVersion *version;

    if (reply == NULL) {
        return NULL;
    }
    version = fpb_qmp_version_parse(reply, FPB_QMP_REPLY("query-version"), error);
    return version ? version : fpb_qmp_call_parse_failed(client, error);
}

gboolean fpb_qmp_name_parse(json_object *reply, char **ret_name, GError **error)
{
    const char *name = NULL;

    if (fpb_qmp_json_has(reply, "name") &&
        !fpb_qmp_json_get_string(reply, FPB_QMP_REPLY("query-name"), "name", &name, error)) {
        return FALSE;
    }
    *ret_name = g_strdup(name);
    return TRUE;
}

gboolean fpb_qmp_query_name(FpbQmpClient *client, char **ret_name, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-name", NULL, json_type_object, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_name_parse(reply, ret_name, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}
