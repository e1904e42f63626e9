/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include "fpb-hint-guard.h"

/* A rule matches when every field matches; MATCH_ANY (-1) matches all.
 * "unknown" is matched explicitly: an unknown driver may be the stock one,
 * an unknown init_on_alloc may be Debian's default (on), an unknown
 * accelerator may be TCG, so unknowns sit with the dangerous values. */
#define MATCH_ANY (-1)

typedef struct {
    int driver;
    int init_on_alloc;
    int accelerator;
    FpbReasonCode code;
    const char *why;
} GuardRule;

static const GuardRule rules[] = {
    /* FACTS.md: stock hints + init_on_alloc=1 under TCG: destination crashed
     * in 5 of 6 runs (QEMU alone) and 9 of 11 (libvirt); 12 in-use pages
     * differed after migration. init_on_alloc=0: 0 of 4. Cause unknown. */
    {FPB_POLICY_DRIVER_STOCK, FPB_POLICY_INIT_ON_ALLOC_ON, FPB_POLICY_ACCEL_TCG,
     FPB_REASON_HINT_UNSAFE_STOCK_DRIVER,
     "free-page hints from the stock guest driver with init_on_alloc=1 under TCG corrupted "
     "destination guests (FACTS.md: 5 of 6 runs)"},
    {FPB_POLICY_DRIVER_STOCK, MATCH_ANY, FPB_POLICY_ACCEL_TCG, FPB_REASON_HINT_UNSAFE_STOCK_DRIVER,
     "free-page hints from the stock guest driver under TCG corrupted destination guests when "
     "init_on_alloc=1, and init_on_alloc is not known to be off here"},
    {FPB_POLICY_DRIVER_STOCK, MATCH_ANY, FPB_POLICY_ACCEL_UNKNOWN,
     FPB_REASON_HINT_UNSAFE_STOCK_DRIVER,
     "free-page hints from the stock guest driver corrupted TCG guests with init_on_alloc=1; "
     "neither the accelerator nor init_on_alloc is known to rule that out"},
    /* Not reproduced under KVM (nested KVM is unusable on the test machines),
     * but nothing in the evidence says the cause is TCG-specific. */
    {FPB_POLICY_DRIVER_STOCK, MATCH_ANY, FPB_POLICY_ACCEL_KVM,
     FPB_REASON_HINT_UNVERIFIED_STOCK_DRIVER,
     "free-page hints from the stock guest driver with init_on_alloc on (or unknown) corrupt "
     "guests under TCG and are not verified safe under KVM (cause not yet known)"},
};

static gboolean field_matches(int rule_value, int value)
{
    return rule_value == MATCH_ANY || rule_value == value;
}

/* init_on_alloc=0 never corrupted (0 of 4 runs, 0 in-use pages differed):
 * only configurations where the stock driver's allocations zero pages are
 * refused. An unknown driver is treated as the stock one. */
static int effective_driver(const FpbPolicyFacts *facts)
{
    if (facts->guest.driver == FPB_POLICY_DRIVER_UNKNOWN) {
        return FPB_POLICY_DRIVER_STOCK;
    }
    return facts->guest.driver;
}

FpbHintSafety fpb_hint_guard_check(const FpbPolicyFacts *facts, FpbReasonCode *ret_code,
                                   char **ret_text)
{
    int driver = effective_driver(facts);

    if (facts->guest.init_on_alloc == FPB_POLICY_INIT_ON_ALLOC_OFF) {
        return FPB_HINT_SAFE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(rules); i++) {
        const GuardRule *r = &rules[i];

        if (field_matches(r->driver, driver) &&
            field_matches(r->init_on_alloc, (int)facts->guest.init_on_alloc) &&
            field_matches(r->accelerator, (int)facts->accelerator)) {
            if (ret_code != NULL) {
                *ret_code = r->code;
            }
            if (ret_text != NULL) {
                *ret_text = g_strdup(r->why);
            }
            return FPB_HINT_UNSAFE;
        }
    }
    return FPB_HINT_SAFE;
}
