/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libvirt/libvirt-qemu.h>
#include <string.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-qmp.h"
#include "fpb-qmp-error.h"
#include "fpb-qmp-json.h"
#include "fpb-qmp-message.h"

static json_object *parse_reply(const char *vm, const char *command, const char *text,
                                GError **error)
{
    json_tokener *tok = NULL;
    json_object *obj;
    enum json_tokener_error jerr;
    gsize len = strlen(text);

    if (len > FPB_LIBVIRT_QMP_MAX_REPLY) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': QMP command '%s': reply larger than 4 MiB", vm, command);
        return NULL;
    }
    tok = json_tokener_new();
    obj = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_FAILED,
                    "VM '%s': QMP command '%s': reply is not a JSON object: %s", vm, command,
                    json_tokener_error_desc(jerr));
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

/* The reply read as the QMP client reads QEMU's own: an error reply is
 * FPB_QMP_ERROR_COMMAND with its class and description kept. */
static json_object *take_return(const char *vm, const char *command, json_object *reply,
                                json_type type, GError **error)
{
    g_autoptr(GError) local = NULL;
    FpbQmpMessage msg;

    if (!fpb_qmp_message_parse(reply, &msg, &local) ||
        (msg.kind != FPB_QMP_MESSAGE_RETURN && msg.kind != FPB_QMP_MESSAGE_ERROR)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "VM '%s': QMP command '%s': not a QMP reply%s%s", vm, command,
                    local ? ": " : "", local ? local->message : "");
        fpb_qmp_error_set_details(error ? *error : NULL, command, NULL, NULL);
        return NULL;
    }
    if (msg.kind == FPB_QMP_MESSAGE_ERROR) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND,
                    "VM '%s': QMP command '%s' failed: %s: %s", vm, command, msg.error_class,
                    msg.error_desc);
        fpb_qmp_error_set_details(error ? *error : NULL, command, msg.error_class, msg.error_desc);
        return NULL;
    }
    if (msg.value == NULL || (type != json_type_null && !json_object_is_type(msg.value, type))) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "VM '%s': QMP command '%s': no 'return' of type %s in the reply", vm, command,
                    json_type_to_name(type));
        fpb_qmp_error_set_details(error ? *error : NULL, command, NULL, NULL);
        return NULL;
    }
    return json_object_get(msg.value);
}

json_object *fpb_libvirt_qmp_call(virDomainPtr dom, const char *command, json_object *arguments,
                                  json_type type, GError **error)
{
    const char *vm = virDomainGetName(dom);
    g_autoptr(json_object) cmd = json_object_new_object();
    g_autoptr(json_object) reply = NULL;
    char *text = NULL;

    json_object_object_add(cmd, "execute", json_object_new_string(command));
    if (arguments != NULL) {
        json_object_object_add(cmd, "arguments", json_object_get(arguments));
    }
    if (virDomainQemuMonitorCommand(dom, json_object_to_json_string(cmd), &text, 0) < 0) {
        fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': QMP command '%s'", vm,
                              command);
        return NULL;
    }
    reply = parse_reply(vm, command, text, error);
    free(text);
    return reply ? take_return(vm, command, reply, type, error) : NULL;
}
