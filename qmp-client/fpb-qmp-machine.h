/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed helpers for the VM-level commands: query-status, query-version,
 * query-name.
 *
 * Each helper is blocking (fpb_qmp_client_execute with the client's default
 * timeout). Async users run the command with fpb_qmp_client_execute_async and
 * hand the "return" value to the matching *_parse function. Parsers ignore
 * unknown fields, fail with FPB_QMP_ERROR_PROTOCOL on missing required fields,
 * wrong types and out-of-range integers. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

typedef struct {
    char *status; /* RunState, e.g. "running", "paused", "postmigrate" */
    gboolean running;
    gboolean singlestep; /* FALSE when QEMU no longer sends it (QEMU >= 9) */
} FpbQmpStatus;

FpbQmpStatus *fpb_qmp_status_parse(json_object *reply, GError **error);
FpbQmpStatus *fpb_qmp_query_status(FpbQmpClient *client, GError **error);
void fpb_qmp_status_free(FpbQmpStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpStatus, fpb_qmp_status_free)

FpbQmpVersion *fpb_qmp_query_version(FpbQmpClient *client, GError **error);

/* @ret_name: (out) (transfer full) the VM's -name, NULL if it has none.
 * Written only on success. */
gboolean fpb_qmp_name_parse(json_object *reply, char **ret_name, GError **error);
gboolean fpb_qmp_query_name(FpbQmpClient *client, char **ret_name, GError **error);

G_END_DECLS
