/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy's facts about a libvirt domain (docs/libvirt.md, "Facts"):
 * virDomainGetInfo (RAM, balloon size), virDomainMemoryStats (guest stats,
 * the stats period switched to 2 s if off, a fresh sample awaited),
 * virDomainMigrateGetMaxDowntime, the <cmdline> of the domain XML
 * (init_on_alloc) and QMP pass-through for the virtio features, QEMU
 * version, accelerator and a dirty-rate sample. The per-VM policy is read
 * from the domain's metadata over @options->policy (host defaults).
 * Fills the same FpbVmFacts as the bare-QEMU path (fpb-vm-facts.h).
 */
#pragma once

#include <libvirt/libvirt.h>

#include "fpb-conf-policy.h"
#include "fpb-vm-facts.h"

G_BEGIN_DECLS

/* Collects the facts of @dom. (transfer full), or NULL with @error when
 * the domain is not running or its metadata is malformed. */
FpbVmFacts *fpb_libvirt_facts_collect(virDomainPtr dom, const FpbVmFactsOptions *options,
                                      const FpbConfPolicy *cli_policy, GError **error);

/* The balloon's current size (virDomainMemoryStats actual, else
 * virDomainGetInfo memory) in bytes, -1 with @error. */
gint64 fpb_libvirt_facts_balloon_bytes(virDomainPtr dom, GError **error);

G_END_DECLS
