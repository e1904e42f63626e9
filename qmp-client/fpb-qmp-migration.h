/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed helpers for migration: migrate-set-parameters,
 * query-migrate-parameters, migrate-set-capabilities, migrate,
 * migrate-incoming, query-migrate, migrate_cancel.
 * Conventions as in fpb-qmp-machine.h. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

/* QEMU 7.2's MigrationStatus; UNKNOWN for states a newer QEMU may add. */
typedef enum {
    FPB_QMP_MIGRATION_STATUS_NONE,
    FPB_QMP_MIGRATION_STATUS_SETUP,
    FPB_QMP_MIGRATION_STATUS_CANCELLING,
    FPB_QMP_MIGRATION_STATUS_CANCELLED,
    FPB_QMP_MIGRATION_STATUS_ACTIVE,
    FPB_QMP_MIGRATION_STATUS_POSTCOPY_ACTIVE,
    FPB_QMP_MIGRATION_STATUS_POSTCOPY_PAUSED,
    FPB_QMP_MIGRATION_STATUS_POSTCOPY_RECOVER,
    FPB_QMP_MIGRATION_STATUS_COMPLETED,
    FPB_QMP_MIGRATION_STATUS_FAILED,
    FPB_QMP_MIGRATION_STATUS_COLO,
    FPB_QMP_MIGRATION_STATUS_PRE_SWITCHOVER,
    FPB_QMP_MIGRATION_STATUS_DEVICE,
    FPB_QMP_MIGRATION_STATUS_WAIT_UNPLUG,
    FPB_QMP_MIGRATION_STATUS_UNKNOWN,
} FpbQmpMigrationStatus;

FpbQmpMigrationStatus fpb_qmp_migration_status_from_string(const char *name);
const char *fpb_qmp_migration_status_to_string(FpbQmpMigrationStatus status);
/* TRUE for completed, failed, cancelled: nothing more will happen. */
gboolean fpb_qmp_migration_status_is_final(FpbQmpMigrationStatus status);

/* MigrationStats ("ram" of query-migrate), every field QEMU 7.2 sends. */
typedef struct {
    guint64 transferred;
    guint64 remaining;
    guint64 total;
    guint64 duplicate; /* zero pages */
    guint64 skipped;
    guint64 normal; /* pages sent in full */
    guint64 normal_bytes;
    guint64 dirty_pages_rate;
    double mbps;
    guint64 dirty_sync_count;
    guint64 postcopy_requests;
    guint64 page_size;
    guint64 multifd_bytes;
    guint64 pages_per_second;
    guint64 precopy_bytes;
    guint64 downtime_bytes;
    guint64 postcopy_bytes;
    guint64 dirty_sync_missed_zero_copy;
} FpbQmpMigrationStats;

/* query-migrate. Times are milliseconds. */
typedef struct {
    FpbQmpMigrationStatus status; /* NONE when QEMU omits it (no migration yet) */
    gboolean has_ram;
    FpbQmpMigrationStats ram;
    gboolean has_total_time;
    gint64 total_time;
    gboolean has_downtime;
    gint64 downtime;
    gboolean has_setup_time;
    gint64 setup_time;
    gboolean has_expected_downtime;
    gint64 expected_downtime;
    char *error_desc; /* NULL unless QEMU explains a failure */
} FpbQmpMigrationInfo;

FpbQmpMigrationInfo *fpb_qmp_migration_info_parse(json_object *reply, GError **error);
FpbQmpMigrationInfo *fpb_qmp_query_migrate(FpbQmpClient *client, GError **error);
/* As fpb_qmp_query_migrate(), but a "completed" reply is not returned
 * before its times are: QEMU 7.2 sets the status before it computes
 * total-time and downtime, and a query in between (e.g. right after the
 * MIGRATION event) reads 0 ms for both with the bytes already counted.
 * Such a reply is asked again every 10 ms, for 1 s at most. */
FpbQmpMigrationInfo *fpb_qmp_query_migrate_settled(FpbQmpClient *client, GError **error);
void fpb_qmp_migration_info_free(FpbQmpMigrationInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpMigrationInfo, fpb_qmp_migration_info_free)

/* The migration parameters fpb uses; has_* says which are set / were sent. */
typedef struct {
    gboolean has_max_bandwidth;
    guint64 max_bandwidth; /* bytes/s */
    gboolean has_downtime_limit;
    guint64 downtime_limit; /* ms */
    gboolean has_max_postcopy_bandwidth;
    guint64 max_postcopy_bandwidth;
    gboolean has_xbzrle_cache_size;
    guint64 xbzrle_cache_size;
    gboolean has_multifd_channels;
    guint64 multifd_channels;
    gboolean has_cpu_throttle_initial;
    guint64 cpu_throttle_initial;
    gboolean has_cpu_throttle_increment;
    guint64 cpu_throttle_increment;
    gboolean has_max_cpu_throttle;
    guint64 max_cpu_throttle;
} FpbQmpMigrationParameters;

gboolean fpb_qmp_migration_parameters_parse(json_object *reply, FpbQmpMigrationParameters *ret,
                                            GError **error);
gboolean fpb_qmp_query_migrate_parameters(FpbQmpClient *client, FpbQmpMigrationParameters *ret,
                                          GError **error);
/* Sends the parameters whose has_* is TRUE (at least one). */
gboolean fpb_qmp_migrate_set_parameters(FpbQmpClient *client,
                                        const FpbQmpMigrationParameters *params, GError **error);

typedef struct {
    const char *name; /* MigrationCapability, e.g. "events", "postcopy-ram" */
    gboolean state;
} FpbQmpMigrationCapability;

gboolean fpb_qmp_migrate_set_capabilities(FpbQmpClient *client,
                                          const FpbQmpMigrationCapability *caps, gsize n_caps,
                                          GError **error);

gboolean fpb_qmp_migrate(FpbQmpClient *client, const char *uri, GError **error);
gboolean fpb_qmp_migrate_incoming(FpbQmpClient *client, const char *uri, GError **error);
gboolean fpb_qmp_migrate_cancel(FpbQmpClient *client, GError **error);

G_END_DECLS
