/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the typed helpers; not installed, not public. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

/* Runs @command with the client's default timeout and checks that the
 * "return" value has @type. Returns: (transfer full) the value. */
json_object *fpb_qmp_call(FpbQmpClient *client, const char *command, json_object *arguments,
                          json_type type, GError **error);

/* Runs @command and drops its (empty) return value. */
gboolean fpb_qmp_call_void(FpbQmpClient *client, const char *command, json_object *arguments,
                           GError **error);

/* Prefixes a parse error with the socket path, so it names socket and
 * command like every other client error; returns NULL for chaining. */
gpointer fpb_qmp_call_parse_failed(FpbQmpClient *client, GError **error);

/* "command '@command': reply" for parse error messages. */
#define FPB_QMP_REPLY(command) "command '" command "': reply"

G_END_DECLS
