/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How fpb finds a libvirt domain's QEMU on this host (fpb-libvirt-pid.h):
 * the Tgid of a /proc status text, and the -uuid check of a command line
 * that keeps a process of another VM (or of a libvirt elsewhere whose
 * thread IDs exist here too) from being taken for it.
 */
#include <glib.h>
#include <string.h>

#include "fpb-libvirt-pid.h"

#define UUID "6f1c6a2e-0d4b-4c1e-9a57-0123456789ab"

static void test_tgid(void)
{
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Name:\tCPU 0/TCG\nUmask:\t0022\nState:\tR\n"
                                               "Tgid:\t4242\nNgid:\t0\nPid:\t4250\n"),
                    ==, 4242);
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Tgid:\t7\n"), ==, 7);
    /* no such line, a bad number, out of range */
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Name:\tqemu\nPid:\t12\n"), ==, 0);
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Tgid:\tx\n"), ==, 0);
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Tgid:\t-3\n"), ==, 0);
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Tgid:\t99999999999\n"), ==, 0);
    /* "Tgid:" only at the start of a line */
    g_assert_cmpint(fpb_libvirt_pid_parse_tgid("Name:\tTgid: 5\n"), ==, 0);
}

static gboolean has(const char *const *args, const char *uuid)
{
    g_autoptr(GString) cmdline = g_string_new(NULL);

    for (guint i = 0; args[i] != NULL; i++) {
        g_string_append_len(cmdline, args[i], (gssize)strlen(args[i]) + 1);
    }
    return fpb_libvirt_pid_cmdline_has_uuid(cmdline->str, cmdline->len, uuid);
}

static void test_cmdline_uuid(void)
{
    const char *const mine[] = {
        "/usr/bin/qemu-system-x86_64", "-name", "guest=a", "-uuid", UUID, "-m", "1024", NULL};
    const char *const upper[] = {"qemu", "-uuid", "6F1C6A2E-0D4B-4C1E-9A57-0123456789AB", NULL};
    const char *const other[] = {"qemu", "-uuid", "6f1c6a2e-0d4b-4c1e-9a57-0123456789ac", NULL};
    const char *const elsewhere[] = {"qemu", "-name", UUID, "-uuid", "x", NULL};
    const char *const prefix[] = {"qemu", "-uuid", UUID "0", NULL};
    const char *const last[] = {"qemu", "-uuid", NULL};

    g_assert_true(has(mine, UUID));
    g_assert_true(has(upper, UUID));
    g_assert_false(has(other, UUID));
    g_assert_false(has(elsewhere, UUID)); /* the UUID, but not after -uuid */
    g_assert_false(has(prefix, UUID));
    g_assert_false(has(last, UUID));
    /* no NUL at the end (a truncated read): still bounded by the length */
    g_assert_true(fpb_libvirt_pid_cmdline_has_uuid("q\0-uuid\0" UUID, 9 + strlen(UUID), UUID));
    g_assert_false(fpb_libvirt_pid_cmdline_has_uuid("q\0-uuid\0" UUID, 12, UUID));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/libvirt/pid/tgid", test_tgid);
    g_test_add_func("/libvirt/pid/cmdline-uuid", test_cmdline_uuid);
    return g_test_run();
}
