/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One migration per VM at a time, across processes: fpbctl, fpbd and an
 * evacuation's threads take the VM's lock before they touch it, and a
 * second caller gets a clear error before it does anything
 * (docs/orchestrator.md, "Two callers"). The lock is flock(2) on a file in
 * the journal's directory, named by the VM's identity (a libvirt UUID, a
 * QMP socket's inode: whatever name reached it), so the kernel drops it
 * when its holder dies however it dies; the journal's open row then tells
 * the next holder what to undo. The file records the holder (PID, its
 * start time, what it does) for the loser's message; a file left behind
 * by a dead holder is not a lock.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPB_VM_LOCK_ERROR (fpb_vm_lock_error_quark())
GQuark fpb_vm_lock_error_quark(void);

typedef enum {
    FPB_VM_LOCK_ERROR_BUSY, /* another live caller holds it */
    FPB_VM_LOCK_ERROR_IO,   /* the lock directory or file cannot be used */
} FpbVmLockError;

typedef struct _FpbVmLock FpbVmLock;

/* The directory of the locks beside the journal at @journal_path
 * ("DIR/locks"). (transfer full) */
char *fpb_vm_lock_dir(const char *journal_path);

/* Takes the lock of the VM identified by @key (any string; hashed into
 * the file's name) in @dir (created 0700 if missing), without waiting.
 * @vm names the VM in messages, @what the holder in the loser's
 * message (a program's name: "fpbctl", "fpbd"). NULL with FPB_VM_LOCK_ERROR_BUSY naming the holder
 * when a live process holds it. (transfer full) */
FpbVmLock *fpb_vm_lock_take(const char *dir, const char *key, const char *vm, const char *what,
                            GError **error);

/* Releases the lock (the file stays: removing it would race a taker). */
void fpb_vm_lock_release(FpbVmLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbVmLock, fpb_vm_lock_release)

/* The key of a QMP socket: its device and inode, so every path to one
 * socket (symlinks, relative paths) is one VM. NULL with @error when
 * @path cannot be stat()ed. (transfer full) */
char *fpb_vm_lock_key_of_socket(const char *path, GError **error);

G_END_DECLS
