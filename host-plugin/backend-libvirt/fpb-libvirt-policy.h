/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM policy stored in a libvirt domain's <metadata>
 * (conf/fpb-conf-policy.h), read and written with virDomainGetMetadata /
 * virDomainSetMetadata, and its mapping onto the policy engine's settings.
 */
#pragma once

#include <libvirt/libvirt.h>

#include "fpb-conf-policy.h"
#include "fpb-policy.h"

G_BEGIN_DECLS

/**
 * fpb_libvirt_policy_read:
 * Reads the policy of @dom: the live definition when it runs, else the
 * persistent one (@config TRUE forces the persistent one). No metadata is
 * an empty policy. Malformed metadata is an error naming the VM and the
 * element (FPB_CONF_ERROR_*); a libvirt failure FPB_LIBVIRT_ERROR_FAILED.
 */
gboolean fpb_libvirt_policy_read(virDomainPtr dom, gboolean config, FpbConfPolicy *ret,
                                 GError **error);

/* Writes @policy to the live and the persistent definition (each where it
 * exists); an empty policy removes the element. */
gboolean fpb_libvirt_policy_write(virDomainPtr dom, const FpbConfPolicy *policy, GError **error);

/* Every key set in @policy overrides @settings (fpb_run_options_apply_policy()). */
void fpb_libvirt_policy_apply(const FpbConfPolicy *policy, FpbPolicySettings *settings);

G_END_DECLS
