/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the tests that run the real fpbd share: a private directory that
 * goes whatever the tests do, libvirt's test-driver node file in it, and a
 * TCP destination that never answers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef int (*FpbdHarnessRun)(int argc, char **argv);

/**
 * fpbd_harness_main:
 * @dir_template: for g_mkdtemp(), e.g. "/tmp/fpbd-sec.XXXXXX".
 * @open_dir: make the directory 0755 (peers of other uids must reach the
 *   socket in it), else it stays 0700.
 * @node_xml: written to DIR/node.xml (fpbd connects to test://DIR/node.xml).
 * @ret_dir: (out) DIR, set before @run is called.
 * Runs @run in a child process and removes DIR after it, whatever the child
 * did (fpbd, started with PR_SET_PDEATHSIG, dies with it). Returns the exit
 * status for main(): the child's, or 1.
 */
int fpbd_harness_main(const char *dir_template, gboolean open_dir, const char *node_xml,
                      char **ret_dir, FpbdHarnessRun run, int argc, char **argv);

/* A loopback TCP port that accepts connections and never answers (a
 * libvirt destination whose connection hangs until the port closes).
 * Returns the listening fd; asserts on failure (test code). */
int fpbd_harness_silent_listener(int *ret_port);

G_END_DECLS
