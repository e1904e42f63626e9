/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb-workload: the program the test guest runs (static, no GLib).
 *
 * It shapes guest memory the way the migration scenarios need (write and
 * free, fragment, hold, keep dirtying) and then verifies every page it holds,
 * forever, printing one line per pass. Each page carries a pattern derived
 * from (region, page index, generation), so a page that arrives zero, stale
 * (an older generation) or torn (mixed content) on the destination is caught.
 *
 * Configuration comes from the kernel command line (fpbw.KEY=VALUE), see
 * usage_text below. All output goes to stdout, which is the serial console.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE 4096u
#define WORDS_PER_PAGE (PAGE_SIZE / sizeof(uint64_t))
#define MIB (1024u * 1024u)
#define PAGES_PER_MIB (MIB / PAGE_SIZE)
#define MAX_REPORTED_BAD 8
/* Passes start at most this often, so the serial log stays readable. */
#define MIN_PASS_SECONDS 0.5

static const char usage_text[] =
    "fpb-workload: keys on the kernel command line:\n"
    "  fpbw.free=MIB      write MIB of non-zero data, then free it (default 0)\n"
    "  fpbw.frag=MIB      write MIB, then free every other 4 KiB page (default 0)\n"
    "  fpbw.hold=MIB      hold MIB filled with a verifiable pattern (default 64)\n"
    "  fpbw.dirty=MIB     a region rewritten continuously (default 0)\n"
    "  fpbw.rate=MIBPS    how fast the dirty region is rewritten, MiB/s (default 16)\n"
    "  fpbw.passes=N      stop after N verification passes, 0 = never (default 0)\n"
    "  fpbw.selftest=KIND after the first pass damage one page on purpose:\n"
    "                     zero, stale or torn (default none)\n";

enum region_kind { REGION_HOLD, REGION_FRAG, REGION_DIRTY, REGION_COUNT };
static const char *const region_names[REGION_COUNT] = {"hold", "frag", "dirty"};

struct region {
    uint8_t *base;
    size_t pages;   /* pages in the mapping */
    size_t stride;  /* verify every stride-th page (frag keeps every other) */
    uint32_t *gens; /* generation per page; NULL means always 0 */
};

struct config {
    unsigned long free_mib, frag_mib, hold_mib, dirty_mib, rate_mibps, passes;
    char selftest[16];
};

struct bad_counts {
    unsigned long zero, stale, torn;
    unsigned long reported;
};

static struct region regions[REGION_COUNT];
static int pagemap_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* One write per line so lines never interleave with kernel messages. */
    if (write(STDOUT_FILENO, line, (size_t)n) < 0) {
        _exit(3);
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finaliser: every input bit affects every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t page_key(int region, size_t index, uint32_t gen)
{
    return mix64(((uint64_t)region << 60) ^ ((uint64_t)index << 24) ^ gen ^ 0x66706277ULL);
}

static void fill_page(uint64_t *page, int region, size_t index, uint32_t gen)
{
    uint64_t key = page_key(region, index, gen);
    /* Word 0 is never zero, so a zeroed page never looks valid. */
    for (size_t w = 0; w < WORDS_PER_PAGE; w++) {
        page[w] = key + (w + 1) * 0x9e3779b97f4a7c15ULL;
    }
}

/* Returns how many words of the page match the pattern of (index, gen). */
static size_t matching_words(const uint64_t *page, int region, size_t index, uint32_t gen)
{
    uint64_t key = page_key(region, index, gen);
    size_t same = 0;
    for (size_t w = 0; w < WORDS_PER_PAGE; w++) {
        same += page[w] == key + (w + 1) * 0x9e3779b97f4a7c15ULL;
    }
    return same;
}

static int page_is_zero(const uint64_t *page)
{
    for (size_t w = 0; w < WORDS_PER_PAGE; w++) {
        if (page[w]) {
            return 0;
        }
    }
    return 1;
}

static uint64_t pfn_of(const void *addr)
{
    uint64_t entry = 0;
    off_t off = (off_t)((uintptr_t)addr / PAGE_SIZE) * (off_t)sizeof(entry);
    if (pagemap_fd < 0 || pread(pagemap_fd, &entry, sizeof(entry), off) != sizeof(entry)) {
        return 0;
    }
    /* Bit 63: present; bits 0-54: the frame number. */
    return (entry >> 63) ? (entry & ((1ULL << 55) - 1)) : 0;
}

static int parse_number(const char *key, const char *value, unsigned long *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (errno || end == value || (*end && *end != ' ' && *end != '\n') || v > 1000000) {
        say("fpbw: error: bad value for fpbw.%s: '%.20s'", key, value);
        return -1;
    }
    *ret = v;
    return 0;
}

static int apply_option(struct config *cfg, const char *key, const char *value)
{
    struct {
        const char *name;
        unsigned long *slot;
    } numbers[] = {
        {"free", &cfg->free_mib},   {"frag", &cfg->frag_mib},   {"hold", &cfg->hold_mib},
        {"dirty", &cfg->dirty_mib}, {"rate", &cfg->rate_mibps}, {"passes", &cfg->passes},
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(key, numbers[i].name) == 0) {
            return parse_number(key, value, numbers[i].slot);
        }
    }
    if (strcmp(key, "selftest") == 0) {
        snprintf(cfg->selftest, sizeof(cfg->selftest), "%s", value);
        if (strcmp(cfg->selftest, "zero") && strcmp(cfg->selftest, "stale") &&
            strcmp(cfg->selftest, "torn") && strcmp(cfg->selftest, "none")) {
            say("fpbw: error: unknown fpbw.selftest '%s'", cfg->selftest);
            return -1;
        }
        return 0;
    }
    say("fpbw: warning: unknown key fpbw.%s, ignoring", key);
    return 0;
}

static int read_config(struct config *cfg)
{
    char cmdline[4096] = "";
    FILE *f = fopen("/proc/cmdline", "r");
    if (!f || !fgets(cmdline, sizeof(cmdline), f)) {
        say("fpbw: error: cannot read /proc/cmdline: %s", strerror(errno));
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    *cfg = (struct config){.hold_mib = 64, .rate_mibps = 16, .selftest = "none"};
    for (char *tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n")) {
        char *eq = strchr(tok, '=');
        if (strncmp(tok, "fpbw.", 5) != 0 || !eq) {
            continue;
        }
        *eq = '\0';
        if (apply_option(cfg, tok + 5, eq + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static uint8_t *map_pages(size_t pages, const char *what, int small_pages)
{
    void *p =
        mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        say("fpbw: error: cannot map %zu MiB for %s: %s", pages / PAGES_PER_MIB, what,
            strerror(errno));
        return NULL;
    }
    if (small_pages) {
        /* Huge pages would hide the fragmentation and delay the frees. */
        madvise(p, pages * PAGE_SIZE, MADV_NOHUGEPAGE);
    }
    return p;
}

static int write_and_free(unsigned long mib)
{
    size_t pages = mib * PAGES_PER_MIB;
    if (pages == 0) {
        return 0;
    }
    uint8_t *p = map_pages(pages, "free", 0);
    if (!p) {
        return -1;
    }
    for (size_t i = 0; i < pages; i++) {
        fill_page((uint64_t *)(p + i * PAGE_SIZE), 7, i, 0);
    }
    munmap(p, pages * PAGE_SIZE);
    return 0;
}

static int setup_region(int kind, unsigned long mib)
{
    struct region *r = &regions[kind];
    r->pages = mib * PAGES_PER_MIB;
    r->stride = kind == REGION_FRAG ? 2 : 1;
    if (r->pages == 0) {
        return 0;
    }
    r->base = map_pages(r->pages, region_names[kind], kind == REGION_FRAG);
    if (!r->base) {
        return -1;
    }
    if (kind == REGION_DIRTY) {
        r->gens = calloc(r->pages, sizeof(*r->gens));
        if (!r->gens) {
            say("fpbw: error: out of memory for generations");
            return -1;
        }
    }
    for (size_t i = 0; i < r->pages; i++) {
        fill_page((uint64_t *)(r->base + i * PAGE_SIZE), kind, i, 0);
    }
    if (kind == REGION_FRAG) {
        /* Free every odd page: the free lists fill with isolated 4 KiB pages. */
        for (size_t i = 1; i < r->pages; i += 2) {
            madvise(r->base + i * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
        }
    }
    if (kind != REGION_FRAG) {
        /* Keeps frame numbers stable for the gdbstub tests. Never on the
         * fragmented region: mlock would fault its freed pages back in. */
        mlock(r->base, r->pages * PAGE_SIZE);
    }
    return 0;
}

static void classify_bad(int kind, size_t index, const uint64_t *page, uint32_t gen,
                         struct bad_counts *bad)
{
    const char *what;
    if (page_is_zero(page)) {
        bad->zero++;
        what = "zero";
    } else if (matching_words(page, kind, index, gen - 1) == WORDS_PER_PAGE ||
               matching_words(page, kind, index, gen + 1) == WORDS_PER_PAGE) {
        bad->stale++;
        what = "stale";
    } else {
        bad->torn++;
        what = "torn";
    }
    if (bad->reported++ < MAX_REPORTED_BAD) {
        say("fpbw: bad page region=%s index=%zu pfn=0x%" PRIx64 " gen=%" PRIu32 " kind=%s",
            region_names[kind], index, pfn_of(page), gen, what);
    }
}

static void dirty_one_page(size_t *cursor)
{
    struct region *r = &regions[REGION_DIRTY];
    size_t i = *cursor;
    uint32_t gen = r->gens[i] + 1;
    fill_page((uint64_t *)(r->base + i * PAGE_SIZE), REGION_DIRTY, i, gen);
    r->gens[i] = gen;
    *cursor = (i + 1) % r->pages;
}

/* Rewrites dirty-region pages at the configured rate, as time passes. */
static void keep_dirtying(const struct config *cfg, double *budget_pages, double *last,
                          size_t *cursor)
{
    if (regions[REGION_DIRTY].pages == 0 || cfg->rate_mibps == 0) {
        return;
    }
    double t = now_seconds();
    *budget_pages += (t - *last) * (double)cfg->rate_mibps * PAGES_PER_MIB;
    *last = t;
    if (*budget_pages > (double)regions[REGION_DIRTY].pages) {
        *budget_pages = (double)regions[REGION_DIRTY].pages;
    }
    while (*budget_pages >= 1.0) {
        dirty_one_page(cursor);
        *budget_pages -= 1.0;
    }
}

struct dirtier {
    const struct config *cfg;
    double budget_pages, last;
    size_t cursor;
};

static void verify_region(int kind, struct dirtier *d, struct bad_counts *bad,
                          unsigned long *checked)
{
    struct region *r = &regions[kind];
    for (size_t i = 0; i < r->pages; i += r->stride) {
        const uint64_t *page = (const uint64_t *)(r->base + i * PAGE_SIZE);
        uint32_t gen = r->gens ? r->gens[i] : 0;
        if (matching_words(page, kind, i, gen) != WORDS_PER_PAGE) {
            classify_bad(kind, i, page, gen, bad);
        }
        (*checked)++;
        if ((i & 255) == 0) {
            keep_dirtying(d->cfg, &d->budget_pages, &d->last, &d->cursor);
        }
    }
}

static void damage_on_purpose(const char *kind)
{
    /* Proves the verifier sees each kind of damage; see fpbw.selftest. The
     * hold region is used because nothing rewrites it behind the damage. */
    struct region *r = &regions[REGION_HOLD];
    if (r->pages == 0) {
        say("fpbw: error: fpbw.selftest needs fpbw.hold > 0");
        return;
    }
    size_t index = r->pages / 2;
    uint64_t *page = (uint64_t *)(r->base + index * PAGE_SIZE);
    if (strcmp(kind, "zero") == 0) {
        memset(page, 0, PAGE_SIZE);
    } else if (strcmp(kind, "stale") == 0) {
        fill_page(page, REGION_HOLD, index, 1);
    } else {
        uint64_t other[WORDS_PER_PAGE];
        fill_page(other, REGION_HOLD, index, 1);
        memcpy(page, other, PAGE_SIZE / 2);
    }
    say("fpbw: selftest damaged region=hold index=%zu kind=%s", index, kind);
}

static void verify_forever(const struct config *cfg)
{
    struct dirtier d = {.cfg = cfg, .last = now_seconds()};
    for (unsigned long pass = 1; cfg->passes == 0 || pass <= cfg->passes; pass++) {
        struct bad_counts bad = {0};
        unsigned long checked = 0;
        double start = now_seconds();
        for (int kind = 0; kind < REGION_COUNT; kind++) {
            verify_region(kind, &d, &bad, &checked);
        }
        unsigned long total = bad.zero + bad.stale + bad.torn;
        if (total == 0) {
            say("fpbw: pass %lu ok pages=%lu ms=%.0f", pass, checked,
                (now_seconds() - start) * 1e3);
        } else {
            say("fpbw: pass %lu bad=%lu zero=%lu stale=%lu torn=%lu pages=%lu", pass, total,
                bad.zero, bad.stale, bad.torn, checked);
        }
        if (pass == 1 && strcmp(cfg->selftest, "none") != 0) {
            damage_on_purpose(cfg->selftest);
        }
        while (now_seconds() - start < MIN_PASS_SECONDS) {
            keep_dirtying(cfg, &d.budget_pages, &d.last, &d.cursor);
            nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
        }
    }
}

static void report_sample_pfns(void)
{
    struct region *r = &regions[REGION_HOLD];
    if (r->pages == 0) {
        return;
    }
    size_t samples[] = {0, r->pages / 2, r->pages - 1};
    for (size_t s = 0; s < 3; s++) {
        say("fpbw: hold-page index=%zu pfn=0x%" PRIx64, samples[s],
            pfn_of(r->base + samples[s] * PAGE_SIZE));
    }
}

int main(int argc, char **argv)
{
    struct config cfg;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (read_config(&cfg) < 0) {
        return 2;
    }
    pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    say("fpbw: start free=%lu frag=%lu hold=%lu dirty=%lu rate=%lu selftest=%s", cfg.free_mib,
        cfg.frag_mib, cfg.hold_mib, cfg.dirty_mib, cfg.rate_mibps, cfg.selftest);
    double t0 = now_seconds();
    if (setup_region(REGION_HOLD, cfg.hold_mib) < 0 || write_and_free(cfg.free_mib) < 0 ||
        setup_region(REGION_FRAG, cfg.frag_mib) < 0 ||
        setup_region(REGION_DIRTY, cfg.dirty_mib) < 0) {
        return 1;
    }
    report_sample_pfns();
    say("fpbw: ready setup-ms=%.0f", (now_seconds() - t0) * 1e3);
    verify_forever(&cfg);
    say("fpbw: done");
    return 0;
}
