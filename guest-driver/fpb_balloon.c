// SPDX-License-Identifier: GPL-2.0
/*
 * fpb_balloon: a virtio-balloon driver whose free-page hints walk the buddy
 * allocator's free lists instead of allocating the pages it reports.
 *
 * It binds virtio-balloon devices in place of the stock virtio_balloon module
 * (load one or the other, never both) and speaks the standard protocol:
 *
 *  - inflate/deflate through the kernel's balloon page API (balloon pages are
 *    movable, so compaction can migrate them), with deflate-on-OOM when the
 *    device offers it;
 *  - the statistics queue, with the statistics the stock driver reports;
 *  - free-page hinting: on a new command id from the device the driver sends
 *    that id, reports every free buddy block it finds on
 *    zone->free_area[order].free_list[migratetype] as device-writable buffers
 *    (coalesced into ranges), and sends the STOP id. It stops early when the
 *    device changes the id or says STOP/DONE, holds zone->lock for a bounded
 *    number of list entries at a time, and caps the time spent per command.
 *    Nothing is allocated, so nothing needs to be given back on DONE;
 *  - free page reporting (VIRTIO_BALLOON_F_REPORTING): the driver registers
 *    with the kernel's page-reporting framework, which takes free blocks of
 *    at least pageblock order off the free lists a few at a time and hands
 *    them to the driver; the driver puts them on the reporting queue as one
 *    device-writable buffer and returns only once the device has given the
 *    buffer back (the host discards the memory meanwhile). Continuous, and
 *    independent of the hints, which serve one migration at a time.
 *
 * Why hinting pages that stay in the allocator is safe, and when it is not,
 * is argued in docs/guest-driver.md of the fpb project.
 *
 * Counters: /sys/bus/virtio/devices/virtioN/fpb/ (one value per file).
 *
 * Power management: freeze (suspend, hibernation) stops reporting, empties
 * the balloon and resets the device; restore sets it up again.
 *
 * Identity: every statistics buffer ends with a few extra tags (far above
 * the tags virtio defines, which stock QEMU ignores) that give the host
 * this driver's name, version and feature bits; fpb's QEMU shows them as
 * the balloon device's "guest-driver" property.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_balloon.h>
#include <linux/mmzone.h>
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/vmstat.h>
#include <linux/oom.h>
#include <linux/workqueue.h>
#include <linux/wait.h>
#include <linux/scatterlist.h>
#include <linux/vmalloc.h>
#include <linux/bitmap.h>
#include <linux/ktime.h>
#include <linux/sysfs.h>
#include <linux/nodemask.h>
#include <linux/poison.h>
#include <linux/page-isolation.h>
#include <linux/delay.h>
#include <linux/page_reporting.h>
#include <linux/fs.h>

#include "fpb_compat.h"

/* Bumped whenever what the driver tells the host changes (0.2.0: identity,
 * 0.3.0: free page reporting, 0.4.0: reclaim on the host's request, 0.4.1:
 * the hint queue asks for no interrupts). */
#define FPB_BALLOON_VERSION "0.4.1"
/* The name the host is told: also the test build's (fpb_balloon_faults.ko
 * is this driver, and the host must treat it as such). */
#define FPB_BALLOON_NAME "fpb_balloon"

/*
 * The identity tags (the same numbers are in fpb's QEMU patch set). Strings
 * take 16 bytes in two values, byte i in bits 8i..8i+7, NUL-padded; the
 * host accepts the others only after the magic value.
 */
#define FPB_S_ID_MAGIC		0xfb00
#define FPB_S_ID_NAME0		0xfb01
#define FPB_S_ID_NAME1		0xfb02
#define FPB_S_ID_VERSION0	0xfb03
#define FPB_S_ID_VERSION1	0xfb04
#define FPB_S_ID_FEATURES	0xfb05
#define FPB_S_ID_TAGS		6
#define FPB_ID_MAGIC		0x003164692d627066ULL	/* "fpb-id1" */
#define FPB_ID_LEN		16

/* Feature bits: what this driver does when the device asks for it. */
#define FPB_ID_F_HINT_NO_ALLOC	BIT_ULL(0)	/* hints leave pages in the allocator */
#define FPB_ID_F_HINT_FRAGMENTED BIT_ULL(1)	/* hints cover blocks of every order */
#define FPB_ID_F_REPORTING	BIT_ULL(2)	/* free page reporting is running */
#define FPB_ID_F_RECLAIM	BIT_ULL(3)	/* reclaims before a walk when the host asks */

#if PAGE_SHIFT != VIRTIO_BALLOON_PFN_SHIFT
#error "fpb_balloon assumes 4 KiB pages (the balloon protocol's PFN unit)"
#endif

/* ---- tunables ------------------------------------------------------------ */

static bool hint = true;
module_param(hint, bool, 0444);
MODULE_PARM_DESC(hint, "Offer free-page hinting (default on; off: the feature is not negotiated)");

static unsigned int chunk = 256;
module_param(chunk, uint, 0644);
MODULE_PARM_DESC(chunk, "Free-list entries examined per zone->lock hold (1..4096, default 256)");

static unsigned int max_walk_ms = 2000;
module_param(max_walk_ms, uint, 0644);
MODULE_PARM_DESC(max_walk_ms, "Give up a hint walk after this long (ms, default 2000)");

static unsigned int oom_pages = 256;
module_param(oom_pages, uint, 0644);
MODULE_PARM_DESC(oom_pages, "Pages to deflate per OOM notification (default 256)");

static unsigned int keep_mib;
module_param(keep_mib, uint, 0644);
MODULE_PARM_DESC(keep_mib, "Memory the balloon never takes, in MiB of MemAvailable (0, the default: 1/32 of RAM, at least 32 MiB)");

static bool identify = true;
module_param(identify, bool, 0644);
MODULE_PARM_DESC(identify, "Name this driver to the host in every statistics buffer (default on)");

static bool verbose = true;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "Log one line (KERN_INFO) per hint command (default on)");

static bool report = true;
module_param(report, bool, 0444);
MODULE_PARM_DESC(report, "Offer free page reporting (default on; off: the feature is not negotiated)");

static unsigned int report_order;
module_param(report_order, uint, 0444);
MODULE_PARM_DESC(report_order, "Smallest free block to report, as a page order (0: the kernel's default, pageblock_order)");

static bool report_log;
module_param(report_log, bool, 0644);
MODULE_PARM_DESC(report_log, "Log the reporting counters (KERN_INFO) a second after each burst of reports (default off)");

#ifdef FPB_BALLOON_FAULTS
/*
 * A guest that lies or stalls, for the host's tests only (issue 20 item 6,
 * tests/orchestrator/test-guest-lies.c). Compiled into the test build
 * fpb_balloon_faults.ko alone (guest-driver/fpb_balloon_faults.c defines
 * FPB_BALLOON_FAULTS); the shipped fpb_balloon.ko has no lying knobs.
 *   free_lie      MemFree and MemAvailable reported fault_mib MiB higher
 *   stats_frozen  every statistics buffer repeats the first one's values
 *   stats_silent  no statistics buffer after the first
 *   ack_no_pages  the balloon's size follows the target, no page is taken
 *   hint_endless  a hint report never sends STOP and ignores the host's
 *   stats_jump    once fault_mib MiB are in the balloon, MemFree and
 *                 MemAvailable read 16 MiB (a guest whose workload took its
 *                 memory mid-inflation) and it takes 64 pages per 500 ms
 *                 (never still: its stats are the only sign)
 */
static char *fault = "";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "Test build: misbehave on purpose (see the source)");

static unsigned int fault_mib = 256;
module_param(fault_mib, uint, 0444);
MODULE_PARM_DESC(fault_mib, "Test build: the fault's size in MiB (default 256)");

#define FPB_FAULT(name) (strcmp(fault, name) == 0)
#define FPB_FAULT_JUMP_FREE (16ULL << 20)
#define FPB_FAULT_JUMPED(vb) (FPB_FAULT("stats_jump") && \
	(u64)READ_ONCE((vb)->num_pages) << PAGE_SHIFT >= (u64)fault_mib << 20)
#else
#define FPB_FAULT(name) false
#define FPB_FAULT_JUMPED(vb) false
#endif

/* ---- device state -------------------------------------------------------- */

#define FPB_PFNS_PER_MSG 256		/* PFNs per inflate/deflate message */
#define FPB_MAX_CHUNK 4096
#define FPB_MAX_RANGE_PAGES (1UL << 18)	/* 1 GiB per hinted range */
#define FPB_SG_PER_BUF 128		/* ranges per device buffer */

/* A report buffer held longer than this by the device is worth a warning. */
#define FPB_REPORT_WAIT_WARN_S 10

enum { VQ_INFLATE, VQ_DEFLATE, VQ_STATS, VQ_HINT, VQ_REPORT, VQ_MAX };

struct fpb_range {
	unsigned long pfn;
	unsigned long npages;
};

struct fpb_hint_stats {
	u64 cmds;		/* new command ids seen */
	u64 stops;		/* STOP / DONE ids seen */
	u64 walks;		/* walks started */
	u64 walks_complete;	/* walks that went through every list */
	u64 walks_aborted;	/* walks stopped by a new id, STOP/DONE, or the time cap */
	u64 ranges;		/* buffers handed to the device */
	u64 pages;		/* pages in them */
	u64 lock_holds;		/* zone->lock acquisitions */
	u64 total_walk_ns;
	u64 last_walk_ns;
	u64 max_walk_ns;
	u64 max_lock_ns;	/* longest zone->lock hold (interrupts off) */
	u64 last_pages;
	u64 last_ranges;
	u32 last_cmd_id;
	u64 vq_full_waits;	/* times the hint queue was full */
};

struct fpb_reclaim_stats {
	u64 runs;		/* requests served (withdrawals not counted) */
	u64 splits;		/* shrinker runs (vm.drop_caches 2) */
	u64 caches;		/* page cache drops (vm.drop_caches 1) */
	u64 cache_skipped;	/* cache drops refused: more page cache than the bound */
	u64 errors;		/* vm.drop_caches could not be written */
	u64 freed_pages;	/* free pages gained, summed over runs */
	u64 last_freed_pages;
	u64 total_ns;
	u64 last_ns;
};

struct fpb_report_stats {
	u64 reports;		/* buffers the device took and gave back */
	u64 errors;		/* buffers not reported (refused, or the queue broke) */
	u64 blocks;		/* free blocks (scatterlist entries) in them */
	u64 pages;		/* 4 KiB pages in them */
	u64 total_wait_ns;	/* from the kick to the buffer's return */
	u64 max_wait_ns;
	u64 slow_waits;		/* returns that took over FPB_REPORT_WAIT_WARN_S */
};

struct fpb_balloon {
	struct virtio_device *vdev;
	struct virtqueue *vqs[VQ_MAX];

	struct work_struct size_work;
	struct work_struct stats_work;
	struct work_struct hint_work;
	struct workqueue_struct *hint_wq;

	spinlock_t stop_lock;		/* protects stopping and queuing work */
	bool stopping;

	/* balloon proper */
	struct mutex balloon_lock;	/* inflate/deflate/migrate, pfns[] */
	wait_queue_head_t acked;
	unsigned int num_pages;		/* pages in the balloon (4 KiB units) */
	__virtio32 pfns[FPB_PFNS_PER_MSG];
	struct balloon_dev_info bdi;
	struct notifier_block oom_nb;
	u64 oom_calls;			/* OOM notifications (under hs_lock) */
	u64 oom_given;			/* pages they gave back */
	bool oom_hold;			/* no inflating to oom_target again */
	u32 oom_target;			/* the target when OOM took pages back */

	/* statistics queue: the statistics, then the identity tags */
	struct virtio_balloon_stat stats[VIRTIO_BALLOON_S_NR + FPB_S_ID_TAGS];
	unsigned long events[NR_VM_EVENT_ITEMS];

	/* free-page hinting */
	bool hint_on;			/* negotiated and not disabled by poisoning */
	atomic_t cfg_gen;		/* bumped on every config interrupt */
	u32 cmd_id;			/* id being served (or last served) */
	u32 handled_id;			/* last id a walk was started for */
	__virtio32 start_id_buf;	/* out-buffers: must not live on the stack */
	__virtio32 stop_id_buf;
	unsigned long *seen;		/* head pfns reported in this command */
	unsigned long seen_base, seen_len;
	struct fpb_range *batch;	/* ranges gathered under one lock hold */
	struct fpb_range pending;	/* range being coalesced */
	struct scatterlist sgl[FPB_SG_PER_BUF]; /* ranges of the next buffer */
	unsigned int nsg;
	unsigned int sg_per_buf;	/* <= the ring size without indirect descriptors */
	struct fpb_hint_stats hs;
	struct fpb_reclaim_stats cs;
	u32 reclaim_served;		/* the last request number answered */
	spinlock_t hs_lock;		/* hs, cs and rs, for the sysfs readers */

	/* free page reporting */
	bool report_on;			/* negotiated: the queue exists */
	bool report_registered;		/* the framework calls fpb_report() now */
	struct page_reporting_dev_info pr;
	wait_queue_head_t report_wait;
	struct delayed_work report_log_work;
	struct fpb_report_stats rs;
#ifdef FPB_BALLOON_FAULTS
	unsigned int fault_stats_n;	/* stats_frozen: entries of the first buffer */
#endif
};

/* ---- small helpers ------------------------------------------------------- */

static void fpb_queue(struct fpb_balloon *vb, struct workqueue_struct *wq, struct work_struct *w)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stopping)
		queue_work(wq, w);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

static void fpb_ack(struct virtqueue *vq)
{
	struct fpb_balloon *vb = vq->vdev->priv;

	wake_up(&vb->acked);
}

/* Sends the PFN array to the host on vq and waits until it took it. */
static void fpb_tell_host(struct fpb_balloon *vb, struct virtqueue *vq, unsigned int n)
{
	struct scatterlist sg;
	unsigned int len;

	sg_init_one(&sg, vb->pfns, sizeof(vb->pfns[0]) * n);
	if (virtqueue_add_outbuf(vq, &sg, 1, vb, GFP_KERNEL) < 0)
		return;	/* cannot happen: one message in flight at a time */
	virtqueue_kick(vq);
	wait_event(vb->acked, virtqueue_get_buf(vq, &len));
}

static bool fpb_deflate_on_oom(struct fpb_balloon *vb)
{
	return virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
}

static void fpb_update_actual(struct fpb_balloon *vb)
{
	u32 actual = vb->num_pages;

	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, actual, &actual);
}

static u32 fpb_target(struct fpb_balloon *vb)
{
	u32 target;

	virtio_cread_le(vb->vdev, struct virtio_balloon_config, num_pages, &target);
	return target;
}

/* ---- inflate / deflate ---------------------------------------------------- */

/*
 * How many pages the balloon may still take. A host that believes the
 * guest has more free memory than it has (stale or wrong statistics, or a
 * guest that started using memory) would otherwise have the balloon take
 * the last free pages: balloon_page_alloc() itself never invokes the OOM
 * killer (__GFP_NORETRY), but the guest's next allocations would, and kill
 * its workload (issue 20 item 6). So the balloon takes pages only while
 * MemAvailable, which already excludes the watermarks, is above keep_mib;
 * the host sees the balloon stop short of its target.
 */
static unsigned long fpb_keep_pages(void)
{
	if (keep_mib)
		return (unsigned long)keep_mib << (20 - PAGE_SHIFT);
	return max(totalram_pages() / 32, 32UL << (20 - PAGE_SHIFT));
}

static unsigned long fpb_room(void)
{
	long avail = si_mem_available();

	return avail > (long)fpb_keep_pages() ? (unsigned long)avail - fpb_keep_pages() : 0;
}

static unsigned int fpb_inflate(struct fpb_balloon *vb, unsigned int want)
{
	LIST_HEAD(fresh);
	struct page *page, *next;
	unsigned int n = 0;
	unsigned long room = fpb_room();

	want = min_t(unsigned int, want, FPB_PFNS_PER_MSG);
	if (want > room) {
		want = room;
		dev_info_ratelimited(&vb->vdev->dev, "balloon stops at %u pages: the guest keeps %lu MiB available\n",
				     vb->num_pages, fpb_keep_pages() >> (20 - PAGE_SHIFT));
	}
	if (FPB_FAULT_JUMPED(vb)) {
		/* slow but never still: only its stats can stop the host */
		msleep(500);
		want = min_t(unsigned int, want, 64);
	}
	if (!want)
		return 0;
	/* Allocate outside the lock: allocation may reclaim, and reclaim may
	 * migrate balloon pages, which takes the lock. */
	while (n < want) {
		page = balloon_page_alloc();
		if (!page)
			break;
		list_add(&page->lru, &fresh);
		n++;
	}
	if (!n) {
		dev_info_ratelimited(&vb->vdev->dev, "out of memory while inflating\n");
		return 0;
	}

	mutex_lock(&vb->balloon_lock);
	n = 0;
	list_for_each_entry_safe(page, next, &fresh, lru) {
		list_del(&page->lru);
		balloon_page_enqueue(&vb->bdi, page);
		vb->pfns[n++] = cpu_to_virtio32(vb->vdev, page_to_pfn(page));
		vb->num_pages++;
		fpb_balloon_adjust_managed(page, -1, !fpb_deflate_on_oom(vb));
	}
	fpb_tell_host(vb, vb->vqs[VQ_INFLATE], n);
	mutex_unlock(&vb->balloon_lock);
	return n;
}

static unsigned int fpb_deflate(struct fpb_balloon *vb, unsigned int want)
{
	LIST_HEAD(out);
	struct page *page, *next;
	unsigned int n = 0;

	want = min_t(unsigned int, want, FPB_PFNS_PER_MSG);
	mutex_lock(&vb->balloon_lock);
	want = min(want, vb->num_pages);
	while (n < want) {
		page = balloon_page_dequeue(&vb->bdi);
		if (!page)
			break;	/* the rest are isolated for migration right now */
		list_add(&page->lru, &out);
		vb->pfns[n++] = cpu_to_virtio32(vb->vdev, page_to_pfn(page));
		vb->num_pages--;
	}
	/* The host hears about the pages before the guest uses them again,
	 * whether or not it asked for that (MUST_TELL_HOST). */
	if (n)
		fpb_tell_host(vb, vb->vqs[VQ_DEFLATE], n);
	mutex_unlock(&vb->balloon_lock);

	list_for_each_entry_safe(page, next, &out, lru) {
		list_del(&page->lru);
		fpb_balloon_adjust_managed(page, 1, !fpb_deflate_on_oom(vb));
		put_page(page);
	}
	return n;
}

static void fpb_size_work(struct work_struct *work)
{
	struct fpb_balloon *vb = container_of(work, struct fpb_balloon, size_work);
	s64 diff = (s64)fpb_target(vb) - (s64)READ_ONCE(vb->num_pages);
	unsigned int done = 0;

	if (FPB_FAULT("ack_no_pages")) {
		/* The size the host asked for, and not one page behind it. */
		WRITE_ONCE(vb->num_pages, fpb_target(vb));
		fpb_update_actual(vb);
		return;
	}
	if (diff > 0 && READ_ONCE(vb->oom_hold)) {
		/* The guest needed those pages (deflate on OOM): taking them
		 * again would only run it into the next OOM, a fight the
		 * guest loses. Hold until the host asks for another size. */
		if (fpb_target(vb) == READ_ONCE(vb->oom_target)) {
			dev_info_ratelimited(&vb->vdev->dev, "balloon holds at %u pages after OOM, until the host sets a new target\n",
					     READ_ONCE(vb->num_pages));
			fpb_update_actual(vb);
			return;
		}
		WRITE_ONCE(vb->oom_hold, false);
	}
	if (diff > 0)
		done = fpb_inflate(vb, diff > UINT_MAX ? UINT_MAX : (unsigned int)diff);
	else if (diff < 0)
		done = fpb_deflate(vb, -diff > UINT_MAX ? UINT_MAX : (unsigned int)-diff);
	fpb_update_actual(vb);

	if (diff > 0 && !done)
		msleep(200);	/* out of memory: retry later, not in a hot loop */
	if (diff)
		fpb_queue(vb, system_freezable_wq, work);
}

#ifdef CONFIG_BALLOON_COMPACTION
/* Compaction moves a balloon page: the host learns the new page first. */
static int fpb_migratepage(struct balloon_dev_info *bdi, struct page *newpage,
			   struct page *page, enum migrate_mode mode)
{
	struct fpb_balloon *vb = container_of(bdi, struct fpb_balloon, bdi);

	if (!mutex_trylock(&vb->balloon_lock))
		return -EAGAIN;	/* inflate/deflate running: compaction retries */

	/* The list and the counts: ours before <linux/balloon.h>, the core's
	 * after (fpb_compat.h). */
	fpb_balloon_migrate_insert(bdi, newpage, page, !fpb_deflate_on_oom(vb));

	vb->pfns[0] = cpu_to_virtio32(vb->vdev, page_to_pfn(newpage));
	fpb_tell_host(vb, vb->vqs[VQ_INFLATE], 1);
	vb->pfns[0] = cpu_to_virtio32(vb->vdev, page_to_pfn(page));
	fpb_tell_host(vb, vb->vqs[VQ_DEFLATE], 1);
	mutex_unlock(&vb->balloon_lock);

	fpb_balloon_migrate_release(page);
	return FPB_MIGRATEPAGE_SUCCESS;
}
#endif

static int fpb_oom_notify(struct notifier_block *nb, unsigned long unused, void *arg)
{
	struct fpb_balloon *vb = container_of(nb, struct fpb_balloon, oom_nb);
	unsigned long *freed = arg;
	unsigned int left = oom_pages, n, given = 0;
	unsigned long flags;

	while (left) {
		n = fpb_deflate(vb, left);
		if (!n)
			break;
		*freed += n;
		left -= n;
		given += n;
	}
	if (given) {
		WRITE_ONCE(vb->oom_target, fpb_target(vb));
		WRITE_ONCE(vb->oom_hold, true);
	}
	fpb_update_actual(vb);
	spin_lock_irqsave(&vb->hs_lock, flags);
	vb->oom_calls++;
	vb->oom_given += given;
	spin_unlock_irqrestore(&vb->hs_lock, flags);
	return NOTIFY_OK;
}

/* ---- statistics queue ----------------------------------------------------- */

static void fpb_put_stat(struct fpb_balloon *vb, unsigned int *i, u16 tag, u64 val)
{
	vb->stats[*i].tag = cpu_to_virtio16(vb->vdev, tag);
	vb->stats[*i].val = cpu_to_virtio64(vb->vdev, val);
	(*i)++;
}

/* Bytes 8 * word .. 8 * word + 7 of @s, NUL-padded, byte i in bits 8i..8i+7. */
static u64 fpb_id_word(const char *s, unsigned int word)
{
	size_t len = strnlen(s, FPB_ID_LEN);
	u64 v = 0;
	unsigned int b;

	for (b = 0; b < 8; b++) {
		size_t at = word * 8 + b;

		if (at < len)
			v |= (u64)(u8)s[at] << (8 * b);
	}
	return v;
}

/* What the driver does: the hint bits say how it hints when the device asks
 * (whether it does is the negotiated FREE_PAGE_HINT), the reporting bit that
 * reporting runs right now. */
static u64 fpb_id_features(struct fpb_balloon *vb)
{
	u64 f = FPB_ID_F_HINT_NO_ALLOC | FPB_ID_F_HINT_FRAGMENTED;

	if (READ_ONCE(vb->report_registered))
		f |= FPB_ID_F_REPORTING;
	if (vb->hint_on)
		f |= FPB_ID_F_RECLAIM;
	return f;
}

/* Who we are, for a host that knows the tags; others ignore them. */
static void fpb_fill_identity(struct fpb_balloon *vb, unsigned int *i)
{
	fpb_put_stat(vb, i, FPB_S_ID_MAGIC, FPB_ID_MAGIC);
	fpb_put_stat(vb, i, FPB_S_ID_NAME0, fpb_id_word(FPB_BALLOON_NAME, 0));
	fpb_put_stat(vb, i, FPB_S_ID_NAME1, fpb_id_word(FPB_BALLOON_NAME, 1));
	fpb_put_stat(vb, i, FPB_S_ID_VERSION0, fpb_id_word(FPB_BALLOON_VERSION, 0));
	fpb_put_stat(vb, i, FPB_S_ID_VERSION1, fpb_id_word(FPB_BALLOON_VERSION, 1));
	fpb_put_stat(vb, i, FPB_S_ID_FEATURES, fpb_id_features(vb));
}

/* The free memory the statistics say: the truth, except in a test build
 * told to lie. */
static u64 fpb_stat_free(struct fpb_balloon *vb, u64 bytes)
{
#ifdef FPB_BALLOON_FAULTS
	if (FPB_FAULT("free_lie"))
		return bytes + ((u64)fault_mib << 20);
	if (FPB_FAULT_JUMPED(vb))
		return min_t(u64, bytes, FPB_FAULT_JUMP_FREE);
#endif
	return bytes;
}

static unsigned int fpb_fill_stats(struct fpb_balloon *vb)
{
	struct sysinfo si;
	unsigned int i = 0;

#define FPB_STAT(t, v) fpb_put_stat(vb, &i, t, v)

	all_vm_events(vb->events);
	si_meminfo(&si);
#ifdef CONFIG_VM_EVENT_COUNTERS
	FPB_STAT(VIRTIO_BALLOON_S_SWAP_IN, (u64)vb->events[PSWPIN] << PAGE_SHIFT);
	FPB_STAT(VIRTIO_BALLOON_S_SWAP_OUT, (u64)vb->events[PSWPOUT] << PAGE_SHIFT);
	FPB_STAT(VIRTIO_BALLOON_S_MAJFLT, vb->events[PGMAJFAULT]);
	FPB_STAT(VIRTIO_BALLOON_S_MINFLT, vb->events[PGFAULT] - vb->events[PGMAJFAULT]);
#ifdef CONFIG_HUGETLB_PAGE
	FPB_STAT(VIRTIO_BALLOON_S_HTLB_PGALLOC, vb->events[HTLB_BUDDY_PGALLOC]);
	FPB_STAT(VIRTIO_BALLOON_S_HTLB_PGFAIL, vb->events[HTLB_BUDDY_PGALLOC_FAIL]);
#endif
#endif
	FPB_STAT(VIRTIO_BALLOON_S_MEMFREE, fpb_stat_free(vb, (u64)si.freeram * si.mem_unit));
	FPB_STAT(VIRTIO_BALLOON_S_MEMTOT, (u64)si.totalram * si.mem_unit);
	FPB_STAT(VIRTIO_BALLOON_S_AVAIL, fpb_stat_free(vb, (u64)si_mem_available() << PAGE_SHIFT));
	FPB_STAT(VIRTIO_BALLOON_S_CACHES, (u64)global_node_page_state(NR_FILE_PAGES) << PAGE_SHIFT);
#undef FPB_STAT
	if (READ_ONCE(identify))
		fpb_fill_identity(vb, &i);
	return i;
}

static void fpb_stats_give(struct fpb_balloon *vb)
{
	struct scatterlist sg;
	unsigned int n;

#ifdef FPB_BALLOON_FAULTS
	if (FPB_FAULT("stats_frozen") && vb->fault_stats_n)
		n = vb->fault_stats_n;	/* the first buffer's values, again */
	else
		n = vb->fault_stats_n = fpb_fill_stats(vb);
#else
	n = fpb_fill_stats(vb);
#endif
	sg_init_one(&sg, vb->stats, sizeof(vb->stats[0]) * n);
	if (virtqueue_add_outbuf(vb->vqs[VQ_STATS], &sg, 1, vb, GFP_KERNEL) == 0)
		virtqueue_kick(vb->vqs[VQ_STATS]);
}

static void fpb_stats_work(struct work_struct *work)
{
	struct fpb_balloon *vb = container_of(work, struct fpb_balloon, stats_work);
	unsigned int len;

	/* The host hands the buffer back when it wants fresh numbers. */
	if (!virtqueue_get_buf(vb->vqs[VQ_STATS], &len))
		return;
	if (FPB_FAULT("stats_silent"))
		return;	/* the host waits for a buffer that never comes */
	fpb_stats_give(vb);
}

static void fpb_stats_request(struct virtqueue *vq)
{
	struct fpb_balloon *vb = vq->vdev->priv;

	fpb_queue(vb, system_freezable_wq, &vb->stats_work);
}

/* ---- free-page hinting ---------------------------------------------------- */

enum fpb_walk_result { WALK_OK, WALK_NEW_ID, WALK_STOP, WALK_TIMEOUT, WALK_DEVICE, WALK_QUIESCE };

static const char *const fpb_walk_result_name[] = {
	[WALK_OK] = "complete", [WALK_NEW_ID] = "new-id", [WALK_STOP] = "stop",
	[WALK_TIMEOUT] = "time-cap", [WALK_DEVICE] = "device-error",
	[WALK_QUIESCE] = "driver-stop",	/* remove, unbind or freeze mid-walk */
};

struct fpb_walk {
	u32 id;
	int gen;
	u64 start_ns;
	u64 ranges, pages, holds, max_lock_ns, vq_full_waits;
	enum fpb_walk_result result;
};

static u32 fpb_read_cmd_id(struct fpb_balloon *vb)
{
	u32 id;

	virtio_cread_le(vb->vdev, struct virtio_balloon_config, free_page_hint_cmd_id, &id);
	return id;
}

/* Drops the buffers the device has processed (they carry no data back). */
static void fpb_hint_reap(struct fpb_balloon *vb)
{
	unsigned int len;

	while (virtqueue_get_buf(vb->vqs[VQ_HINT], &len))
		;
}

/* Should the walk stop? Re-reads the id only after a config interrupt. */
static bool fpb_walk_should_stop(struct fpb_balloon *vb, struct fpb_walk *w)
{
	int gen = atomic_read(&vb->cfg_gen);

	if (READ_ONCE(vb->stopping)) {
		w->result = WALK_QUIESCE;
		return true;
	}
	if (gen != w->gen) {
		u32 id = fpb_read_cmd_id(vb);

		w->gen = gen;
		/* hint_endless: the host's STOP and DONE go unheard */
		if (id != w->id && !(FPB_FAULT("hint_endless") &&
				     (id == VIRTIO_BALLOON_CMD_ID_STOP ||
				      id == VIRTIO_BALLOON_CMD_ID_DONE))) {
			w->result = (id == VIRTIO_BALLOON_CMD_ID_STOP ||
				     id == VIRTIO_BALLOON_CMD_ID_DONE) ? WALK_STOP : WALK_NEW_ID;
			return true;
		}
	}
	if (max_walk_ms && !FPB_FAULT("hint_endless") && ktime_get_ns() - w->start_ns > (u64)max_walk_ms * NSEC_PER_MSEC) {
		w->result = WALK_TIMEOUT;
		return true;
	}
	return false;
}

/* Adds one buffer to the hint queue, waiting for room if it is full. */
static bool fpb_hint_add(struct fpb_balloon *vb, struct fpb_walk *w, struct scatterlist *sg,
			 unsigned int nsg, bool out)
{
	struct virtqueue *vq = vb->vqs[VQ_HINT];
	int err;

	for (;;) {
		fpb_hint_reap(vb);
		err = out ? virtqueue_add_outbuf(vq, sg, nsg, vb, GFP_KERNEL)
			  : virtqueue_add_inbuf(vq, sg, nsg, vb, GFP_KERNEL);
		if (err != -ENOSPC)
			break;
		w->vq_full_waits++;
		virtqueue_kick(vq);
		if (fpb_walk_should_stop(vb, w))
			return false;
		/* polled: the queue has no interrupt (fpb_init_vqs) */
		usleep_range(500, 1000);
	}
	if (err) {
		dev_warn_ratelimited(&vb->vdev->dev, "hint queue refused a buffer: %d\n", err);
		w->result = WALK_DEVICE;
		return false;
	}
	return true;
}

/* Hands the gathered ranges to the device as one buffer (one scatterlist
 * entry per range: with indirect descriptors, one ring slot). */
static bool fpb_hint_flush(struct fpb_balloon *vb, struct fpb_walk *w)
{
	unsigned int n = vb->nsg;

	if (!n)
		return true;
	vb->nsg = 0;
	sg_mark_end(&vb->sgl[n - 1]);
	return fpb_hint_add(vb, w, vb->sgl, n, false);
}

static bool fpb_hint_send_range(struct fpb_balloon *vb, struct fpb_walk *w,
				const struct fpb_range *r)
{
	if (vb->nsg == 0)
		sg_init_table(vb->sgl, FPB_SG_PER_BUF);
	sg_set_page(&vb->sgl[vb->nsg++], pfn_to_page(r->pfn), r->npages << PAGE_SHIFT, 0);
	w->ranges++;
	w->pages += r->npages;
	if (vb->nsg >= vb->sg_per_buf)
		return fpb_hint_flush(vb, w);
	return true;
}

/* Coalesces block [pfn, pfn + n) into the pending range; sends what it cannot
 * extend. */
static bool fpb_hint_block(struct fpb_balloon *vb, struct fpb_walk *w, unsigned long pfn,
			   unsigned long n)
{
	struct fpb_range *p = &vb->pending;

	if (p->npages && p->npages + n <= FPB_MAX_RANGE_PAGES) {
		if (pfn == p->pfn + p->npages) {
			p->npages += n;
			return true;
		}
		if (pfn + n == p->pfn) {
			p->pfn = pfn;
			p->npages += n;
			return true;
		}
	}
	if (p->npages && !fpb_hint_send_range(vb, w, p))
		return false;
	p->pfn = pfn;
	p->npages = n;
	return true;
}

/*
 * Walks one free list in chunks. Under zone->lock (interrupts off) it records
 * at most `chunk` blocks, marks their head pfns as seen, and rotates the list
 * so the first unrecorded block becomes its head; then it drops the lock and
 * hands the blocks to the device. The list is done when its head is a block
 * already seen in this command (the recorded ones are all behind it now), or
 * when it runs out. Blocks freed to the tail meanwhile, or a block seen before
 * that was allocated and freed again to the head, end the walk of that list
 * early: fewer pages hinted, never a page that was not free.
 */
static bool fpb_walk_list(struct fpb_balloon *vb, struct fpb_walk *w, struct zone *zone,
			  unsigned int order, unsigned int mt, unsigned int per_hold)
{
	struct list_head *head = &zone->free_area[order].free_list[mt];

	for (;;) {
		unsigned int n = 0, i;
		bool list_done = false;
		unsigned long flags;
		struct page *page;
		u64 t0, held;

		if (list_empty_careful(head))
			return true;	/* racy peek; an empty-looking list is skipped */

		t0 = ktime_get_ns();
		spin_lock_irqsave(&zone->lock, flags);
		list_for_each_entry(page, head, lru) {
			unsigned long pfn = page_to_pfn(page);

			if (pfn < vb->seen_base || pfn - vb->seen_base >= vb->seen_len ||
			    __test_and_set_bit(pfn - vb->seen_base, vb->seen)) {
				list_done = true;
				break;
			}
			vb->batch[n].pfn = pfn;
			vb->batch[n].npages = 1UL << order;
			if (++n == per_hold)
				break;
		}
		if (!list_done && n == per_hold) {
			if (page->lru.next == head)
				list_done = true;	/* it was the last one */
			else
				list_rotate_to_front(page->lru.next, head);
		} else if (!list_done) {
			list_done = true;		/* ran off the end */
		}
		held = ktime_get_ns() - t0;
		spin_unlock_irqrestore(&zone->lock, flags);

		w->holds++;
		if (held > w->max_lock_ns)
			w->max_lock_ns = held;
		for (i = 0; i < n; i++)
			if (!fpb_hint_block(vb, w, vb->batch[i].pfn, vb->batch[i].npages))
				return false;
		/* What this hold found reaches the device now, not a chunk later
		 * (the pending range may still grow and stays behind). */
		if (!fpb_hint_flush(vb, w))
			return false;
		virtqueue_kick(vb->vqs[VQ_HINT]);
		if (fpb_walk_should_stop(vb, w))
			return false;
		if (list_done)
			return true;
		cond_resched();
	}
}

static void fpb_walk_all(struct fpb_balloon *vb, struct fpb_walk *w)
{
	unsigned int per_hold = clamp_t(unsigned int, READ_ONCE(chunk), 1, FPB_MAX_CHUNK);
	int nid;

	bitmap_zero(vb->seen, vb->seen_len);
	vb->pending.npages = 0;
	vb->nsg = 0;
	/* High orders first: a block merged upward during the walk then lands
	 * in a list already walked, and cannot carry a seen mark into a list
	 * not walked yet. */
	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];
			int order;

			if (!populated_zone(zone))
				continue;
			for (order = FPB_TOP_ORDER; order >= 0; order--) {
				unsigned int mt;

				for (mt = 0; mt < MIGRATE_TYPES; mt++) {
					if (is_migrate_isolate(mt))
						continue;	/* being taken by alloc_contig_range */
					if (!fpb_walk_list(vb, w, zone, order, mt, per_hold))
						return;
				}
			}
		}
	}
	if (vb->pending.npages && fpb_hint_send_range(vb, w, &vb->pending))
		fpb_hint_flush(vb, w);
}

static bool fpb_send_id(struct fpb_balloon *vb, struct fpb_walk *w, __virtio32 *buf, u32 id)
{
	struct scatterlist sg;

	*buf = cpu_to_virtio32(vb->vdev, id);
	sg_init_one(&sg, buf, sizeof(*buf));
	if (!fpb_hint_add(vb, w, &sg, 1, true))
		return false;
	virtqueue_kick(vb->vqs[VQ_HINT]);
	return true;
}

#ifdef FPB_BALLOON_FAULTS
/* hint_endless: walks again and again, never sending STOP, as long as the
 * host still serves this command. */
static void fpb_fault_hint_on(struct fpb_balloon *vb, struct fpb_walk *w)
{
	while (!READ_ONCE(vb->stopping) && w->result == WALK_OK && fpb_read_cmd_id(vb) == w->id) {
		msleep(200);
		fpb_walk_all(vb, w);
	}
}
#else
static inline void fpb_fault_hint_on(struct fpb_balloon *vb, struct fpb_walk *w) { }
#endif

/* ---- reclaim on the host's request ------------------------------------------- */

/*
 * Memory a program freed is not always on a free list: the freed pieces of a
 * transparent huge page wait, whole, for the deferred split shrinker (run
 * only under memory pressure), and clean page cache is reclaimable but in
 * use. Both cost the guest something to free, so the driver frees them only
 * when the host asks, before a migration: fpb's QEMU (qemu-patches 0006)
 * puts a numbered request after the standard configuration fields and
 * raises a configuration interrupt; the driver frees what it names and
 * writes the number back, which the host waits for before it migrates
 * (what the bulk pass has sent by the time a page turns free is not saved
 * by a hint). Elsewhere those bytes read as all ones (past the end of the
 * device's configuration) or as anything but the magic: no request.
 */
#define FPB_RECLAIM_MAGIC	0x31627066	/* "fpb1" */
#define FPB_RECLAIM_SPLIT	BIT(0)		/* the shrinkers: the deferred THP split */
#define FPB_RECLAIM_CACHE	BIT(1)		/* clean page cache, within the bound */

struct fpb_balloon_config {
	struct virtio_balloon_config std;
	__le32 reclaim_magic;
	__le32 reclaim;
	__le32 reclaim_cache_mib;
	__le32 reclaim_seq;
	__le32 reclaim_done;
} __packed;

struct fpb_reclaim_req {
	u32 what;		/* FPB_RECLAIM_* */
	u32 cache_mib;		/* drop the cache only when it is at most this */
	u32 seq;		/* the request's number */
};

static bool fpb_read_reclaim(struct fpb_balloon *vb, struct fpb_reclaim_req *req)
{
	u32 magic;

	virtio_cread_le(vb->vdev, struct fpb_balloon_config, reclaim_magic, &magic);
	if (magic != FPB_RECLAIM_MAGIC)
		return false;
	virtio_cread_le(vb->vdev, struct fpb_balloon_config, reclaim, &req->what);
	virtio_cread_le(vb->vdev, struct fpb_balloon_config, reclaim_cache_mib, &req->cache_mib);
	virtio_cread_le(vb->vdev, struct fpb_balloon_config, reclaim_seq, &req->seq);
	req->what &= FPB_RECLAIM_SPLIT | FPB_RECLAIM_CACHE;
	return true;
}

/*
 * Neither the shrinkers nor the page cache drop is exported to modules; the
 * kernel's interface for both is vm.drop_caches (2: every shrinker, the
 * deferred split among them, and reclaimable slab; 1: clean, unmapped page
 * cache), written here as root would.
 */
static int fpb_drop_caches(char what)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open("/proc/sys/vm/drop_caches", O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_write(f, &what, 1, &pos);
	filp_close(f, NULL);
	if (n == 1)
		return 0;
	return n < 0 ? (int)n : -EIO;
}

/* Page cache drop_caches could take (shared memory it never drops). */
static unsigned long fpb_page_cache_pages(void)
{
	return global_node_page_state(NR_FILE_PAGES) - global_node_page_state(NR_SHMEM);
}

static void fpb_reclaim_count(struct fpb_balloon *vb, const struct fpb_reclaim_stats *run)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->hs_lock, flags);
	vb->cs.runs++;
	vb->cs.splits += run->splits;
	vb->cs.caches += run->caches;
	vb->cs.cache_skipped += run->cache_skipped;
	vb->cs.errors += run->errors;
	vb->cs.freed_pages += run->last_freed_pages;
	vb->cs.last_freed_pages = run->last_freed_pages;
	vb->cs.total_ns += run->last_ns;
	vb->cs.last_ns = run->last_ns;
	spin_unlock_irqrestore(&vb->hs_lock, flags);
}

/* Frees what request @req names, so the next walks find it free. */
static void fpb_reclaim_run(struct fpb_balloon *vb, const struct fpb_reclaim_req *req)
{
	struct fpb_reclaim_stats run = {};
	unsigned long before, after, cache;
	u64 t0 = ktime_get_ns();
	int err = 0, e;

	before = global_zone_page_state(NR_FREE_PAGES);
	if (req->what & FPB_RECLAIM_SPLIT) {
		err = fpb_drop_caches('2');
		run.splits = !err;
		run.errors += !!err;
	}
	cache = fpb_page_cache_pages();
	if ((req->what & FPB_RECLAIM_CACHE) &&
	    cache > (unsigned long)req->cache_mib << (20 - PAGE_SHIFT)) {
		run.cache_skipped = 1;	/* the guest would lose more than the host allowed */
	} else if (req->what & FPB_RECLAIM_CACHE) {
		e = fpb_drop_caches('1');
		run.caches = !e;
		run.errors += !!e;
		err = e ?: err;
	}
	after = global_zone_page_state(NR_FREE_PAGES);
	run.last_freed_pages = after > before ? after - before : 0;
	run.last_ns = ktime_get_ns() - t0;
	fpb_reclaim_count(vb, &run);
	if (err)
		pr_warn_ratelimited("reclaim req=%u: cannot write vm.drop_caches (%d)\n", req->seq, err);
	if (verbose)
		pr_info("reclaim req=%u split=%llu cache=%s cache_mib=%lu bound_mib=%u freed_pages=%llu us=%llu\n",
			req->seq, run.splits, run.caches ? "dropped" : run.cache_skipped ? "over-bound" : "no",
			cache >> (20 - PAGE_SHIFT), req->cache_mib, run.last_freed_pages,
			run.last_ns / NSEC_PER_USEC);
}

/* A request an earlier binding answered is not served again (a reload, a
 * resume); one still open is. */
static void fpb_reclaim_start(struct fpb_balloon *vb)
{
	struct fpb_reclaim_req req;

	vb->reclaim_served = 0;
	if (vb->hint_on && fpb_read_reclaim(vb, &req))
		virtio_cread_le(vb->vdev, struct fpb_balloon_config, reclaim_done,
				&vb->reclaim_served);
}

/* A request the driver has not answered yet: served (a withdrawal, what 0,
 * only acknowledged), then its number written back for the host. */
static void fpb_reclaim_if_asked(struct fpb_balloon *vb)
{
	struct fpb_reclaim_req req;

	if (!fpb_read_reclaim(vb, &req) || req.seq == vb->reclaim_served)
		return;
	if (req.what)
		fpb_reclaim_run(vb, &req);
	vb->reclaim_served = req.seq;
	virtio_cwrite_le(vb->vdev, struct fpb_balloon_config, reclaim_done, &req.seq);
}

static void fpb_hint_work(struct work_struct *work)
{
	struct fpb_balloon *vb = container_of(work, struct fpb_balloon, hint_work);
	struct fpb_walk w = { .result = WALK_OK };
	unsigned long flags;
	u64 ns;
	u32 id;

	fpb_reclaim_if_asked(vb);
	w.gen = atomic_read(&vb->cfg_gen);
	id = fpb_read_cmd_id(vb);
	if (id == VIRTIO_BALLOON_CMD_ID_STOP || id == VIRTIO_BALLOON_CMD_ID_DONE) {
		/* Nothing was taken from the allocator: nothing to give back. */
		if (id != vb->cmd_id) {
			vb->cmd_id = id;
			spin_lock_irqsave(&vb->hs_lock, flags);
			vb->hs.stops++;
			spin_unlock_irqrestore(&vb->hs_lock, flags);
		}
		return;
	}
	if (id == vb->handled_id)
		return;		/* a config interrupt for something else */
	vb->cmd_id = vb->handled_id = id;
	w.id = id;
	w.start_ns = ktime_get_ns();

	spin_lock_irqsave(&vb->hs_lock, flags);
	vb->hs.cmds++;
	vb->hs.walks++;
	vb->hs.last_cmd_id = id;
	spin_unlock_irqrestore(&vb->hs_lock, flags);

	/* The start id tells the device which command the ranges answer. */
	if (fpb_send_id(vb, &w, &vb->start_id_buf, id)) {
		fpb_walk_all(vb, &w);
		/* Always end with STOP, also after an early end: the device
		 * only honours it while it is serving this id. */
		if (FPB_FAULT("hint_endless"))
			fpb_fault_hint_on(vb, &w);
		else
			fpb_send_id(vb, &w, &vb->stop_id_buf, VIRTIO_BALLOON_CMD_ID_STOP);
	}
	ns = ktime_get_ns() - w.start_ns;

	spin_lock_irqsave(&vb->hs_lock, flags);
	if (w.result == WALK_OK)
		vb->hs.walks_complete++;
	else
		vb->hs.walks_aborted++;
	vb->hs.ranges += w.ranges;
	vb->hs.pages += w.pages;
	vb->hs.lock_holds += w.holds;
	vb->hs.vq_full_waits += w.vq_full_waits;
	vb->hs.total_walk_ns += ns;
	vb->hs.last_walk_ns = ns;
	vb->hs.last_pages = w.pages;
	vb->hs.last_ranges = w.ranges;
	if (ns > vb->hs.max_walk_ns)
		vb->hs.max_walk_ns = ns;
	if (w.max_lock_ns > vb->hs.max_lock_ns)
		vb->hs.max_lock_ns = w.max_lock_ns;
	spin_unlock_irqrestore(&vb->hs_lock, flags);

	if (verbose)
		pr_info("hint cmd=%u result=%s pages=%llu ranges=%llu lock_holds=%llu walk_us=%llu max_lock_us=%llu vq_full=%llu\n",
			id, fpb_walk_result_name[w.result], w.pages, w.ranges, w.holds,
			ns / NSEC_PER_USEC, w.max_lock_ns / NSEC_PER_USEC, w.vq_full_waits);
}

/* ---- free page reporting ----------------------------------------------------- */

static void fpb_report_used(struct virtqueue *vq)
{
	struct fpb_balloon *vb = vq->vdev->priv;

	wake_up(&vb->report_wait);
}

/* The device gave the buffer back, or the queue broke (@broken). */
static bool fpb_report_returned(struct virtqueue *vq, bool *broken)
{
	unsigned int len;

	if (virtqueue_get_buf(vq, &len))
		return true;
	*broken = virtqueue_is_broken(vq);
	return *broken;
}

static void fpb_report_count(struct fpb_balloon *vb, bool ok, unsigned int blocks, u64 bytes,
			     u64 wait_ns)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->hs_lock, flags);
	if (ok) {
		vb->rs.reports++;
		vb->rs.blocks += blocks;
		vb->rs.pages += bytes >> PAGE_SHIFT;
		vb->rs.total_wait_ns += wait_ns;
		if (wait_ns > vb->rs.max_wait_ns)
			vb->rs.max_wait_ns = wait_ns;
		if (wait_ns > (u64)FPB_REPORT_WAIT_WARN_S * NSEC_PER_SEC)
			vb->rs.slow_waits++;
	} else {
		vb->rs.errors++;
	}
	spin_unlock_irqrestore(&vb->hs_lock, flags);
	if (READ_ONCE(report_log))
		mod_delayed_work(system_wq, &vb->report_log_work, HZ);
}

/*
 * Called by the page-reporting framework (its own work item, one call at a
 * time, no lock held) with @nents free blocks it took off the free lists.
 * They go back to the allocator when we return, so we return only once the
 * device is done with them: a host that discarded a page after the guest
 * reused it would lose the guest's data. A non-zero return puts them back
 * unreported and ends the framework's pass (the next block freed starts one).
 */
static int fpb_report(struct page_reporting_dev_info *pr, struct scatterlist *sgl,
		      unsigned int nents)
{
	struct fpb_balloon *vb = container_of(pr, struct fpb_balloon, pr);
	struct virtqueue *vq = vb->vqs[VQ_REPORT];
	struct scatterlist *sg;
	bool broken = false, warned = false;
	unsigned int i;
	u64 bytes = 0, t0;
	int err;

	for_each_sg(sgl, sg, nents, i)
		bytes += sg->length;
	/* The queue is empty here (one buffer in flight at most) and holds
	 * PAGE_REPORTING_CAPACITY descriptors (checked at probe), so this
	 * fits even without an indirect table; no sleeping allocation while
	 * the blocks are off the free lists. */
	err = virtqueue_add_inbuf(vq, sgl, nents, vb, GFP_NOWAIT | __GFP_NOWARN);
	if (err) {
		dev_warn_ratelimited(&vb->vdev->dev,
				     "reporting queue refused %u blocks: %d, not reporting them\n",
				     nents, err);
		fpb_report_count(vb, false, 0, 0, 0);
		return err;
	}
	t0 = ktime_get_ns();
	virtqueue_kick(vq);
	while (!wait_event_timeout(vb->report_wait, fpb_report_returned(vq, &broken),
				   FPB_REPORT_WAIT_WARN_S * HZ)) {
		if (!warned)
			dev_warn(&vb->vdev->dev,
				 "the device has held a report of %llu KiB for %d s, still waiting\n",
				 bytes >> 10, FPB_REPORT_WAIT_WARN_S);
		warned = true;
	}
	if (broken) {
		/* The device is gone (or was reset): it will not touch the
		 * pages again, so they may go back. */
		dev_warn_ratelimited(&vb->vdev->dev, "reporting queue broken, not reporting\n");
		fpb_report_count(vb, false, 0, 0, 0);
		return -EIO;
	}
	fpb_report_count(vb, true, nents, bytes, ktime_get_ns() - t0);
	return 0;
}

static void fpb_report_log_work(struct work_struct *work)
{
	struct fpb_balloon *vb = container_of(to_delayed_work(work), struct fpb_balloon,
					      report_log_work);
	struct fpb_report_stats rs;
	unsigned long flags;

	spin_lock_irqsave(&vb->hs_lock, flags);
	rs = vb->rs;
	spin_unlock_irqrestore(&vb->hs_lock, flags);
	pr_info("report reports=%llu blocks=%llu pages=%llu bytes=%llu errors=%llu wait_us=%llu max_wait_us=%llu\n",
		rs.reports, rs.blocks, rs.pages, rs.pages << PAGE_SHIFT, rs.errors,
		rs.total_wait_ns / NSEC_PER_USEC, rs.max_wait_ns / NSEC_PER_USEC);
}

/* The order the framework reports from: ours if set, else its default. */
static unsigned int fpb_report_effective_order(struct fpb_balloon *vb)
{
	return vb->pr.order ? vb->pr.order : pageblock_order;
}

/* Starts reporting, once the device is ready. Failing here only leaves
 * reporting off: the balloon works without it. */
static void fpb_report_start(struct fpb_balloon *vb)
{
	unsigned int ring;
	int err = -EOPNOTSUPP;

	if (!vb->report_on)
		return;
	ring = virtqueue_get_vring_size(vb->vqs[VQ_REPORT]);
	if (ring < PAGE_REPORTING_CAPACITY) {
		dev_warn(&vb->vdev->dev,
			 "reporting queue has %u entries, fewer than the %d a report needs: reporting off\n",
			 ring, PAGE_REPORTING_CAPACITY);
		return;
	}
#ifdef CONFIG_PAGE_REPORTING
	err = page_reporting_register(&vb->pr);
#endif
	if (err) {
		/* -EBUSY: one device per system, another one has it. */
		dev_warn(&vb->vdev->dev, "page reporting not started: %d, reporting off\n", err);
		return;
	}
	WRITE_ONCE(vb->report_registered, true);
}

/* Stops reporting; returns after the last report in flight came back. */
static void fpb_report_stop(struct fpb_balloon *vb)
{
	if (!vb->report_registered)
		return;
#ifdef CONFIG_PAGE_REPORTING
	page_reporting_unregister(&vb->pr);
#endif
	WRITE_ONCE(vb->report_registered, false);
	cancel_delayed_work_sync(&vb->report_log_work);
}

/* ---- config changes -------------------------------------------------------- */

static void fpb_config_changed(struct virtio_device *vdev)
{
	struct fpb_balloon *vb = vdev->priv;

	atomic_inc(&vb->cfg_gen);
	fpb_queue(vb, system_freezable_wq, &vb->size_work);
	if (vb->hint_on)
		fpb_queue(vb, vb->hint_wq, &vb->hint_work);
}

/* ---- sysfs counters --------------------------------------------------------- */

/* A counter file @name showing @expr (of vb), read under hs_lock. */
#define FPB_COUNTER_ATTR(name, expr)							\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr, char *buf) \
{											\
	struct fpb_balloon *vb = dev_to_virtio(dev)->priv;				\
	unsigned long flags;								\
	u64 v;										\
											\
	spin_lock_irqsave(&vb->hs_lock, flags);						\
	v = (expr);									\
	spin_unlock_irqrestore(&vb->hs_lock, flags);					\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)v);			\
}											\
static DEVICE_ATTR_RO(name)

#define FPB_HS_ATTR(field) FPB_COUNTER_ATTR(field, vb->hs.field)

FPB_HS_ATTR(cmds);
FPB_HS_ATTR(stops);
FPB_HS_ATTR(walks);
FPB_HS_ATTR(walks_complete);
FPB_HS_ATTR(walks_aborted);
FPB_HS_ATTR(ranges);
FPB_HS_ATTR(pages);
FPB_HS_ATTR(lock_holds);
FPB_HS_ATTR(total_walk_ns);
FPB_HS_ATTR(last_walk_ns);
FPB_HS_ATTR(max_walk_ns);
FPB_HS_ATTR(max_lock_ns);
FPB_HS_ATTR(last_pages);
FPB_HS_ATTR(last_ranges);
FPB_HS_ATTR(last_cmd_id);
FPB_HS_ATTR(vq_full_waits);
FPB_COUNTER_ATTR(reports, vb->rs.reports);
FPB_COUNTER_ATTR(report_errors, vb->rs.errors);
FPB_COUNTER_ATTR(report_blocks, vb->rs.blocks);
FPB_COUNTER_ATTR(report_pages, vb->rs.pages);
FPB_COUNTER_ATTR(report_bytes, vb->rs.pages << PAGE_SHIFT);
FPB_COUNTER_ATTR(report_total_wait_ns, vb->rs.total_wait_ns);
FPB_COUNTER_ATTR(report_max_wait_ns, vb->rs.max_wait_ns);
FPB_COUNTER_ATTR(report_slow_waits, vb->rs.slow_waits);
FPB_COUNTER_ATTR(reclaims, vb->cs.runs);
FPB_COUNTER_ATTR(reclaim_splits, vb->cs.splits);
FPB_COUNTER_ATTR(reclaim_caches, vb->cs.caches);
FPB_COUNTER_ATTR(reclaim_cache_skipped, vb->cs.cache_skipped);
FPB_COUNTER_ATTR(reclaim_errors, vb->cs.errors);
FPB_COUNTER_ATTR(reclaim_freed_pages, vb->cs.freed_pages);
FPB_COUNTER_ATTR(reclaim_last_freed_pages, vb->cs.last_freed_pages);
FPB_COUNTER_ATTR(reclaim_total_ns, vb->cs.total_ns);
FPB_COUNTER_ATTR(reclaim_last_ns, vb->cs.last_ns);
FPB_COUNTER_ATTR(oom_calls, vb->oom_calls);
FPB_COUNTER_ATTR(oom_pages, vb->oom_given);

static ssize_t hint_enabled_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", ((struct fpb_balloon *)dev_to_virtio(dev)->priv)->hint_on);
}
static DEVICE_ATTR_RO(hint_enabled);

static ssize_t report_enabled_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct fpb_balloon *vb = dev_to_virtio(dev)->priv;

	return sysfs_emit(buf, "%d\n", READ_ONCE(vb->report_registered));
}
static DEVICE_ATTR_RO(report_enabled);

/* The order this driver registered with (the framework's, in 6.1, until
 * someone writes /sys/module/page_reporting/parameters/page_reporting_order). */
static ssize_t report_order_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct fpb_balloon *vb = dev_to_virtio(dev)->priv;

	return sysfs_emit(buf, "%u\n", fpb_report_effective_order(vb));
}
static DEVICE_ATTR_RO(report_order);

static ssize_t balloon_pages_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct fpb_balloon *vb = dev_to_virtio(dev)->priv;

	return sysfs_emit(buf, "%u\n", READ_ONCE(vb->num_pages));
}
static DEVICE_ATTR_RO(balloon_pages);

static struct attribute *fpb_attrs[] = {
	&dev_attr_cmds.attr, &dev_attr_stops.attr, &dev_attr_walks.attr,
	&dev_attr_walks_complete.attr, &dev_attr_walks_aborted.attr, &dev_attr_ranges.attr,
	&dev_attr_pages.attr, &dev_attr_lock_holds.attr, &dev_attr_total_walk_ns.attr,
	&dev_attr_last_walk_ns.attr, &dev_attr_max_walk_ns.attr, &dev_attr_max_lock_ns.attr,
	&dev_attr_last_pages.attr, &dev_attr_last_ranges.attr, &dev_attr_last_cmd_id.attr,
	&dev_attr_vq_full_waits.attr, &dev_attr_hint_enabled.attr, &dev_attr_balloon_pages.attr,
	&dev_attr_reports.attr, &dev_attr_report_errors.attr, &dev_attr_report_blocks.attr,
	&dev_attr_report_pages.attr, &dev_attr_report_bytes.attr,
	&dev_attr_report_total_wait_ns.attr, &dev_attr_report_max_wait_ns.attr,
	&dev_attr_report_slow_waits.attr, &dev_attr_report_enabled.attr,
	&dev_attr_report_order.attr, &dev_attr_oom_calls.attr, &dev_attr_oom_pages.attr,
	&dev_attr_reclaims.attr, &dev_attr_reclaim_splits.attr, &dev_attr_reclaim_caches.attr,
	&dev_attr_reclaim_cache_skipped.attr, &dev_attr_reclaim_errors.attr,
	&dev_attr_reclaim_freed_pages.attr, &dev_attr_reclaim_last_freed_pages.attr,
	&dev_attr_reclaim_total_ns.attr, &dev_attr_reclaim_last_ns.attr,
	NULL,
};

static const struct attribute_group fpb_attr_group = {
	.name = "fpb",
	.attrs = fpb_attrs,
};

/* ---- probe / remove ------------------------------------------------------------ */

/* The span of pfns the seen-bitmap covers: every populated zone at probe time. */
static int fpb_seen_alloc(struct fpb_balloon *vb)
{
	unsigned long lo = ULONG_MAX, hi = 0;
	int nid;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];

			if (!populated_zone(zone))
				continue;
			lo = min(lo, zone->zone_start_pfn);
			hi = max(hi, zone_end_pfn(zone));
		}
	}
	if (hi <= lo)
		return -ENODEV;
	vb->seen_base = lo;
	vb->seen_len = hi - lo;
	vb->seen = vzalloc(BITS_TO_LONGS(vb->seen_len) * sizeof(unsigned long));
	vb->batch = kcalloc(FPB_MAX_CHUNK, sizeof(*vb->batch), GFP_KERNEL);
	if (!vb->seen || !vb->batch)
		return -ENOMEM;
	return 0;
}

static int fpb_validate(struct virtio_device *vdev)
{
	bool poisoned = want_init_on_free() || page_poisoning_enabled_static();

	/* Free pages that must keep a known content (zero after
	 * init_on_free, a pattern with page_poison) cannot be hinted by a
	 * driver that leaves them in the allocator: the destination would
	 * keep an older content of those pages. Say so to the device, and do
	 * not offer hinting. */
	if (!poisoned)
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_PAGE_POISON);
	if (poisoned || !hint)
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_FREE_PAGE_HINT);
	/* A reported page may come back zeroed (the host discards it): only
	 * if the host can be told what free pages must contain, as the
	 * stock driver does. */
	if (!report || !IS_ENABLED(CONFIG_PAGE_REPORTING) ||
	    (poisoned && !virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_POISON)))
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_REPORTING);
	/* Buffers carry guest-physical addresses. */
	__virtio_clear_bit(vdev, VIRTIO_F_ACCESS_PLATFORM);
	return 0;
}

/*
 * Linux 6.1 numbers the queues it sets up in order, skipping the unnamed
 * ones, while QEMU creates the hint queue whenever it *offers*
 * FREE_PAGE_HINT. When the device offers hints that we did not negotiate
 * (hint=0, page poisoning), the reporting queue would land on the device's
 * hint queue: the slot is kept, with a queue we never use. The stock
 * driver, which always takes FREE_PAGE_HINT, has the same layout.
 */
static bool fpb_keep_hint_slot(struct fpb_balloon *vb)
{
	return !vb->hint_on && vb->report_on &&
	       (vb->vdev->config->get_features(vb->vdev) & BIT_ULL(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
}

static int fpb_init_vqs(struct fpb_balloon *vb)
{
	vq_callback_t *callbacks[VQ_MAX] = { fpb_ack, fpb_ack, NULL, NULL, NULL };
	const char *names[VQ_MAX] = { "inflate", "deflate", NULL, NULL, NULL };
	struct virtio_device *vdev = vb->vdev;
	int err;

	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ)) {
		names[VQ_STATS] = "stats";
		callbacks[VQ_STATS] = fpb_stats_request;
	}
	/* No callback, so no MSI-X vector: QEMU serves this queue in an
	 * iothread, and under TCG an interrupt raised there without the big
	 * lock kills QEMU (tcg_handle_interrupt: assertion failed:
	 * qemu_mutex_iothread_locked(); seen in QEMU 7.2 when the ring filled
	 * up during two migrations at once). The stock driver has none
	 * either; fpb_hint_add() polls for room instead. */
	if (vb->hint_on) {
		names[VQ_HINT] = "free_page_hint";
	} else if (fpb_keep_hint_slot(vb)) {
		names[VQ_HINT] = "free_page_hint_unused";
	}
	if (vb->report_on) {
		names[VQ_REPORT] = "reporting";
		callbacks[VQ_REPORT] = fpb_report_used;
	}
	err = fpb_find_vqs(vdev, VQ_MAX, vb->vqs, callbacks, names);
	if (err)
		return err;

	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_POISON)) {
		/* 0 stands for "zeroed on free" (init_on_free); else the pattern. */
		u32 poison = 0;

		if (!want_init_on_free())
			memset(&poison, PAGE_POISON, sizeof(poison));
		virtio_cwrite_le(vdev, struct virtio_balloon_config, poison_val, &poison);
	}
	if (vb->hint_on) {
		/* Without indirect descriptors a buffer takes one ring slot per
		 * range: keep it well below the ring size. */
		vb->sg_per_buf = FPB_SG_PER_BUF;
		if (!virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC))
			vb->sg_per_buf = clamp_t(unsigned int,
						 virtqueue_get_vring_size(vb->vqs[VQ_HINT]) / 4,
						 1, FPB_SG_PER_BUF);
	}
	return 0;
}

/* Everything that runs once the device is ready (probe and restore). */
static void fpb_start(struct fpb_balloon *vb)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	vb->stopping = false;
	spin_unlock_irqrestore(&vb->stop_lock, flags);
	vb->handled_id = VIRTIO_BALLOON_CMD_ID_STOP;
	vb->cmd_id = VIRTIO_BALLOON_CMD_ID_STOP;
	fpb_reclaim_start(vb);

	virtio_device_ready(vb->vdev);
	/* Before the first statistics buffer, which names the features. */
	fpb_report_start(vb);
	if (vb->vqs[VQ_STATS])
		fpb_stats_give(vb);
	if (fpb_target(vb))
		fpb_queue(vb, system_freezable_wq, &vb->size_work);
	if (vb->hint_on)
		fpb_queue(vb, vb->hint_wq, &vb->hint_work);
}

/* Stops reporting and every work item; nothing is queued after this. */
static void fpb_quiesce(struct fpb_balloon *vb)
{
	unsigned long flags;

	fpb_report_stop(vb);
	spin_lock_irqsave(&vb->stop_lock, flags);
	vb->stopping = true;
	spin_unlock_irqrestore(&vb->stop_lock, flags);
	cancel_work_sync(&vb->size_work);
	cancel_work_sync(&vb->stats_work);
	if (vb->hint_on)
		cancel_work_sync(&vb->hint_work);
}

/* Gives every page back, telling the host, then resets the device. */
static void fpb_release_device(struct fpb_balloon *vb)
{
	if (FPB_FAULT("ack_no_pages"))
		WRITE_ONCE(vb->num_pages, 0);	/* there is nothing to give back */
	while (READ_ONCE(vb->num_pages)) {
		if (!fpb_deflate(vb, FPB_PFNS_PER_MSG))
			cond_resched();
	}
	fpb_update_actual(vb);

	virtio_reset_device(vb->vdev);
	vb->vdev->config->del_vqs(vb->vdev);
}

static void fpb_free(struct fpb_balloon *vb)
{
	if (vb->hint_wq)
		destroy_workqueue(vb->hint_wq);
	vfree(vb->seen);
	kfree(vb->batch);
	kfree(vb);
}

static struct fpb_balloon *fpb_alloc(struct virtio_device *vdev)
{
	struct fpb_balloon *vb = kzalloc(sizeof(*vb), GFP_KERNEL);

	if (!vb)
		return NULL;
	vb->vdev = vdev;
	INIT_WORK(&vb->size_work, fpb_size_work);
	INIT_WORK(&vb->stats_work, fpb_stats_work);
	INIT_WORK(&vb->hint_work, fpb_hint_work);
	INIT_DELAYED_WORK(&vb->report_log_work, fpb_report_log_work);
	spin_lock_init(&vb->stop_lock);
	spin_lock_init(&vb->hs_lock);
	mutex_init(&vb->balloon_lock);
	init_waitqueue_head(&vb->acked);
	init_waitqueue_head(&vb->report_wait);
	balloon_devinfo_init(&vb->bdi);
	fpb_balloon_set_adjust(&vb->bdi, !fpb_deflate_on_oom(vb));
#ifdef CONFIG_BALLOON_COMPACTION
	vb->bdi.migratepage = fpb_migratepage;
#endif
	vb->pr.report = fpb_report;
	if (report_order <= FPB_TOP_ORDER)
		vb->pr.order = report_order;
	else
		pr_warn("report_order %u is above the top buddy order (%d), using the default\n",
			report_order, FPB_TOP_ORDER);
	vb->hint_on = virtio_has_feature(vdev, VIRTIO_BALLOON_F_FREE_PAGE_HINT);
	vb->report_on = virtio_has_feature(vdev, VIRTIO_BALLOON_F_REPORTING);
	return vb;
}

static int fpb_probe(struct virtio_device *vdev)
{
	struct fpb_balloon *vb;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "device has no config space access\n");
		return -EINVAL;
	}
	vb = fpb_alloc(vdev);
	if (!vb)
		return -ENOMEM;
	vdev->priv = vb;

	if (vb->hint_on) {
		err = fpb_seen_alloc(vb);
		if (err)
			goto err_free;
		vb->hint_wq = alloc_ordered_workqueue("fpb_balloon_hint", WQ_FREEZABLE);
		if (!vb->hint_wq) {
			err = -ENOMEM;
			goto err_free;
		}
	}

	err = fpb_init_vqs(vb);
	if (err)
		goto err_free;

	if (fpb_deflate_on_oom(vb)) {
		vb->oom_nb.notifier_call = fpb_oom_notify;
		vb->oom_nb.priority = 80;
		err = register_oom_notifier(&vb->oom_nb);
		if (err)
			goto err_vqs;
	}
	err = sysfs_create_group(&vdev->dev.kobj, &fpb_attr_group);
	if (err)
		goto err_oom;

	fpb_start(vb);
	dev_info(&vdev->dev, "fpb_balloon " FPB_BALLOON_VERSION " bound: hints %s, reporting %s (order %u), stats %s, deflate-on-oom %s, chunk %u\n",
		 vb->hint_on ? "on (free-list walk)" : "off",
		 vb->report_registered ? "on" : "off", fpb_report_effective_order(vb),
		 vb->vqs[VQ_STATS] ? "on" : "off", fpb_deflate_on_oom(vb) ? "on" : "off", chunk);
	return 0;

err_oom:
	if (fpb_deflate_on_oom(vb))
		unregister_oom_notifier(&vb->oom_nb);
err_vqs:
	vdev->config->del_vqs(vdev);
err_free:
	fpb_free(vb);
	vdev->priv = NULL;
	return err;
}

static void fpb_remove(struct virtio_device *vdev)
{
	struct fpb_balloon *vb = vdev->priv;
	unsigned int held;

	fpb_quiesce(vb);
	if (fpb_deflate_on_oom(vb))
		unregister_oom_notifier(&vb->oom_nb);
	sysfs_remove_group(&vdev->dev.kobj, &fpb_attr_group);
	held = READ_ONCE(vb->num_pages);
	fpb_release_device(vb);
	/* The counters vanish with the device: their last word. */
	dev_info(&vdev->dev, "removed: gave back %u pages (balloon now %u), hint walks=%llu complete=%llu aborted=%llu, oom_calls=%llu oom_pages=%llu\n",
		 held, READ_ONCE(vb->num_pages), vb->hs.walks, vb->hs.walks_complete,
		 vb->hs.walks_aborted, vb->oom_calls, vb->oom_given);
	fpb_free(vb);
}

#ifdef CONFIG_PM_SLEEP
/*
 * Suspend and hibernation: the freezable work queues are frozen already.
 * Reporting stops (the framework's work queue may not be), the balloon is
 * emptied with the host's knowledge, and the device is reset; the OOM
 * notifier and the counters stay (an empty balloon gives nothing back).
 */
static int fpb_freeze(struct virtio_device *vdev)
{
	struct fpb_balloon *vb = vdev->priv;

	fpb_quiesce(vb);
	fpb_release_device(vb);
	return 0;
}

/* The core has reset the device and negotiated the same features again. */
static int fpb_restore(struct virtio_device *vdev)
{
	struct fpb_balloon *vb = vdev->priv;
	int err;

	err = fpb_init_vqs(vb);
	if (err)
		return err;
	fpb_start(vb);
	return 0;
}
#endif

static unsigned int fpb_features[] = {
	VIRTIO_BALLOON_F_MUST_TELL_HOST,
	VIRTIO_BALLOON_F_STATS_VQ,
	VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
	VIRTIO_BALLOON_F_FREE_PAGE_HINT,
	VIRTIO_BALLOON_F_PAGE_POISON,
	VIRTIO_BALLOON_F_REPORTING,
};

static const struct virtio_device_id fpb_id_table[] = {
	{ VIRTIO_ID_BALLOON, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver fpb_driver = {
	.feature_table = fpb_features,
	.feature_table_size = ARRAY_SIZE(fpb_features),
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = fpb_id_table,
	.validate = fpb_validate,
	.probe = fpb_probe,
	.remove = fpb_remove,
	.config_changed = fpb_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze = fpb_freeze,
	.restore = fpb_restore,
#endif
};

module_virtio_driver(fpb_driver);
MODULE_DEVICE_TABLE(virtio, fpb_id_table);
MODULE_DESCRIPTION("virtio-balloon driver whose free-page hints walk the buddy free lists");
MODULE_AUTHOR("fpb project");
MODULE_LICENSE("GPL");
MODULE_VERSION(FPB_BALLOON_VERSION);
