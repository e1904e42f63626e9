/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the damage is (issue 6): migrate once, keep both ends paused (the
 * source is paused after a completed migration, the destination was started
 * with -S), dump guest RAM of both with QMP pmemsave into the test bed's
 * directory, and compare page by page:
 *
 *   hinted-free   zero on the destination, non-zero on the source: a free page
 *                 the guest hinted, never sent (expected, harmless)
 *   damaged       non-zero on both sides with different contents, or zero on
 *                 the source and non-zero on the destination: an update that
 *                 never reached the destination (the bug)
 *
 * Prints the damaged PFNs, how many words differ in each, and for each the
 * state of its 4 MiB (order-10) block: how many pages of the block are
 * hinted-free, and how many are zero on the source. Stock hints allocate and
 * hint order-10 blocks, so a block full of hinted-free (init_on_alloc=0) or
 * zero (init_on_alloc=1: the allocation zeroed it) pages is a hinted block.
 *
 * Configurations (one migration each, 2 GiB guest, 1200 MiB freed, 200 MiB
 * held, stock driver): hints-init-on-alloc-1 (FAILS if any page is damaged),
 * hints-init-on-alloc-0 and no-hints-dirty (reported; FPB_REPRO_STRICT=1
 * fails them too). FPB_QEMU selects the QEMU binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpb-qmp-client.h"
#include "fpb-testbed.h"

#define BOOT_TIMEOUT_S 400
#define MIGRATE_TIMEOUT_S 400
#define PAGE 4096u
#define BLOCK_PAGES 1024u /* order 10: the stock driver's hint unit */
#define MAX_LISTED 300

typedef struct {
    const char *name;
    gboolean hints;
    int init_on_alloc;
    guint dirty_mib, dirty_rate;
    gboolean must_pass;
} Config;

static const Config configs[] = {
    {.name = "hints-init-on-alloc-1", .hints = TRUE, .init_on_alloc = 1, .must_pass = TRUE},
    {.name = "hints-init-on-alloc-0", .hints = TRUE, .init_on_alloc = 0},
    {.name = "no-hints-dirty",
     .hints = FALSE,
     .init_on_alloc = 1,
     .dirty_mib = 64,
     .dirty_rate = 32},
};

static gboolean pmemsave(FpbTestbedVm *vm, guint64 size, const char *path, GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, error);
    if (!qmp) {
        return FALSE;
    }
    /* The source is paused after migration already; stop is harmless then. */
    g_autoptr(json_object) r1 = fpb_qmp_client_execute(qmp, "stop", NULL, 10000, error);
    if (!r1) {
        return FALSE;
    }
    g_autoptr(json_object) args = json_object_new_object();
    json_object_object_add(args, "val", json_object_new_int64(0));
    json_object_object_add(args, "size", json_object_new_int64((gint64)size));
    json_object_object_add(args, "filename", json_object_new_string(path));
    g_autoptr(json_object) r2 = fpb_qmp_client_execute(qmp, "pmemsave", args, 300000, error);
    return r2 != NULL;
}

static const guint8 *map_file(const char *path, guint64 size, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (guint64)st.st_size != size) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s: missing or not %" G_GUINT64_FORMAT " bytes", path, size);
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "mmap %s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    madvise(p, size, MADV_SEQUENTIAL);
    return p;
}

static gboolean is_zero(const guint8 *p)
{
    const guint64 *w = (const guint64 *)p;
    for (guint i = 0; i < PAGE / 8; i++) {
        if (w[i]) {
            return FALSE;
        }
    }
    return TRUE;
}

static guint differing_words(const guint8 *a, const guint8 *b, guint *first)
{
    const guint64 *x = (const guint64 *)a, *y = (const guint64 *)b;
    guint n = 0;
    *first = PAGE;
    for (guint i = 0; i < PAGE / 8; i++) {
        if (x[i] != y[i]) {
            if (!n) {
                *first = i * 8;
            }
            n++;
        }
    }
    return n;
}

typedef struct {
    guint64 pages, same, hinted_free, damaged_both, damaged_src_zero;
} Counts;

static void compare(const char *name, const guint8 *src, const guint8 *dst, guint64 size, Counts *c)
{
    guint64 npages = size / PAGE;
    guint64 nblocks = (npages + BLOCK_PAGES - 1) / BLOCK_PAGES;
    g_autofree guint16 *blk_hinted = g_new0(guint16, nblocks);
    g_autofree guint16 *blk_src_zero = g_new0(guint16, nblocks);
    g_autoptr(GArray) damaged = g_array_new(FALSE, FALSE, sizeof(guint64));
    *c = (Counts){.pages = npages};

    for (guint64 pfn = 0; pfn < npages; pfn++) {
        const guint8 *s = src + pfn * PAGE, *d = dst + pfn * PAGE;
        gboolean sz = is_zero(s);
        if (sz) {
            blk_src_zero[pfn / BLOCK_PAGES]++;
        }
        if (memcmp(s, d, PAGE) == 0) {
            c->same++;
            continue;
        }
        gboolean dz = is_zero(d);
        if (dz && !sz) {
            c->hinted_free++;
            blk_hinted[pfn / BLOCK_PAGES]++;
        } else {
            if (sz) {
                c->damaged_src_zero++;
            } else {
                c->damaged_both++;
            }
            g_array_append_val(damaged, pfn);
        }
    }
    g_test_message("%s: %" G_GUINT64_FORMAT " pages compared: %" G_GUINT64_FORMAT
                   " equal, %" G_GUINT64_FORMAT
                   " hinted-free (zero on destination, expected), %" G_GUINT64_FORMAT
                   " damaged (%" G_GUINT64_FORMAT " non-zero on both sides, %" G_GUINT64_FORMAT
                   " zero on source only)",
                   name, npages, c->same, c->hinted_free, c->damaged_both + c->damaged_src_zero,
                   c->damaged_both, c->damaged_src_zero);
    guint64 blocks_hinted = 0;
    for (guint64 b = 0; b < nblocks; b++) {
        blocks_hinted += blk_hinted[b] > 0;
    }
    g_test_message("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                   " order-10 blocks hold hinted-free pages",
                   name, blocks_hinted, nblocks);

    g_autoptr(GString) list = g_string_new(NULL);
    for (guint i = 0; i < damaged->len; i++) {
        guint64 pfn = g_array_index(damaged, guint64, i);
        guint64 b = pfn / BLOCK_PAGES;
        guint first = 0;
        guint words = differing_words(src + pfn * PAGE, dst + pfn * PAGE, &first);
        g_string_append_printf(list, "%s0x%" G_GINT64_MODIFIER "x", list->len ? " " : "", pfn);
        if (i < MAX_LISTED) {
            g_test_message("%s: damaged pfn=0x%" G_GINT64_MODIFIER "x %s words-differ=%u "
                           "first-diff-offset=0x%x block=0x%" G_GINT64_MODIFIER
                           "x (hinted-free %u/%u, zero-on-source %u/%u; neighbours hinted-free "
                           "%u,%u)",
                           name, pfn, is_zero(src + pfn * PAGE) ? "src-zero" : "both-non-zero",
                           words, first, b * BLOCK_PAGES, blk_hinted[b], BLOCK_PAGES,
                           blk_src_zero[b], BLOCK_PAGES, b > 0 ? blk_hinted[b - 1] : 0,
                           b + 1 < nblocks ? blk_hinted[b + 1] : 0);
        }
    }
    g_test_message("%s: DAMAGED PFNS (%u): %s", name, damaged->len,
                   damaged->len ? list->str : "none");
}

static void run_config(gconstpointer data)
{
    const Config *c = data;
    g_autoptr(GError) error = NULL;
    FpbTestbedGuest g;
    fpb_testbed_guest_init(&g);
    g.mem_mib = 2048; /* q35: all of it below 4 GiB, guest-physical 0 .. 2 GiB */
    g.free_mib = 1200;
    g.hold_mib = 200;
    g.balloon_driver = "stock";
    g.free_page_hint = c->hints;
    g.init_on_alloc = c->init_on_alloc;
    g.dirty_mib = c->dirty_mib;
    if (c->dirty_rate) {
        g.dirty_rate_mibps = c->dirty_rate;
    }
    guint64 size = (guint64)g.mem_mib * 1024 * 1024;

    g_autoptr(FpbTestbed) tb = fpb_testbed_new(&error);
    g_assert_no_error(error);
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", &g, &error);
    g_assert_no_error(error);
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", &g, TRUE, &error);
    g_assert_no_error(error);
    g_assert_true(fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, &error));
    g_assert_no_error(error);
    FpbTestbedMigration stats = {0};
    g_assert_true(fpb_testbed_migrate(src, dst, NULL, MIGRATE_TIMEOUT_S, &stats, &error));
    g_assert_no_error(error);
    fpb_testbed_migration_print(c->name, &stats);

    g_autofree char *src_path = g_build_filename(fpb_testbed_dir(tb), "src.mem", NULL);
    g_autofree char *dst_path = g_build_filename(fpb_testbed_dir(tb), "dst.mem", NULL);
    g_assert_true(pmemsave(src, size, src_path, &error));
    g_assert_no_error(error);
    g_assert_true(pmemsave(dst, size, dst_path, &error));
    g_assert_no_error(error);

    const guint8 *s = map_file(src_path, size, &error);
    g_assert_no_error(error);
    const guint8 *d = map_file(dst_path, size, &error);
    g_assert_no_error(error);
    Counts counts;
    compare(c->name, s, d, size, &counts);
    munmap((void *)s, size);
    munmap((void *)d, size);
    /* The dumps are 2 GiB each: drop them now, not only at the end. */
    unlink(src_path);
    unlink(dst_path);

    g_autofree char *q = fpb_testbed_qemu_binary(NULL);
    g_test_message("SUMMARY %s qemu=%s: %" G_GUINT64_FORMAT " hinted-free, %" G_GUINT64_FORMAT
                   " damaged; migration %" G_GUINT64_FORMAT " ms, %.1f MB, %" G_GUINT64_FORMAT
                   " syncs",
                   c->name, q ? q : "none found", counts.hinted_free,
                   counts.damaged_both + counts.damaged_src_zero, stats.total_ms,
                   (double)stats.transferred_bytes / 1e6, stats.dirty_sync_count);
    guint64 damaged = counts.damaged_both + counts.damaged_src_zero;
    if (damaged && (c->must_pass || g_strcmp0(g_getenv("FPB_REPRO_STRICT"), "1") == 0)) {
        g_test_fail_printf("%s: %" G_GUINT64_FORMAT " in-use pages differ after migration", c->name,
                           damaged);
    }
}

int main(int argc, char **argv)
{
    /* Keep going after a failed configuration, so every one reports. */
    g_autofree char **args = g_new0(char *, argc + 2);
    for (int i = 0; i < argc; i++) {
        args[i] = argv[i];
    }
    args[argc++] = (char *)"--keep-going";
    argv = args;
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(configs); i++) {
        g_autofree char *path = g_strdup_printf("/hint-damage/%s", configs[i].name);
        g_test_add_data_func(path, &configs[i], run_config);
    }
    return g_test_run();
}
