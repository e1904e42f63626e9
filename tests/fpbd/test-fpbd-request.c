/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbd's control request grammar (fpbd-request.h). */
#include <gio/gio.h>
#include <string.h>

#include "fpb-qmp-json.h"
#include "fpbd-request.h"

/* NULL @fragment: the line must pass parse and check. */
static void expect(const char *line, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) req = fpbd_request_parse(line, strlen(line), &error);
    const char *op = NULL;
    gboolean ok = req != NULL && fpbd_request_check(req, &op, &error);

    if (fragment == NULL) {
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_nonnull(op);
        return;
    }
    g_assert_false(ok);
    g_assert_nonnull(error);
    if (strstr(error->message, fragment) == NULL) {
        g_error("'%s': message '%s' lacks '%s'", line, error->message, fragment);
    }
}

static void test_accepted(void)
{
    expect("{\"op\":\"ping\"}", NULL);
    expect("{\"op\":\"status\"}  \r", NULL);
    expect("{\"op\":\"hook\",\"domain\":\"vm1\",\"action\":\"migrate\",\"subaction\":\"begin\","
           "\"extra\":\"-\"}",
           NULL);
    expect("{\"op\":\"migrate\",\"domain\":\"vm1\",\"dest\":\"qemu+tls://b/system\","
           "\"options\":{\"mode\":\"auto\",\"timeout\":600.0}}",
           NULL);
}

static void test_syntax(void)
{
    expect("nope", "not a JSON object");
    expect("[1]", "not a JSON object");
    expect("{\"op\":\"ping\"", "not a JSON object: incomplete");
    expect("{'op':'ping'}", "not a JSON object"); /* strict JSON only */
    expect("{\"op\":\"ping\"}{\"op\":\"ping\"}", "data after its JSON object");
    expect("{\"op\":\"ping\"} x", "data after its JSON object");
    expect("{\"op\":\"ping\",\"a\":[[[[[[[[[[1]]]]]]]]]]}", "not a JSON object");
    {
        static const char nul[] = "{\"op\":\"ping\"}\0x";
        g_autoptr(GError) error = NULL;

        g_assert_null(fpbd_request_parse(nul, sizeof(nul) - 1, &error));
        g_assert_nonnull(strstr(error->message, "not UTF-8 text"));
    }
}

static void test_keys_and_types(void)
{
    expect("{}", "no 'op' string");
    expect("{\"op\":1}", "no 'op' string");
    expect("{\"op\":\"reboot\"}", "unknown op 'reboot'");
    expect("{\"op\":\"ping\",\"x\":1}", "ping: unknown key 'x'");
    expect("{\"op\":\"migrate\",\"domain\":\"vm1\"}", "'domain' and 'dest' (strings) are required");
    expect("{\"op\":\"migrate\",\"domain\":\"vm1\",\"dest\":7}",
           "migrate: 'dest' must be a string");
    expect("{\"op\":\"migrate\",\"domain\":\"vm1\",\"dest\":\"d\",\"options\":\"x\"}",
           "migrate: 'options' must be an object");
    expect("{\"op\":\"migrate\",\"domain\":\"vm1\",\"dest\":\"d\",\"command\":\"x\"}",
           "migrate: unknown key 'command'");
    expect("{\"op\":\"hook\",\"domain\":\"vm1\"}", "'subaction' (strings) are required");
}

static void test_evacuate(void)
{
    g_autoptr(GString) many = g_string_new("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":[");

    expect("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\"}", NULL);
    expect("{\"op\":\"evacuate\",\"dest\":\"qemu+tls://b/system\",\"domains\":[\"vm1\",\"vm2\"],"
           "\"options\":{\"parallel\":\"2\",\"max-bandwidth\":125000000,\"deadline\":60},"
           "\"dry-run\":true,\"json\":false,\"progress\":true}",
           NULL);
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":[]}", NULL);
    expect("{\"op\":\"evacuate\"}", "evacuate: 'dest' (a string) is required");
    expect("{\"op\":\"evacuate\",\"domains\":[\"vm1\"]}", "'dest' (a string) is required");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domain\":\"vm1\"}",
           "evacuate: unknown key 'domain'");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"command\":\"x\"}",
           "evacuate: unknown key 'command'");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":\"vm1\"}",
           "evacuate: 'domains' must be an array of strings");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":[\"vm1\",2]}",
           "'domains' must be an array of strings (names), item 1 is not");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":[\"\"]}", "item 0 is not");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"domains\":[[\"vm1\"]]}", "item 0 is not");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"dry-run\":\"yes\"}",
           "evacuate: 'dry-run' must be a boolean");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"json\":1}", "'json' must be a boolean");
    expect("{\"op\":\"evacuate\",\"dest\":\"d\",\"options\":[]}",
           "evacuate: 'options' must be an object");
    for (int i = 0; i <= FPBD_REQUEST_MAX_DOMAINS; i++) {
        g_string_append_printf(many, "%s\"v%d\"", i > 0 ? "," : "", i);
    }
    g_string_append(many, "]}");
    expect(many->str, "'domains' has 1025 names, at most 1024");
    expect("{\"op\":\"evacuat\"}", "(expected ping, status, hook, migrate or evacuate)");
}

static void test_root_only_evacuate(void)
{
    /* an evacuation's options are a migration's, for every VM of it */
    g_autoptr(json_object) o = json_tokener_parse("{\"parallel\":\"auto\",\"guest-driver\":"
                                                  "\"fpb\"}");
    g_autoptr(json_object) plain =
        json_tokener_parse("{\"parallel\":\"2\",\"max-bandwidth\":1000000,\"deadline\":5}");
    const char *why = NULL;

    g_assert_cmpstr(fpbd_request_root_only_option(o, &why), ==, "guest-driver");
    g_assert_nonnull(why);
    g_assert_null(fpbd_request_root_only_option(plain, &why));
}

static void test_root_only(void)
{
    g_autoptr(json_object) o = json_tokener_parse("{\"mode\":\"hint\",\"qemu-tcg-dirty-tracking\":"
                                                  "\"fixed\"}");
    g_autoptr(json_object) plain = json_tokener_parse("{\"mode\":\"hint\",\"timeout\":5}");
    g_autoptr(json_object) mig = json_tokener_parse("{\"migrate-uri\":\"tcp://evil:4444\"}");
    const char *why = NULL;

    g_assert_cmpstr(fpbd_request_root_only_option(o, &why), ==, "qemu-tcg-dirty-tracking");
    g_assert_nonnull(strstr(why, "hint guard"));
    g_assert_cmpstr(fpbd_request_root_only_option(mig, &why), ==, "migrate-uri");
    {
        g_autoptr(json_object) risk =
            json_tokener_parse("{\"accept-risk\":\"kvm-dirty-log-window\"}");

        g_assert_cmpstr(fpbd_request_root_only_option(risk, &why), ==, "accept-risk");
    }
    g_assert_null(fpbd_request_root_only_option(plain, &why));
    g_assert_null(fpbd_request_root_only_option(NULL, &why));
}

/* Names in messages are cut at 64 bytes between characters, never inside
 * one: the reply stays UTF-8 (found by fuzz-fpbd-request; the cut fell in
 * the middle of an "é"). */
static void test_utf8_cut(void)
{
    g_autofree char *k63 = g_strnfill(63, 'k');
    g_autofree char *key_line = g_strdup_printf("{\"op\":\"ping\",\"%s\xc3\xa9\":1}", k63);
    g_autofree char *op_line = g_strdup_printf("{\"op\":\"%s\xe2\x82\xacx\"}", k63);
    g_autofree char *key_message = g_strdup_printf("ping: unknown key '%s'", k63);
    g_autofree char *op_message = g_strdup_printf("unknown op '%s' (expected", k63);
    const char *lines[] = {key_line, op_line};
    const char *messages[] = {key_message, op_message};

    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(json_object) req = fpbd_request_parse(lines[i], strlen(lines[i]), &error);
        const char *op = NULL;

        g_assert_nonnull(req);
        g_assert_false(fpbd_request_check(req, &op, &error));
        g_assert_true(g_utf8_validate(error->message, -1, NULL));
        g_assert_true(g_str_has_prefix(error->message, messages[i]));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbd/request/accepted", test_accepted);
    g_test_add_func("/fpbd/request/syntax", test_syntax);
    g_test_add_func("/fpbd/request/keys-and-types", test_keys_and_types);
    g_test_add_func("/fpbd/request/evacuate", test_evacuate);
    g_test_add_func("/fpbd/request/root-only-options", test_root_only);
    g_test_add_func("/fpbd/request/root-only-options/evacuate", test_root_only_evacuate);
    g_test_add_func("/fpbd/request/utf8-cut", test_utf8_cut);
    return g_test_run();
}
