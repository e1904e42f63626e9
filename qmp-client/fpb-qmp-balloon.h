/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed helpers for the balloon: query-balloon, balloon, and qom-get/qom-set
 * of the device's guest-stats, guest-stats-polling-interval, free-page-hint
 * and free-page-reporting. @qom_path is the device, e.g.
 * "/machine/peripheral/balloon0" (see fpb_qmp_virtio_device_qom_path()).
 * Conventions as in fpb-qmp-machine.h. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

/* Generic QOM access. qom-get returns (transfer full) any JSON value;
 * @value of qom-set is borrowed. */
json_object *fpb_qmp_qom_get(FpbQmpClient *client, const char *qom_path, const char *property,
                             GError **error);
gboolean fpb_qmp_qom_set(FpbQmpClient *client, const char *qom_path, const char *property,
                         json_object *value, GError **error);

/* query-balloon: the guest's current memory size in bytes. */
gboolean fpb_qmp_balloon_info_parse(json_object *reply, guint64 *ret_actual, GError **error);
gboolean fpb_qmp_query_balloon(FpbQmpClient *client, guint64 *ret_actual, GError **error);

/* balloon: ask the guest to shrink/grow to @target_bytes (> 0). */
gboolean fpb_qmp_balloon_set_target(FpbQmpClient *client, guint64 target_bytes, GError **error);

/* A statistic the guest has not reported (QEMU sends -1 as an unsigned). */
#define FPB_QMP_STAT_UNAVAILABLE G_MAXUINT64

/* guest-stats, as the guest reported them: untrusted, unclamped. Memory
 * values are bytes, the rest counts. */
typedef struct {
    guint64 swap_in;
    guint64 swap_out;
    guint64 major_faults;
    guint64 minor_faults;
    guint64 free_memory;
    guint64 total_memory;
    guint64 available_memory;
    guint64 disk_caches;
    guint64 htlb_pgalloc;
    guint64 htlb_pgfail;
    gint64 last_update; /* host time (s since the epoch) of the last report, 0: never */
} FpbQmpBalloonStats;

gboolean fpb_qmp_balloon_stats_parse(json_object *reply, FpbQmpBalloonStats *ret, GError **error);
gboolean fpb_qmp_balloon_get_stats(FpbQmpClient *client, const char *qom_path,
                                   FpbQmpBalloonStats *ret, GError **error);

/* guest-stats-polling-interval in seconds; 0 disables polling. */
gboolean fpb_qmp_balloon_get_stats_interval(FpbQmpClient *client, const char *qom_path,
                                            gint64 *ret_seconds, GError **error);
gboolean fpb_qmp_balloon_set_stats_interval(FpbQmpClient *client, const char *qom_path,
                                            guint seconds, GError **error);

/* The device properties free-page-hint and free-page-reporting (what QEMU
 * offers; what the guest negotiated is in FpbQmpVirtioStatus). */
gboolean fpb_qmp_balloon_get_free_page_hint(FpbQmpClient *client, const char *qom_path,
                                            gboolean *ret, GError **error);
gboolean fpb_qmp_balloon_get_free_page_reporting(FpbQmpClient *client, const char *qom_path,
                                                 gboolean *ret, GError **error);

G_END_DECLS
