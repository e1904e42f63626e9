/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed helpers for calc-dirty-rate and query-dirty-rate: how fast the guest
 * dirties its memory. Conventions as in fpb-qmp-machine.h. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

typedef enum {
    FPB_QMP_DIRTY_RATE_UNSTARTED,
    FPB_QMP_DIRTY_RATE_MEASURING,
    FPB_QMP_DIRTY_RATE_MEASURED,
    FPB_QMP_DIRTY_RATE_UNKNOWN, /* a state newer than QEMU 7.2 */
} FpbQmpDirtyRateStatus;

typedef enum {
    FPB_QMP_DIRTY_RATE_MODE_PAGE_SAMPLING,
    FPB_QMP_DIRTY_RATE_MODE_DIRTY_RING,
    FPB_QMP_DIRTY_RATE_MODE_DIRTY_BITMAP,
    FPB_QMP_DIRTY_RATE_MODE_UNKNOWN,
} FpbQmpDirtyRateMode;

typedef struct {
    FpbQmpDirtyRateStatus status;
    FpbQmpDirtyRateMode mode;
    gboolean has_dirty_rate; /* only once measured */
    gint64 dirty_rate;       /* MB/s */
    gint64 start_time;       /* s, QEMU's monotonic clock */
    gint64 calc_time;        /* s */
    guint64 sample_pages;    /* per GiB; 0 unless page-sampling */
} FpbQmpDirtyRateInfo;

/* Starts a measurement lasting @calc_time_s seconds (1..60);
 * @sample_pages_per_gib 0 keeps QEMU's default (512). Page-sampling mode. */
gboolean fpb_qmp_calc_dirty_rate(FpbQmpClient *client, gint64 calc_time_s,
                                 gint64 sample_pages_per_gib, GError **error);

gboolean fpb_qmp_dirty_rate_info_parse(json_object *reply, FpbQmpDirtyRateInfo *ret,
                                       GError **error);
gboolean fpb_qmp_query_dirty_rate(FpbQmpClient *client, FpbQmpDirtyRateInfo *ret, GError **error);

G_END_DECLS
