/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bare-QMP backend's object, shared by its own files only. */
#pragma once

#include "fpb-backend-qmp.h"
#include "fpb-qmp.h"

G_BEGIN_DECLS

typedef struct {
    FpbBackend parent;
    FpbQmpTarget target; /* strings owned below */
    char *source_qmp, *dest_qmp, *uri, *vm_name;
    FpbQmpClient *src;
    FpbQmpClient *dst; /* NULL: no destination socket, or not opened */
} FpbBackendQmp;

/* FpbBackendOps.repair_row (fpb-qmp-recover.c). */
void fpb_backend_qmp_repair_row(FpbBackend *held, FpbOutcome *row, gboolean open, GString *notes);

G_END_DECLS
