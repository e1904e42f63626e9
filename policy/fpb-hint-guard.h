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

/* Whether hints may be used: unsafe iff the accelerator is not KVM (TCG or
 * unknown) and fpb_policy_facts_tcg_dirty_tracking() is not FIXED, for any
 * driver and any init_on_alloc. On FPB_HINT_UNSAFE, *ret_code (if not NULL)
 * is FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING and *ret_text (if not NULL) a
 * newly allocated sentence naming the QEMU version. Pure. */
FpbHintSafety fpb_hint_guard_check(const FpbPolicyFacts *facts, FpbReasonCode *ret_code,
                                   char **ret_text);

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
