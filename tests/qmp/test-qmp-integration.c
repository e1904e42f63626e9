/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every typed helper that works without a guest kernel, against a real QEMU
 * (TCG, 128 MiB, a free-page-hint balloon, the firmware running). Each test
 * starts its own QEMU and kills it by PID; sockets live in a temporary
 * directory removed on every path (see qmp-test-util.c). */
#include <stdio.h>
#include <string.h>

#include "fpb-qmp.h"
#include "qmp-test-util.h"

#define TIMEOUT 10000
#define BALLOON "/machine/peripheral/balloon0"

typedef struct {
    char *dir;
    GPid pid;
    char *socket;
    FpbQmpClient *client;
    GPtrArray *events; /* FpbQmpEvent */
} Vm;

static void collect(FpbQmpClient *client, const char *name, json_object *data, gint64 stamp,
                    gpointer user_data)
{
    GPtrArray *events = user_data;
    g_autoptr(GError) error = NULL;
    FpbQmpEvent *event = fpb_qmp_event_parse(name, data, stamp, &error);

    (void)client;
    g_assert_no_error(error);
    g_ptr_array_add(events, event);
}

static void vm_start(Vm *vm, const char *dir, const char *name, const char *const *extra)
{
    g_autoptr(GError) error = NULL;

    memset(vm, 0, sizeof(*vm));
    vm->dir = g_strdup(dir);
    vm->pid = qmp_test_qemu_start(dir, name, extra, &vm->socket, &error);
    g_assert_no_error(error);
    g_assert_cmpint(vm->pid, >, 0);
    vm->client = fpb_qmp_client_connect(vm->socket, TIMEOUT, &error);
    g_assert_no_error(error);
    vm->events = g_ptr_array_new_with_free_func((GDestroyNotify)fpb_qmp_event_free);
    fpb_qmp_client_set_event_handler(vm->client, collect, vm->events, NULL);
}

static void vm_stop(Vm *vm)
{
    fpb_qmp_client_free(vm->client);
    qmp_test_qemu_kill(vm->pid);
    g_ptr_array_unref(vm->events);
    g_free(vm->socket);
    g_free(vm->dir);
}

/* The last event named @type, or NULL. */
static FpbQmpEvent *last_event(Vm *vm, FpbQmpEventType type)
{
    for (guint i = vm->events->len; i > 0; i--) {
        FpbQmpEvent *e = vm->events->pdata[i - 1];

        if (e->type == type) {
            return e;
        }
    }
    return NULL;
}

static void test_queries(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    g_autoptr(FpbQmpVersion) version = NULL;
    g_autofree char *name = NULL;
    guint64 actual = 0;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    status = fpb_qmp_query_status(vm.client, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(status->status, ==, "running");
    version = fpb_qmp_query_version(vm.client, &error);
    g_assert_no_error(error);
    g_assert_cmpint(version->major, ==, fpb_qmp_client_get_version(vm.client)->major);
    g_assert_cmpint(version->minor, ==, fpb_qmp_client_get_version(vm.client)->minor);
    g_assert_true(fpb_qmp_query_name(vm.client, &name, &error));
    g_assert_cmpstr(name, ==, "qmp");
    g_assert_true(fpb_qmp_query_balloon(vm.client, &actual, &error));
    g_assert_cmpuint(actual, ==, 128 * 1024 * 1024);
    /* Without a guest driver QEMU accepts the target and nothing happens. */
    g_assert_true(fpb_qmp_balloon_set_target(vm.client, 64 * 1024 * 1024, &error));
    g_assert_no_error(error);
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_balloon_device(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpVirtioStatus) vs = NULL;
    g_autofree char *path = NULL;
    g_autofree char *qom = NULL;
    FpbQmpBalloonStats stats;
    gint64 interval = -1;
    gboolean hint = FALSE;
    gboolean reporting = TRUE;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    g_assert_true(fpb_qmp_virtio_find_balloon(vm.client, &path, &error));
    g_assert_cmpstr(path, ==, BALLOON "/virtio-backend");
    vs = fpb_qmp_query_virtio_status(vm.client, path, &error);
    g_assert_no_error(error);
    g_assert_true(vs->host_balloon.free_page_hint);
    g_assert_true(vs->host_balloon.stats_vq);
    g_assert_false(vs->host_balloon.reporting);
    g_assert_false(vs->guest_balloon.free_page_hint);
    g_assert_false(vs->driver_ok);
    qom = fpb_qmp_virtio_device_qom_path(path);
    g_assert_true(fpb_qmp_balloon_get_stats(vm.client, qom, &stats, &error));
    g_assert_cmpuint(stats.free_memory, ==, FPB_QMP_STAT_UNAVAILABLE);
    g_assert_true(fpb_qmp_balloon_set_stats_interval(vm.client, qom, 2, &error));
    g_assert_true(fpb_qmp_balloon_get_stats_interval(vm.client, qom, &interval, &error));
    g_assert_cmpint(interval, ==, 2);
    g_assert_true(fpb_qmp_balloon_get_free_page_hint(vm.client, qom, &hint, &error));
    g_assert_true(hint);
    g_assert_true(fpb_qmp_balloon_get_free_page_reporting(vm.client, qom, &reporting, &error));
    g_assert_false(reporting);
    g_assert_no_error(error);
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_errors(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    gboolean hint;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    value = fpb_qmp_client_execute(vm.client, "no-such-command", NULL, TIMEOUT, &error);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND);
    g_assert_cmpstr(fpb_qmp_error_get_class(error), ==, "CommandNotFound");
    g_assert_cmpstr(fpb_qmp_error_get_desc(error), ==,
                    "The command no-such-command has not been found");
    g_clear_error(&error);
    g_assert_false(
        fpb_qmp_balloon_get_free_page_hint(vm.client, "/machine/peripheral/nope", &hint, &error));
    g_assert_cmpstr(fpb_qmp_error_get_class(error), ==, "DeviceNotFound");
    g_clear_error(&error);
    g_assert_false(fpb_qmp_migrate_incoming(vm.client, "unix:/nonexistent", &error));
    g_assert_cmpstr(fpb_qmp_error_get_class(error), ==, "GenericError");
    g_assert_false(fpb_qmp_client_is_broken(vm.client));
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_dirty_rate_and_parameters(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    FpbQmpMigrationParameters set = {.has_max_bandwidth = TRUE,
                                     .max_bandwidth = 1 << 30,
                                     .has_downtime_limit = TRUE,
                                     .downtime_limit = 500};
    FpbQmpMigrationParameters got;
    FpbQmpDirtyRateInfo dirty = {0};
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    g_assert_true(fpb_qmp_migrate_set_parameters(vm.client, &set, &error));
    g_assert_true(fpb_qmp_query_migrate_parameters(vm.client, &got, &error));
    g_assert_cmpuint(got.max_bandwidth, ==, 1 << 30);
    g_assert_cmpuint(got.downtime_limit, ==, 500);
    g_assert_true(got.has_multifd_channels);
    g_assert_true(fpb_qmp_calc_dirty_rate(vm.client, 1, 0, &error));
    for (int i = 0; i < 40 && dirty.status != FPB_QMP_DIRTY_RATE_MEASURED; i++) {
        g_usleep(100 * 1000);
        g_assert_true(fpb_qmp_query_dirty_rate(vm.client, &dirty, &error));
    }
    g_assert_cmpint(dirty.status, ==, FPB_QMP_DIRTY_RATE_MEASURED);
    g_assert_true(dirty.has_dirty_rate);
    g_assert_cmpint(dirty.calc_time, ==, 1);
    g_assert_no_error(error);
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_stop_resume_events(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) r1 = NULL;
    g_autoptr(json_object) r2 = NULL;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    r1 = fpb_qmp_client_execute(vm.client, "stop", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    /* QEMU sends STOP before the reply to stop. */
    g_assert_nonnull(last_event(&vm, FPB_QMP_EVENT_STOP));
    g_assert_cmpint(last_event(&vm, FPB_QMP_EVENT_STOP)->timestamp_us, >, 0);
    r2 = fpb_qmp_client_execute(vm.client, "cont", NULL, TIMEOUT, &error);
    g_assert_nonnull(last_event(&vm, FPB_QMP_EVENT_RESUME));
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static FpbQmpMigrationInfo *wait_migration(Vm *vm)
{
    for (int i = 0; i < 600; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbQmpMigrationInfo) info = fpb_qmp_query_migrate(vm->client, &error);

        g_assert_no_error(error);
        if (fpb_qmp_migration_status_is_final(info->status)) {
            return g_steal_pointer(&info);
        }
        g_usleep(50 * 1000);
    }
    g_error("migration did not finish in 30 s");
}

static void test_migration(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autofree char *uri = g_strdup_printf("unix:%s/migrate.sock", dir);
    const char *incoming[] = {"-incoming", "defer", NULL};
    const FpbQmpMigrationCapability caps[] = {{"events", TRUE}};
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    Vm src;
    Vm dst;

    vm_start(&dst, dir, "dst", incoming);
    vm_start(&src, dir, "src", NULL);
    g_assert_true(fpb_qmp_migrate_set_capabilities(dst.client, caps, 1, &error));
    g_assert_true(fpb_qmp_migrate_incoming(dst.client, uri, &error));
    g_assert_true(fpb_qmp_migrate_set_capabilities(src.client, caps, 1, &error));
    g_assert_true(fpb_qmp_migrate(src.client, uri, &error));
    g_assert_no_error(error);
    info = wait_migration(&src);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_COMPLETED);
    g_assert_true(info->has_ram && info->has_downtime && info->has_total_time);
    g_assert_cmpuint(info->ram.total, >=, 128 * 1024 * 1024);
    g_assert_cmpuint(info->ram.page_size, ==, 4096);
    g_assert_cmpuint(info->ram.duplicate + info->ram.normal, >, 0);
    g_assert_cmpint(last_event(&src, FPB_QMP_EVENT_MIGRATION)->migration_status, ==,
                    FPB_QMP_MIGRATION_STATUS_COMPLETED);
    g_assert_cmpint(last_event(&src, FPB_QMP_EVENT_MIGRATION_PASS)->pass, >=, 2);
    g_assert_nonnull(last_event(&src, FPB_QMP_EVENT_STOP));
    status = fpb_qmp_query_status(src.client, &error);
    g_assert_cmpstr(status->status, ==, "postmigrate");
    g_assert_true(fpb_qmp_migrate_cancel(src.client, &error));
    /* The destination resumes on its own; wait for its events. */
    g_clear_pointer(&info, fpb_qmp_migration_info_free);
    info = wait_migration(&dst);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_COMPLETED);
    g_assert_no_error(error);
    vm_stop(&src);
    vm_stop(&dst);
    qmp_test_tmpdir_remove(dir);
}

static void test_migrate_cancel(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    const FpbQmpMigrationCapability caps[] = {{"events", TRUE}};
    /* 1 MiB/s: the 128 MiB guest would need minutes. */
    FpbQmpMigrationParameters slow = {.has_max_bandwidth = TRUE, .max_bandwidth = 1 << 20};
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbQmpMigrationInfo) info = NULL;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    g_assert_true(fpb_qmp_migrate_set_capabilities(vm.client, caps, 1, &error));
    g_assert_true(fpb_qmp_migrate_set_parameters(vm.client, &slow, &error));
    g_assert_true(fpb_qmp_migrate(vm.client, "exec:cat >/dev/null", &error));
    g_usleep(300 * 1000);
    g_assert_true(fpb_qmp_migrate_cancel(vm.client, &error));
    info = wait_migration(&vm);
    g_assert_cmpint(info->status, ==, FPB_QMP_MIGRATION_STATUS_CANCELLED);
    g_assert_cmpint(last_event(&vm, FPB_QMP_EVENT_MIGRATION)->migration_status, ==,
                    FPB_QMP_MIGRATION_STATUS_CANCELLED);
    g_assert_no_error(error);
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_one_client_at_a_time(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    FpbQmpClient *second;
    FpbQmpClient *third;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    /* QEMU accepts the connection but greets only one client at a time. */
    second = fpb_qmp_client_connect(vm.socket, 300, &error);
    g_assert_null(second);
    g_assert_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT);
    g_clear_error(&error);
    /* Freeing really closes the socket: the next client is greeted at once. */
    fpb_qmp_client_free(vm.client);
    vm.client = NULL;
    third = fpb_qmp_client_connect(vm.socket, 2000, &error);
    g_assert_no_error(error);
    fpb_qmp_client_free(third);
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

static void test_shutdown(void)
{
    g_autofree char *dir = qmp_test_tmpdir_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) value = NULL;
    g_autoptr(FpbQmpStatus) status = NULL;
    FpbQmpEvent *shutdown;
    Vm vm;

    vm_start(&vm, dir, "qmp", NULL);
    value = fpb_qmp_client_execute(vm.client, "quit", NULL, TIMEOUT, &error);
    g_assert_no_error(error);
    shutdown = last_event(&vm, FPB_QMP_EVENT_SHUTDOWN);
    g_assert_nonnull(shutdown);
    g_assert_cmpstr(shutdown->shutdown_reason, ==, "host-qmp-quit");
    status = fpb_qmp_query_status(vm.client, &error);
    g_assert_null(status);
    g_assert_true(g_error_matches(error, FPB_QMP_ERROR, FPB_QMP_ERROR_EOF) ||
                  g_error_matches(error, FPB_QMP_ERROR, FPB_QMP_ERROR_IO));
    vm_stop(&vm);
    qmp_test_tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
    gboolean tap = FALSE;

    /* Before g_test_init, which takes --tap out of argv. */
    for (int i = 1; i < argc; i++) {
        tap = tap || g_str_equal(argv[i], "--tap");
    }
    g_test_init(&argc, &argv, NULL);
    if (!qmp_test_have_qemu()) {
        /* meson's TAP reader takes "1..0 # SKIP" as a skip but exit 77 as an
         * error; other harnesses want 77. */
        if (tap) {
            printf("1..0 # SKIP qemu-system-x86_64 not found\n");
            return 0;
        }
        return 77;
    }
    g_test_add_func("/qmp/integration/queries", test_queries);
    g_test_add_func("/qmp/integration/balloon-device", test_balloon_device);
    g_test_add_func("/qmp/integration/error-replies", test_errors);
    g_test_add_func("/qmp/integration/dirty-rate-and-parameters", test_dirty_rate_and_parameters);
    g_test_add_func("/qmp/integration/stop-resume-events", test_stop_resume_events);
    g_test_add_func("/qmp/integration/migration", test_migration);
    g_test_add_func("/qmp/integration/migrate-cancel", test_migrate_cancel);
    g_test_add_func("/qmp/integration/one-client-at-a-time", test_one_client_at_a_time);
    g_test_add_func("/qmp/integration/shutdown", test_shutdown);
    return g_test_run();
}
