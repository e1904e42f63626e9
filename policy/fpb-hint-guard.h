/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hint guard: when free-page hints must not be used, and when any live
 * migration is at risk. Issue 6 found the cause of the corrupted
 * destinations (docs/stock-hint-crash.md, section 0): QEMU < 9.0 under TCG
 * loses guest writes once a migration needs a live iteration after the bulk
 * copy (upstream fix 03bfc2188f), and hints force such iterations. Neither
 * the guest driver nor init_on_alloc makes it safe; KVM is not affected.
 * docs/hint-safety.md explains it to operators, docs/cost-model.md ("The
 * hint guard") to developers.
 */
#pragma once

#include "fpb-policy-facts.h"
#include "fpb-policy-reason.h"

G_BEGIN_DECLS

typedef enum {
    FPB_HINT_SAFE = 0,
    FPB_HINT_UNSAFE, /* refuse hints */
} FpbHintSafety;

/* Whether hints may be used: unsafe when the accelerator is not KVM (TCG or
 * unknown) and fpb_policy_facts_tcg_dirty_tracking() is not FIXED, for any
 * driver and any init_on_alloc (*ret_code
 * FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING); also when
 * fpb_hint_guard_kvm_window() is OPEN (FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW).
 * On FPB_HINT_UNSAFE, *ret_code and *ret_text (each if not NULL) say which,
 * the text newly allocated and naming the QEMU. Pure. */
FpbHintSafety fpb_hint_guard_check(const FpbPolicyFacts *facts, FpbReasonCode *ret_code,
                                   char **ret_text);

/* The KVM dirty-log window (docs/guest-driver.md, "KVM with manual
 * dirty-log protect"): fpb's driver leaves a hinted page allocatable at
 * once, so on KVM a write between the guest's look at the free lists and
 * QEMU's clear of that chunk's dirty log can be lost, unless QEMU clears
 * the log before it publishes the command (fpb's QEMU, patch 0005). */
typedef enum {
    FPB_KVM_WINDOW_NONE = 0, /* not KVM, not fpb's driver, or the QEMU closes it */
    FPB_KVM_WINDOW_OPEN,     /* open and not accepted: no hints */
    FPB_KVM_WINDOW_ACCEPTED, /* open, the operator accepted it by name */
} FpbKvmWindow;

/* Which of the three holds for @facts; on OPEN and ACCEPTED *ret_text (if
 * not NULL) is a newly allocated sentence. Only a driver known to be fpb's
 * counts: the stock driver holds hinted pages until the command ends, and
 * an unknown one is the stock driver on every QEMU that cannot tell (fpb's
 * QEMU names the driver). Pure. */
FpbKvmWindow fpb_hint_guard_kvm_window(const FpbPolicyFacts *facts, char **ret_text);

/* TRUE when a live precopy of this VM may lose guest writes (the same
 * condition: not KVM, tracking not FIXED); then *ret_text (if not NULL) is a
 * newly allocated warning sentence (FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE).
 * fpb_policy_method_choose() turns it into a rule: postcopy or paused, or
 * precopy only when the operator allows it. Pure. */
gboolean fpb_hint_guard_live_migration_unsafe(const FpbPolicyFacts *facts, char **ret_text);

/* "QEMU 7.2.22 ('Debian 1:7.2+dfsg-7+deb12u18') under TCG", "QEMU of
 * unknown version with an unknown accelerator (may be TCG)", ... for the
 * messages about an at-risk QEMU. Returns a new string. Pure. */
char *fpb_hint_guard_describe_qemu(const FpbPolicyFacts *facts);

G_END_DECLS
