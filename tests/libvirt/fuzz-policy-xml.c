/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: bytes as the per-VM policy metadata element
 * virDomainGetMetadata() hands fpb (a C string: it ends at the first NUL),
 * through fpb_conf_policy_parse_xml() (what fpb_libvirt_policy_read()
 * calls). Beyond no crash, leak, hang or sanitizer report:
 *   - libxml2 never loads anything (no DTD, no external entity: the
 *     entity loader aborts);
 *   - an error names the VM ("VM 'NAME': policy metadata: ...") in UTF-8,
 *     and the policy passed in is left as it was;
 *   - a policy accepted is in range, and both forms fpb writes
 *     (fpb_conf_policy_to_xml(): prefixed, and libvirt's without a
 *     namespace) parse back to the same policy; the prefixed one is valid
 *     against conf/fpb-policy.rng.
 * See run-fuzz.sh.
 */
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpb-conf-policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VM "fuzz-vm"

static xmlRelaxNGPtr schema;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-policy-xml: %s: %s\n", what, detail ? detail : "");
    abort();
}

static xmlParserInputPtr no_loading(const char *url, const char *id G_GNUC_UNUSED,
                                    xmlParserCtxtPtr ctx G_GNUC_UNUSED)
{
    fail("libxml2 was asked to load an external resource", url);
    return NULL;
}

static void quiet(void *data G_GNUC_UNUSED, const xmlError *error G_GNUC_UNUSED)
{
}

int LLVMFuzzerInitialize(int *argc G_GNUC_UNUSED, char ***argv G_GNUC_UNUSED)
{
    g_autofree char *rng = g_build_filename(SOURCE_ROOT, "conf", "fpb-policy.rng", NULL);
    xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt(rng);

    schema = xmlRelaxNGParse(pctx);
    xmlRelaxNGFreeParserCtxt(pctx);
    if (schema == NULL) {
        fail("cannot load the schema", rng);
    }
    /* after the schema: it is the one file this process may read */
    xmlSetExternalEntityLoader(no_loading);
    return 0;
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

static gboolean policy_equal(const FpbConfPolicy *a, const FpbConfPolicy *b)
{
    return a->has_mode == b->has_mode && (!a->has_mode || a->mode == b->mode) &&
           a->has_objective == b->has_objective &&
           (!a->has_objective || a->objective == b->objective) &&
           a->floor_bytes == b->floor_bytes && a->max_prep_seconds == b->max_prep_seconds &&
           a->balloon == b->balloon;
}

static void check_ranges(const FpbConfPolicy *p)
{
    if ((p->has_mode && (guint)p->mode >= FPB_POLICY_N_REQUESTS) ||
        (p->has_objective && (guint)p->objective > FPB_CONF_OBJECTIVE_GUEST_IMPACT) ||
        p->floor_bytes < -1 || p->floor_bytes > FPB_CONF_POLICY_MAX_FLOOR_BYTES ||
        (p->max_prep_seconds < 0 && p->max_prep_seconds != -1) ||
        p->max_prep_seconds > FPB_CONF_POLICY_MAX_PREP_SECONDS || p->balloon < -1 ||
        p->balloon > 1) {
        fail("a policy out of range accepted", NULL);
    }
}

static void check_reprint(const FpbConfPolicy *p, gboolean with_namespace)
{
    g_autofree char *xml = fpb_conf_policy_to_xml(p, with_namespace);
    g_autoptr(GError) error = NULL;
    FpbConfPolicy again;

    if (!fpb_conf_policy_parse_xml(VM, xml, &again, &error)) {
        fail("an accepted policy written out again is refused", error->message);
    }
    if (!policy_equal(p, &again)) {
        fail("an accepted policy written out again reads differently", xml);
    }
    if (with_namespace && !schema_accepts(xml)) {
        fail("the policy fpb writes is not valid against conf/fpb-policy.rng", xml);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *xml = g_strndup((const char *)data, size);
    g_autoptr(GError) error = NULL;
    FpbConfPolicy p;
    FpbConfPolicy before;

    fpb_conf_policy_init(&p);
    p.balloon = 1; /* must survive a refusal */
    before = p;
    if (!fpb_conf_policy_parse_xml(VM, xml, &p, &error)) {
        if (!g_str_has_prefix(error->message, "VM '" VM "': policy metadata: ") ||
            !g_utf8_validate(error->message, -1, NULL) || !policy_equal(&p, &before)) {
            fail("a refusal that does not name the VM, is not UTF-8 or changed the policy",
                 error->message);
        }
        return 0;
    }
    check_ranges(&p);
    check_reprint(&p, TRUE);
    check_reprint(&p, FALSE);
    return 0;
}
