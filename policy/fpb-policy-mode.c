/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mode table (fpb-policy-mode.h). */
#include "fpb-policy-mode.h"

/* Indexed by FpbPolicyMode; the order is the order of predictions in JSON
 * and tables. tie_rank: hints first, because once the hint guard has
 * passed them they cost nothing and can only help (e.g. when stats are
 * unknown and no saving can be predicted); then the least preparation
 * (docs/cost-model.md, "Choosing"). */
static const FpbPolicyModeInfo modes[] = {
    [FPB_POLICY_MODE_NONE] = {"none", FPB_POLICY_REQUEST_NONE, FALSE, FALSE, 1,
                              "migrate as it is: free memory is sent too", "#e69f00"},
    [FPB_POLICY_MODE_HINT] = {"hint", FPB_POLICY_REQUEST_HINT, TRUE, FALSE, 0,
                              "free-page hints: QEMU skips the pages the guest reports free",
                              "#0072b2"},
    [FPB_POLICY_MODE_BALLOON] = {"balloon", FPB_POLICY_REQUEST_BALLOON, FALSE, TRUE, 2,
                                 "inflate the balloon first, give the memory back afterwards",
                                 "#009e73"},
    [FPB_POLICY_MODE_HINT_BALLOON] = {"hint+balloon", FPB_POLICY_REQUEST_HINT_BALLOON, TRUE, TRUE,
                                      3, "inflate the balloon, then migrate with free-page hints",
                                      "#cc79a7"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(modes) == FPB_POLICY_N_MODES);

static const char auto_name[] = "auto";
static const char auto_help[] = "the cost model chooses, by the objective";

const FpbPolicyModeInfo *fpb_policy_mode_info(FpbPolicyMode mode)
{
    return (guint)mode < FPB_POLICY_N_MODES ? &modes[mode] : NULL;
}

const char *fpb_policy_mode_to_string(FpbPolicyMode mode)
{
    const FpbPolicyModeInfo *m = fpb_policy_mode_info(mode);

    return m != NULL ? m->name : "invalid";
}

gboolean fpb_policy_mode_from_string(const char *s, FpbPolicyMode *ret)
{
    for (int i = 0; s != NULL && i < FPB_POLICY_N_MODES; i++) {
        if (g_str_equal(s, modes[i].name)) {
            *ret = (FpbPolicyMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

gboolean fpb_policy_mode_uses_hints(FpbPolicyMode mode)
{
    const FpbPolicyModeInfo *m = fpb_policy_mode_info(mode);

    return m != NULL && m->hints;
}

gboolean fpb_policy_mode_uses_balloon(FpbPolicyMode mode)
{
    const FpbPolicyModeInfo *m = fpb_policy_mode_info(mode);

    return m != NULL && m->balloon;
}

FpbPolicyMode fpb_policy_mode_by_tie_rank(guint rank)
{
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        if (modes[i].tie_rank == rank) {
            return (FpbPolicyMode)i;
        }
    }
    return FPB_POLICY_N_MODES;
}

gboolean fpb_policy_request_mode(FpbPolicyRequest request, FpbPolicyMode *ret)
{
    for (int i = 0; request != FPB_POLICY_REQUEST_AUTO && i < FPB_POLICY_N_MODES; i++) {
        if (modes[i].request == request) {
            *ret = (FpbPolicyMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *fpb_policy_request_to_string(FpbPolicyRequest request)
{
    FpbPolicyMode mode;

    if (request == FPB_POLICY_REQUEST_AUTO) {
        return auto_name;
    }
    return fpb_policy_request_mode(request, &mode) ? modes[mode].name : "invalid";
}

gboolean fpb_policy_request_from_string(const char *s, FpbPolicyRequest *ret)
{
    FpbPolicyMode mode;

    if (g_strcmp0(s, auto_name) == 0) {
        *ret = FPB_POLICY_REQUEST_AUTO;
        return TRUE;
    }
    if (!fpb_policy_mode_from_string(s, &mode)) {
        return FALSE;
    }
    *ret = modes[mode].request;
    return TRUE;
}

const char *fpb_policy_request_help(FpbPolicyRequest request)
{
    FpbPolicyMode mode;

    if (request == FPB_POLICY_REQUEST_AUTO) {
        return auto_help;
    }
    return fpb_policy_request_mode(request, &mode) ? modes[mode].help : "";
}

char *fpb_policy_mode_names_join(gboolean with_auto, const char *sep, const char *last,
                                 const char *quote)
{
    const char *q = quote != NULL ? quote : "";
    int n = FPB_POLICY_N_MODES + (with_auto ? 1 : 0);
    GString *s = g_string_new(NULL);

    for (int i = 0; i < n; i++) {
        const char *name = with_auto ? (i == 0 ? auto_name : modes[i - 1].name) : modes[i].name;

        if (i > 0) {
            g_string_append(s, i == n - 1 ? last : sep);
        }
        g_string_append_printf(s, "%s%s%s", q, name, q);
    }
    return g_string_free(s, FALSE);
}

const char *fpb_policy_request_names(void)
{
    static char *names = NULL;

    if (g_once_init_enter(&names)) {
        g_once_init_leave(&names, fpb_policy_mode_names_join(TRUE, ", ", " or ", NULL));
    }
    return names;
}
