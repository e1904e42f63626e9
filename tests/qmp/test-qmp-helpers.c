/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The typed helpers against replies recorded from QEMU 7.2, and against
 * replies of the wrong shape. */
#include <string.h>

#include "fake-qmp-server.h"
#include "fpb-qmp.h"
#include "qmp-replay.h"
#include "qmp-test-util.h"

#define TIMEOUT 5000
#define BALLOON "/machine/peripheral/balloon0"

/* The order of queries.jsonl: status, version, name, balloon. */
static void check_machine_queries(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    g_autoptr(FpbQmpVersion) version = NULL;
    g_autofree char *name = NULL;
    guint64 actual = 0;

    status = fpb_qmp_query_status(client, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(status->status, ==, "running");
    g_assert_true(status->running);
    version = fpb_qmp_query_version(client, &error);
    g_assert_no_error(error);
    g_assert_cmpint(version->major, ==, 7);
    g_assert_cmpint(version->minor, ==, 2);
    g_assert_true(fpb_qmp_query_name(client, &name, &error));
    g_assert_cmpstr(name, ==, "fpb-src");
    g_assert_true(fpb_qmp_query_balloon(client, &actual, &error));
    g_assert_cmpuint(actual, ==, 128 * 1024 * 1024);
}

/* Then x-query-virtio, x-query-virtio-status. */
static void check_virtio_queries(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) devices = NULL;
    g_autoptr(FpbQmpVirtioStatus) vs = NULL;

    devices = fpb_qmp_query_virtio(client, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(devices->len, ==, 1);
    g_assert_cmpstr(((FpbQmpVirtioDevice *)devices->pdata[0])->path, ==, BALLOON "/virtio-backend");
    vs = fpb_qmp_query_virtio_status(client, BALLOON "/virtio-backend", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vs->name, ==, "virtio-balloon");
    g_assert_cmpuint(vs->device_id, ==, 5);
    g_assert_true(vs->host_balloon.free_page_hint);
    g_assert_true(vs->host_balloon.stats_vq);
    g_assert_false(vs->host_balloon.reporting);
    g_assert_false(vs->guest_balloon.free_page_hint); /* no guest driver */
    g_assert_false(vs->driver_ok);
    g_assert_true(vs->host.has_unknown);
    g_assert_true(fpb_qmp_virtio_features_has(&vs->host, "VIRTIO_F_VERSION_1"));
}

/* Then the balloon's QOM properties. */
static void check_balloon_properties(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    FpbQmpBalloonStats stats;
    gint64 interval = -1;
    gboolean hint = FALSE;
    gboolean reporting = TRUE;

    g_assert_true(fpb_qmp_balloon_get_stats(client, BALLOON, &stats, &error));
    g_assert_cmpuint(stats.free_memory, ==, FPB_QMP_STAT_UNAVAILABLE);
    g_assert_cmpint(stats.last_update, ==, 0);
    g_assert_true(fpb_qmp_balloon_set_stats_interval(client, BALLOON, 2, &error));
    g_assert_true(fpb_qmp_balloon_get_stats_interval(client, BALLOON, &interval, &error));
    g_assert_cmpint(interval, ==, 2);
    g_assert_true(fpb_qmp_balloon_get_free_page_hint(client, BALLOON, &hint, &error));
    g_assert_true(hint);
    g_assert_true(fpb_qmp_balloon_get_free_page_reporting(client, BALLOON, &reporting, &error));
    g_assert_false(reporting);
    g_assert_no_error(error);
}

/* Last, the migration-related queries. */
static void check_migration_queries(FpbQmpClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    FpbQmpMigrationParameters params;
    FpbQmpDirtyRateInfo dirty;

    g_assert_true(fpb_qmp_query_migrate_parameters(client, &params, &error));
    g_assert_true(params.has_max_bandwidth);
    g_assert_cmpuint(params.max_bandwidth, ==, 134217728);
    g_assert_cmpuint(params.downtime_limit, ==, 300);
    info = fpb_qmp_query_migrate(client, &error);
    g_assert_no_error(error);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_NONE);
    g_assert_false(info->has_ram);
    g_assert_true(fpb_qmp_query_dirty_rate(client, &dirty, &error));
    g_assert_cmpint(dirty.status, ==, FPB_QMP_DIRTY_RATE_UNSTARTED);
    g_assert_cmpint(dirty.mode, ==, FPB_QMP_DIRTY_RATE_MODE_PAGE_SAMPLING);
    g_assert_false(dirty.has_dirty_rate);
    g_assert_no_error(error);
}

static void test_recorded_queries(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    FpbQmpClient *client;

    fake_qmp_server_load(server, "queries.jsonl");
    client = qmp_replay_serve(server);
    check_machine_queries(client);
    check_virtio_queries(client);
    check_balloon_properties(client);
    check_migration_queries(client);
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "queries.jsonl");
}

typedef struct {
    GPtrArray *events; /* FpbQmpEvent */
} Events;

static void collect(FpbQmpClient *client, const char *name, json_object *data, gint64 stamp,
                    gpointer user_data)
{
    Events *events = user_data;
    g_autoptr(GError) error = NULL;
    FpbQmpEvent *event = fpb_qmp_event_parse(name, data, stamp, &error);

    (void)client;
    g_assert_no_error(error);
    g_ptr_array_add(events->events, event);
}

static FpbQmpEvent *event_at(Events *events, guint i)
{
    g_assert_cmpuint(i, <, events->events->len);
    return events->events->pdata[i];
}

static void test_recorded_events(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    g_autoptr(json_object) stopped = NULL;
    g_autoptr(json_object) cont = NULL;
    Events events = {g_ptr_array_new_with_free_func((GDestroyNotify)fpb_qmp_event_free)};
    FpbQmpDirtyRateInfo dirty;
    FpbQmpClient *client;
    guint64 actual = 0;

    fake_qmp_server_load(server, "events.jsonl");
    client = qmp_replay_serve(server);
    fpb_qmp_client_set_event_handler(client, collect, &events, NULL);
    stopped = fpb_qmp_client_execute(client, "stop", NULL, TIMEOUT, &error);
    /* The STOP event came before the reply: it is already delivered. */
    g_assert_cmpuint(events.events->len, ==, 1);
    g_assert_cmpint(event_at(&events, 0)->type, ==, FPB_QMP_EVENT_STOP);
    g_assert_cmpint(event_at(&events, 0)->timestamp_us, >, 1700000000LL * G_USEC_PER_SEC);
    status = fpb_qmp_query_status(client, &error);
    g_assert_cmpstr(status->status, ==, "paused");
    g_assert_false(status->running);
    cont = fpb_qmp_client_execute(client, "cont", NULL, TIMEOUT, &error);
    g_assert_cmpint(event_at(&events, 1)->type, ==, FPB_QMP_EVENT_RESUME);
    g_assert_true(fpb_qmp_balloon_set_target(client, 64 * 1024 * 1024, &error));
    g_assert_true(fpb_qmp_query_balloon(client, &actual, &error));
    g_assert_true(fpb_qmp_calc_dirty_rate(client, 1, 0, &error));
    g_assert_true(fpb_qmp_query_dirty_rate(client, &dirty, &error));
    g_assert_cmpint(dirty.status, ==, FPB_QMP_DIRTY_RATE_MEASURING);
    g_assert_cmpuint(dirty.sample_pages, ==, 512);
    g_assert_true(fpb_qmp_query_dirty_rate(client, &dirty, &error));
    g_assert_cmpint(dirty.status, ==, FPB_QMP_DIRTY_RATE_MEASURED);
    g_assert_true(dirty.has_dirty_rate);
    g_assert_no_error(error);
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "events.jsonl");
    g_ptr_array_unref(events.events);
}

/* MIGRATION setup ... completed, MIGRATION_PASS counting up. */
static void check_migration_events(Events *events)
{
    gint64 last_pass = 0;

    g_assert_cmpint(event_at(events, 0)->migration_status, ==, FPB_QMP_MIGRATION_STATUS_SETUP);
    for (guint i = 0; i < events->events->len; i++) {
        FpbQmpEvent *e = event_at(events, i);

        if (e->type == FPB_QMP_EVENT_MIGRATION_PASS) {
            g_assert_cmpint(e->pass, ==, last_pass + 1);
            last_pass = e->pass;
        }
    }
    g_assert_cmpint(last_pass, >=, 2);
    g_assert_cmpint(event_at(events, events->events->len - 1)->migration_status, ==,
                    FPB_QMP_MIGRATION_STATUS_COMPLETED);
}

static void test_recorded_migration(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    Events events = {g_ptr_array_new_with_free_func((GDestroyNotify)fpb_qmp_event_free)};
    const FpbQmpMigrationCapability caps[] = {{"events", TRUE}};
    FpbQmpMigrationParameters set = {.has_max_bandwidth = TRUE,
                                     .max_bandwidth = 1 << 30,
                                     .has_downtime_limit = TRUE,
                                     .downtime_limit = 500};
    FpbQmpMigrationParameters got;
    FpbQmpMigrationStatus last = FPB_QMP_MIGRATION_STATUS_NONE;
    FpbQmpClient *client;

    fake_qmp_server_load(server, "migration.jsonl");
    client = qmp_replay_serve(server);
    fpb_qmp_client_set_event_handler(client, collect, &events, NULL);
    g_assert_true(fpb_qmp_migrate_set_capabilities(client, caps, 1, &error));
    g_assert_true(fpb_qmp_migrate_set_parameters(client, &set, &error));
    g_assert_true(fpb_qmp_query_migrate_parameters(client, &got, &error));
    g_assert_cmpuint(got.max_bandwidth, ==, 1 << 30);
    g_assert_cmpuint(got.downtime_limit, ==, 500);
    g_assert_true(fpb_qmp_migrate(client, "unix:/recorded", &error));
    while (!fpb_qmp_migration_status_is_final(last)) {
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate(client, &error);

        g_assert_no_error(error);
        last = info->status;
        g_assert_true(info->has_ram);
        if (last == FPB_QMP_MIGRATION_STATUS_COMPLETED) {
            g_assert_cmpuint(info->ram.page_size, ==, 4096);
            g_assert_cmpuint(info->ram.total, >, 128 * 1024 * 1024);
            g_assert_cmpuint(info->ram.remaining, ==, 0);
            g_assert_cmpuint(info->ram.dirty_sync_count, >=, 2);
            g_assert_true(info->has_downtime && info->has_total_time && info->has_setup_time);
            g_assert_false(info->has_expected_downtime);
        }
    }
    g_assert_cmpint(last, ==, FPB_QMP_MIGRATION_STATUS_COMPLETED);
    status = fpb_qmp_query_status(client, &error);
    g_assert_cmpstr(status->status, ==, "postmigrate");
    g_assert_true(fpb_qmp_migrate_cancel(client, &error));
    g_assert_no_error(error);
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "migration.jsonl");
    check_migration_events(&events);
    g_ptr_array_unref(events.events);
}

static void test_recorded_incoming(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    g_autoptr(json_object) quit = NULL;
    Events events = {g_ptr_array_new_with_free_func((GDestroyNotify)fpb_qmp_event_free)};
    const FpbQmpMigrationCapability caps[] = {{"events", TRUE}};
    FpbQmpEvent *last;
    FpbQmpClient *client;

    fake_qmp_server_load(server, "incoming.jsonl");
    client = qmp_replay_serve(server);
    fpb_qmp_client_set_event_handler(client, collect, &events, NULL);
    g_assert_true(fpb_qmp_migrate_set_capabilities(client, caps, 1, &error));
    g_assert_true(fpb_qmp_migrate_incoming(client, "unix:/recorded", &error));
    info = fpb_qmp_query_migrate(client, &error);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_COMPLETED);
    g_assert_false(info->has_ram); /* the destination reports no stats */
    status = fpb_qmp_query_status(client, &error);
    g_assert_true(status->running);
    quit = fpb_qmp_client_execute(client, "quit", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    last = event_at(&events, events.events->len - 1);
    g_assert_cmpint(last->type, ==, FPB_QMP_EVENT_SHUTDOWN);
    g_assert_false(last->shutdown_guest);
    g_assert_cmpstr(last->shutdown_reason, ==, "host-qmp-quit");
    qmp_replay_finish(server, client);
    qmp_replay_check_requests(server, "incoming.jsonl");
    g_ptr_array_unref(events.events);
}

/* ---- wrong shapes ---------------------------------------------------------- */

typedef gboolean (*HelperCall)(FpbQmpClient *client, GError **error);

static gboolean call_status(FpbQmpClient *c, GError **e)
{
    g_autoptr(FpbQmpStatus) s = fpb_qmp_query_status(c, e);
    return s != NULL;
}

static gboolean call_version(FpbQmpClient *c, GError **e)
{
    g_autoptr(FpbQmpVersion) v = fpb_qmp_query_version(c, e);
    return v != NULL;
}

static gboolean call_name(FpbQmpClient *c, GError **e)
{
    g_autofree char *name = NULL;
    return fpb_qmp_query_name(c, &name, e);
}

static gboolean call_balloon(FpbQmpClient *c, GError **e)
{
    guint64 actual;
    return fpb_qmp_query_balloon(c, &actual, e);
}

static gboolean call_virtio(FpbQmpClient *c, GError **e)
{
    g_autoptr(GPtrArray) d = fpb_qmp_query_virtio(c, e);
    return d != NULL;
}

static gboolean call_virtio_status(FpbQmpClient *c, GError **e)
{
    g_autoptr(FpbQmpVirtioStatus) s = fpb_qmp_query_virtio_status(c, "/x", e);
    return s != NULL;
}

static gboolean call_stats(FpbQmpClient *c, GError **e)
{
    FpbQmpBalloonStats stats;
    return fpb_qmp_balloon_get_stats(c, BALLOON, &stats, e);
}

static gboolean call_interval(FpbQmpClient *c, GError **e)
{
    gint64 seconds;
    return fpb_qmp_balloon_get_stats_interval(c, BALLOON, &seconds, e);
}

static gboolean call_hint(FpbQmpClient *c, GError **e)
{
    gboolean hint;
    return fpb_qmp_balloon_get_free_page_hint(c, BALLOON, &hint, e);
}

static gboolean call_params(FpbQmpClient *c, GError **e)
{
    FpbQmpMigrationParameters p;
    return fpb_qmp_query_migrate_parameters(c, &p, e);
}

static gboolean call_migrate(FpbQmpClient *c, GError **e)
{
    g_autoptr(FpbQmpMigrationInfo) i = fpb_qmp_query_migrate(c, e);
    return i != NULL;
}

static gboolean call_dirty(FpbQmpClient *c, GError **e)
{
    FpbQmpDirtyRateInfo d;
    return fpb_qmp_query_dirty_rate(c, &d, e);
}

#define RAM_OK                                                                                     \
    "\"transferred\": 1, \"remaining\": 0, \"total\": 1, \"duplicate\": 0, \"skipped\": 0, "       \
    "\"normal\": 0, \"normal-bytes\": 0, \"dirty-pages-rate\": 0, \"mbps\": 1.5, "                 \
    "\"dirty-sync-count\": 1, \"postcopy-requests\": 0, \"page-size\": 4096, "                     \
    "\"multifd-bytes\": 0, \"pages-per-second\": 0, \"precopy-bytes\": 0, "                        \
    "\"downtime-bytes\": 0, \"postcopy-bytes\": 0, \"dirty-sync-missed-zero-copy\": 0"

static const struct {
    const char *command;
    const char *ret;
    HelperCall call;
    const char *part;
} shapes[] = {
    {"query-status", "[]", call_status, "reply is a array, expected a object"},
    {"query-status", "{\"running\": true}", call_status, "field 'status' is missing"},
    {"query-status", "{\"status\": 1, \"running\": true}", call_status, "field 'status' is a int"},
    {"query-status", "{\"status\": \"running\", \"running\": 1}", call_status,
     "field 'running' is a int"},
    {"query-version", "{\"qemu\": {\"major\": 7, \"minor\": 2}, \"package\": \"\"}", call_version,
     "field 'micro' is missing"},
    {"query-version", "{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": -1}, \"package\": \"\"}",
     call_version, "out of range"},
    {"query-name", "{\"name\": 5}", call_name, "field 'name' is a int"},
    {"query-balloon", "{}", call_balloon, "field 'actual' is missing"},
    {"query-balloon", "{\"actual\": -1}", call_balloon, "out of range"},
    {"x-query-virtio", "{}", call_virtio, "reply is a object, expected a array"},
    {"x-query-virtio", "[{\"path\": \"/p\"}]", call_virtio, "field 'name' is missing"},
    {"x-query-virtio-status", "{\"name\": \"virtio-balloon\"}", call_virtio_status,
     "field 'device-id' is missing"},
    {"x-query-virtio-status",
     "{\"name\": \"b\", \"device-id\": 70000, \"vm-running\": true, \"broken\": false, "
     "\"started\": true, \"disabled\": false}",
     call_virtio_status, "out of range [0, 65535]"},
    {"x-query-virtio-status",
     "{\"name\": \"b\", \"device-id\": 5, \"vm-running\": true, \"broken\": false, "
     "\"started\": true, \"disabled\": false, \"status\": {\"statuses\": []}, "
     "\"host-features\": {\"transports\": [], \"dev-features\": [1]}}",
     call_virtio_status, "field 'dev-features' has an element that is not a string"},
    {"qom-get", "{\"last-update\": 0}", call_stats, "field 'stats' is missing"},
    {"qom-get", "{\"stats\": {\"stat-free-memory\": -5}, \"last-update\": 0}", call_stats,
     "out of range"},
    {"qom-get", "\"2\"", call_interval, "not an integer"},
    {"qom-get", "4294967296", call_interval, "out of range"},
    {"qom-get", "1", call_hint, "reply is a int, expected a boolean"},
    {"query-migrate-parameters", "{\"max-bandwidth\": \"fast\"}", call_params,
     "field 'max-bandwidth' is a string"},
    {"query-migrate-parameters", "{\"multifd-channels\": 300}", call_params, "out of range"},
    {"query-migrate", "{\"status\": 3}", call_migrate, "field 'status' is a int"},
    {"query-migrate", "{\"status\": \"active\", \"ram\": {\"total\": 1}}", call_migrate,
     "member 'ram': field 'transferred' is missing"},
    {"query-migrate", "{\"status\": \"active\", \"ram\": {" RAM_OK "}, \"downtime\": -3}",
     call_migrate, "field 'downtime'"},
    {"query-migrate", "{\"status\": \"active\", \"ram\": {" RAM_OK ", \"mbps\": \"x\"}}",
     call_migrate, "field 'mbps' is a string"},
    {"query-dirty-rate", "{\"status\": \"measured\"}", call_dirty, "field 'mode' is missing"},
};

static void test_wrong_shapes(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(shapes); i++) {
        g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *reply = g_strdup_printf("{\"return\": %s, \"id\": 0}", shapes[i].ret);
        g_autofree char *prefix = NULL;
        FpbQmpClient *client;

        g_test_message("%s -> %s", shapes[i].command, shapes[i].ret);
        fake_qmp_server_handshake(server);
        fake_qmp_server_expect(server, shapes[i].command);
        fake_qmp_server_reply(server, reply);
        client = qmp_replay_serve(server);
        g_assert_false(shapes[i].call(client, &error));
        g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        prefix = g_strdup_printf("QMP socket '%s': command '%s'", fake_qmp_server_get_path(server),
                                 shapes[i].command);
        if (!g_str_has_prefix(error->message, prefix) || !strstr(error->message, shapes[i].part)) {
            g_error("unexpected message '%s'", error->message);
        }
        /* A bad reply is the command's problem, not the connection's. */
        g_assert_false(fpb_qmp_client_is_broken(client));
        qmp_replay_finish(server, client);
    }
}

/* ---- events ---------------------------------------------------------------- */

static FpbQmpEvent *parse_event(const char *name, const char *data, GError **error)
{
    g_autoptr(json_object) obj = data ? json_tokener_parse(data) : NULL;

    return fpb_qmp_event_parse(name, obj, 42, error);
}

static void test_event_parse(void)
{
    const struct {
        const char *name;
        const char *data;
        const char *part;
    } bad[] = {
        {"MIGRATION", NULL, "not a JSON object"},
        {"MIGRATION", "{\"status\": 1}", "field 'status'"},
        {"MIGRATION_PASS", "{\"pass\": -1}", "out of range"},
        {"BALLOON_CHANGE", "{}", "field 'actual' is missing"},
        {"BALLOON_CHANGE", "{\"actual\": -1}", "out of range"},
        {"SHUTDOWN", "{\"guest\": \"yes\", \"reason\": \"guest-shutdown\"}", "field 'guest'"},
        {"SHUTDOWN", "{\"guest\": true}", "field 'reason' is missing"},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpEvent) balloon = NULL;
    g_autoptr(FpbQmpEvent) migration = NULL;
    g_autoptr(FpbQmpEvent) other = NULL;

    /* From the schema's example: QEMU without a guest never sends it. */
    balloon = parse_event("BALLOON_CHANGE", "{\"actual\": 944766976}", &error);
    g_assert_no_error(error);
    g_assert_cmpint(balloon->type, ==, FPB_QMP_EVENT_BALLOON_CHANGE);
    g_assert_cmpuint(balloon->balloon_actual, ==, 944766976);
    g_assert_cmpint(balloon->timestamp_us, ==, 42);
    migration = parse_event("MIGRATION", "{\"status\": \"brand-new-state\"}", &error);
    g_assert_cmpint(migration->migration_status, ==, FPB_QMP_MIGRATION_STATUS_UNKNOWN);
    other = parse_event("DEVICE_DELETED", "{\"whatever\": []}", &error);
    g_assert_cmpint(other->type, ==, FPB_QMP_EVENT_OTHER);
    g_assert_cmpstr(other->name, ==, "DEVICE_DELETED");
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(FpbQmpEvent) event = parse_event(bad[i].name, bad[i].data, &e);

        g_assert_null(event);
        g_assert_error(e, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL);
        g_assert_nonnull(strstr(e->message, bad[i].part));
    }
}

static void test_invalid_arguments(void)
{
    g_autoptr(FakeQmpServer) server = fake_qmp_server_new();
    FpbQmpMigrationParameters none = {0};
    FpbQmpMigrationParameters too_big = {.has_multifd_channels = TRUE, .multifd_channels = 256};
    FpbQmpClient *client;
    GError *error = NULL;

    fake_qmp_server_handshake(server);
    client = qmp_replay_serve(server);
    g_assert_false(fpb_qmp_balloon_set_target(client, 0, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fpb_qmp_calc_dirty_rate(client, 0, 0, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fpb_qmp_calc_dirty_rate(client, 1, 100, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fpb_qmp_migrate_set_parameters(client, &none, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fpb_qmp_migrate_set_parameters(client, &too_big, &error));
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_INVALID);
    g_clear_error(&error);
    /* Nothing was sent. */
    qmp_replay_finish(server, client);
    g_assert_cmpuint(fake_qmp_server_get_requests(server)->len, ==, 1);
}

static void test_qom_path(void)
{
    g_autofree char *a = fpb_qmp_virtio_device_qom_path(BALLOON "/virtio-backend");
    g_autofree char *b = fpb_qmp_virtio_device_qom_path(BALLOON);

    g_assert_cmpstr(a, ==, BALLOON);
    g_assert_cmpstr(b, ==, BALLOON);
    g_assert_cmpstr(fpb_qmp_migration_status_to_string(FPB_QMP_MIGRATION_STATUS_WAIT_UNPLUG), ==,
                    "wait-unplug");
    g_assert_cmpint(fpb_qmp_migration_status_from_string("postcopy-active"), ==,
                    FPB_QMP_MIGRATION_STATUS_POSTCOPY_ACTIVE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/helpers/recorded-queries", test_recorded_queries);
    g_test_add_func("/qmp/helpers/recorded-events", test_recorded_events);
    g_test_add_func("/qmp/helpers/recorded-migration", test_recorded_migration);
    g_test_add_func("/qmp/helpers/recorded-incoming", test_recorded_incoming);
    g_test_add_func("/qmp/helpers/wrong-shapes", test_wrong_shapes);
    g_test_add_func("/qmp/helpers/invalid-arguments", test_invalid_arguments);
    g_test_add_func("/qmp/helpers/paths-and-names", test_qom_path);
    g_test_add_func("/qmp/event/parse", test_event_parse);
    return g_test_run();
}
