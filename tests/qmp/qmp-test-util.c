/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "qmp-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/common_interface_defs.h>
#define HAVE_SANITIZER 1
#endif

#define MAX_DIRS 16
#define PATH_MAX_LEN 256

/* Fixed-size so the abort handler needs no allocation. */
static char dirs[MAX_DIRS][PATH_MAX_LEN];
static volatile sig_atomic_t handler_installed;

/* Async-signal-safe: removes the files in each registered directory (only
 * sockets and logs, never subdirectories) and the directory. */
static void remove_dir_raw(const char *dir)
{
    const char *names[] = {"qmp.sock", "src.sock", "dst.sock",  "migrate.sock", "qemu.log",
                           "src.log",  "dst.log",  "fake.sock", "bench.sock"};
    char path[PATH_MAX_LEN * 2];

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        size_t n = strlen(dir);

        memcpy(path, dir, n);
        path[n] = '/';
        memcpy(path + n + 1, names[i], strlen(names[i]) + 1);
        unlink(path);
    }
    rmdir(dir);
}

static void remove_all_raw(void)
{
    for (int i = 0; i < MAX_DIRS; i++) {
        if (dirs[i][0] != '\0') {
            remove_dir_raw(dirs[i]);
        }
    }
}

static void on_abort(int sig)
{
    remove_all_raw();
    signal(sig, SIG_DFL);
    raise(sig);
}

char *qmp_test_tmpdir_new(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("fpb-qmp-test.XXXXXX", &error);

    g_assert_no_error(error);
    g_assert_cmpuint(strlen(dir), <, PATH_MAX_LEN);
    if (!handler_installed) {
        handler_installed = 1;
        /* g_assert aborts, g_error traps, meson's timeout terminates. */
        signal(SIGABRT, on_abort);
        signal(SIGTRAP, on_abort);
        signal(SIGTERM, on_abort);
        signal(SIGINT, on_abort);
#ifdef HAVE_SANITIZER
        /* A sanitizer report ends the process with _exit(), no signal; and
         * ASan's own SIGSEGV handler must stay to report the crash. */
        __sanitizer_set_death_callback(remove_all_raw);
#else
        signal(SIGSEGV, on_abort);
#endif
    }
    for (int i = 0; i < MAX_DIRS; i++) {
        if (dirs[i][0] == '\0') {
            g_strlcpy(dirs[i], dir, PATH_MAX_LEN);
            return dir;
        }
    }
    g_error("too many temporary directories");
}

static void remove_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
}

void qmp_test_tmpdir_remove(const char *dir)
{
    /* A QEMU that is still exiting may write its log or socket after the
     * first pass (a CI run left such a directory): try again for 2 s. */
    for (int tries = 0; tries < 20; tries++) {
        remove_files(dir);
        if (g_rmdir(dir) == 0 || errno != ENOTEMPTY) {
            break;
        }
        g_usleep(100 * 1000);
    }
    for (int i = 0; i < MAX_DIRS; i++) {
        if (strcmp(dirs[i], dir) == 0) {
            dirs[i][0] = '\0';
        }
    }
}

char *qmp_test_recording_path(const char *name)
{
    const char *root = g_getenv("FPB_SOURCE_ROOT");

    return g_build_filename(root ? root : SOURCE_ROOT, "tests", "qmp", "recordings", name, NULL);
}

gboolean qmp_test_have_qemu(void)
{
    g_autofree char *path = g_find_program_in_path("qemu-system-x86_64");

    return path != NULL;
}

static void child_setup(gpointer data)
{
    (void)data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

GPid qmp_test_qemu_start(const char *dir, const char *name, const char *const *extra_args,
                         char **ret_socket, GError **error)
{
    g_autofree char *sock = g_strdup_printf("%s/%s.sock", dir, name);
    g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
    g_autofree char *log = g_strdup_printf("%s/%s.log", dir, name);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const char *base[] = {"qemu-system-x86_64",
                          "-accel",
                          "tcg",
                          "-machine",
                          "q35",
                          "-nodefaults",
                          "-display",
                          "none",
                          "-m",
                          "128",
                          "-name",
                          name,
                          "-qmp",
                          qmp,
                          "-object",
                          "iothread,id=io0",
                          "-device",
                          "virtio-balloon-pci,id=balloon0,free-page-hint=on,iothread=io0"};
    GPid pid = 0;
    int log_fd;

    if (!qmp_test_have_qemu()) {
        return 0;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(argv, (gpointer)base[i]);
    }
    for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)extra_args[i]);
    }
    g_ptr_array_add(argv, NULL);
    log_fd = g_open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!g_spawn_async_with_fds(dir, (char **)argv->pdata, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
                                &pid, -1, log_fd, log_fd, error)) {
        close(log_fd);
        return 0;
    }
    close(log_fd);
    /* QEMU creates the socket before it starts the machine. */
    for (int i = 0; i < 200 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++) {
        g_usleep(20 * 1000);
    }
    *ret_socket = g_steal_pointer(&sock);
    return pid;
}

void qmp_test_qemu_kill(GPid pid)
{
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}
