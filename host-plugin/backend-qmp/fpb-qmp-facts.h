/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The facts of a VM on bare QEMU, over its QMP socket (docs/orchestrator.md,
 * "Facts"): query-memory-size-summary (required), query-name,
 * query-version, query-kvm, query-balloon, x-query-virtio-status, guest
 * stats (polling switched on if off, then a fresh sample awaited, bounded),
 * query-migrate-parameters, the machine's "append" (init_on_alloc) and a
 * 1 s calc-dirty-rate sample.
 */
#pragma once

#include "fpb-qmp.h"
#include "fpb-vm-facts.h"

G_BEGIN_DECLS

/* Collects the facts of the VM behind @qmp. Returns (transfer full), or
 * NULL with @error when the VM's RAM size cannot be read. */
FpbVmFacts *fpb_qmp_facts_collect(FpbQmpClient *qmp, const FpbVmFactsOptions *options,
                                  GError **error);

G_END_DECLS
