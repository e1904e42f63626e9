/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The enable-hints edit of a domain's XML (host-plugin/fpb-libvirt-xml.h). */
#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-xml.h"

static const char domain_xml[] = "<domain type='qemu'>\n"
                                 "  <name>web1</name>\n"
                                 "  <memory unit='KiB'>1048576</memory>\n"
                                 "  <vcpu placement='static'>1</vcpu>\n"
                                 "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n"
                                 "  <devices>\n"
                                 "    <serial type='file'><source path='/tmp/x.log'/></serial>\n"
                                 "    <memballoon model='virtio'><stats period='2'/></memballoon>\n"
                                 "  </devices>\n"
                                 "</domain>";

static char *enable(const char *xml)
{
    g_autoptr(GError) error = NULL;
    char *out = NULL;

    g_assert_true(fpb_libvirt_xml_set_hints("web1", xml, TRUE, &out, &error));
    g_assert_no_error(error);
    return out;
}

static void test_enable(void)
{
    g_autofree char *out = enable(domain_xml);

    g_assert_nonnull(out);
    g_assert_nonnull(strstr(out, "<vcpu placement=\"static\">1</vcpu><iothreads>1</iothreads>"));
    g_assert_nonnull(strstr(out, "xmlns:qemu=\"" FPB_LIBVIRT_QEMU_NS "\""));
    g_assert_nonnull(strstr(out, "<qemu:device alias=\"balloon0\"><qemu:frontend>"
                                 "<qemu:property name=\"free-page-hint\" type=\"bool\" "
                                 "value=\"true\"/><qemu:property name=\"iothread\" "
                                 "type=\"string\" value=\"iothread1\"/>"));
    /* the rest is as it was */
    g_assert_nonnull(strstr(out, "<serial type=\"file\"><source path=\"/tmp/x.log\"/></serial>"));
    g_assert_true(fpb_libvirt_xml_hints_enabled(out));
    g_assert_false(fpb_libvirt_xml_hints_enabled(domain_xml));
}

static void test_idempotent(void)
{
    g_autofree char *once = enable(domain_xml);
    g_autofree char *twice = enable(once);

    g_assert_null(twice);
}

static void test_disable_restores(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *on = enable(domain_xml);
    g_autofree char *off = NULL;
    g_autofree char *again = NULL;

    g_assert_true(fpb_libvirt_xml_set_hints("web1", on, FALSE, &off, &error));
    g_assert_nonnull(off);
    g_assert_null(strstr(off, "qemu:override"));
    g_assert_nonnull(strstr(off, "<iothreads>1</iothreads>")); /* stays */
    g_assert_false(fpb_libvirt_xml_hints_enabled(off));
    g_assert_true(fpb_libvirt_xml_set_hints("web1", off, FALSE, &again, &error));
    g_assert_null(again);
}

/* Existing overrides of other devices and an existing iothread are kept
 * and used; a wrong value of ours is corrected. */
static void test_existing(void)
{
    const char *xml =
        "<domain type='qemu' xmlns:q='" FPB_LIBVIRT_QEMU_NS "'><name>a</name>"
        "<iothreads>2</iothreads><iothreadids><iothread id='7'/><iothread id='8'/></iothreadids>"
        "<devices><memballoon model='virtio'><alias name='ua-bal'/></memballoon></devices>"
        "<q:override><q:device alias='net0'><q:frontend><q:property name='x' type='bool' "
        "value='false'/></q:frontend></q:device><q:device alias='ua-bal'><q:frontend>"
        "<q:property name='free-page-hint' type='bool' value='false'/></q:frontend></q:device>"
        "</q:override></domain>";
    g_autofree char *out = enable(xml);

    g_assert_nonnull(out);
    g_assert_nonnull(strstr(out, "<q:device alias=\"net0\">"));
    g_assert_nonnull(strstr(out, "name=\"free-page-hint\" type=\"bool\" value=\"true\""));
    g_assert_nonnull(strstr(out, "value=\"iothread7\""));
    g_assert_null(strstr(out, "xmlns:qemu"));
    g_assert_nonnull(strstr(out, "<iothreads>2</iothreads>"));
}

static void test_no_balloon(void)
{
    g_autoptr(GError) error = NULL;
    char *out = NULL;

    g_assert_false(fpb_libvirt_xml_set_hints(
        "db1", "<domain><devices><memballoon model='none'/></devices></domain>", TRUE, &out,
        &error));
    g_assert_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "VM 'db1': no <memballoon model='virtio'>"));
    g_clear_error(&error);
    g_assert_false(fpb_libvirt_xml_set_hints("db1", "<network/>", TRUE, &out, &error));
    g_assert_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fpb_libvirt_xml_set_hints("db1", "<domain", TRUE, &out, &error));
    g_assert_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID);
}

/* The balloon's QOM path follows its alias: libvirt's or the user's. */
static void test_balloon_alias(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dflt = fpb_libvirt_xml_balloon_alias("web1", domain_xml, &error);
    g_autoptr(GString) user = g_string_new(domain_xml);
    g_autofree char *ua = NULL;
    g_autofree char *none = NULL;

    g_assert_no_error(error);
    g_assert_cmpstr(dflt, ==, "balloon0");
    g_string_replace(user, "<stats period='2'/>", "<alias name='ua-balloon'/>", 1);
    ua = fpb_libvirt_xml_balloon_alias("web1", user->str, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(ua, ==, "ua-balloon");
    g_string_replace(user, "model='virtio'", "model='none'", 1);
    none = fpb_libvirt_xml_balloon_alias("web1", user->str, &error);
    g_assert_null(none);
    g_assert_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID);
}

/* --fpb-qemu on a domain without <emulator>: added first in <devices>. */
static void test_emulator_add(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *again = NULL;
    g_autofree char *path = NULL;

    g_assert_true(fpb_libvirt_xml_is_tcg(domain_xml));
    g_assert_null(fpb_libvirt_xml_emulator("web1", domain_xml, &error));
    g_assert_no_error(error);
    g_assert_true(
        fpb_libvirt_xml_set_emulator("web1", domain_xml, "/opt/q/bin/qemu", &out, &error));
    g_assert_no_error(error);
    g_assert_nonnull(strstr(out, "<devices>\n    <emulator>/opt/q/bin/qemu</emulator><serial"));
    path = fpb_libvirt_xml_emulator("web1", out, &error);
    g_assert_cmpstr(path, ==, "/opt/q/bin/qemu");
    /* the same path again changes nothing */
    g_assert_true(fpb_libvirt_xml_set_emulator("web1", out, "/opt/q/bin/qemu", &again, &error));
    g_assert_null(again);
}

static void test_emulator_replace(void)
{
    static const char xml[] = "<domain type='kvm'><name>k</name><devices>"
                              "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
                              "<memballoon model='virtio'/></devices></domain>";
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;

    g_assert_false(fpb_libvirt_xml_is_tcg(xml));
    g_assert_true(fpb_libvirt_xml_set_emulator("k", xml, "/a&b/qemu", &out, &error));
    g_assert_no_error(error);
    /* escaped in the XML, one <emulator> only */
    g_assert_nonnull(strstr(out, "<emulator>/a&amp;b/qemu</emulator><memballoon"));
    g_assert_null(strstr(out, "/usr/bin/qemu-system-x86_64"));
}

static void test_emulator_no_devices(void)
{
    g_autoptr(GError) error = NULL;
    char *out = NULL;

    g_assert_false(fpb_libvirt_xml_set_emulator("bare",
                                                "<domain type='qemu'><name>bare</name>"
                                                "</domain>",
                                                "/q", &out, &error));
    g_assert_error(error, FPB_LIBVIRT_ERROR, FPB_LIBVIRT_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "VM 'bare'"));
    g_assert_null(out);
    g_clear_error(&error);
    g_assert_false(fpb_libvirt_xml_set_emulator("junk", "<domain", "/q", &out, &error));
    g_assert_nonnull(error);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/libvirt/xml/enable", test_enable);
    g_test_add_func("/libvirt/xml/idempotent", test_idempotent);
    g_test_add_func("/libvirt/xml/disable-restores", test_disable_restores);
    g_test_add_func("/libvirt/xml/existing", test_existing);
    g_test_add_func("/libvirt/xml/no-balloon", test_no_balloon);
    g_test_add_func("/libvirt/xml/balloon-alias", test_balloon_alias);
    g_test_add_func("/libvirt/xml/emulator/add", test_emulator_add);
    g_test_add_func("/libvirt/xml/emulator/replace", test_emulator_replace);
    g_test_add_func("/libvirt/xml/emulator/no-devices", test_emulator_no_devices);
    return g_test_run();
}
