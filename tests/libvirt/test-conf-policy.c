/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM policy (conf/fpb-conf-policy.h): keys, the metadata element,
 * and that conf/fpb-policy.rng agrees with the parser on every sample.
 */
#include <libxml/relaxng.h>

#include "fpb-conf-policy.h"

#define NS "xmlns:fpb=\"" FPB_CONF_POLICY_NS "\""

static xmlRelaxNGPtr schema;

static void quiet(void *data G_GNUC_UNUSED, const xmlError *error G_GNUC_UNUSED)
{
    /* refusals are expected here; the assertions say what matters */
}

static gboolean schema_accepts(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlRelaxNGValidCtxtPtr ctx;
    int rc;

    if (doc == NULL) {
        return FALSE;
    }
    ctx = xmlRelaxNGNewValidCtxt(schema);
    xmlRelaxNGSetValidStructuredErrors(ctx, (xmlStructuredErrorFunc)quiet, NULL);
    rc = xmlRelaxNGValidateDoc(ctx, doc);
    xmlRelaxNGFreeValidCtxt(ctx);
    xmlFreeDoc(doc);
    return rc == 0;
}

static void test_xml_full(void)
{
    const char *xml = "<fpb:policy " NS ">\n"
                      "  <fpb:mode>hint+balloon</fpb:mode>\n"
                      "  <fpb:objective>guest-impact</fpb:objective>\n"
                      "  <fpb:floor unit='MiB'>512</fpb:floor>\n"
                      "  <fpb:max-prep-seconds>2.5</fpb:max-prep-seconds>\n"
                      "  <!-- a comment -->\n"
                      "  <fpb:balloon>no</fpb:balloon>\n"
                      "</fpb:policy>";
    g_autoptr(GError) error = NULL;
    FpbConfPolicy p;

    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &p, &error));
    g_assert_no_error(error);
    g_assert_true(p.has_mode);
    g_assert_cmpint(p.mode, ==, FPB_CONF_MODE_HINT_BALLOON);
    g_assert_cmpint(p.objective, ==, FPB_CONF_OBJECTIVE_GUEST_IMPACT);
    g_assert_cmpint(p.floor_bytes, ==, 512 * 1024 * 1024);
    g_assert_cmpfloat(p.max_prep_seconds, ==, 2.5);
    g_assert_cmpint(p.balloon, ==, 0);
    g_assert_true(schema_accepts(xml));
}

static void test_xml_empty_policy(void)
{
    g_autoptr(GError) error = NULL;
    FpbConfPolicy p;
    const char *xml = "<fpb:policy " NS "/>";

    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &p, &error));
    g_assert_true(fpb_conf_policy_is_empty(&p));
    g_assert_true(schema_accepts(xml));
}

static void test_xml_roundtrip(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    FpbConfPolicy p, q;

    fpb_conf_policy_init(&p);
    g_assert_true(fpb_conf_policy_set(&p, "mode", "balloon", NULL, &error));
    g_assert_true(fpb_conf_policy_set(&p, "floor", "1GiB", NULL, &error));
    g_assert_true(fpb_conf_policy_set(&p, "max-prep-seconds", "7", NULL, &error));
    g_assert_true(fpb_conf_policy_set(&p, "balloon", "true", NULL, &error));
    xml = fpb_conf_policy_to_xml(&p, TRUE);
    g_assert_true(schema_accepts(xml));
    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &q, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(&p, sizeof(p), &q, sizeof(q));
    g_assert_null(strstr(xml, "objective"));
}

/* What fpb writes is valid against the schema however small the value:
 * 1e-05 s is written 1.0000000000000001e-05 (found by fuzz-policy-xml:
 * the schema said xsd:decimal, which has no exponent). */
static void test_xml_small_prep(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    FpbConfPolicy p, q;

    fpb_conf_policy_init(&p);
    g_assert_true(fpb_conf_policy_set(&p, "max-prep-seconds", "0.00001", NULL, &error));
    xml = fpb_conf_policy_to_xml(&p, TRUE);
    g_assert_true(schema_accepts(xml));
    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &q, &error));
    g_assert_no_error(error);
    g_assert_cmpfloat(q.max_prep_seconds, ==, p.max_prep_seconds);
}

/* Bad metadata: the parser's error names the VM and the element, and the
 * schema refuses the same document (where RelaxNG can say so). */
static const struct {
    const char *path;
    const char *xml;
    const char *message; /* substring of the error */
    gboolean schema_too; /* the schema refuses it as well */
} bad_cases[] = {
    {"/conf/policy/xml/bad-mode", "<fpb:policy " NS "><fpb:mode>fast</fpb:mode></fpb:policy>",
     "VM 'web1': policy metadata: element 'fpb:mode': mode: 'fast' is not auto", TRUE},
    {"/conf/policy/xml/bad-floor", "<fpb:policy " NS "><fpb:floor>-5</fpb:floor></fpb:policy>",
     "element 'fpb:floor': floor: '-5' is not a size", TRUE},
    {"/conf/policy/xml/bad-unit",
     "<fpb:policy " NS "><fpb:floor unit='furlong'>5</fpb:floor></fpb:policy>",
     "element 'fpb:floor'", TRUE},
    {"/conf/policy/xml/prep-out-of-range",
     "<fpb:policy " NS "><fpb:max-prep-seconds>3601</fpb:max-prep-seconds></fpb:policy>",
     "element 'fpb:max-prep-seconds': max-prep-seconds: '3601' is not a number of seconds", TRUE},
    {"/conf/policy/xml/bad-balloon",
     "<fpb:policy " NS "><fpb:balloon>maybe</fpb:balloon></fpb:policy>",
     "element 'fpb:balloon': balloon: 'maybe' is not yes or no", TRUE},
    {"/conf/policy/xml/unknown-element", "<fpb:policy " NS "><fpb:speed>9</fpb:speed></fpb:policy>",
     "element 'fpb:speed': unknown element", TRUE},
    {"/conf/policy/xml/duplicate",
     "<fpb:policy " NS "><fpb:mode>none</fpb:mode><fpb:mode>hint</fpb:mode></fpb:policy>",
     "element 'fpb:mode': given more than once", TRUE},
    {"/conf/policy/xml/empty-value", "<fpb:policy " NS "><fpb:mode> </fpb:mode></fpb:policy>",
     "element 'fpb:mode': is empty", TRUE},
    {"/conf/policy/xml/wrong-namespace",
     "<fpb:policy xmlns:fpb='https://fpb.example/xmlns/policy/2'/>",
     "the root element must be 'policy' in the namespace", TRUE},
    {"/conf/policy/xml/child-other-namespace",
     "<fpb:policy " NS " xmlns:x='urn:x'><x:mode>none</x:mode></fpb:policy>",
     "element 'mode' is not in the namespace", TRUE},
    {"/conf/policy/xml/attribute",
     "<fpb:policy " NS "><fpb:mode x='1'>none</fpb:mode></fpb:policy>",
     "element 'fpb:mode': unexpected attribute 'x'", TRUE},
    {"/conf/policy/xml/nested",
     "<fpb:policy " NS "><fpb:mode><fpb:mode>none</fpb:mode></fpb:mode></fpb:policy>",
     "element 'fpb:mode': must contain text only", TRUE},
    {"/conf/policy/xml/malformed", "<fpb:policy " NS "><fpb:mode>none</fpb:policy>",
     "VM 'web1': policy metadata: not well-formed XML", TRUE},
    {"/conf/policy/xml/entity",
     "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><fpb:policy " NS
     "><fpb:mode>&e;</fpb:mode></fpb:policy>",
     "element 'fpb:mode'", TRUE},
    /* libxml2 quotes the input's bytes in its message: the error stays
     * UTF-8 (found by fuzz-policy-xml) */
    {"/conf/policy/xml/not-utf8", "<fpb:policy xmlns:fpb='https:\xd1/fpb.exam0le/xmlns/policy/2'/>",
     "VM 'web1': policy metadata: not well-formed XML", TRUE},
};

static void test_xml_bad(gconstpointer data)
{
    guint i = GPOINTER_TO_UINT(data);
    g_autoptr(GError) error = NULL;
    FpbConfPolicy p;

    fpb_conf_policy_init(&p);
    p.balloon = 1;
    g_assert_false(fpb_conf_policy_parse_xml("web1", bad_cases[i].xml, &p, &error));
    g_assert_error(error, FPB_CONF_ERROR, error->code);
    if (strstr(error->message, bad_cases[i].message) == NULL) {
        g_error("'%s' does not contain '%s'", error->message, bad_cases[i].message);
    }
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_assert_cmpint(p.balloon, ==, 1); /* untouched on failure */
    if (bad_cases[i].schema_too) {
        g_assert_false(schema_accepts(bad_cases[i].xml));
    }
}

static void test_xml_too_large(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *pad = g_strnfill(FPB_CONF_POLICY_MAX_XML, ' ');
    g_autofree char *xml = g_strdup_printf("<fpb:policy " NS ">%s</fpb:policy>", pad);
    FpbConfPolicy p;

    g_assert_false(fpb_conf_policy_parse_xml("vm", xml, &p, &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_PARSE);
}

/* What virDomainGetMetadata() returns (libvirt 9.0): the prefix stripped
 * from every node, the namespace declared but unused. */
static void test_xml_libvirt_form(void)
{
    const char *xml = "<policy xmlns:fpb=\"" FPB_CONF_POLICY_NS "\">\n"
                      "  <mode>balloon</mode>\n"
                      "  <floor unit=\"bytes\">5</floor>\n"
                      "</policy>\n";
    g_autoptr(GError) error = NULL;
    g_autofree char *plain = NULL;
    FpbConfPolicy p, q;

    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &p, &error));
    g_assert_no_error(error);
    g_assert_cmpint(p.mode, ==, FPB_CONF_MODE_BALLOON);
    g_assert_cmpint(p.floor_bytes, ==, 5);
    plain = fpb_conf_policy_to_xml(&p, FALSE);
    g_assert_null(strstr(plain, "xmlns"));
    g_assert_true(fpb_conf_policy_parse_xml("vm1", plain, &q, &error));
    g_assert_cmpmem(&p, sizeof(p), &q, sizeof(q));
}

static void test_set_and_get(void)
{
    g_autoptr(GError) error = NULL;
    FpbConfPolicy p;
    char *v;

    fpb_conf_policy_init(&p);
    g_assert_true(fpb_conf_policy_set(&p, "floor", "2 G", NULL, &error));
    v = fpb_conf_policy_get(&p, "floor");
    g_assert_cmpstr(v, ==, "2147483648");
    g_free(v);
    g_assert_true(fpb_conf_policy_set(&p, "floor", "", NULL, &error));
    g_assert_null(fpb_conf_policy_get(&p, "floor"));
    g_assert_true(fpb_conf_policy_is_empty(&p));
    g_assert_false(fpb_conf_policy_set(&p, "colour", "red", NULL, &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "unknown key 'colour'"));
    g_clear_error(&error);
    g_assert_false(fpb_conf_policy_set(&p, "max-prep-seconds", "nan", NULL, &error));
    g_clear_error(&error);
    g_assert_false(fpb_conf_policy_set(&p, "floor", "99999999999999999999", NULL, &error));
    g_clear_error(&error);
    g_assert_false(fpb_conf_policy_set(&p, "floor", "5MiB", "KiB", &error));
}

/* reclaim and its cache bound: parsed, printed, written to XML and read
 * back, refused with the expected values named, accepted by the schema. */
static void test_reclaim_keys(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *reclaim = NULL;
    g_autofree char *bound = NULL;
    FpbConfPolicy p, q;

    fpb_conf_policy_init(&p);
    g_assert_true(fpb_conf_policy_set(&p, "reclaim", "split+cache", NULL, &error));
    g_assert_true(fpb_conf_policy_set(&p, "reclaim-cache-bound", "256MiB", NULL, &error));
    g_assert_no_error(error);
    g_assert_false(fpb_conf_policy_is_empty(&p));
    reclaim = fpb_conf_policy_get(&p, "reclaim");
    bound = fpb_conf_policy_get(&p, "reclaim-cache-bound");
    g_assert_cmpstr(reclaim, ==, "split+cache");
    g_assert_cmpstr(bound, ==, "268435456");
    xml = fpb_conf_policy_to_xml(&p, TRUE);
    g_assert_true(schema_accepts(xml));
    g_assert_true(fpb_conf_policy_parse_xml("vm1", xml, &q, &error));
    g_assert_no_error(error);
    g_assert_cmpint(q.reclaim, ==, p.reclaim);
    g_assert_cmpint(q.reclaim_cache_bound_bytes, ==, 256 << 20);
    g_assert_false(fpb_conf_policy_set(&p, "reclaim", "all", NULL, &error));
    g_assert_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "none, split, cache or split+cache"));
    g_clear_error(&error);
    g_assert_cmpint(p.reclaim, ==, q.reclaim); /* unchanged by the refusal */
    g_assert_false(
        schema_accepts("<fpb:policy " NS "><fpb:reclaim>all</fpb:reclaim></fpb:policy>"));
    g_assert_true(fpb_conf_policy_set(&p, "reclaim", "", NULL, &error));
    g_assert_true(fpb_conf_policy_set(&p, "reclaim-cache-bound", NULL, NULL, &error));
    g_assert_true(fpb_conf_policy_is_empty(&p));
}

static void test_sizes(void)
{
    gint64 v = 0;

    g_assert_true(fpb_conf_parse_size("512", NULL, &v));
    g_assert_cmpint(v, ==, 512);
    g_assert_true(fpb_conf_parse_size("512", "KiB", &v));
    g_assert_cmpint(v, ==, 512 * 1024);
    g_assert_true(fpb_conf_parse_size("3M", NULL, &v));
    g_assert_cmpint(v, ==, 3 * 1024 * 1024);
    g_assert_true(fpb_conf_parse_size("1 TiB", NULL, &v));
    g_assert_cmpint(v, ==, G_GINT64_CONSTANT(1) << 40);
    g_assert_false(fpb_conf_parse_size("1025 TiB", NULL, &v));
    g_assert_false(fpb_conf_parse_size("", NULL, &v));
    g_assert_false(fpb_conf_parse_size("x", NULL, &v));
    g_assert_false(fpb_conf_parse_size("1 parsec", NULL, &v));
}

static void test_merge(void)
{
    FpbConfPolicy host, vm;

    fpb_conf_policy_init(&host);
    fpb_conf_policy_init(&vm);
    g_assert_true(fpb_conf_policy_set(&host, "mode", "balloon", NULL, NULL));
    g_assert_true(fpb_conf_policy_set(&host, "floor", "100", NULL, NULL));
    g_assert_true(fpb_conf_policy_set(&vm, "mode", "none", NULL, NULL));
    fpb_conf_policy_merge(&host, &vm);
    g_assert_cmpint(host.mode, ==, FPB_CONF_MODE_NONE);
    g_assert_cmpint(host.floor_bytes, ==, 100);
    g_assert_cmpint(host.balloon, ==, -1);
}

int main(int argc, char **argv)
{
    const char *root = g_getenv("FPB_SOURCE_ROOT");
    g_autofree char *rng = g_build_filename(root ? root : ".", "conf", "fpb-policy.rng", NULL);
    xmlRelaxNGParserCtxtPtr pctx;
    int rc;

    g_test_init(&argc, &argv, NULL);
    pctx = xmlRelaxNGNewParserCtxt(rng);
    schema = xmlRelaxNGParse(pctx);
    xmlRelaxNGFreeParserCtxt(pctx);
    if (schema == NULL) {
        g_printerr("cannot load the schema '%s'\n", rng);
        return 1;
    }
    g_test_add_func("/conf/policy/xml/full", test_xml_full);
    g_test_add_func("/conf/policy/xml/empty-policy", test_xml_empty_policy);
    g_test_add_func("/conf/policy/xml/roundtrip", test_xml_roundtrip);
    g_test_add_func("/conf/policy/xml/small-prep-seconds", test_xml_small_prep);
    g_test_add_func("/conf/policy/xml/too-large", test_xml_too_large);
    g_test_add_func("/conf/policy/xml/libvirt-form", test_xml_libvirt_form);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].path, GUINT_TO_POINTER(i), test_xml_bad);
    }
    g_test_add_func("/conf/policy/keys/set-and-get", test_set_and_get);
    g_test_add_func("/conf/policy/keys/sizes", test_sizes);
    g_test_add_func("/conf/policy/keys/merge", test_merge);
    g_test_add_func("/conf/policy/keys/reclaim", test_reclaim_keys);
    rc = g_test_run();
    xmlRelaxNGFree(schema);
    xmlCleanupParser();
    return rc;
}
