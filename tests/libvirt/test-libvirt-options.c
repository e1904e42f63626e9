/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbd's migrate options (fpb-libvirt-options.h) and the libvirt source id
 * of journal rows (fpb-libvirt-recover.h). */
#include "fpb-libvirt-options.h"
#include "fpb-libvirt-recover.h"

static json_object *parse(const char *text)
{
    json_object *j = json_tokener_parse(text);

    g_assert_nonnull(j);
    return j;
}

/* What fpbctl sends is what fpbd reads back. */
static void test_round_trip(void)
{
    FpbLibvirtOptions in, out;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) j = NULL;

    fpb_libvirt_options_init(&in);
    fpb_libvirt_options_init(&out);
    in.mode = g_strdup("balloon");
    in.floor = g_strdup("512MiB");
    in.migrate_uri = g_strdup("tcp://192.0.2.2");
    in.no_balloon = TRUE;
    in.max_bandwidth = 125000000;
    in.timeout_s = 30.5;
    j = fpb_libvirt_options_to_json(&in);
    g_assert_true(fpb_libvirt_options_from_json(j, &out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out.mode, ==, "balloon");
    g_assert_cmpstr(out.floor, ==, "512MiB");
    g_assert_cmpstr(out.migrate_uri, ==, "tcp://192.0.2.2");
    g_assert_null(out.objective);
    g_assert_true(out.no_balloon);
    g_assert_cmpint(out.max_bandwidth, ==, 125000000);
    g_assert_cmpfloat(out.timeout_s, ==, 30.5);
    fpb_libvirt_options_clear(&in);
    fpb_libvirt_options_clear(&out);
}

static void expect_json_error(const char *text, const char *want)
{
    FpbLibvirtOptions o;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) j = parse(text);

    fpb_libvirt_options_init(&o);
    g_assert_false(fpb_libvirt_options_from_json(j, &o, &error));
    g_assert_nonnull(error);
    if (strstr(error->message, want) == NULL) {
        g_error("'%s': error '%s' lacks '%s'", text, error->message, want);
    }
    fpb_libvirt_options_clear(&o);
}

static void test_bad_json(void)
{
    expect_json_error("{\"colour\": \"red\"}", "unknown option 'colour'");
    expect_json_error("{\"mode\": 3}", "option 'mode': not a string");
    expect_json_error("{\"max-bandwidth\": \"fast\"}", "not an integer");
    expect_json_error("{\"timeout\": true}", "not a number");
    expect_json_error("{\"no-balloon\": 1}", "not a boolean");
    expect_json_error("[1]", "not an object");
}

static void expect_apply_error(FpbLibvirtOptions *o, const char *want)
{
    FpbLibvirtMigrateRequest req;
    FpbConfPolicy host;
    g_autoptr(GError) error = NULL;

    fpb_conf_policy_init(&host);
    fpb_libvirt_migrate_request_init(&req);
    g_assert_false(fpb_libvirt_options_apply(o, &host, &req, &error));
    if (strstr(error->message, want) == NULL) {
        g_error("error '%s' lacks '%s'", error->message, want);
    }
    fpb_libvirt_options_clear(o);
}

/* The same checks whether fpbctl or fpbd applies them. */
static void test_apply(void)
{
    FpbLibvirtOptions o;
    FpbLibvirtMigrateRequest req;
    FpbConfPolicy host;
    g_autoptr(GError) error = NULL;

    fpb_libvirt_options_init(&o);
    o.mode = g_strdup("sideways");
    expect_apply_error(&o, "sideways");
    o.max_bandwidth = 0;
    expect_apply_error(&o, "--max-bandwidth");
    o.timeout_s = -1;
    expect_apply_error(&o, "--timeout");
    o.guest_init_on_alloc = g_strdup("2");
    expect_apply_error(&o, "--guest-init-on-alloc");
    o.tcg = g_strdup("maybe");
    expect_apply_error(&o, "--qemu-tcg-dirty-tracking");

    fpb_conf_policy_init(&host);
    fpb_libvirt_migrate_request_init(&req);
    o.mode = g_strdup("none");
    o.max_bandwidth = 1000;
    o.listen_address = g_strdup("192.0.2.3");
    g_assert_true(fpb_libvirt_options_apply(&o, &host, &req, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(req.run.requested_mode, ==, "none");
    g_assert_cmpint(req.run.facts.max_bandwidth, ==, 1000);
    g_assert_cmpstr(req.target.listen_address, ==, "192.0.2.3");
    g_assert_true(req.target.cli_policy.has_mode);
    fpb_libvirt_options_clear(&o);
}

static void test_source_id(void)
{
    g_autofree char *id = fpb_libvirt_source_id("qemu+tcp://h/system", "web#1");
    char *uri = NULL;
    char *dom = NULL;

    g_assert_true(fpb_libvirt_source_id_parse(id, &uri, &dom));
    g_assert_cmpstr(uri, ==, "qemu+tcp://h/system");
    g_assert_cmpstr(dom, ==, "web#1"); /* a name may hold '#', a libvirt URI not */
    g_free(uri);
    g_free(dom);
    g_assert_true(fpb_libvirt_source_id_parse("libvirt:qemu:///system#web1", &uri, &dom));
    g_assert_cmpstr(uri, ==, "qemu:///system");
    g_assert_cmpstr(dom, ==, "web1");
    g_free(uri);
    g_free(dom);
    g_assert_false(fpb_libvirt_source_id_parse("/run/vm.qmp", &uri, &dom));
    g_assert_false(fpb_libvirt_source_id_parse("libvirt:qemu:///system", &uri, &dom));
    g_assert_false(fpb_libvirt_source_id_parse("libvirt:qemu:///system#", &uri, &dom));
    g_assert_false(fpb_libvirt_source_id_parse(NULL, &uri, &dom));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/libvirt/options/round-trip", test_round_trip);
    g_test_add_func("/libvirt/options/bad-json", test_bad_json);
    g_test_add_func("/libvirt/options/apply", test_apply);
    g_test_add_func("/libvirt/source-id", test_source_id);
    return g_test_run();
}
