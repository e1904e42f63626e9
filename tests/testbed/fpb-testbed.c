/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The test bed's lifecycle: find the guest, start QEMU, kill it, clean up. */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "fpb-qemu-binary.h"
#include "fpb-qmp.h"
#include "fpb-test-tree.h"
#include "fpb-testbed-priv.h"

#define QMP_SOCKET_WAIT_MS 15000
#define KILL_GRACE_MS 3000

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_testbed_error_quark(void)
{
    return g_quark_from_static_string("fpb-testbed-error-quark");
}

void fpb_testbed_guest_init(FpbTestbedGuest *guest)
{
    *guest = (FpbTestbedGuest){
        .mem_mib = 1024,
        .init_on_alloc = -1,
        .balloon_driver = "stock",
        .hold_mib = 64,
        .dirty_rate_mibps = 16,
    };
}

static char *find_guest_dir(GError **error)
{
    const char *dir = g_getenv("FPB_GUEST_DIR");
    if (!dir || !*dir) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "test bed: FPB_GUEST_DIR is not set (meson sets it when the test guest is "
                    "built; configure with -Dguest=enabled)");
        return NULL;
    }
    const char *files[] = {"vmlinuz", "initrd.img"};
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(dir, files[i], NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                        "test bed: guest image '%s' is missing (build it with ninja)", path);
            return NULL;
        }
    }
    return g_strdup(dir);
}

char *fpb_testbed_qemu_binary(GError **error)
{
    g_autoptr(GError) local = NULL;
    char *qemu = fpb_qemu_binary_for_tcg(NULL, &local);
    if (!qemu) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP, "test bed: %s",
                    local->message);
    }
    return qemu;
}

gboolean fpb_testbed_qemu_has_tcg_dirty_fix(char **ret_version)
{
    g_autofree char *qemu = fpb_testbed_qemu_binary(NULL);
    const char *argv[] = {qemu, "--version", NULL};
    g_autofree char *out = NULL;
    int status = 0;
    *ret_version = NULL;
    if (!qemu ||
        !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                      &status, NULL) ||
        !out) {
        *ret_version = g_strdup("unknown");
        return FALSE;
    }
    char *nl = strchr(out, '\n');
    if (nl) {
        *nl = '\0';
    }
    *ret_version = g_strdup_printf("%s: %s", qemu, out);
    if (fpb_qemu_package_is_fpb(out)) {
        return TRUE;
    }
    const char *v = strstr(out, "version ");
    return v && g_ascii_strtoull(v + 8, NULL, 10) >= 9;
}

gboolean fpb_testbed_fixed_qemu_required(void)
{
    return g_strcmp0(g_getenv("FPB_REQUIRE_FIXED_QEMU"), "1") == 0;
}

void fpb_testbed_skip_without_fixed_qemu(const char *why)
{
    if (fpb_testbed_fixed_qemu_required()) {
        g_test_fail_printf("%s; FPB_REQUIRE_FIXED_QEMU=1 (scripts/run-tests, which "
                           "installs fpb's QEMU) makes that a failure, not a skip",
                           why);
        return;
    }
    g_test_skip(why);
}

FpbTestbed *fpb_testbed_new(GError **error)
{
    g_autofree char *guest_dir = find_guest_dir(error);
    if (!guest_dir) {
        return NULL;
    }
    g_autofree char *qemu = fpb_testbed_qemu_binary(error);
    if (!qemu) {
        return NULL;
    }
    g_autoptr(GError) local = NULL;
    g_autofree char *dir = g_dir_make_tmp("fpb-testbed-XXXXXX", &local);
    if (!dir) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "test bed: cannot make a temporary directory: %s", local->message);
        return NULL;
    }
    fpb_testbed_cleanup_install();
    fpb_testbed_cleanup_add_dir(dir);
    FpbTestbed *testbed = g_new0(FpbTestbed, 1);
    testbed->dir = g_steal_pointer(&dir);
    testbed->guest_dir = g_steal_pointer(&guest_dir);
    testbed->qemu = g_steal_pointer(&qemu);
    testbed->vms = g_ptr_array_new();
    return testbed;
}

const char *fpb_testbed_dir(FpbTestbed *testbed)
{
    return testbed->dir;
}

static void vm_free(FpbTestbedVm *vm)
{
    fpb_testbed_vm_kill(vm);
    g_free(vm->name);
    g_free(vm->qmp_path);
    g_free(vm->serial_path);
    g_free(vm->log_path);
    g_free(vm->gdb_path);
    g_free(vm->incoming_uri);
    g_string_free(vm->partial_line, TRUE);
    g_queue_free_full(vm->tail, g_free);
    g_array_unref(vm->hold_pfns);
    g_free(vm);
}

void fpb_testbed_free(FpbTestbed *testbed)
{
    if (!testbed) {
        return;
    }
    for (guint i = 0; i < testbed->vms->len; i++) {
        vm_free(g_ptr_array_index(testbed->vms, i));
    }
    g_ptr_array_unref(testbed->vms);
    fpb_test_remove_tree(testbed->dir);
    fpb_testbed_cleanup_remove_dir(testbed->dir);
    g_free(testbed->dir);
    g_free(testbed->guest_dir);
    g_free(testbed->qemu);
    g_free(testbed);
}

static char *kernel_cmdline(const FpbTestbedGuest *g)
{
    GString *s = g_string_new("console=ttyS0 quiet");
    if (g->init_on_alloc >= 0) {
        g_string_append_printf(s, " init_on_alloc=%d", g->init_on_alloc ? 1 : 0);
    }
    g_string_append_printf(s, " fpb.balloon=%s", g->balloon_driver ? g->balloon_driver : "stock");
    g_string_append_printf(s, " fpbw.free=%u fpbw.frag=%u fpbw.hold=%u fpbw.dirty=%u fpbw.rate=%u",
                           g->free_mib, g->frag_mib, g->hold_mib, g->dirty_mib,
                           g->dirty_rate_mibps);
    if (g->selftest) {
        g_string_append_printf(s, " fpbw.selftest=%s", g->selftest);
    }
    if (g->extra_append) {
        g_string_append_printf(s, " %s", g->extra_append);
    }
    return g_string_free(s, FALSE);
}

static char *balloon_device(const FpbTestbedGuest *g)
{
    return g_strdup_printf("virtio-balloon-pci,id=balloon0%s%s%s",
                           g->free_page_hint ? ",free-page-hint=on,iothread=io0" : "",
                           g->free_page_reporting ? ",free-page-reporting=on" : "",
                           g->balloon_options ? g->balloon_options : "");
}

static GPtrArray *qemu_argv(FpbTestbedVm *vm, const FpbTestbedGuest *g, gboolean incoming,
                            gboolean paused)
{
    FpbTestbed *tb = vm->testbed;
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    const char *fixed[] = {
        "-accel", "tcg",         "-cpu",     "max",  "-machine",   "q35",     "-smp",
        "1",      "-nodefaults", "-display", "none", "-no-reboot", "-object", "iothread,id=io0"};
    g_ptr_array_add(a, g_strdup(tb->qemu));
    g_ptr_array_add(a, g_strdup("-name"));
    g_ptr_array_add(a, g_strdup(vm->name));
    for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++) {
        g_ptr_array_add(a, g_strdup(fixed[i]));
    }
    g_ptr_array_add(a, g_strdup("-m"));
    g_ptr_array_add(a, g_strdup_printf("%u", g->mem_mib));
    g_ptr_array_add(a, g_strdup("-kernel"));
    g_ptr_array_add(a, g_build_filename(tb->guest_dir, "vmlinuz", NULL));
    g_ptr_array_add(a, g_strdup("-initrd"));
    g_ptr_array_add(a, g_build_filename(tb->guest_dir, "initrd.img", NULL));
    g_ptr_array_add(a, g_strdup("-append"));
    g_ptr_array_add(a, kernel_cmdline(g));
    g_ptr_array_add(a, g_strdup("-chardev"));
    g_ptr_array_add(a, g_strdup_printf("file,id=ser0,path=%s", vm->serial_path));
    g_ptr_array_add(a, g_strdup("-serial"));
    g_ptr_array_add(a, g_strdup("chardev:ser0"));
    g_ptr_array_add(a, g_strdup("-qmp"));
    g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off", vm->qmp_path));
    g_ptr_array_add(a, g_strdup("-device"));
    g_ptr_array_add(a, balloon_device(g));
    for (gsize i = 0; g->qemu_args && g->qemu_args[i]; i++) {
        g_ptr_array_add(a, g_strdup(g->qemu_args[i]));
    }
    if (vm->gdb_path) {
        g_ptr_array_add(a, g_strdup("-gdb"));
        g_ptr_array_add(a, g_strdup_printf("unix:%s,server=on,wait=off", vm->gdb_path));
    }
    if (incoming) {
        g_ptr_array_add(a, g_strdup("-incoming"));
        g_ptr_array_add(a, g_strdup("defer"));
    }
    if (paused) {
        g_ptr_array_add(a, g_strdup("-S"));
    }
    g_ptr_array_add(a, NULL);
    return a;
}

static void child_setup(gpointer data)
{
    (void)data;
    /* QEMU dies with the test, however the test dies. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean spawn_qemu(FpbTestbedVm *vm, GPtrArray *argv, GError **error)
{
    int log_fd = open(vm->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "VM '%s': cannot create '%s': %s", vm->name, vm->log_path, g_strerror(errno));
        return FALSE;
    }
    g_autoptr(GError) local = NULL;
    gboolean ok =
        g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                               child_setup, NULL, &vm->pid, -1, log_fd, log_fd, &local);
    close(log_fd);
    if (!ok) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "VM '%s': cannot start QEMU: %s", vm->name, local->message);
        return FALSE;
    }
    fpb_testbed_cleanup_add_pid(vm->pid);
    return TRUE;
}

static char *qemu_log_text(FpbTestbedVm *vm)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(vm->log_path, &text, NULL, NULL)) {
        return g_strdup("");
    }
    return g_strdup(g_strstrip(text));
}

/* QEMU creates the socket file at bind(), a moment before listen(): a
 * connection there is refused (seen in CI under load). TRUE once one is
 * accepted; it is closed at once (QMP takes the next one). */
static gboolean qmp_socket_listening(const char *path)
{
    g_autoptr(GSocket) socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);

    return socket != NULL && g_socket_connect(socket, address, NULL, NULL);
}

static gboolean wait_qmp_socket(FpbTestbedVm *vm, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + QMP_SOCKET_WAIT_MS * 1000;
    while (g_get_monotonic_time() < deadline) {
        if (!fpb_testbed_vm_poll_exit(vm)) {
            g_autofree char *log = qemu_log_text(vm);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED,
                        "VM '%s': QEMU exited at start: %s", vm->name, log);
            return FALSE;
        }
        if (g_file_test(vm->qmp_path, G_FILE_TEST_EXISTS) && qmp_socket_listening(vm->qmp_path)) {
            return TRUE;
        }
        g_usleep(20 * 1000);
    }
    g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                "VM '%s': QMP socket '%s' did not accept a connection within %d ms", vm->name,
                vm->qmp_path, QMP_SOCKET_WAIT_MS);
    return FALSE;
}

static FpbTestbedVm *vm_new(FpbTestbed *tb, const char *name, const FpbTestbedGuest *g)
{
    FpbTestbedVm *vm = g_new0(FpbTestbedVm, 1);
    vm->testbed = tb;
    vm->name = g_strdup(name);
    vm->qmp_path = g_strdup_printf("%s/%s.qmp", tb->dir, name);
    vm->serial_path = g_strdup_printf("%s/%s.serial", tb->dir, name);
    vm->log_path = g_strdup_printf("%s/%s.log", tb->dir, name);
    vm->gdb_path = g->gdbstub ? g_strdup_printf("%s/%s.gdb", tb->dir, name) : NULL;
    vm->partial_line = g_string_new(NULL);
    vm->tail = g_queue_new();
    vm->hold_pfns = g_array_new(FALSE, TRUE, sizeof(guint64));
    g_ptr_array_add(tb->vms, vm);
    return vm;
}

static gboolean valid_name(const char *name, GError **error)
{
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_') {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                        "test bed: VM name '%s' may only hold letters, digits, '-' and '_'", name);
            return FALSE;
        }
    }
    return *name != '\0';
}

static FpbTestbedVm *start_vm(FpbTestbed *tb, const char *name, const FpbTestbedGuest *g,
                              gboolean incoming, gboolean paused, GError **error)
{
    if (!valid_name(name, error)) {
        return NULL;
    }
    FpbTestbedVm *vm = vm_new(tb, name, g);
    g_autoptr(GPtrArray) argv = qemu_argv(vm, g, incoming, paused);
    g_autofree char *cmdline = g_strjoinv(" ", (char **)argv->pdata);
    g_debug("VM '%s': %s", name, cmdline);
    if (!spawn_qemu(vm, argv, error) || !wait_qmp_socket(vm, error)) {
        fpb_testbed_vm_kill(vm);
        return NULL;
    }
    return vm;
}

FpbTestbedVm *fpb_testbed_start_source(FpbTestbed *testbed, const char *name,
                                       const FpbTestbedGuest *guest, GError **error)
{
    return start_vm(testbed, name, guest, FALSE, FALSE, error);
}

FpbTestbedVm *fpb_testbed_start_destination(FpbTestbed *testbed, const char *name,
                                            const FpbTestbedGuest *guest, gboolean paused_after,
                                            GError **error)
{
    FpbTestbedVm *vm = start_vm(testbed, name, guest, TRUE, paused_after, error);
    if (!vm) {
        return NULL;
    }
    vm->incoming_uri = g_strdup_printf("unix:%s/%s.migrate", testbed->dir, name);
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(vm->qmp_path, 5000, error);
    if (!qmp) {
        return NULL;
    }
    return fpb_qmp_migrate_incoming(qmp, vm->incoming_uri, error) ? vm : NULL;
}

const char *fpb_testbed_vm_name(FpbTestbedVm *vm)
{
    return vm->name;
}

const char *fpb_testbed_vm_qmp_path(FpbTestbedVm *vm)
{
    return vm->qmp_path;
}

const char *fpb_testbed_vm_serial_path(FpbTestbedVm *vm)
{
    return vm->serial_path;
}

const char *fpb_testbed_vm_incoming_uri(FpbTestbedVm *vm)
{
    return vm->incoming_uri;
}

GPid fpb_testbed_vm_pid(FpbTestbedVm *vm)
{
    return vm->pid;
}

gboolean fpb_testbed_vm_poll_exit(FpbTestbedVm *vm)
{
    if (vm->reaped || vm->pid <= 0) {
        return FALSE;
    }
    pid_t r = waitpid(vm->pid, &vm->wait_status, WNOHANG);
    if (r == vm->pid || (r < 0 && errno == ECHILD)) {
        vm->reaped = TRUE;
        fpb_testbed_cleanup_remove_pid(vm->pid);
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_testbed_vm_running(FpbTestbedVm *vm)
{
    return fpb_testbed_vm_poll_exit(vm);
}

void fpb_testbed_vm_kill(FpbTestbedVm *vm)
{
    if (!fpb_testbed_vm_poll_exit(vm)) {
        return;
    }
    /* SIGTERM first so QEMU removes its sockets; SIGKILL if it hangs. */
    kill(vm->pid, SIGTERM);
    for (int waited = 0; waited < KILL_GRACE_MS && fpb_testbed_vm_poll_exit(vm); waited += 10) {
        g_usleep(10 * 1000);
    }
    if (fpb_testbed_vm_poll_exit(vm)) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, &vm->wait_status, 0);
        vm->reaped = TRUE;
        fpb_testbed_cleanup_remove_pid(vm->pid);
    }
}
