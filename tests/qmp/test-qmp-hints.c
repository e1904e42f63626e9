/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpb-qmp-hints: the free-page-hint switch, hint statistics and the guest
 * driver's identity, against exchanges recorded from fpb's QEMU and from
 * Debian's (tests/qmp/record-hints.sh), and against replies of the wrong
 * shape. */
#include <gio/gio.h>
#include <string.h>

#include "fake-qmp-server.h"
#include "fpb-qmp.h"
#include "qmp-replay.h"
#include "qmp-test-util.h"

#define BALLOON "/machine/peripheral/balloon0"

static FpbQmpGuestDriver *query_driver(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    FpbQmpGuestDriver *driver = fpb_qmp_query_guest_driver(client, BALLOON, &error);

    g_assert_no_error(error);
    g_assert_nonnull(driver);
    return driver;
}

/* Polls query-migrate as the recording did, until the migration ended. */
static void wait_recorded_migration(FpbQmpClient *client)
{
    FpbQmpMigrationStatus status = FPB_QMP_MIGRATION_STATUS_NONE;

    while (!fpb_qmp_migration_status_is_final(status)) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate(client, &error);

        g_assert_no_error(error);
        status = info->status;
    }
    g_assert_cmpint(status, ==, FPB_QMP_MIGRATION_STATUS_COMPLETED);
}

/* What fpb's QEMU said before any migration: all zero. */
static void check_stats_before(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    FpbQmpHintStats s;

    g_assert_true(fpb_qmp_query_hint_stats(client, &s, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(s.generation, ==, 0);
    g_assert_cmpuint(s.commands, ==, 0);
    g_assert_cmpuint(s.reported_bytes, ==, 0);
    g_assert_cmpuint(s.cleared_bytes, ==, 0);
}

/* After the recorded migration of a 512 MiB guest that freed 256 MiB. */
static void check_stats_after(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    FpbQmpHintStats s;

    g_assert_true(fpb_qmp_query_hint_stats(client, &s, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(s.generation, ==, 1);
    g_assert_cmpuint(s.commands, >=, 1);
    g_assert_cmpuint(s.commands_answered, >=, 1);
    g_assert_cmpuint(s.commands_finished, <=, s.commands_answered);
    g_assert_cmpuint(s.buffers, >, 0);
    g_assert_cmpuint(s.ranges, >=, s.buffers);
    g_assert_cmpuint(s.reported_bytes, >, 256u << 20);
    g_assert_cmpuint(s.cleared_bytes, >, 256u << 20);
    g_assert_cmpuint(s.cleared_bytes, <=, s.reported_bytes);
    g_assert_cmpuint(s.report_time_us, >, 0);
    g_assert_cmpuint(s.max_report_time_us, <=, s.report_time_us);
    /* Every command started after the early clear, none with a pending log. */
    g_assert_cmpuint(s.dirty_log_clear_rounds, ==, s.commands);
    g_assert_cmpuint(s.dirty_log_cleared_chunks, >, 0);
    g_assert_cmpuint(s.dirty_log_pending_chunks, ==, 0);
}

static void check_switch(FpbQmpClient *client, gboolean want_present, gboolean want_on)
{
    g_autoptr(GError) error = NULL;
    gboolean present = !want_present;
    gboolean on = !want_on;

    g_assert_true(fpb_qmp_hints_get_switch(client, &present, &on, &error));
    g_assert_no_error(error);
    g_assert_cmpint(present, ==, want_present);
    g_assert_cmpint(on, ==, want_on);
}

static void test_recorded_fpb(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) before = NULL;
    g_autoptr(FpbQmpGuestDriver) bound = NULL;
    FpbQmpHintsSupport support = {0};
    FpbQmpClient *client;

    fake_qmp_server_load(server, "hints-fpb.jsonl");
    client = qmp_replay_serve(server);
    before = query_driver(client);
    g_assert_cmpint(before->kind, ==, FPB_QMP_GUEST_DRIVER_NONE);
    g_assert_null(before->name);
    g_assert_true(fpb_qmp_hints_query_support(client, &support, &error));
    g_assert_true(support.hint_switch);
    g_assert_true(support.hint_stats);
    check_switch(client, TRUE, TRUE); /* on by default */
    check_stats_before(client);
    bound = query_driver(client);
    g_assert_cmpint(bound->kind, ==, FPB_QMP_GUEST_DRIVER_IDENTIFIED);
    g_assert_cmpstr(bound->name, ==, "fpb_balloon");
    g_assert_cmpstr(bound->version, ==, "0.2.0");
    g_assert_cmpuint(bound->features, ==,
                     FPB_QMP_GUEST_DRIVER_F_HINT_NO_ALLOC | FPB_QMP_GUEST_DRIVER_F_HINT_FRAGMENTED);
    g_assert_true(fpb_qmp_migrate(client, "unix:/recorded", &error));
    wait_recorded_migration(client);
    check_stats_after(client);
    g_assert_true(fpb_qmp_hints_set_switch(client, FALSE, &error));
    check_switch(client, TRUE, FALSE);
    g_assert_no_error(error);
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "hints-fpb.jsonl");
}

static void test_recorded_stock_driver(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(FpbQmpGuestDriver) driver = NULL;
    FpbQmpClient *client;

    fake_qmp_server_load(server, "hints-fpb-stock.jsonl");
    client = qmp_replay_serve(server);
    driver = query_driver(client);
    /* Linux's driver sends statistics without the identity tags. */
    g_assert_cmpint(driver->kind, ==, FPB_QMP_GUEST_DRIVER_STOCK);
    g_assert_cmpstr(driver->name, ==, "virtio_balloon");
    g_assert_null(driver->version);
    g_assert_cmpuint(driver->features, ==, 0);
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "hints-fpb-stock.jsonl");
}

/* Debian's QEMU: no switch, no statistics, no property; the errors are
 * QEMU's own and reach the caller with class and description. */
static void test_recorded_debian(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) stats_error = NULL;
    g_autoptr(GError) switch_error = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) driver = NULL;
    FpbQmpHintsSupport support = {TRUE, TRUE};
    FpbQmpHintStats stats;
    FpbQmpClient *client;

    fake_qmp_server_load(server, "hints-debian.jsonl");
    client = qmp_replay_serve(server);
    g_assert_true(fpb_qmp_hints_query_support(client, &support, &error));
    g_assert_no_error(error);
    g_assert_false(support.hint_switch);
    g_assert_false(support.hint_stats);
    check_switch(client, FALSE, FALSE);
    g_assert_false(fpb_qmp_query_hint_stats(client, &stats, &stats_error));
    g_assert_error(stats_error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_cmpstr(fpb_qmp_error_get_class(stats_error), ==, "CommandNotFound");
    driver = query_driver(client);
    g_assert_cmpint(driver->kind, ==, FPB_QMP_GUEST_DRIVER_UNSUPPORTED);
    g_assert_null(driver->name);
    g_assert_false(fpb_qmp_hints_set_switch(client, FALSE, &switch_error));
    g_assert_error(switch_error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_cmpstr(fpb_qmp_error_get_desc(switch_error), ==,
                    "Parameter 'capability' does not accept value 'x-fpb-free-page-hints'");
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "hints-debian.jsonl");
}

/* A wrong path is an error, not "unsupported". */
static void test_guest_driver_wrong_path(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) driver = NULL;
    FpbQmpClient *client;

    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "qom-get");
    fake_qmp_server_reply(server, "{\"id\": 0, \"error\": {\"class\": \"DeviceNotFound\", "
                                  "\"desc\": \"Device '/machine/peripheral/nope' not found\"}}");
    client = qmp_replay_serve(server);
    driver = fpb_qmp_query_guest_driver(client, "/machine/peripheral/nope", &error);
    g_assert_null(driver);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_cmpstr(fpb_qmp_error_get_class(error), ==, "DeviceNotFound");
    qmp_replay_finish(server, client);
}

/* The reclaim request: the bound first, then the bits; the requests carry
 * exactly those values; unknown bits are refused before anything is sent;
 * QEMU's error (a QEMU without the properties) reaches the caller. */
static void test_set_reclaim(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) bad_bits = NULL;
    g_autoptr(GError) missing = NULL;
    g_autoptr(GError) error = NULL;
    FpbQmpClient *client;
    const char *path = "/machine/peripheral/balloon0";

    fake_qmp_server_handshake(server);
    fake_qmp_server_expect(server, "qom-set");
    fake_qmp_server_reply(server, "{\"id\": 0, \"return\": {}}");
    fake_qmp_server_expect(server, "qom-set");
    fake_qmp_server_reply(server, "{\"id\": 0, \"return\": {}}");
    fake_qmp_server_expect(server, "qom-set");
    fake_qmp_server_reply(server,
                          "{\"id\": 0, \"error\": {\"class\": \"GenericError\", "
                          "\"desc\": \"Property 'virtio-balloon-pci.x-fpb-reclaim-cache-mib' "
                          "not found\"}}");
    client = qmp_replay_serve(server);
    g_assert_false(fpb_qmp_balloon_set_reclaim(client, path, 4, 0, &bad_bits));
    g_assert_error(bad_bits, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_true(fpb_qmp_balloon_set_reclaim(
        client, path, FPB_QMP_RECLAIM_SPLIT | FPB_QMP_RECLAIM_CACHE, 256, &error));
    g_assert_no_error(error);
    g_assert_false(fpb_qmp_balloon_set_reclaim(client, path, FPB_QMP_RECLAIM_SPLIT, 0, &missing));
    g_assert_error(missing, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    qmp_replay_finish(server, client);
    GPtrArray *requests = fake_qmp_server_get_requests(server);
    g_assert_cmpuint(requests->len, >=, 4);
    const char *bound = g_ptr_array_index(requests, requests->len - 3);
    const char *bits = g_ptr_array_index(requests, requests->len - 2);
    g_assert_nonnull(strstr(bound, "\"x-fpb-reclaim-cache-mib\""));
    g_assert_nonnull(strstr(bound, "\"value\":256"));
    g_assert_nonnull(strstr(bits, "\"x-fpb-reclaim\""));
    g_assert_nonnull(strstr(bits, "\"value\":3"));
}

/* Waiting for the guest's answer: the request's number, then the answered
 * one until they match; a driver that never answers times out, saying how
 * far it got. */
static void test_wait_reclaim(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) late = NULL;
    FpbQmpClient *client;
    const char *path = "/machine/peripheral/balloon0";
    const char *const replies[] = {"2", "1", "2", "3", "2"};

    fake_qmp_server_handshake(server);
    for (gsize i = 0; i < G_N_ELEMENTS(replies); i++) {
        g_autofree char *r = g_strdup_printf("{\"id\": 0, \"return\": %s}", replies[i]);
        fake_qmp_server_expect(server, "qom-get");
        fake_qmp_server_reply(server, r);
    }
    client = qmp_replay_serve(server);
    g_assert_true(fpb_qmp_balloon_wait_reclaim(client, path, 5000, &error));
    g_assert_no_error(error);
    g_assert_false(fpb_qmp_balloon_wait_reclaim(client, path, 0, &late));
    g_assert_error(late, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT);
    g_assert_nonnull(strstr(late->message, "request 3"));
    g_assert_nonnull(strstr(late->message, "last answered: 2"));
    qmp_replay_finish(server, client);
}

/* The classifier on its own, for callers that send qom-get themselves. */
static void test_guest_driver_unsupported_error(void)
{
    g_autoptr(GError) missing = g_error_new(FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND, "x");
    g_autoptr(GError) other = g_error_new(FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND, "x");
    g_autoptr(GError) plain = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "Property");

    fpb_qmp_error_set_details(missing, "qom-get", "GenericError",
                              "Property 'virtio-balloon-pci.guest-driver' not found");
    fpb_qmp_error_set_details(other, "qom-get", "GenericError",
                              "Property 'virtio-balloon-pci.guest-stats' not found");
    g_assert_true(fpb_qmp_guest_driver_error_is_unsupported(missing));
    g_assert_false(fpb_qmp_guest_driver_error_is_unsupported(other));
    g_assert_false(fpb_qmp_guest_driver_error_is_unsupported(plain));
    g_assert_false(fpb_qmp_guest_driver_error_is_unsupported(NULL));
}

/* ---- the parsers on their own ---------------------------------------------- */

static json_object *parse(const char *text)
{
    json_object *obj = json_tokener_parse(text);

    g_assert_nonnull(obj);
    return obj;
}

/* The chain from migrate-set-capabilities to the enum, names masked as in
 * QEMU's schema; @cap_entity is the enum's JSON. */
static char *schema_with(const char *cap_entity)
{
    return g_strdup_printf(
        "[{\"name\": \"migrate-set-capabilities\", \"meta-type\": \"command\", "
        "\"arg-type\": \"10\", \"ret-type\": \"0\"}, "
        "{\"name\": \"10\", \"meta-type\": \"object\", \"members\": "
        "[{\"name\": \"capabilities\", \"type\": \"[11]\"}]}, "
        "{\"name\": \"[11]\", \"meta-type\": \"array\", \"element-type\": \"11\"}, "
        "{\"name\": \"11\", \"meta-type\": \"object\", \"members\": "
        "[{\"name\": \"capability\", \"type\": \"12\"}, {\"name\": \"state\", \"type\": "
        "\"bool\"}]}, "
        "%s]",
        cap_entity);
}

static void check_schema(const char *text, gboolean want_switch, gboolean want_stats)
{
    g_autoptr(json_object) schema = parse(text);
    g_autoptr(GError) error = NULL;
    FpbQmpHintsSupport s = {!want_switch, !want_stats};

    g_test_message("schema %s", text);
    g_assert_true(fpb_qmp_hints_schema_parse(schema, &s, &error));
    g_assert_no_error(error);
    g_assert_cmpint(s.hint_switch, ==, want_switch);
    g_assert_cmpint(s.hint_stats, ==, want_stats);
}

static void test_schema_shapes(void)
{
    const char *fpb_enum = "{\"name\": \"12\", \"meta-type\": \"enum\", \"members\": "
                           "[{\"name\": \"events\"}, {\"name\": \"x-fpb-free-page-hints\"}]}";
    const char *values_only = "{\"name\": \"12\", \"meta-type\": \"enum\", \"values\": "
                              "[\"events\", \"x-fpb-free-page-hints\"]}";
    const char *stock_enum =
        "{\"name\": \"12\", \"meta-type\": \"enum\", \"members\": [{\"name\": \"events\"}]}";
    /* The value elsewhere does not count: only MigrationCapability does. */
    const char *elsewhere = "{\"name\": \"12\", \"meta-type\": \"enum\", \"members\": "
                            "[{\"name\": \"events\"}]}, {\"name\": \"99\", \"meta-type\": "
                            "\"enum\", \"members\": [{\"name\": \"x-fpb-free-page-hints\"}]}";
    const char *wrong_meta = "{\"name\": \"12\", \"meta-type\": \"object\", \"members\": "
                             "[{\"name\": \"x-fpb-free-page-hints\", \"type\": \"int\"}]}";
    const char *with_command = "{\"name\": \"12\", \"meta-type\": \"enum\", \"members\": []}, "
                               "{\"name\": \"x-fpb-query-hint-stats\", \"meta-type\": "
                               "\"command\", \"arg-type\": \"0\", \"ret-type\": \"13\"}";
    g_autofree char *a = schema_with(fpb_enum);
    g_autofree char *b = schema_with(values_only);
    g_autofree char *c = schema_with(stock_enum);
    g_autofree char *d = schema_with(elsewhere);
    g_autofree char *e = schema_with(wrong_meta);
    g_autofree char *f = schema_with(with_command);

    check_schema(a, TRUE, FALSE);
    check_schema(b, TRUE, FALSE);
    check_schema(c, FALSE, FALSE);
    check_schema(d, FALSE, FALSE);
    check_schema(e, FALSE, FALSE);
    check_schema(f, FALSE, TRUE);
    /* Broken chains and junk entries: "not there". */
    check_schema("[]", FALSE, FALSE);
    check_schema("[1, \"x\", null, {\"name\": 5}, {\"name\": \"migrate-set-capabilities\", "
                 "\"meta-type\": \"command\", \"arg-type\": \"404\"}]",
                 FALSE, FALSE);
}

static void test_schema_not_array(void)
{
    g_autoptr(json_object) schema = parse("{\"return\": []}");
    g_autoptr(GError) error = NULL;
    FpbQmpHintsSupport s;

    g_assert_false(fpb_qmp_hints_schema_parse(schema, &s, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_nonnull(strstr(error->message, "not a JSON array"));
}

#define STATS_OK                                                                                   \
    "\"generation\": 1, \"commands\": 2, \"commands-answered\": 2, \"commands-finished\": 1, "     \
    "\"buffers\": 3, \"ranges\": 9, \"reported-bytes\": 4096, \"ignored-buffers\": 0, "            \
    "\"cleared-bytes\": 4096, \"report-time-us\": 10, \"max-report-time-us\": 10, "                \
    "\"dirty-log-clear-rounds\": 2, \"dirty-log-cleared-chunks\": 4"

static void test_stats_shapes(void)
{
    const struct {
        const char *json;
        const char *part; /* NULL: parses */
    } cases[] = {
        {"{" STATS_OK ", \"dirty-log-pending-chunks\": 0}", NULL},
        {"{" STATS_OK ", \"dirty-log-pending-chunks\": 0, \"new-field\": true}", NULL},
        {"{" STATS_OK "}", "field 'dirty-log-pending-chunks' is missing"},
        {"{" STATS_OK ", \"dirty-log-pending-chunks\": -1}", "out of range"},
        {"{" STATS_OK ", \"dirty-log-pending-chunks\": \"0\"}", "is a string"},
        {"[]", "not a JSON object"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(json_object) reply = parse(cases[i].json);
        g_autoptr(GError) error = NULL;
        FpbQmpHintStats s = {0};
        gboolean ok = fpb_qmp_hint_stats_parse(reply, &s, &error);

        g_test_message("%s", cases[i].json);
        if (cases[i].part == NULL) {
            g_assert_no_error(error);
            g_assert_true(ok);
            g_assert_cmpuint(s.ranges, ==, 9);
            g_assert_cmpuint(s.dirty_log_cleared_chunks, ==, 4);
            continue;
        }
        g_assert_false(ok);
        g_assert_cmpuint(s.generation, ==, 0); /* untouched on failure */
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        g_assert_nonnull(strstr(error->message, cases[i].part));
    }
}

static void test_guest_driver_shapes(void)
{
    const struct {
        const char *json;
        const char *part;
    } bad[] = {
        {"{}", "field 'state' is missing"},
        {"{\"state\": \"happy\"}", "unknown value 'happy'"},
        {"{\"state\": \"identified\", \"version\": \"1\", \"features\": 0}",
         "field 'name' is missing"},
        {"{\"state\": \"identified\", \"name\": \"x\", \"features\": 0}",
         "field 'version' is missing"},
        {"{\"state\": \"identified\", \"name\": \"x\", \"version\": \"1\"}",
         "field 'features' is missing"},
        {"{\"state\": \"identified\", \"name\": \"a\\u0007b\", \"version\": \"1\", \"features\": "
         "0}",
         "field 'name' is not up to 16 printable"},
        {"{\"state\": \"identified\", \"name\": \"abcdefghijklmnopq\", \"version\": \"1\", "
         "\"features\": 0}",
         "field 'name' is not up to 16 printable"},
        {"{\"state\": \"identified\", \"name\": \"x\", \"version\": \"1\", \"features\": -1}",
         "out of range"},
        {"\"identified\"", "not a JSON object"},
    };
    g_autoptr(json_object) longest =
        parse("{\"state\": \"identified\", \"name\": \"abcdefghijklmnop\", \"version\": \"\", "
              "\"features\": 4}");
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpGuestDriver) ok = fpb_qmp_guest_driver_parse(longest, &error);

    g_assert_no_error(error);
    g_assert_cmpstr(ok->name, ==, "abcdefghijklmnop");
    g_assert_cmpstr(ok->version, ==, "");
    g_assert_cmpuint(ok->features, ==, FPB_QMP_GUEST_DRIVER_F_REPORTING);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(json_object) reply = parse(bad[i].json);
        g_autoptr(GError) e = NULL;
        g_autoptr(FpbQmpGuestDriver) driver = fpb_qmp_guest_driver_parse(reply, &e);

        g_test_message("%s", bad[i].json);
        g_assert_null(driver);
        g_assert_error(e, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        g_assert_nonnull(strstr(e->message, bad[i].part));
    }
    g_assert_cmpstr(fpb_qmp_guest_driver_kind_to_string(FPB_QMP_GUEST_DRIVER_STOCK), ==, "stock");
    g_assert_cmpstr(fpb_qmp_guest_driver_kind_to_string((FpbQmpGuestDriverKind)42), ==, "unknown");
}

static void test_capabilities_shapes(void)
{
    g_autoptr(json_object) missing_state = parse("[{\"capability\": \"events\"}]");
    g_autoptr(json_object) not_array = parse("{}");
    g_autoptr(json_object) later = parse("[{\"capability\": \"events\", \"state\": true}, "
                                         "{\"capability\": \"x-fpb-free-page-hints\", "
                                         "\"state\": false}]");
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    gboolean present = FALSE;
    gboolean on = TRUE;

    g_assert_false(fpb_qmp_hints_capabilities_parse(missing_state, &present, &on, &e1));
    g_assert_error(e1, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_nonnull(strstr(e1->message, "field 'state' is missing"));
    g_assert_false(fpb_qmp_hints_capabilities_parse(not_array, &present, &on, &e2));
    g_assert_error(e2, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
    g_assert_true(fpb_qmp_hints_capabilities_parse(later, &present, &on, NULL));
    g_assert_true(present);
    g_assert_false(on);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/hints/recorded/fpb", test_recorded_fpb);
    g_test_add_func("/qmp/hints/recorded/stock-driver", test_recorded_stock_driver);
    g_test_add_func("/qmp/hints/recorded/debian", test_recorded_debian);
    g_test_add_func("/qmp/hints/guest-driver/wrong-path", test_guest_driver_wrong_path);
    g_test_add_func("/qmp/hints/reclaim/set", test_set_reclaim);
    g_test_add_func("/qmp/hints/reclaim/wait", test_wait_reclaim);
    g_test_add_func("/qmp/hints/guest-driver/unsupported-error",
                    test_guest_driver_unsupported_error);
    g_test_add_func("/qmp/hints/schema/shapes", test_schema_shapes);
    g_test_add_func("/qmp/hints/schema/not-array", test_schema_not_array);
    g_test_add_func("/qmp/hints/stats/shapes", test_stats_shapes);
    g_test_add_func("/qmp/hints/guest-driver/shapes", test_guest_driver_shapes);
    g_test_add_func("/qmp/hints/capabilities/shapes", test_capabilities_shapes);
    return g_test_run();
}
