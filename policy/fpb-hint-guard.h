/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hint guard: which free-page-hint configurations the policy refuses
 * because they corrupted (or may corrupt) the destination guest. Issue 6
 * investigates the cause; until then the guard is conservative and lives in
 * one table (fpb-hint-guard.c) so the investigation can narrow it in one
 * place. docs/cost-model.md, "The stock-hint guard", explains the entries.
 */
#pragma once

#include "fpb-policy-facts.h"
#include "fpb-policy-reason.h"

G_BEGIN_DECLS

typedef enum {
    FPB_HINT_SAFE = 0,
    FPB_HINT_UNSAFE, /* refuse hints */
} FpbHintSafety;

/* Whether hints may be used with @facts' driver/kernel/accelerator. On
 * FPB_HINT_UNSAFE, *ret_code (if not NULL) is the reason code and
 * *ret_text (if not NULL) a newly allocated sentence. */
FpbHintSafety fpb_hint_guard_check(const FpbPolicyFacts *facts, FpbReasonCode *ret_code,
                                   char **ret_text);

G_END_DECLS
