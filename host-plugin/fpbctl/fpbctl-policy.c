/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl policy DOMAIN [KEY=VALUE...] and fpbctl enable-hints DOMAIN
 * [--disable]: the libvirt domain's per-VM policy metadata and its
 * free-page-hint override (docs/libvirt.md).
 */
#define G_LOG_DOMAIN "fpbctl"

#include <libvirt/virterror.h>
#include <stdio.h>
#include <unistd.h>

#include "fpb-libvirt-conn.h"
#include "fpb-qemu-binary.h"
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
    g_autofree char *modes = fpb_policy_mode_names_join(TRUE, "|", "|", NULL);
    g_autofree char *summary = g_strdup_printf(
        "Show a libvirt domain's fpb policy, or set keys of it (live and persistent).\n"
        "Keys: mode (%s), objective (time|bytes|\n"
        "guest-impact), floor (a size, e.g. 512MiB), max-prep-seconds (0..3600),\n"
        "balloon (yes|no), reclaim (none|split|cache|split+cache), reclaim-cache-bound\n"
        "(a size). 'KEY=' removes a key: the host default applies again.",
        modes);

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, summary);
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

/* --fpb-qemu: the domain's <emulator> becomes fpb's QEMU (with the TCG
 * dirty-tracking fix, packaging/fpb-qemu). *ret_xml is NULL when it
 * already was. */
static gboolean switch_to_fpb_qemu(const char *vm, const char *xml, char **ret_xml, GError **error)
{
    const char *fpb = fpb_qemu_package_binary();

    if (access(fpb, X_OK) != 0) {
        g_set_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID,
                    "VM '%s': --fpb-qemu: fpb's QEMU '%s' is not installed "
                    "(scripts/install-deps or packaging/fpb-qemu/fpb-qemu-package ensure)",
                    vm, fpb);
        return FALSE;
    }
    return fpb_libvirt_xml_set_emulator(vm, xml, fpb, ret_xml, error);
}

/* A TCG domain on another QEMU may lack the dirty-tracking fix, and then
 * fpb refuses hints: say so, and how to switch, without switching. */
static void note_tcg_emulator(const char *vm, const char *xml)
{
    g_autofree char *emulator = fpb_libvirt_xml_emulator(vm, xml, NULL);

    if (!fpb_libvirt_xml_is_tcg(xml) || g_strcmp0(emulator, fpb_qemu_package_binary()) == 0) {
        return;
    }
    printf("note: VM '%s' runs under TCG on '%s'; fpb refuses hints on a QEMU without the TCG "
           "dirty-tracking fix (docs/hint-safety.md); --fpb-qemu switches it to fpb's QEMU "
           "'%s'\n",
           vm, emulator ? emulator : "libvirt's default QEMU", fpb_qemu_package_binary());
}

static int define_xml(virConnectPtr conn, virDomainPtr dom, const char *vm, const char *xml,
                      gboolean disable, gboolean fpb_qemu)
{
    g_autoptr(GError) error = NULL;
    virDomainPtr defined = virDomainDefineXML(conn, xml);

    if (defined == NULL) {
        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED,
                              "VM '%s': cannot define the changed XML", vm);
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_FAILED;
    }
    virDomainFree(defined);
    printf("VM '%s': free-page hints %s%s in the persistent definition; this applies at the "
           "next boot%s\n",
           vm, disable ? "disabled" : "enabled", fpb_qemu ? ", emulator fpb's QEMU" : "",
           virDomainIsActive(dom) == 1 ? " (the running VM is unchanged)" : "");
    return FPBCTL_EXIT_OK;
}

/* The changed persistent XML (NULL: nothing to change), or FALSE. */
static gboolean edit_xml(const char *vm, const char *xml, gboolean disable, gboolean fpb_qemu,
                         char **ret_xml, GError **error)
{
    g_autofree char *hinted = NULL;
    g_autofree char *switched = NULL;

    if (!fpb_libvirt_xml_set_hints(vm, xml, !disable, &hinted, error) ||
        (fpb_qemu && !switch_to_fpb_qemu(vm, hinted ? hinted : xml, &switched, error))) {
        return FALSE;
    }
    *ret_xml = switched ? g_steal_pointer(&switched) : g_steal_pointer(&hinted);
    return TRUE;
}

static int run_enable_hints(const char *uri, const char *vm, gboolean disable, gboolean fpb_qemu)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbVirConnect) conn = NULL;
    g_autoptr(FpbVirDomain) dom = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *new_xml = NULL;

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
    if (!edit_xml(vm, xml, disable, fpb_qemu, &new_xml, &error)) {
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (!disable && !fpb_qemu) {
        note_tcg_emulator(vm, xml);
    }
    if (new_xml == NULL) {
        printf("VM '%s': free-page hints already %s%s in the persistent definition, nothing "
               "changed\n",
               vm, disable ? "disabled" : "enabled", fpb_qemu ? ", emulator fpb's QEMU" : "");
        return FPBCTL_EXIT_OK;
    }
    return define_xml(conn, dom, vm, new_xml, disable, fpb_qemu);
}

/* fpbctl enable-hints DOMAIN [--disable] [--connect URI] */
int fpbctl_cmd_enable_hints(int argc, char **argv)
{
    g_autofree char *uri = NULL;
    gboolean disable = FALSE;
    gboolean fpb_qemu = FALSE;
    const GOptionEntry entries[] = {
        {"connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
         "libvirt URI (default " FPB_LIBVIRT_DEFAULT_URI ")", "URI"},
        {"disable", 0, 0, G_OPTION_ARG_NONE, &disable,
         "Remove the override instead (<iothreads> stays)", NULL},
        {"fpb-qemu", 0, 0, G_OPTION_ARG_NONE, &fpb_qemu,
         "Also make fpb's QEMU (package fpb-qemu-system-x86) the domain's <emulator>: under TCG "
         "fpb allows hints only on a QEMU with the dirty-tracking fix",
         NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("DOMAIN");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "Add an iothread and the qemu:override that turns on free-page-hint for the\n"
             "domain's virtio balloon to its persistent XML (idempotent; the rest of the\n"
             "XML is unchanged). It applies at the next boot. On a TCG domain whose QEMU\n"
             "is not fpb's it says so; --fpb-qemu switches the emulator too.");
    g_set_prgname("fpbctl enable-hints");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl enable-hints: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (argc != 2) {
        fprintf(stderr, "fpbctl enable-hints: exactly one DOMAIN is required\n");
        return FPBCTL_EXIT_USAGE;
    }
    return run_enable_hints(uri, argv[1], disable, fpb_qemu);
}
