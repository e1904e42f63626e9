/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writing guest-physical memory behind the guest's back, through QEMU's
 * gdbstub (GDB remote serial protocol over a UNIX socket), to prove that the
 * workload's verifier catches damage it did not cause itself.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fpb-testbed-priv.h"

#define GDB_TIMEOUT_MS 10000
/* QEMU drops packets over 4096 bytes; 1 KiB of data is 2 KiB of hex. */
#define GDB_MAX_WRITE 1024

static int gdb_connect(const char *path, GError **error)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB,
                    "gdbstub socket path '%s' is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB,
                    "cannot connect to gdbstub '%s': %s", path, g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static gboolean read_byte(int fd, char *ret, GError **error)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, GDB_TIMEOUT_MS);
    if (r <= 0 || read(fd, ret, 1) != 1) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB,
                    "gdbstub: no answer within %d ms", GDB_TIMEOUT_MS);
        return FALSE;
    }
    return TRUE;
}

/* Reads one "$payload#xx" reply (skipping acks) and acknowledges it. */
static char *read_reply(int fd, GError **error)
{
    char c = 0;
    do {
        if (!read_byte(fd, &c, error)) {
            return NULL;
        }
    } while (c != '$');
    GString *payload = g_string_new(NULL);
    while (read_byte(fd, &c, error) && c != '#') {
        g_string_append_c(payload, c);
    }
    char sum[2];
    if (c != '#' || !read_byte(fd, &sum[0], error) || !read_byte(fd, &sum[1], error) ||
        write(fd, "+", 1) != 1) {
        g_string_free(payload, TRUE);
        g_clear_error(error);
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB, "gdbstub: truncated reply");
        return NULL;
    }
    return g_string_free(payload, FALSE);
}

static gboolean send_packet(int fd, const char *payload, const char *expect, GError **error)
{
    guint8 sum = 0;
    for (const char *p = payload; *p; p++) {
        sum += (guint8)*p;
    }
    g_autofree char *packet = g_strdup_printf("$%s#%02x", payload, sum);
    gsize len = strlen(packet);
    if (write(fd, packet, len) != (ssize_t)len) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB, "gdbstub: write failed: %s",
                    g_strerror(errno));
        return FALSE;
    }
    g_autofree char *reply = read_reply(fd, error);
    /* Pausing the VM on attach makes QEMU send a stop reply ("T05...") of
     * its own, which may arrive before the answer to our packet. */
    for (int extra = 0; reply && expect && reply[0] == 'T' && extra < 3; extra++) {
        g_free(reply);
        reply = read_reply(fd, error);
    }
    if (!reply) {
        return FALSE;
    }
    if (expect && strcmp(reply, expect) != 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB,
                    "gdbstub: packet '%.24s…' answered '%s', expected '%s'", payload, reply,
                    expect);
        return FALSE;
    }
    return TRUE;
}

static char *write_packet(guint64 paddr, const guint8 *data, gsize len)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "M%" G_GINT64_MODIFIER "x,%" G_GSIZE_MODIFIER "x:", paddr, len);
    for (gsize i = 0; i < len; i++) {
        g_string_append_printf(s, "%02x", data[i]);
    }
    return g_string_free(s, FALSE);
}

gboolean fpb_testbed_vm_poke_phys(FpbTestbedVm *vm, guint64 paddr, const void *data, gsize len,
                                  GError **error)
{
    if (!vm->gdb_path) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_GDB,
                    "VM '%s': started without a gdbstub", vm->name);
        return FALSE;
    }
    int fd = gdb_connect(vm->gdb_path, error);
    if (fd < 0) {
        return FALSE;
    }
    /* Attaching pauses the VM. "?" syncs the session; PhyMemMode makes
     * addresses guest-physical; "D" detaches and resumes the VM. */
    gboolean ok =
        send_packet(fd, "?", NULL, error) && send_packet(fd, "Qqemu.PhyMemMode:1", "OK", error);
    for (gsize done = 0; ok && done < len; done += GDB_MAX_WRITE) {
        gsize n = MIN(GDB_MAX_WRITE, len - done);
        g_autofree char *packet = write_packet(paddr + done, (const guint8 *)data + done, n);
        ok = send_packet(fd, packet, "OK", error);
    }
    if (ok) {
        ok =
            send_packet(fd, "Qqemu.PhyMemMode:0", "OK", error) && send_packet(fd, "D", "OK", error);
    }
    close(fd);
    if (!ok) {
        g_prefix_error(error, "VM '%s': ", vm->name);
    }
    return ok;
}
