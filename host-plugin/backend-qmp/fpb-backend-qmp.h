/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bare-QMP backend (fpb-backend.h): a VM is a QMP socket, its
 * destination another QMP socket (optional: without it fpb cannot give
 * memory back after the migration, and the policy knows) and a QEMU
 * migration URI. Facts: fpb-qmp-facts.h; balloon: fpb-balloon-step.h;
 * migration: fpb-migration-step.h; journal rows: the source column is the
 * socket path.
 */
#pragma once

#include "fpb-backend.h"

G_BEGIN_DECLS

typedef struct {
    const char *source_qmp; /* the source VM's QMP socket */
    const char *dest_qmp;   /* the destination's, NULL if none */
    const char *uri;        /* QEMU migration URI; NULL for explain */
    const char *vm_name;    /* NULL: the VM's -name, else the socket's file name */
    guint connect_timeout_ms;
} FpbQmpTarget;

/* Defaults: connect timeout 5 s, everything else NULL. */
void fpb_qmp_target_init(FpbQmpTarget *target);

extern const FpbBackendOps fpb_backend_qmp_ops;

/* A backend object for @target (copied); nothing is connected before
 * open(). (transfer full) */
FpbBackend *fpb_backend_qmp_new(const FpbQmpTarget *target);

G_END_DECLS
