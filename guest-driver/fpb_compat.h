/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fpb_compat.h: the kernel interfaces fpb_balloon.c relies on that changed
 * between the kernels it is built for, behind one name each, and the
 * build-time checks that stop a build early, with a message naming what is
 * missing, on a kernel that lacks what the driver needs.
 *
 * Built and tested against Debian's 6.1 and 6.12 kernels (every flavour:
 * scripts/build-driver-kernels). The branches for other versions follow the
 * mainline sources of the versions named in each comment (read, not built:
 * no such headers here). The table of every kernel interface the driver uses
 * is in docs/guest-driver.md ("Kernels").
 *
 * Where the preprocessor can see the change itself (a header or a macro that
 * exists or not), that is what is tested, not the version number: a
 * distribution kernel may carry a backport.
 */
#ifndef FPB_COMPAT_H
#define FPB_COMPAT_H

#include <linux/version.h>
#include <linux/kconfig.h>
#include <linux/build_bug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/migrate.h>
#include <linux/virtio_config.h>

/* ---- hard requirements ---------------------------------------------------- */

/*
 * The oldest interface the driver uses unconditionally is
 * virtio_reset_device() (5.17; before, config->reset()); page_reporting's
 * per-device order (5.14) and sysfs_emit() (5.10) are older. Nothing older
 * than 6.1 has been built or tested.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 17, 0)
#error "fpb_balloon needs Linux 5.17 or later (virtio_reset_device()); tested from 6.1"
#endif

/* virtio_device, virtqueues, feature negotiation. */
#if !IS_ENABLED(CONFIG_VIRTIO)
#error "fpb_balloon needs CONFIG_VIRTIO (the virtio core) in the guest kernel"
#endif

/* balloon_page_alloc/enqueue/dequeue (mm/balloon_compaction.c, built for
 * CONFIG_MEMORY_BALLOON; CONFIG_VIRTIO_BALLOON selects it). */
#if !IS_ENABLED(CONFIG_MEMORY_BALLOON)
#error "fpb_balloon needs CONFIG_MEMORY_BALLOON (the balloon page API; CONFIG_VIRTIO_BALLOON selects it)"
#endif

/* The hint walk reads the buddy allocator's free lists. */
#if !IS_ENABLED(CONFIG_MMU)
#error "fpb_balloon needs CONFIG_MMU (the buddy allocator's free lists)"
#endif

/*
 * Optional, each one a feature that is off without it (fpb_balloon.c tests
 * them where they matter):
 *   CONFIG_BALLOON_COMPACTION   balloon pages are not movable (no migratepage)
 *   CONFIG_PAGE_REPORTING       REPORTING is not negotiated
 *   CONFIG_VM_EVENT_COUNTERS    no swap and fault statistics
 *   CONFIG_HUGETLB_PAGE         no hugetlb statistics
 *   CONFIG_PM_SLEEP             no freeze/restore
 *   CONFIG_MEMORY_ISOLATION     no isolated free lists to skip
 */

/* ---- buddy orders ----------------------------------------------------------- */

/*
 * FPB_TOP_ORDER: the highest order a free block can have, the last index of
 * zone->free_area[], on every version.
 *  - up to 6.3, MAX_ORDER is the number of orders: the top is MAX_ORDER - 1;
 *  - 6.4 ("mm, treewide: redefine MAX_ORDER sanely") made MAX_ORDER the top
 *    order itself, inclusive, so MAX_ORDER - 1 would skip the top list;
 *  - 6.8 ("mm, treewide: rename MAX_ORDER to MAX_PAGE_ORDER", with
 *    NR_PAGE_ORDERS for the count) removed the name MAX_ORDER.
 * MAX_PAGE_ORDER is a macro, so its presence is the test; between 6.4 and
 * 6.8 only the version tells the two meanings of MAX_ORDER apart, and the
 * static_assert below checks the result against the array itself.
 */
#if defined(MAX_PAGE_ORDER)
#define FPB_TOP_ORDER MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define FPB_TOP_ORDER MAX_ORDER
#else
#define FPB_TOP_ORDER (MAX_ORDER - 1)
#endif

static_assert(ARRAY_SIZE(((struct zone *)NULL)->free_area) == FPB_TOP_ORDER + 1,
	      "fpb_balloon: FPB_TOP_ORDER is not the last index of zone->free_area[] on this kernel");

/* ---- virtqueues ---------------------------------------------------------------- */

/*
 * fpb_find_vqs(): virtio_find_vqs() with the driver's parallel arrays of
 * callbacks and names (NULL name: no queue, index kept).
 * 6.11 ("virtio: convert find_vqs() op implementations to use struct
 * virtqueue_info" and the series around it) replaced the two arrays and the
 * ctx array by one array of struct virtqueue_info {name, callback, ctx}. A
 * struct cannot be probed by the preprocessor: the version decides.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define FPB_FIND_VQS_MAX 8
static inline int fpb_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			       struct virtqueue *vqs[], vq_callback_t *callbacks[],
			       const char *const names[])
{
	struct virtqueue_info info[FPB_FIND_VQS_MAX] = {};
	unsigned int i;

	if (nvqs > FPB_FIND_VQS_MAX)
		return -EINVAL;
	for (i = 0; i < nvqs; i++) {
		info[i].name = names[i];
		info[i].callback = callbacks[i];
	}
	return virtio_find_vqs(vdev, nvqs, vqs, info, NULL);
}
#else
static inline int fpb_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			       struct virtqueue *vqs[], vq_callback_t *callbacks[],
			       const char *const names[])
{
	return virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, NULL);
}
#endif

/* ---- balloon pages and their migration -------------------------------------------- */

/*
 * Up to 6.x the balloon page API is <linux/balloon_compaction.h>, and a
 * driver's migratepage() callback does the bookkeeping itself: it puts the
 * new page on the balloon list (balloon_page_insert() under
 * balloon_dev_info.pages_lock), drops isolated_pages, finalizes the old page
 * and drops its reference; the driver adjusts the managed page counts itself
 * (balloon without DEFLATE_ON_OOM).
 *
 * The mm series that renamed the header to <linux/balloon.h> (David
 * Hildenbrand, "mm/balloon_compaction: ...", January 2026, in mainline after
 * 6.19) made all of that the core's: one global balloon_pages_lock, no
 * pages_lock member, balloon_page_insert()/balloon_page_finalize() static in
 * mm/balloon.c, the callback only tells the host and returns 0 (or -ENOENT:
 * old page deflated, new one not inflated), and
 * balloon_dev_info.adjust_managed_page_count asks the core to adjust the
 * managed counts in enqueue, dequeue and migration.
 *
 * The header that exists is the test (__has_include): the series removed one
 * and added the other.
 */
#if __has_include(<linux/balloon_compaction.h>)
#include <linux/balloon_compaction.h>
#define FPB_BALLOON_CORE_ACCOUNTS 0
#elif __has_include(<linux/balloon.h>)
#include <linux/balloon.h>
#define FPB_BALLOON_CORE_ACCOUNTS 1
#else
#error "fpb_balloon needs the balloon page API (<linux/balloon_compaction.h> or <linux/balloon.h>)"
#endif

/*
 * MIGRATEPAGE_SUCCESS (a define of 0 in <linux/migrate.h>) was removed in
 * 6.18 ("treewide: remove MIGRATEPAGE_SUCCESS", David Hildenbrand, August
 * 2025); success is 0 since.
 */
#ifdef MIGRATEPAGE_SUCCESS
#define FPB_MIGRATEPAGE_SUCCESS MIGRATEPAGE_SUCCESS
#else
#define FPB_MIGRATEPAGE_SUCCESS 0
#endif

/* The balloon takes @adjust: whether its pages leave the managed count
 * (a balloon without DEFLATE_ON_OOM). Call once, after balloon_devinfo_init()
 * and before the first page is enqueued. */
static inline void fpb_balloon_set_adjust(struct balloon_dev_info *bdi, bool adjust)
{
#if FPB_BALLOON_CORE_ACCOUNTS
	bdi->adjust_managed_page_count = adjust;
#endif
}

/* A page entered (@delta -1) or left (+1) the balloon: the managed count
 * follows, unless the core does it (or @adjust is false). */
static inline void fpb_balloon_adjust_managed(struct page *page, long delta, bool adjust)
{
	if (!FPB_BALLOON_CORE_ACCOUNTS && adjust)
		adjust_managed_page_count(page, delta);
}

#ifdef CONFIG_BALLOON_COMPACTION
/*
 * In migratepage(), before the host hears of the move: @newpage takes
 * @page's place on the balloon list. Nothing to do where the core does it
 * after the callback returns.
 */
static inline void fpb_balloon_migrate_insert(struct balloon_dev_info *bdi, struct page *newpage,
					      struct page *page, bool adjust)
{
#if !FPB_BALLOON_CORE_ACCOUNTS
	unsigned long flags;

	get_page(newpage);
	if (adjust && page_zone(page) != page_zone(newpage)) {
		adjust_managed_page_count(page, 1);
		adjust_managed_page_count(newpage, -1);
	}
	spin_lock_irqsave(&bdi->pages_lock, flags);
	balloon_page_insert(bdi, newpage);
	bdi->isolated_pages--;
	spin_unlock_irqrestore(&bdi->pages_lock, flags);
#endif
}

/* In migratepage(), after the host heard of it: the old page goes. */
static inline void fpb_balloon_migrate_release(struct page *page)
{
#if !FPB_BALLOON_CORE_ACCOUNTS
	balloon_page_finalize(page);
	put_page(page);
#endif
}
#endif /* CONFIG_BALLOON_COMPACTION */

#endif /* FPB_COMPAT_H */
