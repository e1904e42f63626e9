/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl policy DOMAIN [KEY=VALUE...] and fpbctl enable-hints DOMAIN
 * [--disable]: the libvirt domain's per-VM policy metadata and its
 * free-page-hint override (docs/libvirt.md).
 */
#define G_LOG_DOMAIN "fpbctl"

#include <libvirt/virterror.h>
#include <stdio.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-policy.h"
#include "fpb-libvirt-xml.h"
#include "fpbctl.h"

static void print_policy(const char *vm, const FpbConfPolicy *p, gboolean json)
{
    const char *const *keys = fpb_conf_policy_keys();

    if (json) {
        g_autoptr(json_object) out = json_object_new_object();

        json_object_object_add(out, "vm", json_object_new_string(vm));
        for (gsize i = 0; keys[i] != NULL; i++) {
            g_autofree char *v = fpb_conf_policy_get(p, keys[i]);

            json_object_object_add(out, keys[i], v ? json_object_new_string(v) : NULL);
        }
        fpbctl_print_json(out, FALSE);
        return;
    }
    printf("VM '%s': policy (namespace %s)\n", vm, FPB_CONF_POLICY_NS);
    for (gsize i = 0; keys[i] != NULL; i++) {
        g_autofree char *v = fpb_conf_policy_get(p, keys[i]);

        printf("  %-17s %s\n", keys[i], v ? v : "(host default)");
    }
}

/* KEY=VALUE arguments onto @p; "KEY=" unsets. */
static gboolean apply_assignments(FpbConfPolicy *p, int argc, char **argv, GError **error)
{
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        g_autofree char *key = NULL;

        if (eq == NULL) {
            g_set_error(error, FPB_CONF_ERROR, FPB_CONF_ERROR_INVALID, "'%s' is not KEY=VALUE",
                        argv[i]);
            return FALSE;
        }
        key = g_strndup(argv[i], eq - argv[i]);
        if (!fpb_conf_policy_set(p, key, eq + 1, NULL, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static int run_policy(const char *uri, const char *vm, int argc, char **argv, gboolean json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirConnect) conn = NULL;
    g_autoptr(FpbVirDomain) dom = NULL;
    FpbConfPolicy p;

    if ((conn = fpb_libvirt_connect(uri, &error)) == NULL ||
        (dom = fpb_libvirt_lookup(conn, vm, &error)) == NULL) {
        fprintf(stderr, "fpbctl policy: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    /* Changes start from the persistent definition: that is what stays. */
    if (!fpb_libvirt_policy_read(dom, argc > 0, &p, &error)) {
        fprintf(stderr, "fpbctl policy: %s\n", error->message);
        return argc > 0 && error->domain == FPB_CONF_ERROR ? FPBCTL_EXIT_USAGE : FPBCTL_EXIT_FAILED;
    }
    if (argc > 0) {
        if (!apply_assignments(&p, argc, argv, &error)) {
            fprintf(stderr, "fpbctl policy: VM '%s': %s\n", vm, error->message);
            return FPBCTL_EXIT_USAGE;
        }
        if (!fpb_libvirt_policy_write(dom, &p, &error)) {
            fprintf(stderr, "fpbctl policy: %s\n", error->message);
            return FPBCTL_EXIT_FAILED;
        }
    }
    print_policy(virDomainGetName(dom), &p, json);
    return FPBCTL_EXIT_OK;
}

/* fpbctl policy DOMAIN [KEY=VALUE...] [--connect URI] [--json] */
int fpbctl_cmd_policy(int argc, char **argv)
{
    g_autofree char *uri = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
         "libvirt URI (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("DOMAIN [KEY=VALUE...]");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Show a libvirt domain's fpb policy, or set keys of it (live and persistent).\n"
             "Keys: mode (auto|none|hint|balloon|hint+balloon), objective (time|bytes|\n"
             "guest-impact), floor (a size, e.g. 512MiB), max-prep-seconds (0..3600),\n"
             "balloon (yes|no). 'KEY=' removes a key: the host default applies again.");
    g_set_prgname("fpbctl policy");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl policy: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (argc < 2) {
        fprintf(stderr, "fpbctl policy: DOMAIN is required\n");
        return FPBCTL_EXIT_USAGE;
    }
    return run_policy(uri, argv[1], argc - 2, argv + 2, json);
}

static int run_enable_hints(const char *uri, const char *vm, gboolean disable)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirConnect) conn = NULL;
    g_autoptr(FpbVirDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *new_xml = NULL;
    virDomainPtr defined;

    if ((conn = fpb_libvirt_connect(uri, &error)) == NULL ||
        (dom = fpb_libvirt_lookup(conn, vm, &error)) == NULL) {
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (virDomainIsPersistent(dom) != 1) {
        fprintf(stderr,
                "fpbctl enable-hints: VM '%s': not persistent: there is no definition "
                "to change\n",
                vm);
        return FPBCTL_EXIT_USAGE;
    }
    /* SECURE: defining the XML back must not drop passwords. */
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    if (xml == NULL) {
        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': cannot read its XML", vm);
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (!fpb_libvirt_xml_set_hints(vm, xml, !disable, &new_xml, &error)) {
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (new_xml == NULL) {
        printf("VM '%s': free-page hints already %s in the persistent definition, nothing "
               "changed\n",
               vm, disable ? "disabled" : "enabled");
        return FPBCTL_EXIT_OK;
    }
    if ((defined = virDomainDefineXML(conn, new_xml)) == NULL) {
        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED,
                              "VM '%s': cannot define the "
                              "changed XML",
                              vm);
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    virDomainFree(defined);
    printf("VM '%s': free-page hints %s in the persistent definition; this applies at the next "
           "boot%s\n",
           vm, disable ? "disabled" : "enabled",
           virDomainIsActive(dom) == 1 ? " (the running VM is unchanged)" : "");
    return FPBCTL_EXIT_OK;
}

/* fpbctl enable-hints DOMAIN [--disable] [--connect URI] */
int fpbctl_cmd_enable_hints(int argc, char **argv)
{
    g_autofree char *uri = NULL;
    gboolean disable = FALSE;
    const GOptionEntry entries[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
         "libvirt URI (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"disable", 0, 0, G_OPTION_ARG_NONE, &disable,
         "Remove the override instead (<iothreads> stays)", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("DOMAIN");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Add an iothread and the qemu:override that turns on free-page-hint for the\n"
             "domain's virtio balloon to its persistent XML (idempotent; the rest of the\n"
             "XML is unchanged). It applies at the next boot.");
    g_set_prgname("fpbctl enable-hints");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (argc != 2) {
        fprintf(stderr, "fpbctl enable-hints: exactly one DOMAIN is required\n");
        return FPBCTL_EXIT_USAGE;
    }
    return run_enable_hints(uri, argv[1], disable);
}
