/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cleanup when a test is interrupted (Ctrl-C, meson's timeout SIGTERM, an
 * assertion's SIGABRT): kill every QEMU the test bed started, remove its
 * directories, then die of the same signal. The handler only uses
 * async-signal-safe calls on fixed arrays filled beforehand.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fpb-testbed-priv.h"

#define MAX_PIDS 32
#define MAX_DIRS 8

static volatile sig_atomic_t pids[MAX_PIDS];
static char dirs[MAX_DIRS][PATH_MAX];
static volatile sig_atomic_t dir_used[MAX_DIRS];

static void remove_dir_in_handler(const char *dir)
{
    /* opendir/readdir are not async-signal-safe; we accept that here because
     * the test bed is single-threaded and the process dies right after. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            unlinkat(dirfd(d), e->d_name, 0) < 0 && errno == EISDIR) {
            char sub[PATH_MAX];
            size_t n = strlen(dir);

            /* the pipeline's locks/: one level down, its files only */
            if (n + 1 + strlen(e->d_name) < sizeof(sub)) {
                memcpy(sub, dir, n);
                sub[n] = '/';
                strcpy(sub + n + 1, e->d_name);
                remove_dir_in_handler(sub);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < MAX_PIDS; i++) {
        if (pids[i] > 0) {
            kill((pid_t)pids[i], SIGKILL);
        }
    }
    /* Give the kernel a moment to close the killed QEMUs' files. */
    usleep(100 * 1000);
    for (int i = 0; i < MAX_DIRS; i++) {
        if (dir_used[i]) {
            remove_dir_in_handler(dirs[i]);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void fpb_testbed_cleanup_install(void)
{
    static gboolean installed;
    const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGQUIT};
    if (installed) {
        return;
    }
    installed = TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(signals); i++) {
        struct sigaction sa = {.sa_handler = on_fatal_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(signals[i], &sa, NULL);
    }
}

void fpb_testbed_cleanup_add_pid(GPid pid)
{
    for (int i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == 0) {
            pids[i] = pid;
            return;
        }
    }
    g_warning("test bed: more than %d processes, pid %d not cleaned up on signals", MAX_PIDS,
              (int)pid);
}

void fpb_testbed_cleanup_remove_pid(GPid pid)
{
    for (int i = 0; i < MAX_PIDS; i++) {
        if (pids[i] == pid) {
            pids[i] = 0;
        }
    }
}

void fpb_testbed_cleanup_add_dir(const char *dir)
{
    for (int i = 0; i < MAX_DIRS; i++) {
        if (!dir_used[i] && strlen(dir) < PATH_MAX) {
            strcpy(dirs[i], dir);
            dir_used[i] = 1;
            return;
        }
    }
    g_warning("test bed: more than %d directories, '%s' not cleaned up on signals", MAX_DIRS, dir);
}

void fpb_testbed_cleanup_remove_dir(const char *dir)
{
    for (int i = 0; i < MAX_DIRS; i++) {
        if (dir_used[i] && strcmp(dirs[i], dir) == 0) {
            dir_used[i] = 0;
        }
    }
}
