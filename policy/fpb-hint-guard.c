/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include "fpb-hint-guard.h"

/* Evidence (docs/stock-hint-crash.md, section 0): on stock and unpatched
 * QEMU 7.2 under TCG every migration with a live iteration after the bulk
 * copy (4+ dirty syncs) broke the destination, 13 of 13, hints or not
 * (stock hints + init_on_alloc=1 5/5, a writing guest without hints 3/3);
 * with the one-hunk fix 0 of 12, including stock hints + init_on_alloc=1.
 * init_on_alloc=0 and fpb's driver only looked safe because those runs
 * converged in 3 syncs, which nothing lets fpb promise in advance. Under
 * KVM the dirty log comes from KVM, not from the TCG soft TLB. Unknowns sit
 * with the dangerous side: an unknown accelerator may be TCG, an unknown
 * QEMU may be older than 9.0. */
static gboolean at_risk(const FpbPolicyFacts *facts)
{
    return facts->accelerator != FPB_POLICY_ACCEL_KVM &&
           fpb_policy_facts_tcg_dirty_tracking(facts) != FPB_POLICY_TCG_DIRTY_TRACKING_FIXED;
}

char *fpb_hint_guard_describe_qemu(const FpbPolicyFacts *facts)
{
    const FpbPolicyQemu *q = &facts->qemu;
    g_autofree char *version = fpb_policy_qemu_version_to_string(q);
    g_autofree char *package = NULL;
    const char *accel = facts->accelerator == FPB_POLICY_ACCEL_TCG
                            ? "under TCG"
                            : "with an unknown accelerator (may be TCG)";

    if (q->package_known && q->package[0] != '\0') {
        package = g_strdup_printf(" ('%s')", q->package);
    }
    return g_strdup_printf("QEMU %s%s %s", version != NULL ? version : "of unknown version",
                           package != NULL ? package : "", accel);
}

static gboolean is_broken(const FpbPolicyFacts *facts)
{
    return fpb_policy_facts_tcg_dirty_tracking(facts) == FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN;
}

/* What is known about the fix: "lacks" or "may lack" it, and why. */
static const char *describe_tracking(const FpbPolicyFacts *facts)
{
    gboolean broken = is_broken(facts);

    if (facts->qemu.tcg_dirty_tracking_overridden) {
        return broken ? "lacks (operator's override)" : "may lack (operator's override)";
    }
    return broken ? "lacks" : "may lack";
}

FpbKvmWindow fpb_hint_guard_kvm_window(const FpbPolicyFacts *facts, char **ret_text)
{
    gboolean accepted = facts->policy.accept_kvm_dirty_log_window;

    if (facts->accelerator != FPB_POLICY_ACCEL_KVM ||
        facts->guest.driver != FPB_POLICY_DRIVER_FPB || facts->qemu.hint_window_closed) {
        return FPB_KVM_WINDOW_NONE;
    }
    if (ret_text != NULL) {
        *ret_text = g_strdup_printf(
            "fpb's guest driver on KVM with a QEMU that does not clear the dirty log before a "
            "hint command (fpb's QEMU does, patch 0005): a page written after the guest saw it "
            "free and before QEMU clears its chunk's log %s lost (docs/guest-driver.md)%s",
            accepted ? "may be" : "would be",
            accepted ? "; the operator accepted this risk (--accept-risk "
                       "" FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW ")"
                     : "; accept it with --accept-risk " FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW
                       " or run the VM on fpb's QEMU");
    }
    return accepted ? FPB_KVM_WINDOW_ACCEPTED : FPB_KVM_WINDOW_OPEN;
}

FpbHintSafety fpb_hint_guard_check(const FpbPolicyFacts *facts, FpbReasonCode *ret_code,
                                   char **ret_text)
{
    g_autofree char *qemu = NULL;

    if (!at_risk(facts)) {
        if (fpb_hint_guard_kvm_window(facts, NULL) != FPB_KVM_WINDOW_OPEN) {
            return FPB_HINT_SAFE;
        }
        if (ret_code != NULL) {
            *ret_code = FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW;
        }
        fpb_hint_guard_kvm_window(facts, ret_text);
        return FPB_HINT_UNSAFE;
    }
    if (ret_code != NULL) {
        *ret_code = FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING;
    }
    if (ret_text != NULL) {
        qemu = fpb_hint_guard_describe_qemu(facts);
        *ret_text = g_strdup_printf(
            "%s %s the TCG dirty-tracking fix (upstream 03bfc2188f, in QEMU 9.0 and fpb's "
            "patched build); without it guest writes are lost in any live iteration after the "
            "bulk copy, which free-page hints force, so hints %s corrupt the destination guest "
            "whatever the driver and init_on_alloc (docs/hint-safety.md)",
            qemu, describe_tracking(facts), is_broken(facts) ? "would" : "could");
    }
    return FPB_HINT_UNSAFE;
}

gboolean fpb_hint_guard_live_migration_unsafe(const FpbPolicyFacts *facts, char **ret_text)
{
    g_autofree char *qemu = NULL;

    if (!at_risk(facts)) {
        return FALSE;
    }
    if (ret_text != NULL) {
        qemu = fpb_hint_guard_describe_qemu(facts);
        *ret_text = g_strdup_printf(
            "%s %s the TCG dirty-tracking fix (03bfc2188f): any live migration of this VM that "
            "needs more than one live iteration may lose guest writes and corrupt the "
            "destination, with or without hints (docs/hint-safety.md)",
            qemu, describe_tracking(facts));
    }
    return TRUE;
}
