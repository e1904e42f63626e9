/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-call-priv.h"

json_object *fpb_qmp_call(FpbQmpClient *client, const char *command, json_object *arguments,
                          json_type type, GError **error)
{
    g_autoptr(json_object) value = fpb_qmp_client_execute(
        client, command, arguments, fpb_qmp_client_get_default_timeout(client), error);

    if (value == NULL) {
        return NULL;
    }
    if (!json_object_is_type(value, type)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "QMP socket '%s': command '%s': reply is a %s, expected a %s",
                    fpb_qmp_client_get_socket_path(client), command,
                    json_type_to_name(json_object_get_type(value)), json_type_to_name(type));
        return NULL;
    }
    return g_steal_pointer(&value);
}

gboolean fpb_qmp_call_void(FpbQmpClient *client, const char *command, json_object *arguments,
                           GError **error)
{
    g_autoptr(json_object) value = fpb_qmp_client_execute(
        client, command, arguments, fpb_qmp_client_get_default_timeout(client), error);

    /* Commands without a return value answer {}; anything else is ignored,
     * as a newer QEMU may start returning something. */
    return value != NULL;
}

gpointer fpb_qmp_call_parse_failed(FpbQmpClient *client, GError **error)
{
    g_prefix_error(error, "QMP socket '%s': ", fpb_qmp_client_get_socket_path(client));
    return NULL;
}
