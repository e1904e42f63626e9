/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's checks of an "evacuate" request before anything is done
 * (fpbd-evacuate.h, fpbd_evacuation_new()): the options as fpbctl
 * evacuate's, those only root may give, the destination guard; every
 * refusal names the VMs and the cause. The domains, max-migrations and
 * the run are fpbd's (tests/fpbd/test-fpbd-security.c).
 */
#include <string.h>

#include "fpb-qmp-json.h"
#include "fpbd-evacuate.h"
#include "fpbd-request.h"

static const char *const tls_only[] = {"qemu+tls", NULL};

/* The request @line checked as @root would send it with the default host
 * policy; NULL @fragment: accepted. (transfer full) the evacuation. */
static FpbdEvacuation *check(const char *line, gboolean root, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) req = fpbd_request_parse(line, strlen(line), &error);
    g_autoptr(json_object) refusal = NULL;
    const FpbConfPolicy host = {0};
    const FpbdUriGuard guard = {.transports = tls_only};
    const char *op = NULL;
    FpbdEvacuation *ev;

    g_assert_no_error(error);
    g_assert_true(fpbd_request_check(req, &op, &error));
    g_assert_cmpstr(op, ==, "evacuate");
    ev = fpbd_evacuation_new(req, &host, &guard, root, root ? 0 : 65534, &refusal);
    if (fragment == NULL) {
        if (refusal != NULL) {
            g_error("'%s' refused: %s", line, json_object_to_json_string(refusal));
        }
        g_assert_nonnull(ev);
        return ev;
    }
    g_assert_null(ev);
    g_assert_nonnull(refusal);
    if (strstr(json_object_to_json_string_ext(refusal, JSON_C_TO_STRING_NOSLASHESCAPE), fragment) ==
        NULL) {
        g_error("'%s': reply %s lacks '%s'", line, json_object_to_json_string(refusal), fragment);
    }
    return NULL;
}

static void test_accepted(void)
{
    g_autoptr(FpbdEvacuation) ev =
        check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"domains\":[\"vm1\",\"vm2\"],"
              "\"options\":{\"parallel\":\"2\",\"max-bandwidth\":125000000,\"deadline\":60,"
              "\"mode\":\"none\",\"floor\":\"256MiB\",\"timeout\":30},\"dry-run\":true,"
              "\"progress\":true}",
              FALSE, NULL);
    g_autoptr(FpbdEvacuation) all =
        check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\"}", FALSE, NULL);

    g_assert_cmpuint(ev->domains->len, ==, 2);
    g_assert_cmpstr(ev->vms_text, ==, "VMs 'vm1', 'vm2'");
    g_assert_cmpuint(ev->run.plan.parallel, ==, 2);
    g_assert_cmpfloat(ev->run.plan.link_bytes_per_second, ==, 125000000.0);
    g_assert_cmpfloat(ev->run.plan.deadline_s, ==, 60.0);
    g_assert_cmpint(ev->run.link, ==, 125000000);
    g_assert_true(ev->run.force_none);
    g_assert_true(ev->run.dry_run);
    g_assert_false(ev->run.json);
    g_assert_true(ev->ticks);
    g_assert_cmpfloat(ev->base.run.timeout_s, ==, 30.0);
    /* each VM gets its share of the link, not the link */
    g_assert_cmpint(ev->base.run.facts.max_bandwidth, ==, -1);
    g_assert_cmpuint(all->domains->len, ==, 0);
    g_assert_cmpstr(all->vms_text, ==, "every running VM");
    g_assert_cmpuint(all->run.plan.parallel, ==, 0);
    g_assert_cmpint(all->run.link, ==, -1);
}

static void test_options(void)
{
    static const char *const bad[][2] = {
        {"{\"parallel\":\"0\"}", "VMs 'a', 'b': evacuate: --parallel: '0' is not auto or a number"},
        {"{\"parallel\":3}", "evacuate: option 'parallel' must be a string"},
        {"{\"max-bandwidth\":10}", "--max-bandwidth: '10' is not a link bandwidth"},
        {"{\"deadline\":-1}", "--deadline: '-1' is not a number of seconds"},
        {"{\"mode\":\"balloon\"}", "--mode: 'balloon' is not none or auto"},
        {"{\"objective\":\"bytes\"}", "option 'objective' is not one of an evacuation"},
        {"{\"floor\":\"lots\"}", "--floor"},
        {"{\"command\":\"x\"}", "unknown option 'command'"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *line =
            g_strdup_printf("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\","
                            "\"domains\":[\"a\",\"b\"],\"options\":%s}",
                            bad[i][0]);

        check(line, TRUE, bad[i][1]);
    }
}

/* Each VM of the evacuation under migrate's rules: what only root may
 * ask is refused from a socket-group member, for the whole evacuation. */
static void test_root_only(void)
{
    g_autoptr(FpbdEvacuation) ev = NULL;

    check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"domains\":[\"a\"],"
          "\"options\":{\"qemu-tcg-dirty-tracking\":\"fixed\"}}",
          FALSE,
          "VM 'a': evacuate: option 'qemu-tcg-dirty-tracking' is accepted from root only (it "
          "overrides the hint guard's view of QEMU); nothing was done");
    check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"options\":{\"allow-unsafe-live-"
          "migration\":true}}",
          FALSE, "every running VM: evacuate: option 'allow-unsafe-live-migration' is accepted");
    check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"domains\":[\"a\",\"b\"],"
          "\"options\":{\"migrate-uri\":\"tcp://192.0.2.9\"}}",
          FALSE, "VMs 'a', 'b': evacuate: option 'migrate-uri' is accepted from root only");
    ev = check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"domains\":[\"a\"],"
               "\"options\":{\"qemu-tcg-dirty-tracking\":\"fixed\"}}",
               TRUE, NULL);
}

static void test_dest(void)
{
    check("{\"op\":\"evacuate\",\"dest\":\"qemu+tcp://b/system\",\"domains\":[\"a\",\"b\"]}", FALSE,
          "VMs 'a', 'b': evacuate to 'qemu+tcp://b/system' refused: transport 'qemu+tcp' is not "
          "in allowed-destinations (qemu+tls); nothing was done");
    check("{\"op\":\"evacuate\",\"dest\":\"qemu+ext:///system?command=/bin/sh\"}", TRUE,
          "evacuate to 'qemu+ext:///system?command=/bin/sh' refused");
    check("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system?keyfile=/root/k\",\"domains\":"
          "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}",
          FALSE, "VMs 'a', 'b', 'c', 'd' and 2 more: evacuate to");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/evacuate/check/accepted", test_accepted);
    g_test_add_func("/fpbd/evacuate/check/options", test_options);
    g_test_add_func("/fpbd/evacuate/check/root-only", test_root_only);
    g_test_add_func("/fpbd/evacuate/check/dest", test_dest);
    return g_test_run();
}
