/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FPB_QMP_ERROR domain: every error the QMP client reports. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPB_QMP_ERROR (fpb_qmp_error_quark())

/**
 * FpbQmpError:
 * @FPB_QMP_ERROR_CONNECT: the socket could not be connected, or the greeting /
 *   capabilities negotiation failed.
 * @FPB_QMP_ERROR_TIMEOUT: no reply (or greeting) within the timeout.
 * @FPB_QMP_ERROR_PROTOCOL: QEMU sent something that is not QMP: malformed
 *   JSON, a message over the size cap, a reply of the wrong shape, a reply
 *   with an id nobody asked for.
 * @FPB_QMP_ERROR_EOF: QEMU closed the connection (possibly mid-message).
 * @FPB_QMP_ERROR_COMMAND: QEMU answered with an error reply; see
 *   fpb_qmp_error_get_class() and fpb_qmp_error_get_desc().
 * @FPB_QMP_ERROR_BROKEN: the connection failed earlier and is unusable.
 * @FPB_QMP_ERROR_IO: reading or writing the socket failed.
 * @FPB_QMP_ERROR_CLOSED: the client was freed while the command was pending.
 * @FPB_QMP_ERROR_INVALID: the caller passed an argument the helper refuses.
 */
typedef enum {
    FPB_QMP_ERROR_CONNECT,
    FPB_QMP_ERROR_TIMEOUT,
    FPB_QMP_ERROR_PROTOCOL,
    FPB_QMP_ERROR_EOF,
    FPB_QMP_ERROR_COMMAND,
    FPB_QMP_ERROR_BROKEN,
    FPB_QMP_ERROR_IO,
    FPB_QMP_ERROR_CLOSED,
    FPB_QMP_ERROR_INVALID,
} FpbQmpError;

GQuark fpb_qmp_error_quark(void);

/*
 * FPB_QMP_ERROR is an extended GError domain: errors of this domain carry the
 * QMP command name, and for FPB_QMP_ERROR_COMMAND the QMP error class and
 * description, so callers need not parse messages. The getters return NULL
 * for errors of other domains or when the field is not known. The strings
 * belong to @error.
 */
const char *fpb_qmp_error_get_command(const GError *error);
const char *fpb_qmp_error_get_class(const GError *error);
const char *fpb_qmp_error_get_desc(const GError *error);

/* Stores command / class / desc in an FPB_QMP_ERROR error (no-op otherwise). */
void fpb_qmp_error_set_details(GError *error, const char *command, const char *qmp_class,
                               const char *desc);

G_END_DECLS
