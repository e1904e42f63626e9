/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-policy"

#include "fpb-hint-guard.h"
#include "fpb-policy-method.h"

/* Indexed by FpbPolicyMethod / FpbPolicyMethodRequest; an interface. */
static const char *const method_names[FPB_POLICY_N_METHODS] = {
    [FPB_POLICY_METHOD_PRECOPY] = "precopy",
    [FPB_POLICY_METHOD_POSTCOPY] = "postcopy",
    [FPB_POLICY_METHOD_PAUSED] = "paused",
};
static const char *const request_names[] = {
    [FPB_POLICY_METHOD_REQUEST_AUTO] = "auto",
    [FPB_POLICY_METHOD_REQUEST_PRECOPY] = "precopy",
    [FPB_POLICY_METHOD_REQUEST_POSTCOPY] = "postcopy",
    [FPB_POLICY_METHOD_REQUEST_PAUSED] = "paused",
};

const char *fpb_policy_method_to_string(FpbPolicyMethod method)
{
    if ((int)method < 0 || method >= FPB_POLICY_N_METHODS) {
        return "unknown";
    }
    return method_names[method];
}

const char *fpb_policy_method_request_to_string(FpbPolicyMethodRequest request)
{
    if ((int)request < 0 || (gsize)request >= G_N_ELEMENTS(request_names)) {
        return "unknown";
    }
    return request_names[request];
}

gboolean fpb_policy_method_request_from_string(const char *s, FpbPolicyMethodRequest *ret)
{
    for (gsize i = 0; i < G_N_ELEMENTS(request_names); i++) {
        if (g_strcmp0(s, request_names[i]) == 0) {
            *ret = (FpbPolicyMethodRequest)i;
            return TRUE;
        }
    }
    return FALSE;
}

gboolean fpb_policy_method_destination_reachable(const FpbPolicyFacts *facts)
{
    return facts->hints_can_be_disabled;
}

static void add(GPtrArray *reasons, FpbReasonCode code, char *text)
{
    g_autofree char *owned = text;

    g_ptr_array_add(reasons, fpb_policy_reason_new(code, owned));
}

/* The destination of a paused migration stays paused when fpb cannot
 * reach it to resume it. */
static void note_paused_destination(const FpbPolicyFacts *facts, GPtrArray *reasons)
{
    if (!fpb_policy_method_destination_reachable(facts)) {
        add(reasons, FPB_REASON_DESTINATION_STAYS_PAUSED,
            g_strdup("the destination stays paused after the migration: fpb has no "
                     "destination QMP socket to resume it; resume it with QMP 'cont', or give "
                     "--dest-qmp"));
    }
}

/* Postcopy (or paused) on a QEMU that loses TCG writes. */
static FpbPolicyMethod choose_safe(const FpbPolicyFacts *facts, GPtrArray *reasons)
{
    g_autofree char *qemu = fpb_hint_guard_describe_qemu(facts);

    if (fpb_policy_method_destination_reachable(facts)) {
        add(reasons, FPB_REASON_METHOD_POSTCOPY_TCG,
            g_strdup_printf("migration method 'postcopy': %s may lose guest writes in a live "
                            "precopy (upstream fix 03bfc2188f); postcopy started at once keeps "
                            "the guest running and its memory intact (0 of 5 broken on the test "
                            "bed, precopy 5 of 5; docs/hint-safety.md)",
                            qemu));
        return FPB_POLICY_METHOD_POSTCOPY;
    }
    add(reasons, FPB_REASON_METHOD_PAUSED_TCG,
        g_strdup_printf("migration method 'paused': %s may lose guest writes in a live precopy "
                        "(upstream fix 03bfc2188f), and postcopy needs the destination "
                        "(--dest-qmp); the guest is stopped for the whole migration "
                        "(docs/hint-safety.md)",
                        qemu));
    note_paused_destination(facts, reasons);
    return FPB_POLICY_METHOD_PAUSED;
}

static gboolean refuse_precopy(const FpbPolicyFacts *facts, GError **error)
{
    g_autofree char *qemu = fpb_hint_guard_describe_qemu(facts);

    g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION,
                "%s: a plain live migration refused: %s may lose guest writes in a live precopy "
                "and corrupt the destination (upstream fix 03bfc2188f, QEMU 9.0 or fpb's "
                "patched build); use migration method 'postcopy' or 'paused' (the default picks "
                "one), a fixed QEMU, or --allow-unsafe-live-migration to take the risk "
                "(docs/hint-safety.md)",
                fpb_policy_reason_code_to_string(FPB_REASON_LIVE_MIGRATION_REFUSED_TCG), qemu);
    return FALSE;
}

static void allow_precopy(const FpbPolicyFacts *facts, GPtrArray *reasons)
{
    char *text = NULL;

    if (fpb_hint_guard_live_migration_unsafe(facts, &text)) {
        g_autofree char *warning = text;

        add(reasons, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE,
            g_strdup_printf("migration method 'precopy', allowed by the operator "
                            "(--allow-unsafe-live-migration): %s",
                            warning));
    }
}

static gboolean choose_postcopy(const FpbPolicyFacts *facts, gboolean uses_hints, GError **error)
{
    if (!fpb_policy_method_destination_reachable(facts)) {
        g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE,
                    "migration method 'postcopy' cannot run: it needs postcopy-ram on the "
                    "destination too (--dest-qmp)");
        return FALSE;
    }
    if (uses_hints) {
        g_set_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE,
                    "migration method 'postcopy' cannot run with free-page hints: postcopy-ram "
                    "switches them off (choose mode none or balloon)");
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_policy_method_choose(const FpbPolicyFacts *facts, gboolean uses_hints,
                                  FpbPolicyMethod *ret_method, GPtrArray *reasons, GError **error)
{
    const FpbPolicySettings *p = &facts->policy;
    gboolean at_risk = fpb_hint_guard_live_migration_unsafe(facts, NULL);
    FpbPolicyMethod method = FPB_POLICY_METHOD_PRECOPY;

    switch (p->method) {
    case FPB_POLICY_METHOD_REQUEST_PRECOPY:
        if (at_risk && !p->allow_unsafe_live_migration) {
            return refuse_precopy(facts, error);
        }
        if (!at_risk) {
            add(reasons, FPB_REASON_METHOD_FORCED,
                g_strdup("migration method 'precopy', as asked"));
        }
        break;
    case FPB_POLICY_METHOD_REQUEST_POSTCOPY:
        if (!choose_postcopy(facts, uses_hints, error)) {
            return FALSE;
        }
        method = FPB_POLICY_METHOD_POSTCOPY;
        add(reasons, FPB_REASON_METHOD_FORCED, g_strdup("migration method 'postcopy', as asked"));
        break;
    case FPB_POLICY_METHOD_REQUEST_PAUSED:
        method = FPB_POLICY_METHOD_PAUSED;
        add(reasons, FPB_REASON_METHOD_FORCED,
            g_strdup("migration method 'paused', as asked: the guest is stopped for the whole "
                     "migration"));
        note_paused_destination(facts, reasons);
        break;
    case FPB_POLICY_METHOD_REQUEST_AUTO:
    default:
        if (at_risk && !p->allow_unsafe_live_migration) {
            method = choose_safe(facts, reasons);
        }
        break;
    }
    if (method == FPB_POLICY_METHOD_PRECOPY && at_risk) {
        allow_precopy(facts, reasons);
    }
    *ret_method = method;
    return TRUE;
}
