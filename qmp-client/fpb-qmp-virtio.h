/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed helpers for x-query-virtio and x-query-virtio-status: where the
 * balloon device is and which features its guest driver negotiated.
 * Conventions as in fpb-qmp-machine.h. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

typedef struct {
    char *path; /* QOM path of the virtio backend, e.g.
                 * "/machine/peripheral/balloon0/virtio-backend" */
    char *name; /* e.g. "virtio-balloon" */
} FpbQmpVirtioDevice;

void fpb_qmp_virtio_device_free(FpbQmpVirtioDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpVirtioDevice, fpb_qmp_virtio_device_free)

/* Returns: (transfer full) (element-type FpbQmpVirtioDevice) the devices. */
GPtrArray *fpb_qmp_virtio_list_parse(json_object *reply, GError **error);
GPtrArray *fpb_qmp_query_virtio(FpbQmpClient *client, GError **error);

/**
 * fpb_qmp_virtio_find_balloon:
 * @ret_path: (out) (transfer full) the balloon's virtio backend path, NULL
 *   when the VM has no virtio-balloon. Written only on success.
 */
gboolean fpb_qmp_virtio_find_balloon(FpbQmpClient *client, char **ret_path, GError **error);

/* The QOM path of the device owning the backend @virtio_path (strips a
 * trailing "/virtio-backend"): where balloon properties live. */
char *fpb_qmp_virtio_device_qom_path(const char *virtio_path);

/* One of host-features, guest-features, backend-features. Names only: QEMU's
 * "NAME: description" strings are cut at the colon. */
typedef struct {
    GStrv transports;
    GStrv dev_features;
    gboolean has_unknown;
    guint64 unknown_dev_features;
} FpbQmpVirtioFeatures;

/* The balloon features that decide fpb's options. */
typedef struct {
    gboolean free_page_hint; /* VIRTIO_BALLOON_F_FREE_PAGE_HINT */
    gboolean stats_vq;       /* VIRTIO_BALLOON_F_STATS_VQ */
    gboolean deflate_on_oom; /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
    gboolean reporting;      /* VIRTIO_BALLOON_F_REPORTING */
    gboolean page_poison;    /* VIRTIO_BALLOON_F_PAGE_POISON */
} FpbQmpBalloonFeatures;

typedef struct {
    char *name;
    guint16 device_id;
    gboolean vm_running;
    gboolean broken;
    gboolean started;
    gboolean disabled;
    GStrv statuses;     /* e.g. "VIRTIO_CONFIG_S_DRIVER_OK" */
    gboolean driver_ok; /* the guest driver finished its setup */
    FpbQmpVirtioFeatures host;
    FpbQmpVirtioFeatures guest;
    FpbQmpVirtioFeatures backend;
    FpbQmpBalloonFeatures host_balloon;  /* offered by QEMU */
    FpbQmpBalloonFeatures guest_balloon; /* negotiated by the guest driver */
} FpbQmpVirtioStatus;

FpbQmpVirtioStatus *fpb_qmp_virtio_status_parse(json_object *reply, GError **error);
FpbQmpVirtioStatus *fpb_qmp_query_virtio_status(FpbQmpClient *client, const char *virtio_path,
                                                GError **error);
void fpb_qmp_virtio_status_free(FpbQmpVirtioStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpVirtioStatus, fpb_qmp_virtio_status_free)

/* TRUE if @features lists @name (transport or device feature). */
gboolean fpb_qmp_virtio_features_has(const FpbQmpVirtioFeatures *features, const char *name);

G_END_DECLS
