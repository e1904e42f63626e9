// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fpb-delay-line: a user-space delay line between two network namespaces,
 * for the test bed (lv-hosts.sh `link DIR delay MS [RATE]`). The kernel the
 * tests run on has no sch_netem (nor fq/etf, nor nft queue), so nothing in
 * the kernel can hold a packet for a time; this program does it.
 *
 * It creates a TUN device (IFF_TUN | IFF_NO_PI) in each of two network
 * namespaces (setns(2) into the namespace before opening /dev/net/tun, so
 * the device is born there; then back to the namespace it started in),
 * and forwards every IP packet read from one device to the other after a
 * one-way delay, with optional jitter (uniform, order kept: a delay line,
 * not a reordering network) and an optional rate (a token bucket, bucket
 * of --burst bytes), through a bounded queue per direction (drop tail:
 * a packet that does not fit is dropped and counted). One thread, one
 * ppoll loop whose timeout is the next departure; CLOCK_MONOTONIC.
 *
 * The devices go away with the process (they are not persistent), and the
 * routes the bed put on them with the devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_MSEC 1000000LL
#define PKT_MAX 65536

typedef struct Packet Packet;
struct Packet {
    Packet *next;
    int64_t due_ns; /* CLOCK_MONOTONIC time at which it leaves the line */
    size_t len;
    unsigned char data[];
};

typedef struct {
    const char *name; /* "a->b" */
    int in_fd;
    int out_fd;
    Packet *head;
    Packet *tail;
    size_t queued_bytes;
    size_t queued_packets;
    int64_t vclock_ns;    /* token bucket as a virtual clock (GCRA) */
    int64_t last_due_ns;  /* departures never go backwards */
    uint64_t fwd_packets; /* written to the other device */
    uint64_t fwd_bytes;
    uint64_t dropped_full; /* queue full: dropped at the tail */
    uint64_t dropped_hold; /* read while frozen (SIGUSR2) */
    uint64_t write_errors;
    size_t max_bytes;
    size_t max_packets;
} Direction;

typedef struct {
    const char *ns[2];
    const char *dev[2];
    int64_t delay_ns;
    int64_t jitter_ns;
    int64_t rate; /* bytes/s, 0: unlimited */
    int64_t burst;
    size_t queue_bytes;
    int mtu;
    bool frozen;
    uint64_t rng;
} Config;

static void usage(FILE *out)
{
    fprintf(out, "usage: fpb-delay-line --ns-a NS --ns-b NS --dev-a NAME --dev-b NAME\n"
                 "                      [--delay MS] [--jitter MS] [--rate BYTES_PER_S]\n"
                 "                      [--burst BYTES] [--queue BYTES] [--mtu N]\n"
                 "\n"
                 "Creates TUN device NAME-a inside network namespace NS-a and NAME-b inside\n"
                 "NS-b (a name under /run/netns, or a path such as /proc/PID/ns/net), sets\n"
                 "their MTU and brings them up, prints 'ready' and forwards every packet\n"
                 "one device receives to the other, in both directions, after:\n"
                 "  --delay MS     one-way delay, milliseconds (default 0)\n"
                 "  --jitter MS    plus a uniform random -MS..+MS (default 0); packets are\n"
                 "                 never reordered, so jitter only ever lengthens gaps\n"
                 "  --rate B       token bucket of B bytes/s per direction, suffix k, M or\n"
                 "                 G (x1000); 0 or absent: no limit\n"
                 "  --burst B      the bucket's size, bytes (default 65536)\n"
                 "  --queue B      each direction holds at most B bytes (waiting for the\n"
                 "                 rate or in the delay); a packet that does not fit is\n"
                 "                 dropped and counted (default 16M)\n"
                 "  --mtu N        both devices' MTU (default 9000)\n"
                 "It adds no address and no route: the caller routes traffic onto the\n"
                 "devices. The devices disappear when it exits.\n"
                 "Signals: SIGUSR1 prints the counters; SIGUSR2 toggles 'frozen' (every\n"
                 "packet read is dropped and counted as held, the queue drains: the line\n"
                 "goes dark without the devices going away); SIGTERM, SIGINT or SIGHUP\n"
                 "print the counters and exit 0.\n"
                 "Exit status: 0 on a signal, 1 on an error (message names the namespace and\n"
                 "the call), 2 on a usage error.\n");
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* xorshift64*: jitter needs spread, not quality */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* A non-negative integer with an optional k/M/G (x1000) suffix. */
static bool parse_size(const char *s, int64_t max, int64_t *ret)
{
    char *end = NULL;
    int64_t mult = 1;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v < 0) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        mult = 1000;
        end++;
    } else if (*end == 'M') {
        mult = 1000000;
        end++;
    } else if (*end == 'G') {
        mult = 1000000000;
        end++;
    }
    if (*end != '\0' || v > max / mult) {
        return false;
    }
    *ret = v * mult;
    return true;
}

static int open_ns(const char *ns)
{
    char path[PATH_MAX];

    if (strchr(ns, '/') != NULL) {
        snprintf(path, sizeof(path), "%s", ns);
    } else {
        snprintf(path, sizeof(path), "/run/netns/%s", ns);
    }
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* MTU and IFF_UP, through a socket of the current namespace. */
static int link_setup(const char *ns, const char *dev, int mtu)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (s < 0) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': socket: %s\n", ns, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
    ifr.ifr_mtu = mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': SIOCSIFMTU '%s' %d: %s\n", ns, dev, mtu,
                strerror(errno));
        close(s);
        return -1;
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
        (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': SIOCSIFFLAGS '%s' up: %s\n", ns, dev,
                strerror(errno));
        close(s);
        return -1;
    }
    close(s);
    return 0;
}

/* Creates TUN device DEV inside namespace NS; its fd, or -1 (reported). */
static int tun_open_in(const char *ns, const char *dev, int mtu, int home_fd)
{
    struct ifreq ifr;
    int fd = -1;
    int ns_fd = open_ns(ns);

    if (ns_fd < 0) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': open: %s\n", ns, strerror(errno));
        return -1;
    }
    if (setns(ns_fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': setns: %s\n", ns, strerror(errno));
        close(ns_fd);
        return -1;
    }
    close(ns_fd);
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "fpb-delay-line: namespace '%s': open /dev/net/tun: %s\n", ns,
                strerror(errno));
    } else {
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            fprintf(stderr, "fpb-delay-line: namespace '%s': TUNSETIFF '%s': %s\n", ns, dev,
                    strerror(errno));
            close(fd);
            fd = -1;
        } else if (link_setup(ns, dev, mtu) < 0) {
            close(fd);
            fd = -1;
        }
    }
    if (setns(home_fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "fpb-delay-line: back from namespace '%s': setns: %s\n", ns,
                strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* When a packet of LEN bytes read at T leaves the line. */
static int64_t packet_due(Config *cfg, Direction *d, size_t len, int64_t t)
{
    int64_t sent = t;

    if (cfg->rate > 0) {
        /* GCRA: the virtual clock runs at most a bucket ahead of time */
        int64_t bucket_ns = cfg->burst * NSEC_PER_SEC / cfg->rate;
        int64_t start = d->vclock_ns > t - bucket_ns ? d->vclock_ns : t - bucket_ns;
        d->vclock_ns = start + (int64_t)len * NSEC_PER_SEC / cfg->rate;
        sent = d->vclock_ns > t ? d->vclock_ns : t;
    }
    int64_t delay = cfg->delay_ns;
    if (cfg->jitter_ns > 0) {
        uint64_t span = (uint64_t)cfg->jitter_ns * 2 + 1;
        delay += (int64_t)(rng_next(&cfg->rng) % span) - cfg->jitter_ns;
        if (delay < 0) {
            delay = 0;
        }
    }
    int64_t due = sent + delay;
    if (due < d->last_due_ns) {
        due = d->last_due_ns;
    }
    d->last_due_ns = due;
    return due;
}

static void enqueue(Config *cfg, Direction *d, const unsigned char *buf, size_t len)
{
    if (cfg->frozen) {
        d->dropped_hold++;
        return;
    }
    if (d->queued_bytes + len > cfg->queue_bytes) {
        d->dropped_full++;
        return;
    }
    Packet *p = malloc(sizeof(*p) + len);
    if (p == NULL) {
        d->dropped_full++;
        return;
    }
    memcpy(p->data, buf, len);
    p->len = len;
    p->next = NULL;
    p->due_ns = packet_due(cfg, d, len, now_ns());
    if (d->tail != NULL) {
        d->tail->next = p;
    } else {
        d->head = p;
    }
    d->tail = p;
    d->queued_bytes += len;
    d->queued_packets++;
    if (d->queued_bytes > d->max_bytes) {
        d->max_bytes = d->queued_bytes;
    }
    if (d->queued_packets > d->max_packets) {
        d->max_packets = d->queued_packets;
    }
}

/* Reads what the device has (a bounded batch); -1 on a real error. */
static int drain_in(Config *cfg, Direction *d, unsigned char *buf)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = read(d->in_fd, buf, PKT_MAX);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }
            fprintf(stderr, "fpb-delay-line: %s: read: %s\n", d->name, strerror(errno));
            return -1;
        }
        if (n > 0) {
            enqueue(cfg, d, buf, (size_t)n);
        }
    }
    return 0;
}

static Packet *dequeue(Direction *d)
{
    Packet *p = d->head;

    d->head = p->next;
    if (d->head == NULL) {
        d->tail = NULL;
    }
    d->queued_bytes -= p->len;
    d->queued_packets--;
    return p;
}

/* Writes every packet that is due; frozen, drops them instead. */
static void send_due(Config *cfg, Direction *d, int64_t t)
{
    while (d->head != NULL && (cfg->frozen || d->head->due_ns <= t)) {
        Packet *p = dequeue(d);
        if (cfg->frozen) {
            d->dropped_hold++;
        } else if (write(d->out_fd, p->data, p->len) == (ssize_t)p->len) {
            d->fwd_packets++;
            d->fwd_bytes += p->len;
        } else {
            d->write_errors++;
        }
        free(p);
    }
}

static void print_counters(const Config *cfg, const Direction *dirs)
{
    for (int i = 0; i < 2; i++) {
        const Direction *d = &dirs[i];
        printf("fpb-delay-line: %s packets=%llu bytes=%llu dropped_full=%llu dropped_frozen=%llu "
               "write_errors=%llu queued_bytes=%zu queue_max_bytes=%zu queue_max_packets=%zu%s\n",
               d->name, (unsigned long long)d->fwd_packets, (unsigned long long)d->fwd_bytes,
               (unsigned long long)d->dropped_full, (unsigned long long)d->dropped_hold,
               (unsigned long long)d->write_errors, d->queued_bytes, d->max_bytes, d->max_packets,
               cfg->frozen ? " frozen" : "");
    }
    fflush(stdout);
}

/* The ppoll timeout until the earliest departure; NULL: none queued. */
static struct timespec *next_timeout(const Direction *dirs, struct timespec *ts)
{
    int64_t due = INT64_MAX;

    for (int i = 0; i < 2; i++) {
        if (dirs[i].head != NULL && dirs[i].head->due_ns < due) {
            due = dirs[i].head->due_ns;
        }
    }
    if (due == INT64_MAX) {
        return NULL;
    }
    int64_t wait = due - now_ns();
    if (wait < 0) {
        wait = 0;
    }
    ts->tv_sec = wait / NSEC_PER_SEC;
    ts->tv_nsec = wait % NSEC_PER_SEC;
    return ts;
}

/* 1: go on, 0: exit (asked to), -1: error. */
static int handle_signal(int sfd, Config *cfg, Direction *dirs)
{
    struct signalfd_siginfo si;

    if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si)) {
        return 1;
    }
    switch (si.ssi_signo) {
    case SIGUSR1:
        print_counters(cfg, dirs);
        return 1;
    case SIGUSR2:
        cfg->frozen = !cfg->frozen;
        printf("fpb-delay-line: %s\n", cfg->frozen ? "frozen" : "thawed");
        fflush(stdout);
        return 1;
    default:
        return 0;
    }
}

static int run(Config *cfg, Direction *dirs, int sfd)
{
    static unsigned char buf[PKT_MAX];
    struct pollfd pfd[3] = {
        {.fd = dirs[0].in_fd, .events = POLLIN},
        {.fd = dirs[1].in_fd, .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
    };

    for (;;) {
        struct timespec ts;
        int r = ppoll(pfd, 3, next_timeout(dirs, &ts), NULL);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "fpb-delay-line: ppoll: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; r > 0 && i < 2; i++) {
            if ((pfd[i].revents & POLLIN) && drain_in(cfg, &dirs[i], buf) < 0) {
                return -1;
            }
        }
        if (r > 0 && (pfd[2].revents & POLLIN)) {
            int go = handle_signal(sfd, cfg, dirs);
            if (go <= 0) {
                return go;
            }
        }
        int64_t t = now_ns();
        send_due(cfg, &dirs[0], t);
        send_due(cfg, &dirs[1], t);
    }
}

static int parse_args(int argc, char **argv, Config *cfg)
{
    static const struct option opts[] = {
        {"ns-a", required_argument, NULL, 'A'},  {"ns-b", required_argument, NULL, 'B'},
        {"dev-a", required_argument, NULL, 'a'}, {"dev-b", required_argument, NULL, 'b'},
        {"delay", required_argument, NULL, 'd'}, {"jitter", required_argument, NULL, 'j'},
        {"rate", required_argument, NULL, 'r'},  {"burst", required_argument, NULL, 'u'},
        {"queue", required_argument, NULL, 'q'}, {"mtu", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int64_t v = 0;
    int idx = 0;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        bool ok = true;
        switch (c) {
        case 'A':
            cfg->ns[0] = optarg;
            break;
        case 'B':
            cfg->ns[1] = optarg;
            break;
        case 'a':
            cfg->dev[0] = optarg;
            break;
        case 'b':
            cfg->dev[1] = optarg;
            break;
        case 'd':
            ok = parse_size(optarg, 3600000, &v);
            cfg->delay_ns = v * NSEC_PER_MSEC;
            break;
        case 'j':
            ok = parse_size(optarg, 3600000, &v);
            cfg->jitter_ns = v * NSEC_PER_MSEC;
            break;
        case 'r':
            ok = parse_size(optarg, INT64_MAX / NSEC_PER_SEC, &cfg->rate);
            break;
        case 'u':
            ok = parse_size(optarg, INT64_MAX / NSEC_PER_SEC, &cfg->burst) && cfg->burst > 0;
            break;
        case 'q':
            ok = parse_size(optarg, (int64_t)1 << 40, &v) && v >= PKT_MAX;
            cfg->queue_bytes = (size_t)v;
            break;
        case 'm':
            ok = parse_size(optarg, PKT_MAX - 1, &v) && v >= 68;
            cfg->mtu = (int)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "fpb-delay-line: invalid value '%s' for --%s (see --help)\n", optarg,
                    opts[idx].name);
            return -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (cfg->ns[i] == NULL || cfg->dev[i] == NULL || strlen(cfg->dev[i]) >= IFNAMSIZ) {
            fprintf(stderr, "fpb-delay-line: --ns-a, --ns-b, --dev-a and --dev-b are needed "
                            "(device names under 16 characters)\n");
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "fpb-delay-line: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Blocks the signals it handles and returns a signalfd for them. */
static int signals_open(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        return -1;
    }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
    Config cfg = {.burst = 65536, .queue_bytes = 16000000, .mtu = 9000};
    Direction dirs[2] = {{.name = "a->b"}, {.name = "b->a"}};
    int fd[2] = {-1, -1};

    if (parse_args(argc, argv, &cfg) < 0) {
        return 2;
    }
    cfg.rng = (uint64_t)now_ns() | 1;
    int sfd = signals_open();
    if (sfd < 0) {
        fprintf(stderr, "fpb-delay-line: signalfd: %s\n", strerror(errno));
        return 1;
    }
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) {
        fprintf(stderr, "fpb-delay-line: open /proc/self/ns/net: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        fd[i] = tun_open_in(cfg.ns[i], cfg.dev[i], cfg.mtu, home);
        if (fd[i] < 0) {
            return 1;
        }
    }
    close(home);
    dirs[0].in_fd = fd[0];
    dirs[0].out_fd = fd[1];
    dirs[1].in_fd = fd[1];
    dirs[1].out_fd = fd[0];
    printf("fpb-delay-line: ready: '%s' in '%s' <-> '%s' in '%s', delay %lld ms, jitter %lld ms, "
           "rate %lld B/s, burst %lld B, queue %zu B, mtu %d\n",
           cfg.dev[0], cfg.ns[0], cfg.dev[1], cfg.ns[1], (long long)(cfg.delay_ns / NSEC_PER_MSEC),
           (long long)(cfg.jitter_ns / NSEC_PER_MSEC), (long long)cfg.rate, (long long)cfg.burst,
           cfg.queue_bytes, cfg.mtu);
    fflush(stdout);
    int r = run(&cfg, dirs, sfd);
    print_counters(&cfg, dirs);
    return r < 0 ? 1 : 0;
}
