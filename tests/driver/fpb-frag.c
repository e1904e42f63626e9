/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-frag: fragments the test guest's free memory for the driver tests.
 * Usage: fpb-frag MIB READY_FILE [thp]
 *
 * Writes MIB of non-zero data in 4 KiB pages (no huge pages), gives every
 * other page back to the kernel (MADV_DONTNEED), creates READY_FILE and then
 * sleeps forever, holding the pages in between: the buddy allocator is left
 * with MIB/2 of isolated order-0 free pages that cannot merge.
 *
 * With "thp" the mapping is left to the kernel's transparent huge page
 * default (2 MiB aligned, so every 2 MiB of it can be one huge page): the
 * application the issue describes. Its frees then split the huge pages'
 * mappings only; the pages themselves wait, whole and off every free list,
 * for the kernel's deferred split (a shrinker, run under memory pressure).
 *
 * (The workload's own fpbw.frag mlocks its region after the frees, which
 * faults the freed pages back in as zero pages, so nothing stays free.)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define HUGE (2UL << 20)

int main(int argc, char **argv)
{
    int thp = argc == 4 && strcmp(argv[3], "thp") == 0;
    if (argc < 3 || argc > 4 || (argc == 4 && !thp)) {
        fprintf(stderr, "usage: fpb-frag MIB READY_FILE [thp]\n");
        return 2;
    }
    unsigned long mib = strtoul(argv[1], NULL, 10);
    size_t pages = mib * (1024 * 1024 / PAGE);
    /* one huge page more, to start the region on a 2 MiB boundary */
    uint8_t *map =
        mmap(NULL, pages * PAGE + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        printf("fpb-frag: error: cannot map %lu MiB\n", mib);
        return 1;
    }
    uint8_t *p = (uint8_t *)(((uintptr_t)map + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    if (!thp) {
        madvise(p, pages * PAGE, MADV_NOHUGEPAGE);
    }
    for (size_t i = 0; i < pages; i++) {
        uint64_t *w = (uint64_t *)(p + i * PAGE);
        for (size_t j = 0; j < PAGE / sizeof(*w); j++) {
            w[j] = 0x9e3779b97f4a7c15ULL * (i + 1) + j;
        }
    }
    for (size_t i = 1; i < pages; i += 2) {
        madvise(p + i * PAGE, PAGE, MADV_DONTNEED);
    }
    printf("fpb-frag: ready mib=%lu freed-pages=%zu thp=%s\n", mib, pages / 2,
           thp ? "default" : "never");
    fflush(stdout);
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) {
        close(fd);
    }
    for (;;) {
        pause();
    }
}
