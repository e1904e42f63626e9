/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM policy as libvirt domain metadata (fpb-conf-policy.h). libxml2
 * parses without network access and without expanding entities; the
 * element is checked by hand (the RelaxNG schema conf/fpb-policy.rng says
 * the same, for people and for `virt-xml-validate`-style tools).
 */
#define G_LOG_DOMAIN "fpb-conf"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "fpb-conf-policy.h"

static void free_doc(xmlDoc *doc)
{
    xmlFreeDoc(doc);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, free_doc)

static void free_xml_string(xmlChar *s)
{
    xmlFree(s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlChar, free_xml_string)

static gboolean fail(GError **error, int code, const char *vm, const char *element,
                     const char *message)
{
    if (element != NULL) {
        g_set_error(error, FPB_CONF_ERROR, code, "VM '%s': policy metadata: element '%s:%s': %s",
                    vm, FPB_CONF_POLICY_PREFIX, element, message);
    } else {
        g_set_error(error, FPB_CONF_ERROR, code, "VM '%s': policy metadata: %s", vm, message);
    }
    return FALSE;
}

/* virDomainGetMetadata() returns the element with the prefix stripped
 * from every node (the namespace is declared but unused): libvirt already
 * selected it by namespace, so "no namespace" is read as fpb's. Another
 * namespace is refused. */
static gboolean in_our_ns(const xmlNode *node)
{
    return node->ns == NULL || (node->ns->href != NULL &&
                                g_str_equal((const char *)node->ns->href, FPB_CONF_POLICY_NS));
}

/* Only floor may carry an attribute (unit), and only without a namespace. */
static gboolean check_attributes(const char *vm, const xmlNode *node, GError **error)
{
    const char *name = (const char *)node->name;

    for (const xmlAttr *a = node->properties; a != NULL; a = a->next) {
        if (!g_str_equal(name, "floor") || !g_str_equal((const char *)a->name, "unit") ||
            a->ns != NULL) {
            g_autofree char *m = g_strdup_printf("unexpected attribute '%s'", a->name);

            return fail(error, FPB_CONF_ERROR_INVALID, vm, name, m);
        }
    }
    return TRUE;
}

static gboolean only_text_inside(const xmlNode *node)
{
    for (const xmlNode *c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_COMMENT_NODE) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean parse_child(const char *vm, xmlNode *node, FpbConfPolicy *p, guint *seen,
                            GError **error)
{
    const char *name = (const char *)node->name;
    const char *const *keys = fpb_conf_policy_keys();
    g_autoptr(xmlChar) raw = NULL;
    g_autoptr(xmlChar) unit = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *text = NULL;
    guint bit = 0;

    if (!in_our_ns(node)) {
        g_autofree char *m =
            g_strdup_printf("element '%s' is not in the namespace '%s'", name, FPB_CONF_POLICY_NS);
        return fail(error, FPB_CONF_ERROR_INVALID, vm, NULL, m);
    }
    while (keys[bit] != NULL && !g_str_equal(keys[bit], name)) {
        bit++;
    }
    if (keys[bit] == NULL) {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, name,
                    "unknown element (expected mode, objective, floor, max-prep-seconds, "
                    "balloon, reclaim or reclaim-cache-bound)");
    }
    if (*seen & (1u << bit)) {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, name, "given more than once");
    }
    *seen |= 1u << bit;
    if (!check_attributes(vm, node, error)) {
        return FALSE;
    }
    if (!only_text_inside(node)) {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, name, "must contain text only");
    }
    raw = xmlNodeGetContent(node);
    text = g_strstrip(g_strdup(raw ? (const char *)raw : ""));
    if (*text == '\0') {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, name, "is empty");
    }
    unit = xmlGetNoNsProp(node, (const xmlChar *)"unit");
    if (!fpb_conf_policy_set(p, name, text, (const char *)unit, &local)) {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, name, local->message);
    }
    return TRUE;
}

static xmlDoc *read_doc(const char *vm, const char *xml, GError **error)
{
    xmlDoc *doc;
    gsize len = strlen(xml);

    if (len > FPB_CONF_POLICY_MAX_XML) {
        fail(error, FPB_CONF_ERROR_PARSE, vm, NULL, "larger than 64 KiB, not read");
        return NULL;
    }
    doc = xmlReadMemory(xml, (int)len, "metadata.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        /* libxml2 quotes the input's bytes, UTF-8 or not */
        g_autofree char *why =
            g_strstrip(g_utf8_make_valid(e && e->message ? e->message : "unknown error", -1));
        g_autofree char *m = g_strdup_printf("not well-formed XML: %s", why);
        fail(error, FPB_CONF_ERROR_PARSE, vm, NULL, m);
    }
    return doc;
}

gboolean fpb_conf_policy_parse_xml(const char *vm, const char *xml, FpbConfPolicy *ret,
                                   GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    xmlNode *root;
    FpbConfPolicy p;
    guint seen = 0;

    if (xml == NULL || (doc = read_doc(vm, xml, error)) == NULL) {
        return xml == NULL ? fail(error, FPB_CONF_ERROR_PARSE, vm, NULL, "empty") : FALSE;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL || !in_our_ns(root) ||
        !g_str_equal((const char *)root->name, FPB_CONF_POLICY_ELEMENT)) {
        g_autofree char *m = g_strdup_printf("the root element must be '%s' in the namespace '%s'",
                                             FPB_CONF_POLICY_ELEMENT, FPB_CONF_POLICY_NS);
        return fail(error, FPB_CONF_ERROR_INVALID, vm, NULL, m);
    }
    if (root->properties != NULL) {
        return fail(error, FPB_CONF_ERROR_INVALID, vm, FPB_CONF_POLICY_ELEMENT,
                    "takes no attributes");
    }
    fpb_conf_policy_init(&p);
    for (xmlNode *c = root->children; c != NULL; c = c->next) {
        if (c->type == XML_TEXT_NODE && xmlIsBlankNode(c)) {
            continue;
        }
        if (c->type == XML_COMMENT_NODE) {
            continue;
        }
        if (c->type != XML_ELEMENT_NODE) {
            return fail(error, FPB_CONF_ERROR_INVALID, vm, FPB_CONF_POLICY_ELEMENT,
                        "text outside the key elements");
        }
        if (!parse_child(vm, c, &p, &seen, error)) {
            return FALSE;
        }
    }
    *ret = p;
    return TRUE;
}

char *fpb_conf_policy_to_xml(const FpbConfPolicy *p, gboolean with_namespace)
{
    GString *s = g_string_new(NULL);
    const char *const *keys = fpb_conf_policy_keys();
    const char *prefix = with_namespace ? FPB_CONF_POLICY_PREFIX ":" : "";

    if (with_namespace) {
        g_string_append_printf(s, "<%s%s xmlns:%s=\"%s\">\n", prefix, FPB_CONF_POLICY_ELEMENT,
                               FPB_CONF_POLICY_PREFIX, FPB_CONF_POLICY_NS);
    } else {
        g_string_append_printf(s, "<%s>\n", FPB_CONF_POLICY_ELEMENT);
    }
    for (gsize i = 0; keys[i] != NULL; i++) {
        g_autofree char *value = fpb_conf_policy_get(p, keys[i]);

        if (value == NULL) {
            continue;
        }
        /* Values are from fixed name tables or numbers: nothing to escape. */
        g_string_append_printf(s, "  <%s%s%s>%s</%s%s>\n", prefix, keys[i],
                               g_str_equal(keys[i], "floor") ? " unit=\"bytes\"" : "", value,
                               prefix, keys[i]);
    }
    g_string_append_printf(s, "</%s%s>\n", prefix, FPB_CONF_POLICY_ELEMENT);
    return g_string_free(s, FALSE);
}
