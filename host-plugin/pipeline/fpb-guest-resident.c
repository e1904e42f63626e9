/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-pipeline"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "fpb-guest-resident.h"

/* A "Key:   123 kB" line's value in bytes; -1 when @line is not @key. */
static gint64 kb_field(const char *line, const char *key)
{
    gsize n = strlen(key);
    char *end = NULL;
    gint64 kb;

    if (strncmp(line, key, n) != 0) {
        return -1;
    }
    kb = g_ascii_strtoll(line + n, &end, 10);
    if (end == line + n || kb < 0 || kb > G_MAXINT64 / 1024) {
        return -1;
    }
    return kb * 1024;
}

gint64 fpb_guest_resident_parse(const char *smaps, gint64 ram_bytes, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(smaps, "\n", -1);
    gint64 size = -1, best_size = G_MAXINT64, best_rss = -1;

    for (char **l = lines; *l != NULL; l++) {
        gint64 v;

        if ((v = kb_field(*l, "Size:")) >= 0) {
            size = v;
        } else if ((v = kb_field(*l, "Rss:")) >= 0 && size >= ram_bytes && size < best_size) {
            best_size = size;
            best_rss = v;
        }
    }
    if (best_rss < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no mapping of the guest's %" G_GINT64_FORMAT " MiB of RAM",
                    ram_bytes / (1024 * 1024));
        return -1;
    }
    return MIN(best_rss, ram_bytes);
}

gint64 fpb_guest_resident_bytes(GPid pid, gint64 ram_bytes, GError **error)
{
    g_autofree char *path = NULL;
    g_autofree char *text = NULL;

    if (pid <= 0) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                            "the QEMU process is not known (no socket peer)");
        return -1;
    }
    path = g_strdup_printf("/proc/%d/smaps", (int)pid);
    if (!g_file_get_contents(path, &text, NULL, error)) {
        return -1;
    }
    return fpb_guest_resident_parse(text, ram_bytes, error);
}
