/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-frag: fragments the test guest's free memory for the driver tests.
 * Usage: fpb-frag MIB READY_FILE
 *
 * Writes MIB of non-zero data in 4 KiB pages (no huge pages), gives every
 * other page back to the kernel (MADV_DONTNEED), creates READY_FILE and then
 * sleeps forever, holding the pages in between: the buddy allocator is left
 * with MIB/2 of isolated order-0 free pages that cannot merge.
 *
 * (The workload's own fpbw.frag mlocks its region after the frees, which
 * faults the freed pages back in as zero pages, so nothing stays free.)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fpb-frag MIB READY_FILE\n");
        return 2;
    }
    unsigned long mib = strtoul(argv[1], NULL, 10);
    size_t pages = mib * (1024 * 1024 / PAGE);
    uint8_t *p =
        mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("fpb-frag: error: cannot map %lu MiB\n", mib);
        return 1;
    }
    madvise(p, pages * PAGE, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < pages; i++) {
        uint64_t *w = (uint64_t *)(p + i * PAGE);
        for (size_t j = 0; j < PAGE / sizeof(*w); j++) {
            w[j] = 0x9e3779b97f4a7c15ULL * (i + 1) + j;
        }
    }
    for (size_t i = 1; i < pages; i += 2) {
        madvise(p + i * PAGE, PAGE, MADV_DONTNEED);
    }
    printf("fpb-frag: ready mib=%lu freed-pages=%zu\n", mib, pages / 2);
    fflush(stdout);
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) {
        close(fd);
    }
    for (;;) {
        pause();
    }
}
