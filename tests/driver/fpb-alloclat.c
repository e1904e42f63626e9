/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-alloclat: what a guest program feels while the balloon driver hints
 * (tests/driver/bench-guest-experience.c). Static, no GLib; started by the
 * test guest's /init for fpb.alloclat=KIB (tests/guest/init.sh).
 * Usage: fpb-alloclat [-p PERIOD_US] CHUNK_KIB WINDOW_MS [CACHE_FILE CACHE_MIB]
 *
 * Forever: map CHUNK_KIB of fresh anonymous memory (4 KiB pages, no huge
 * pages), write one word in every page, unmap it; the time from mmap to the
 * last write (CLOCK_MONOTONIC) is one allocation's latency. Between
 * allocations it copies CHUNK_KIB (at most COPY_MAX) between two buffers it
 * holds (the throughput of a small CPU-bound job). Every WINDOW_MS it prints one line
 * with one write(2):
 *
 *   fpb-alloclat: w seq=N ms=WINDOW allocs=N copy_mib=M memfree_kib=...
 *     cached_kib=... buffers_kib=... avail_kib=... lat_us=L1,L2,...
 *     [resp_us=R1,R2,...] end
 *
 * Without -p the loop is closed: while the guest cannot run the probe it
 * makes no allocation, so a stall of seconds is one latency or none. With
 * -p an allocation is due every PERIOD_US (copying fills the time until it
 * is due), like requests that arrive whether or not the program is ready;
 * resp_us is then each allocation's response time, from when it was due to
 * its last write, so a stall counts for every allocation due during it, as
 * an application serving requests at that rate would see it.
 *
 * The host decides which windows fall before, during and after a migration
 * (it timestamps the lines as they arrive); a line that a kernel message cut
 * in two lacks its " end" and is dropped there.
 *
 * CACHE_FILE: written once with CACHE_MIB of non-zero data, fsync'ed and read
 * back, so the guest holds that much clean, reclaimable page cache (a file on
 * a real block-backed filesystem; on tmpfs it would be unreclaimable shmem).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)
#define COPY_MAX (1024UL * 1024UL)
#define MAX_SAMPLES 4096
#define LINE_MAX_BYTES (MAX_SAMPLES * 12 + 512)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One write(2), so other user-space writers of the console cannot cut it. */
static void say(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

typedef struct {
    unsigned long memfree, cached, buffers, avail;
} Meminfo;

static void read_meminfo(Meminfo *m)
{
    memset(m, 0, sizeof(*m));
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) {
        return;
    }
    char key[64];
    unsigned long v;
    while (fscanf(f, "%63s %lu kB\n", key, &v) == 2) {
        if (strcmp(key, "MemFree:") == 0) {
            m->memfree = v;
        } else if (strcmp(key, "Cached:") == 0) {
            m->cached = v;
        } else if (strcmp(key, "Buffers:") == 0) {
            m->buffers = v;
        } else if (strcmp(key, "MemAvailable:") == 0) {
            m->avail = v;
        }
    }
    fclose(f);
}

static uint64_t pattern(size_t i)
{
    return 0x9e3779b97f4a7c15ULL * (i + 1) ^ 0x5bd1e995ULL;
}

/* Writes the cache file, makes its pages clean (fsync), reads it back. */
static int make_cache(const char *path, unsigned long mib)
{
    static uint64_t buf[MIB / sizeof(uint64_t)];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("fpb-alloclat: error: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    for (unsigned long m = 0; m < mib; m++) {
        for (size_t j = 0; j < MIB / sizeof(uint64_t); j++) {
            buf[j] = pattern(m * (MIB / sizeof(uint64_t)) + j);
        }
        if (write(fd, buf, MIB) != (ssize_t)MIB) {
            printf("fpb-alloclat: error: cannot write '%s': %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    unsigned long bad = 0;
    if (fsync(fd) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        printf("fpb-alloclat: error: cannot sync '%s': %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    for (unsigned long m = 0; m < mib; m++) {
        if (read(fd, buf, MIB) != (ssize_t)MIB) {
            bad++;
            continue;
        }
        bad += buf[7] != pattern(m * (MIB / sizeof(uint64_t)) + 7);
    }
    close(fd);
    Meminfo mi;
    read_meminfo(&mi);
    printf("fpb-alloclat: cache file=%s mib=%lu bad=%lu cached_kib=%lu buffers_kib=%lu\n", path,
           mib, bad, mi.cached, mi.buffers);
    fflush(stdout);
    return bad ? -1 : 0;
}

/* Maps, touches and unmaps one chunk; returns its latency in microseconds
 * (mmap to the last write), or -1; *end_s: the time of the last write. */
static double alloc_once(size_t bytes, double *end_s)
{
    double t0 = now_s();
    volatile uint64_t *p =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    madvise((void *)p, bytes, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < bytes; off += PAGE) {
        p[off / sizeof(uint64_t)] = off + 1;
    }
    *end_s = now_s();
    double us = (*end_s - t0) * 1e6;
    munmap((void *)p, bytes);
    return us;
}

/* Appends " NAME=V1,V2,..." as far as the line has room. */
static size_t put_list(char *line, size_t len, const char *name, const double *v, size_t n)
{
    len += (size_t)snprintf(line + len, LINE_MAX_BYTES - len, " %s=", name);
    for (size_t i = 0; i < n && len + 32 < LINE_MAX_BYTES; i++) {
        len += (size_t)snprintf(line + len, LINE_MAX_BYTES - len, "%s%.0f", i ? "," : "", v[i]);
    }
    return len;
}

static void print_window(unsigned long seq, double secs, const double *lat, const double *resp,
                         size_t n, double copied, char *line)
{
    Meminfo mi;
    read_meminfo(&mi);
    size_t len = (size_t)snprintf(line, LINE_MAX_BYTES,
                                  "fpb-alloclat: w seq=%lu ms=%.1f allocs=%zu copy_mib=%.1f "
                                  "memfree_kib=%lu cached_kib=%lu buffers_kib=%lu avail_kib=%lu",
                                  seq, secs * 1e3, n, copied / MIB, mi.memfree, mi.cached,
                                  mi.buffers, mi.avail);
    len = put_list(line, len, "lat_us", lat, n);
    if (resp) {
        len = put_list(line, len, "resp_us", resp, n);
    }
    len += (size_t)snprintf(line + len, LINE_MAX_BYTES - len, " end\n");
    say(line, len);
}

static void thp_policy(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (fgets(buf, (int)size, f)) {
            buf[strcspn(buf, "\n")] = '\0';
        }
        fclose(f);
    }
}

/* One step of the CPU-bound job: copies @copy bytes, each copy depending
 * on the last (the compiler cannot drop it); returns the bytes copied. */
static size_t copy_once(uint8_t *src, uint8_t *dst, size_t copy, int first)
{
    src[!first] ^= dst[copy - 1];
    memcpy(dst, src, copy);
    return copy;
}

int main(int argc, char **argv)
{
    double period = 0; /* seconds; 0: closed loop */
    if (argc > 2 && strcmp(argv[1], "-p") == 0) {
        period = strtoul(argv[2], NULL, 10) / 1e6;
        argv += 2;
        argc -= 2;
    }
    if (argc != 3 && argc != 5) {
        fprintf(stderr,
                "usage: fpb-alloclat [-p PERIOD_US] CHUNK_KIB WINDOW_MS [CACHE_FILE CACHE_MIB]\n");
        return 2;
    }
    size_t chunk = strtoul(argv[1], NULL, 10) * 1024;
    double window = strtoul(argv[2], NULL, 10) / 1e3;
    if (chunk < PAGE || window <= 0) {
        fprintf(stderr, "fpb-alloclat: bad CHUNK_KIB or WINDOW_MS\n");
        return 2;
    }
    if (argc == 5 && make_cache(argv[3], strtoul(argv[4], NULL, 10)) < 0) {
        return 1;
    }
    static double lat[MAX_SAMPLES], resp[MAX_SAMPLES];
    static char line[LINE_MAX_BYTES];
    size_t copy = chunk < COPY_MAX ? chunk : COPY_MAX;
    uint8_t *src = malloc(copy), *dst = malloc(copy);
    if (!src || !dst) {
        return 1;
    }
    memset(src, 0x5a, copy);
    char thp[128];
    thp_policy(thp, sizeof(thp));
    printf("fpb-alloclat: start chunk_kib=%zu window_ms=%.0f copy_kib=%lu period_us=%.0f "
           "thp=[%s]\n",
           chunk / 1024, window * 1e3, copy / 1024, period * 1e6, thp);
    fflush(stdout);
    unsigned long seq = 0;
    double due = now_s();
    for (;;) {
        double start = now_s(), copied = 0;
        size_t n = 0;
        while (now_s() - start < window) {
            if (period > 0 && now_s() < due) {
                copied += copy_once(src, dst, copy, copied == 0);
                continue;
            }
            double t_due = period > 0 ? due : now_s(), end = 0;
            double us = alloc_once(chunk, &end);
            if (us >= 0 && n < MAX_SAMPLES) {
                lat[n] = us;
                resp[n++] = (end - t_due) * 1e6;
            }
            due += period;
            if (period == 0) {
                copied += copy_once(src, dst, copy, copied == 0);
            }
        }
        print_window(++seq, now_s() - start, lat, period > 0 ? resp : NULL, n, copied, line);
    }
}
