/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration method: how QEMU moves the guest, next to what the mode
 * does about free memory (issue 14). A QEMU that loses TCG writes (the hint
 * guard's condition: not KVM, dirty tracking not fixed) corrupts a writing
 * guest in a plain live precopy as soon as it needs a live iteration after
 * the bulk copy. Measured on Debian's QEMU 7.2 (docs/hint-safety.md,
 * "Migration methods on an unfixed TCG QEMU"): postcopy started at once and
 * a paused migration kept the guest's memory intact; live precopy,
 * postcopy started after the first pass and auto-converge did not.
 */
#pragma once

#include "fpb-policy-facts.h"
#include "fpb-policy-reason.h"

G_BEGIN_DECLS

typedef enum {
    FPB_POLICY_METHOD_PRECOPY = 0, /* live precopy: QEMU's default */
    /* live: postcopy-ram on both ends and migrate-start-postcopy right
     * after `migrate`, so QEMU switches during the bulk pass (no dirty sync
     * while the guest runs after the first one) */
    FPB_POLICY_METHOD_POSTCOPY,
    /* the source is stopped for the whole migration, the destination
     * resumed after it: downtime = the migration */
    FPB_POLICY_METHOD_PAUSED,
    FPB_POLICY_N_METHODS,
} FpbPolicyMethod;

/* "precopy", "postcopy", "paused". */
const char *fpb_policy_method_to_string(FpbPolicyMethod method);
/* "auto", "precopy", "postcopy", "paused"; from_string is FALSE on others. */
const char *fpb_policy_method_request_to_string(FpbPolicyMethodRequest request);
gboolean fpb_policy_method_request_from_string(const char *s, FpbPolicyMethodRequest *ret);

/* Postcopy needs postcopy-ram on both ends: the same condition as
 * switching hints off (facts->hints_can_be_disabled: a destination QMP
 * socket, or libvirt). A paused migration needs it too for fpb to resume
 * the destination. */
gboolean fpb_policy_method_destination_reachable(const FpbPolicyFacts *facts);

/**
 * fpb_policy_method_choose:
 * @uses_hints: the chosen mode uses free-page hints (postcopy-ram switches
 * them off, so hints and postcopy exclude each other).
 * Chooses the method for @facts->policy.method:
 * - auto, KVM or a fixed QEMU: precopy, no reason;
 * - auto, a QEMU that may lose TCG writes: precopy when the operator
 *   allowed it (TCG_LIVE_MIGRATION_UNSAFE), else postcopy when the
 *   destination is reachable (METHOD_POSTCOPY_TCG), else paused
 *   (METHOD_PAUSED_TCG, DESTINATION_STAYS_PAUSED);
 * - precopy on such a QEMU without allow_unsafe_live_migration: refused,
 *   FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION naming the QEMU and the way out;
 * - postcopy without a reachable destination, or with hints:
 *   FPB_POLICY_ERROR_FORCED_INFEASIBLE.
 * On success *ret_method is set and every reason is appended to @reasons
 * (FpbPolicyReason*). Pure.
 */
gboolean fpb_policy_method_choose(const FpbPolicyFacts *facts, gboolean uses_hints,
                                  FpbPolicyMethod *ret_method, GPtrArray *reasons, GError **error);

G_END_DECLS
