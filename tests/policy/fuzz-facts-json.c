/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: bytes as a facts file (`fpbctl explain --facts FILE`,
 * an operator's or a saved explain output, so outside input) through the
 * parser, the validator, the decision and the JSON printer. Beyond no
 * crash, leak or sanitizer report, two properties must hold for facts the
 * parser accepts: every prediction is finite and non-negative, and the
 * facts printed back parse again to the same decision. See run-fuzz.sh. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpb-facts-json.h"
#include "fpb-policy.h"
#include "fpb-qmp-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_prediction(const FpbPolicyPrediction *p)
{
    if (p->bytes < 0 || p->inflate_bytes < 0 || p->balloon_target_bytes < 0 ||
        !isfinite(p->prep_seconds) || p->prep_seconds < 0 || !isfinite(p->migrate_seconds) ||
        p->migrate_seconds < 0 || !isfinite(p->restore_seconds) || p->restore_seconds < 0 ||
        !isfinite(p->guest_impact_byte_seconds) || p->guest_impact_byte_seconds < 0) {
        abort();
    }
}

/* The facts as fpbctl prints them must read back to the same decision. */
static void check_round_trip(const FpbPolicyFacts *facts, const FpbPolicyDecision *d)
{
    g_autoptr(json_object) printed = fpb_facts_json_from_facts(facts);
    const char *text = json_object_to_json_string(printed);
    FpbPolicyFacts again;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) d2 = NULL;

    if (!fpb_facts_json_parse(text, strlen(text), &again, &error) ||
        (d2 = fpb_policy_decide(&again, &error)) == NULL || d2->mode != d->mode) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FpbPolicyFacts facts;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;

    if (!fpb_facts_json_parse((const char *)data, size, &facts, &error)) {
        return 0;
    }
    d = fpb_policy_decide(&facts, &error);
    if (d == NULL) {
        return 0;
    }
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        check_prediction(&d->predictions[i]);
    }
    g_autoptr(json_object) out = fpb_facts_json_explain(&facts, d);
    (void)json_object_to_json_string(out);
    check_round_trip(&facts, d);
    return 0;
}
