/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Removing a test's temporary directory: what every test that makes one
 * needs at its end, also after a failure. Not for signal handlers (it
 * allocates); the test bed keeps an async-signal-safe variant of its own.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes @dir and everything below it; symbolic links are removed, never
 * followed. A path that cannot go is warned about by name and the rest is
 * still removed; FALSE when anything stayed. A missing @dir is not an
 * error. */
gboolean fpb_test_remove_tree(const char *dir);

G_END_DECLS
