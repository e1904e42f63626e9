/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mode table (policy/fpb-policy-mode.h): names, requests, what each
 * mode does, tie order, the lists messages and --help print; and that
 * conf/fpb-policy.rng, which cannot be generated from the table, offers
 * exactly the table's names for <fpb:mode> (so a new mode cannot be
 * forgotten there).
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "fpb-policy-mode.h"

static void test_mode_names(void)
{
    FpbPolicyMode m = FPB_POLICY_N_MODES;

    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const FpbPolicyModeInfo *info = fpb_policy_mode_info((FpbPolicyMode)i);

        g_assert_nonnull(info);
        g_assert_cmpstr(fpb_policy_mode_to_string((FpbPolicyMode)i), ==, info->name);
        g_assert_true(fpb_policy_mode_from_string(info->name, &m));
        g_assert_cmpint(m, ==, i);
        g_assert_cmpuint(strlen(info->help), >, 0);
        /* Charts tell modes apart by colour: one each, as "#rrggbb". */
        g_assert_true(g_regex_match_simple("^#[0-9a-f]{6}$", info->colour, 0, 0));
        for (int j = 0; j < i; j++) {
            g_assert_cmpstr(fpb_policy_mode_info((FpbPolicyMode)j)->colour, !=, info->colour);
        }
    }
    g_assert_null(fpb_policy_mode_info(FPB_POLICY_N_MODES));
    g_assert_null(fpb_policy_mode_info((FpbPolicyMode)-1));
    g_assert_cmpstr(fpb_policy_mode_to_string(FPB_POLICY_N_MODES), ==, "invalid");
    m = FPB_POLICY_MODE_BALLOON;
    g_assert_false(fpb_policy_mode_from_string("auto", &m)); /* a request, not a mode */
    g_assert_false(fpb_policy_mode_from_string("Hint", &m));
    g_assert_false(fpb_policy_mode_from_string("", &m));
    g_assert_false(fpb_policy_mode_from_string(NULL, &m));
    g_assert_cmpint(m, ==, FPB_POLICY_MODE_BALLOON); /* untouched */
}

/* The four modes as docs/cost-model.md defines them. */
static void test_mode_flags(void)
{
    static const struct {
        FpbPolicyMode mode;
        const char *name;
        gboolean hints, balloon;
    } want[] = {
        {FPB_POLICY_MODE_NONE, "none", FALSE, FALSE},
        {FPB_POLICY_MODE_HINT, "hint", TRUE, FALSE},
        {FPB_POLICY_MODE_BALLOON, "balloon", FALSE, TRUE},
        {FPB_POLICY_MODE_HINT_BALLOON, "hint+balloon", TRUE, TRUE},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
        g_assert_cmpstr(fpb_policy_mode_to_string(want[i].mode), ==, want[i].name);
        g_assert_cmpint(fpb_policy_mode_uses_hints(want[i].mode), ==, want[i].hints);
        g_assert_cmpint(fpb_policy_mode_uses_balloon(want[i].mode), ==, want[i].balloon);
    }
    g_assert_false(fpb_policy_mode_uses_hints(FPB_POLICY_N_MODES));
    g_assert_false(fpb_policy_mode_uses_balloon(FPB_POLICY_N_MODES));
}

/* Requests are auto plus one per mode, numbered 0 .. N_REQUESTS - 1. */
static void test_requests(void)
{
    gboolean seen[FPB_POLICY_N_REQUESTS] = {FALSE};
    FpbPolicyRequest r = FPB_POLICY_REQUEST_NONE;
    FpbPolicyMode m = FPB_POLICY_MODE_NONE;

    g_assert_true(fpb_policy_request_from_string("auto", &r));
    g_assert_cmpint(r, ==, FPB_POLICY_REQUEST_AUTO);
    g_assert_cmpstr(fpb_policy_request_to_string(FPB_POLICY_REQUEST_AUTO), ==, "auto");
    g_assert_false(fpb_policy_request_mode(FPB_POLICY_REQUEST_AUTO, &m));
    g_assert_cmpuint(strlen(fpb_policy_request_help(FPB_POLICY_REQUEST_AUTO)), >, 0);
    seen[FPB_POLICY_REQUEST_AUTO] = TRUE;
    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const FpbPolicyModeInfo *info = fpb_policy_mode_info((FpbPolicyMode)i);

        g_assert_cmpint(info->request, >, FPB_POLICY_REQUEST_AUTO);
        g_assert_cmpint(info->request, <, FPB_POLICY_N_REQUESTS);
        g_assert_false(seen[info->request]);
        seen[info->request] = TRUE;
        g_assert_true(fpb_policy_request_mode(info->request, &m));
        g_assert_cmpint(m, ==, i);
        g_assert_cmpstr(fpb_policy_request_to_string(info->request), ==, info->name);
        g_assert_cmpstr(fpb_policy_request_help(info->request), ==, info->help);
        g_assert_true(fpb_policy_request_from_string(info->name, &r));
        g_assert_cmpint(r, ==, info->request);
    }
    g_assert_false(fpb_policy_request_mode((FpbPolicyRequest)FPB_POLICY_N_REQUESTS, &m));
    g_assert_cmpstr(fpb_policy_request_to_string((FpbPolicyRequest)FPB_POLICY_N_REQUESTS), ==,
                    "invalid");
    g_assert_cmpstr(fpb_policy_request_help((FpbPolicyRequest)FPB_POLICY_N_REQUESTS), ==, "");
    r = FPB_POLICY_REQUEST_BALLOON;
    g_assert_false(fpb_policy_request_from_string("sideways", &r));
    g_assert_false(fpb_policy_request_from_string(NULL, &r));
    g_assert_cmpint(r, ==, FPB_POLICY_REQUEST_BALLOON);
}

/* Tie ranks are a permutation; ties go to hint, none, balloon,
 * hint+balloon (docs/cost-model.md, "Choosing"). */
static void test_tie_ranks(void)
{
    static const FpbPolicyMode order[] = {FPB_POLICY_MODE_HINT, FPB_POLICY_MODE_NONE,
                                          FPB_POLICY_MODE_BALLOON, FPB_POLICY_MODE_HINT_BALLOON};

    G_STATIC_ASSERT(G_N_ELEMENTS(order) == FPB_POLICY_N_MODES);
    for (guint rank = 0; rank < FPB_POLICY_N_MODES; rank++) {
        FpbPolicyMode m = fpb_policy_mode_by_tie_rank(rank);

        g_assert_cmpint(m, ==, order[rank]);
        g_assert_cmpuint(fpb_policy_mode_info(m)->tie_rank, ==, rank);
    }
    g_assert_cmpint(fpb_policy_mode_by_tie_rank(FPB_POLICY_N_MODES), ==, FPB_POLICY_N_MODES);
}

static void test_lists(void)
{
    g_autofree char *quoted = fpb_policy_mode_names_join(TRUE, ", ", " or ", "\"");
    g_autofree char *bars = fpb_policy_mode_names_join(TRUE, "|", "|", NULL);
    g_autofree char *modes = fpb_policy_mode_names_join(FALSE, ", ", ", ", NULL);

    g_assert_cmpstr(fpb_policy_request_names(), ==, "auto, none, hint, balloon or hint+balloon");
    g_assert_true(fpb_policy_request_names() == fpb_policy_request_names()); /* static */
    g_assert_cmpstr(quoted, ==, "\"auto\", \"none\", \"hint\", \"balloon\" or \"hint+balloon\"");
    g_assert_cmpstr(bars, ==, "auto|none|hint|balloon|hint+balloon");
    g_assert_cmpstr(modes, ==, "none, hint, balloon, hint+balloon");
}

/* The <value>s of <element name="mode"> in the schema, in order. */
static GPtrArray *schema_modes(const char *path)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(xmlFree);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr found = NULL;

    if (doc == NULL) {
        g_error("cannot read the schema '%s'", path);
    }
    ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "rng", BAD_CAST "http://relaxng.org/ns/structure/1.0");
    found = xmlXPathEvalExpression(BAD_CAST "//rng:element[@name='mode']//rng:value", ctx);
    g_assert_nonnull(found);
    for (int i = 0; found->nodesetval != NULL && i < found->nodesetval->nodeNr; i++) {
        g_ptr_array_add(names, xmlNodeGetContent(found->nodesetval->nodeTab[i]));
    }
    xmlXPathFreeObject(found);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return g_steal_pointer(&names);
}

static void test_schema_matches_table(void)
{
    const char *root = g_getenv("FPB_SOURCE_ROOT");
    g_autofree char *rng = g_build_filename(root ? root : ".", "conf", "fpb-policy.rng", NULL);
    g_autoptr(GPtrArray) names = schema_modes(rng);
    gboolean seen[FPB_POLICY_N_REQUESTS] = {FALSE};

    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        FpbPolicyRequest r;

        if (!fpb_policy_request_from_string(name, &r)) {
            g_error("%s: <fpb:mode> offers '%s', which the mode table (policy/fpb-policy-mode.c) "
                    "does not have",
                    rng, name);
        }
        if (seen[r]) {
            g_error("%s: <fpb:mode> offers '%s' twice", rng, name);
        }
        seen[r] = TRUE;
    }
    for (int i = 0; i < FPB_POLICY_N_REQUESTS; i++) {
        if (!seen[i]) {
            g_error("%s: <fpb:mode> lacks '%s' of the mode table (policy/fpb-policy-mode.c): "
                    "add a <value> for it",
                    rng, fpb_policy_request_to_string((FpbPolicyRequest)i));
        }
    }
    g_assert_cmpuint(names->len, ==, FPB_POLICY_N_REQUESTS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy/mode/names", test_mode_names);
    g_test_add_func("/policy/mode/flags", test_mode_flags);
    g_test_add_func("/policy/mode/requests", test_requests);
    g_test_add_func("/policy/mode/tie-ranks", test_tie_ranks);
    g_test_add_func("/policy/mode/lists", test_lists);
    g_test_add_func("/policy/mode/schema-matches-table", test_schema_matches_table);
    return g_test_run();
}
