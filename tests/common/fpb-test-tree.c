/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-test"

#include "fpb-test-tree.h"

#include <errno.h>
#include <glib/gstdio.h>

static gboolean remove_or_warn(const char *path, int (*remove_fn)(const char *))
{
    if (remove_fn(path) < 0 && errno != ENOENT) {
        g_warning("cannot remove '%s': %s", path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean fpb_test_remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    gboolean ok = TRUE;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
            ok = fpb_test_remove_tree(path) && ok;
        } else {
            ok = remove_or_warn(path, g_unlink) && ok;
        }
    }
    return remove_or_warn(dir, g_rmdir) && ok;
}
