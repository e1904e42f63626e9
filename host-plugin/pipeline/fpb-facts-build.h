/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one facts builder (docs/orchestrator.md, "Facts"): what every backend
 * learns the same way — QEMU's version, the accelerator, the balloon's
 * negotiated features, init_on_alloc from the guest kernel's command line,
 * a dirty-rate sample — is collected here through the backend's QMP (its
 * own socket, or libvirt's pass-through); a backend supplies only what it
 * knows its own way (FpbFactsSource). A fact that fails to come is a note,
 * not an error; only a VM whose size cannot be read is refused.
 */
#pragma once

#include <json-c/json.h>

#include "fpb-vm-facts.h"

G_BEGIN_DECLS

typedef struct {
    /* A QMP command on the source's QEMU: (transfer full) its "return"
     * value, NULL with @error. @args borrowed, may be NULL. */
    json_object *(*qmp)(gpointer ctx, const char *command, json_object *args, GError **error);
    /* RAM size and balloon size into v->facts (ram_bytes,
     * balloon_actual_bytes). Required: FALSE with @error refuses the VM. */
    gboolean (*size)(gpointer ctx, FpbVmFacts *v, GError **error);
    /* v->name, v->qemu_binary and fpb_vm_facts_take_version(), as the
     * backend knows them best. */
    void (*identify)(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v);
    /* The balloon's virtio backend path (".../virtio-backend"), or NULL in
     * *ret_path when the VM has none. */
    gboolean (*balloon_path)(gpointer ctx, FpbVmFacts *v, char **ret_path, GError **error);
    /* The guest kernel's command line, (transfer full), NULL: not known.
     * Static texts for explain: *ret_where where it came from ("the VM's
     * kernel command line (-append)"), *ret_unknown what is said when
     * init_on_alloc is not on it. */
    char *(*kernel_cmdline)(gpointer ctx, FpbVmFacts *v, const char **ret_where,
                            const char **ret_unknown);
    /* Guest statistics into v->facts.stats (polling switched on if off, a
     * fresh sample awaited within o->stats_wait_ms). */
    void (*stats)(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v);
    /* Downtime limit and the bandwidth the migration will have. */
    void (*migration_parameters)(gpointer ctx, const FpbVmFactsOptions *o, FpbVmFacts *v);
    gpointer ctx;
} FpbFactsSource;

/* Collects the facts of @source's VM under @options. (transfer full), or
 * NULL with @error when its size cannot be read. */
FpbVmFacts *fpb_facts_build(const FpbFactsSource *source, const FpbVmFactsOptions *options,
                            GError **error);

G_END_DECLS
