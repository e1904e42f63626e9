/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-vm-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpb-recover.h"

G_DEFINE_QUARK(fpb - vm - lock - error - quark, fpb_vm_lock_error)

/* What a holder writes into its file; a loser reads it back. */
#define HOLDER_MAX 1024

struct _FpbVmLock {
    int fd;
};

char *fpb_vm_lock_dir(const char *journal_path)
{
    g_autofree char *dir = g_path_get_dirname(journal_path);

    return g_build_filename(dir, "locks", NULL);
}

char *fpb_vm_lock_key_of_socket(const char *path, GError **error)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        int saved = errno;

        g_set_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_IO, "'%s': %s", path,
                    g_strerror(saved));
        return NULL;
    }
    return g_strdup_printf("qmp-socket:%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
}

static char *file_of(const char *dir, const char *key)
{
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);

    sum[32] = '\0'; /* 128 bits name a VM well enough */
    return g_strdup_printf("%s/vm-%s.lock", dir, sum);
}

static gboolean io_error(GError **error, const char *vm, const char *what, const char *path)
{
    int saved = errno;

    g_set_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_IO, "VM '%s': cannot %s '%s': %s", vm,
                what, path, g_strerror(saved));
    return FALSE;
}

/* "pid 123 (fpbctl, since 2026-12-07 06:10:11 UTC)" from the holder's file,
 * or a plain "another process" when it has not written it yet. */
static char *holder_of(int fd)
{
    char buf[HOLDER_MAX + 1];
    ssize_t n = pread(fd, buf, HOLDER_MAX, 0);
    g_auto(GStrv) lines = NULL;
    const char *pid = NULL, *what = NULL, *since = NULL;

    if (n <= 0) {
        return g_strdup("another process");
    }
    buf[n] = '\0';
    lines = g_strsplit(buf, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], "pid=")) {
            pid = lines[i] + 4;
        } else if (g_str_has_prefix(lines[i], "what=")) {
            what = lines[i] + 5;
        } else if (g_str_has_prefix(lines[i], "since=")) {
            since = lines[i] + 6;
        }
    }
    if (pid == NULL) {
        return g_strdup("another process");
    }
    return g_strdup_printf("pid %s (%s, since %s)", pid, what ? what : "?", since ? since : "?");
}

static gboolean write_holder(int fd, const char *key, const char *vm, const char *what)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *since = g_date_time_format(now, "%Y-%m-%d %H:%M:%S UTC");
    g_autofree char *text = g_strdup_printf(
        "pid=%d\nstart=%" G_GINT64_FORMAT "\nwhat=%s\nvm=%s\nkey=%s\nsince=%s\n", (int)getpid(),
        fpb_recover_process_start_time(getpid()), what, vm, key, since);
    gsize len = strlen(text);

    return ftruncate(fd, 0) == 0 && pwrite(fd, text, len, 0) == (ssize_t)len;
}

FpbVmLock *fpb_vm_lock_take(const char *dir, const char *key, const char *vm, const char *what,
                            GError **error)
{
    g_autofree char *path = file_of(dir, key);
    g_autofree char *holder = NULL;
    int fd, r;

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        io_error(error, vm, "create the lock directory", dir);
        return NULL;
    }
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        io_error(error, vm, "open the lock file", path);
        return NULL;
    }
    while ((r = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR) {
    }
    if (r < 0 && errno != EWOULDBLOCK) {
        io_error(error, vm, "lock", path);
        close(fd);
        return NULL;
    }
    if (r < 0) {
        holder = holder_of(fd);
        close(fd);
        g_set_error(error, FPB_VM_LOCK_ERROR, FPB_VM_LOCK_ERROR_BUSY,
                    "VM '%s' is busy: %s holds its lock; one migration per VM at a time, "
                    "nothing done",
                    vm, holder);
        return NULL;
    }
    /* Not fatal: the lock is the flock, the text only names its holder
     * (a full disk must not stop a run before the journal says so). */
    if (!write_holder(fd, key, vm, what)) {
        g_debug("VM '%s': cannot write the lock file '%s': %s", vm, path, g_strerror(errno));
    }
    FpbVmLock *lock = g_new0(FpbVmLock, 1);
    lock->fd = fd;
    return lock;
}

void fpb_vm_lock_release(FpbVmLock *lock)
{
    if (lock == NULL) {
        return;
    }
    /* emptied first: a loser racing the close reads no stale holder */
    if (ftruncate(lock->fd, 0) < 0) {
        g_debug("cannot empty a lock file: %s", g_strerror(errno));
    }
    close(lock->fd);
    g_free(lock);
}
