/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The enable-hints edit of a domain's XML (fpb-libvirt-xml.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-xml.h"

#define MAX_DOMAIN_XML (16 * 1024 * 1024)

static void free_doc(xmlDoc *doc)
{
    xmlFreeDoc(doc);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, free_doc)

static gboolean has_name(const xmlNode *n, const char *href, const char *name)
{
    if (n->type != XML_ELEMENT_NODE || !g_str_equal((const char *)n->name, name)) {
        return FALSE;
    }
    if (href == NULL) {
        return n->ns == NULL;
    }
    return n->ns != NULL && n->ns->href != NULL && g_str_equal((const char *)n->ns->href, href);
}

static gboolean attr_is(xmlNode *n, const char *attr, const char *value)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)attr);
    gboolean eq = v != NULL && g_str_equal((const char *)v, value);

    xmlFree(v);
    return eq;
}

/* The first element child called @name (in @href, NULL: no namespace),
 * with @attr = @value when @attr is given. */
static xmlNode *find(xmlNode *parent, const char *href, const char *name, const char *attr,
                     const char *value)
{
    for (xmlNode *c = parent ? parent->children : NULL; c != NULL; c = c->next) {
        if (has_name(c, href, name) && (attr == NULL || attr_is(c, attr, value))) {
            return c;
        }
    }
    return NULL;
}

static xmlDoc *read_domain(const char *vm, const char *xml, GError **error)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    gsize len = strlen(xml);

    if (len <= MAX_DOMAIN_XML) {
        doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    }
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || !has_name(root, NULL, "domain")) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID,
                    "VM '%s': the domain XML is not a <domain> document", vm);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* The balloon's alias, or NULL (with @error) without a virtio balloon. */
static char *balloon_alias(const char *vm, xmlNode *root, GError **error)
{
    xmlNode *mb = find(find(root, NULL, "devices", NULL, NULL), NULL, "memballoon", NULL, NULL);
    xmlChar *model = mb ? xmlGetNoNsProp(mb, (const xmlChar *)"model") : NULL;
    gboolean virtio = model != NULL && g_str_has_prefix((const char *)model, "virtio");
    xmlNode *alias;
    xmlChar *name;
    char *ret;

    xmlFree(model);
    if (!virtio) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID,
                    "VM '%s': no <memballoon model='virtio'> in the domain XML: free-page hints "
                    "need a virtio balloon",
                    vm);
        return NULL;
    }
    alias = find(mb, NULL, "alias", NULL, NULL);
    name = alias ? xmlGetNoNsProp(alias, (const xmlChar *)"name") : NULL;
    /* libvirt's default alias for the first balloon */
    ret = g_strdup(name ? (const char *)name : "balloon0");
    xmlFree(name);
    return ret;
}

char *fpb_libvirt_xml_balloon_alias(const char *vm, const char *xml, GError **error)
{
    xmlDoc *doc = read_domain(vm, xml, error);
    char *alias = doc ? balloon_alias(vm, xmlDocGetRootElement(doc), error) : NULL;

    xmlFreeDoc(doc);
    return alias;
}

char *fpb_libvirt_xml_emulator(const char *vm, const char *xml, GError **error)
{
    xmlDoc *doc = read_domain(vm, xml, error);
    xmlNode *devices = doc ? find(xmlDocGetRootElement(doc), NULL, "devices", NULL, NULL) : NULL;
    xmlNode *emulator = find(devices, NULL, "emulator", NULL, NULL);
    xmlChar *text = emulator ? xmlNodeGetContent(emulator) : NULL;
    char *path = text && *text ? g_strstrip(g_strdup((const char *)text)) : NULL;

    xmlFree(text);
    xmlFreeDoc(doc);
    return path;
}

/* iothreadN for the first iothread, adding <iothreads>1</iothreads> when
 * the domain has none. */
static char *ensure_iothread(xmlNode *root, gboolean *changed)
{
    xmlNode *ids = find(root, NULL, "iothreadids", NULL, NULL);
    xmlNode *first = find(ids, NULL, "iothread", NULL, NULL);
    xmlNode *count = find(root, NULL, "iothreads", NULL, NULL);
    xmlNode *vcpu;
    xmlNode *n;

    if (first != NULL) {
        xmlChar *id = xmlGetNoNsProp(first, (const xmlChar *)"id");
        char *name = g_strdup_printf("iothread%s", id ? (const char *)id : "1");

        xmlFree(id);
        return name;
    }
    if (count != NULL) {
        xmlChar *text = xmlNodeGetContent(count);
        guint64 v = 0;
        gboolean ok =
            text && g_ascii_string_to_unsigned((const char *)text, 10, 1, G_MAXUINT32, &v, NULL);

        xmlFree(text);
        if (ok) {
            return g_strdup("iothread1");
        }
        xmlNodeSetContent(count, (const xmlChar *)"1");
        *changed = TRUE;
        return g_strdup("iothread1");
    }
    n = xmlNewNode(NULL, (const xmlChar *)"iothreads");
    xmlNodeSetContent(n, (const xmlChar *)"1");
    vcpu = find(root, NULL, "vcpu", NULL, NULL);
    if (vcpu != NULL) {
        xmlAddNextSibling(vcpu, n);
    } else {
        xmlAddChild(root, n);
    }
    *changed = TRUE;
    return g_strdup("iothread1");
}

static xmlNs *qemu_ns(xmlNode *root)
{
    for (xmlNs *ns = root->nsDef; ns != NULL; ns = ns->next) {
        if (ns->href && g_str_equal((const char *)ns->href, FPB_LIBVIRT_QEMU_NS)) {
            return ns;
        }
    }
    return xmlNewNs(root, (const xmlChar *)FPB_LIBVIRT_QEMU_NS, (const xmlChar *)"qemu");
}

static xmlNode *find_or_add(xmlNode *parent, xmlNs *ns, const char *name, const char *attr,
                            const char *value, gboolean *changed)
{
    xmlNode *n = find(parent, FPB_LIBVIRT_QEMU_NS, name, attr, value);

    if (n == NULL) {
        n = xmlNewChild(parent, ns, (const xmlChar *)name, NULL);
        if (attr != NULL) {
            xmlNewProp(n, (const xmlChar *)attr, (const xmlChar *)value);
        }
        *changed = TRUE;
    }
    return n;
}

static void set_property(xmlNode *frontend, xmlNs *ns, const char *name, const char *type,
                         const char *value, gboolean *changed)
{
    xmlNode *p = find_or_add(frontend, ns, "property", "name", name, changed);

    if (!attr_is(p, "type", type) || !attr_is(p, "value", value)) {
        xmlSetProp(p, (const xmlChar *)"type", (const xmlChar *)type);
        xmlSetProp(p, (const xmlChar *)"value", (const xmlChar *)value);
        *changed = TRUE;
    }
}

static gboolean enable(const char *vm, xmlNode *root, gboolean *changed, GError **error)
{
    g_autofree char *alias = balloon_alias(vm, root, error);
    g_autofree char *iothread = NULL;
    xmlNs *ns;
    xmlNode *frontend;

    if (alias == NULL) {
        return FALSE;
    }
    iothread = ensure_iothread(root, changed);
    ns = qemu_ns(root);
    frontend = find_or_add(find_or_add(find_or_add(root, ns, "override", NULL, NULL, changed), ns,
                                       "device", "alias", alias, changed),
                           ns, "frontend", NULL, NULL, changed);
    set_property(frontend, ns, "free-page-hint", "bool", "true", changed);
    set_property(frontend, ns, "iothread", "string", iothread, changed);
    return TRUE;
}

static gboolean has_element_children(xmlNode *n)
{
    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return TRUE;
        }
    }
    return FALSE;
}

static void unlink_free(xmlNode *n)
{
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

static void disable(const char *vm, xmlNode *root, gboolean *changed)
{
    g_autofree char *alias = balloon_alias(vm, root, NULL);
    xmlNode *override = find(root, FPB_LIBVIRT_QEMU_NS, "override", NULL, NULL);
    xmlNode *device =
        find(override, FPB_LIBVIRT_QEMU_NS, "device", "alias", alias ? alias : "balloon0");
    xmlNode *frontend = find(device, FPB_LIBVIRT_QEMU_NS, "frontend", NULL, NULL);
    static const char *const names[] = {"free-page-hint", "iothread"};

    for (gsize i = 0; frontend != NULL && i < G_N_ELEMENTS(names); i++) {
        xmlNode *p = find(frontend, FPB_LIBVIRT_QEMU_NS, "property", "name", names[i]);

        if (p != NULL) {
            unlink_free(p);
            *changed = TRUE;
        }
    }
    if (frontend != NULL && !has_element_children(frontend)) {
        unlink_free(frontend);
    }
    if (device != NULL && !has_element_children(device)) {
        unlink_free(device);
    }
    if (override != NULL && !has_element_children(override)) {
        unlink_free(override);
    }
}

static char *dump(xmlDoc *doc)
{
    xmlBuffer *buf = xmlBufferCreate();
    char *s;

    xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 0);
    s = g_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

gboolean fpb_libvirt_xml_set_hints(const char *vm, const char *xml, gboolean on, char **ret_xml,
                                   GError **error)
{
    g_autoptr(xmlDoc) doc = read_domain(vm, xml, error);
    gboolean changed = FALSE;

    if (doc == NULL) {
        return FALSE;
    }
    if (on) {
        if (!enable(vm, xmlDocGetRootElement(doc), &changed, error)) {
            return FALSE;
        }
    } else {
        disable(vm, xmlDocGetRootElement(doc), &changed);
    }
    *ret_xml = changed ? dump(doc) : NULL;
    return TRUE;
}

gboolean fpb_libvirt_xml_set_emulator(const char *vm, const char *xml, const char *path,
                                      char **ret_xml, GError **error)
{
    g_autoptr(xmlDoc) doc = read_domain(vm, xml, error);
    xmlNode *devices = doc ? find(xmlDocGetRootElement(doc), NULL, "devices", NULL, NULL) : NULL;
    xmlNode *emulator = find(devices, NULL, "emulator", NULL, NULL);
    xmlChar *old = emulator ? xmlNodeGetContent(emulator) : NULL;
    gboolean same = old != NULL && g_strcmp0(g_strstrip((char *)old), path) == 0;

    xmlFree(old);
    if (doc == NULL) {
        return FALSE;
    }
    if (devices == NULL) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID,
                    "VM '%s': the domain XML has no <devices>", vm);
        return FALSE;
    }
    *ret_xml = NULL;
    if (same) {
        return TRUE;
    }
    if (emulator == NULL) {
        xmlNode *first = devices->children;

        /* first among the devices, as libvirt writes it */
        while (first != NULL && first->type != XML_ELEMENT_NODE) {
            first = first->next;
        }
        emulator = xmlNewNode(NULL, (const xmlChar *)"emulator");
        if (first != NULL) {
            xmlAddPrevSibling(first, emulator);
        } else {
            xmlAddChild(devices, emulator);
        }
    }
    xmlNodeSetContent(emulator, NULL);
    xmlNodeAddContent(emulator, (const xmlChar *)path);
    *ret_xml = dump(doc);
    return TRUE;
}

gboolean fpb_libvirt_xml_is_tcg(const char *xml)
{
    g_autoptr(xmlDoc) doc = read_domain("?", xml, NULL);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

    return root != NULL && attr_is(root, "type", "qemu");
}

gboolean fpb_libvirt_xml_hints_enabled(const char *xml)
{
    g_autoptr(xmlDoc) doc = read_domain("?", xml, NULL);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *override = find(root, FPB_LIBVIRT_QEMU_NS, "override", NULL, NULL);

    for (xmlNode *d = override ? override->children : NULL; d != NULL; d = d->next) {
        xmlNode *fe = has_name(d, FPB_LIBVIRT_QEMU_NS, "device")
                          ? find(d, FPB_LIBVIRT_QEMU_NS, "frontend", NULL, NULL)
                          : NULL;
        xmlNode *p = find(fe, FPB_LIBVIRT_QEMU_NS, "property", "name", "free-page-hint");

        if (p != NULL && attr_is(p, "value", "true")) {
            return TRUE;
        }
    }
    return FALSE;
}
