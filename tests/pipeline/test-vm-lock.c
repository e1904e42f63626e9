/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM lock (host-plugin/pipeline/fpb-vm-lock.c): one socket is one
 * VM whatever path reaches it, the files are root's alone, the loser's
 * message names the holder, a released lock is free. The pipeline's use
 * of it (busy, held during a run, a holder killed) is in test-pipeline.c.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fpb-test-tree.h"
#include "fpb-vm-lock.h"

typedef struct {
    char *dir;
} Fixture;

static void setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    (void)data;
    f->dir = g_dir_make_tmp("fpb-vm-lock-XXXXXX", &error);
    g_assert_no_error(error);
}

static void teardown(Fixture *f, gconstpointer data)
{
    (void)data;
    g_assert_true(fpb_test_remove_tree(f->dir));
    g_free(f->dir);
}

static void make_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    close(fd);
}

/* A symlink and a path with ".." reach the same socket: one key. */
static void test_socket_key(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *a = g_build_filename(f->dir, "a.qmp", NULL);
    g_autofree char *b = g_build_filename(f->dir, "b.qmp", NULL);
    g_autofree char *link = g_build_filename(f->dir, "vm1.qmp", NULL);
    g_autofree char *dotted = g_strdup_printf("%s/../%s/a.qmp", f->dir, strrchr(f->dir, '/') + 1);
    g_autofree char *missing = g_build_filename(f->dir, "missing.qmp", NULL);
    g_autofree char *ka = NULL, *kb = NULL, *kl = NULL, *kd = NULL, *km = NULL;

    (void)data;
    make_socket(a);
    make_socket(b);
    g_assert_cmpint(symlink(a, link), ==, 0);
    ka = fpb_vm_lock_key_of_socket(a, &error);
    kb = fpb_vm_lock_key_of_socket(b, &error);
    kl = fpb_vm_lock_key_of_socket(link, &error);
    kd = fpb_vm_lock_key_of_socket(dotted, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(ka, ==, kl);
    g_assert_cmpstr(ka, ==, kd);
    g_assert_cmpstr(ka, !=, kb);
    km = fpb_vm_lock_key_of_socket(missing, &error);
    g_assert_null(km);
    g_assert_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "No such file"));
}

/* Busy names the holder; different VMs do not block each other; a
 * released lock is free and its file says nothing any more. */
static void test_busy_and_release(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *locks = g_build_filename(f->dir, "locks", NULL);
    g_autofree char *expect = g_strdup_printf("VM 'web1' is busy: pid %d (fpbd, since ", getpid());
    FpbVmLock *held = fpb_vm_lock_take(locks, "libvirt-uuid:1", "web1", "fpbd", &error);
    FpbVmLock *other = NULL;
    FpbVmLock *lost = NULL;
    struct stat st;

    (void)data;
    g_assert_no_error(error);
    g_assert_nonnull(held);
    g_assert_cmpint(g_stat(locks, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    lost = fpb_vm_lock_take(locks, "libvirt-uuid:1", "web1", "fpbctl", &error);
    g_assert_null(lost);
    g_assert_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_BUSY);
    g_assert_true(g_str_has_prefix(error->message, expect));
    g_assert_true(g_str_has_suffix(error->message,
                                   " UTC) holds its lock; one migration per VM at a time, "
                                   "nothing done"));
    g_clear_error(&error);
    other = fpb_vm_lock_take(locks, "libvirt-uuid:2", "web2", "fpbctl", &error);
    g_assert_no_error(error);
    fpb_vm_lock_release(held);
    held = fpb_vm_lock_take(locks, "libvirt-uuid:1", "web1", "fpbctl", &error);
    g_assert_no_error(error);
    fpb_vm_lock_release(held);
    fpb_vm_lock_release(other);
}

/* The lock files are 0600 and empty once released. */
static void test_files(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *locks = g_build_filename(f->dir, "locks", NULL);
    FpbVmLock *held = fpb_vm_lock_take(locks, "k", "vm", "fpbctl", &error);
    g_autoptr(GDir) d = NULL;
    const char *name;
    guint n = 0;

    (void)data;
    g_assert_no_error(error);
    d = g_dir_open(locks, 0, &error);
    g_assert_no_error(error);
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(locks, name, NULL);
        g_autofree char *text = NULL;
        struct stat st;

        g_assert_cmpint(g_stat(p, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
        g_assert_nonnull(strstr(text, "what=fpbctl\nvm=vm\nkey=k\n"));
        fpb_vm_lock_release(held);
        g_free(text);
        g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
        g_assert_cmpstr(text, ==, "");
        n++;
    }
    g_assert_cmpuint(n, ==, 1);
}

static void test_dir_of_journal(void)
{
    g_autofree char *dir = fpb_vm_lock_dir("/var/lib/fpb/journal.db");

    g_assert_cmpstr(dir, ==, "/var/lib/fpb/locks");
}

#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/vm-lock/socket-key", test_socket_key);
    ADD("/vm-lock/busy-and-release", test_busy_and_release);
    ADD("/vm-lock/files", test_files);
    g_test_add_func("/vm-lock/dir-of-journal", test_dir_of_journal);
    return g_test_run();
}
