/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-virtio.h"

#include <string.h>

#include "fpb-qmp-call-priv.h"

#define BACKEND_SUFFIX "/virtio-backend"

void fpb_qmp_virtio_device_free(FpbQmpVirtioDevice *device)
{
    if (device == NULL) {
        return;
    }
    g_free(device->path);
    g_free(device->name);
    g_free(device);
}

GPtrArray *fpb_qmp_virtio_list_parse(json_object *reply, GError **error)
{
    g_autoptr(GPtrArray) devices =
        g_ptr_array_new_with_free_func((GDestroyNotify)fpb_qmp_virtio_device_free);
    size_t n;

    if (!json_object_is_type(reply, json_type_array)) {
        g_set_error_literal(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                            FPB_QMP_REPLY("x-query-virtio") ": not a JSON array");
        return NULL;
    }
    n = json_object_array_length(reply);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(reply, i);
        const char *what = FPB_QMP_REPLY("x-query-virtio") " element";
        const char *path = NULL;
        const char *name = NULL;
        FpbQmpVirtioDevice *device;

        if (!fpb_qmp_json_get_string(item, what, "path", &path, error) ||
            !fpb_qmp_json_get_string(item, what, "name", &name, error)) {
            return NULL;
        }
        device = g_new0(FpbQmpVirtioDevice, 1);
        device->path = g_strdup(path);
        device->name = g_strdup(name);
        g_ptr_array_add(devices, device);
    }
    return g_steal_pointer(&devices);
}

GPtrArray *fpb_qmp_query_virtio(FpbQmpClient *client, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "x-query-virtio", NULL, json_type_array, error);
    GPtrArray *devices;

    if (reply == NULL) {
        return NULL;
    }
    devices = fpb_qmp_virtio_list_parse(reply, error);
    return devices ? devices : fpb_qmp_call_parse_failed(client, error);
}

gboolean fpb_qmp_virtio_find_balloon(FpbQmpClient *client, char **ret_path, GError **error)
{
    g_autoptr(GPtrArray) devices = fpb_qmp_query_virtio(client, error);

    if (devices == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < devices->len; i++) {
        FpbQmpVirtioDevice *device = devices->pdata[i];

        if (g_strcmp0(device->name, "virtio-balloon") == 0) {
            *ret_path = g_strdup(device->path);
            return TRUE;
        }
    }
    *ret_path = NULL;
    return TRUE;
}

char *fpb_qmp_virtio_device_qom_path(const char *virtio_path)
{
    if (g_str_has_suffix(virtio_path, BACKEND_SUFFIX)) {
        return g_strndup(virtio_path, strlen(virtio_path) - strlen(BACKEND_SUFFIX));
    }
    return g_strdup(virtio_path);
}

/* QEMU names features "NAME: description"; keep NAME. */
static void strip_descriptions(GStrv names)
{
    for (char **p = names; p != NULL && *p != NULL; p++) {
        char *colon = strchr(*p, ':');

        if (colon != NULL) {
            *colon = '\0';
        }
        g_strstrip(*p);
    }
}

static gboolean parse_features(json_object *reply, const char *key, FpbQmpVirtioFeatures *ret,
                               GError **error)
{
    g_autofree char *what =
        g_strdup_printf(FPB_QMP_REPLY("x-query-virtio-status") ": member '%s'", key);
    json_object *obj = NULL;

    if (!fpb_qmp_json_get_member(reply, FPB_QMP_REPLY("x-query-virtio-status"), key,
                                 json_type_object, &obj, error) ||
        !fpb_qmp_json_get_strv(obj, what, "transports", &ret->transports, error)) {
        return FALSE;
    }
    if (fpb_qmp_json_has(obj, "dev-features") &&
        !fpb_qmp_json_get_strv(obj, what, "dev-features", &ret->dev_features, error)) {
        return FALSE;
    }
    ret->has_unknown = fpb_qmp_json_has(obj, "unknown-dev-features");
    if (ret->has_unknown && !fpb_qmp_json_get_uint(obj, what, "unknown-dev-features", G_MAXUINT64,
                                                   &ret->unknown_dev_features, error)) {
        return FALSE;
    }
    strip_descriptions(ret->transports);
    strip_descriptions(ret->dev_features);
    return TRUE;
}

gboolean fpb_qmp_virtio_features_has(const FpbQmpVirtioFeatures *features, const char *name)
{
    return (features->dev_features != NULL &&
            g_strv_contains((const char *const *)features->dev_features, name)) ||
           (features->transports != NULL &&
            g_strv_contains((const char *const *)features->transports, name));
}

static void balloon_features(const FpbQmpVirtioFeatures *f, FpbQmpBalloonFeatures *ret)
{
    ret->free_page_hint = fpb_qmp_virtio_features_has(f, "VIRTIO_BALLOON_F_FREE_PAGE_HINT");
    ret->stats_vq = fpb_qmp_virtio_features_has(f, "VIRTIO_BALLOON_F_STATS_VQ");
    ret->deflate_on_oom = fpb_qmp_virtio_features_has(f, "VIRTIO_BALLOON_F_DEFLATE_ON_OOM");
    ret->reporting = fpb_qmp_virtio_features_has(f, "VIRTIO_BALLOON_F_REPORTING");
    ret->page_poison = fpb_qmp_virtio_features_has(f, "VIRTIO_BALLOON_F_PAGE_POISON");
}

static gboolean parse_device_status(json_object *reply, FpbQmpVirtioStatus *s, GError **error)
{
    const char *what = FPB_QMP_REPLY("x-query-virtio-status") ": member 'status'";
    json_object *obj = NULL;

    if (!fpb_qmp_json_get_member(reply, FPB_QMP_REPLY("x-query-virtio-status"), "status",
                                 json_type_object, &obj, error) ||
        !fpb_qmp_json_get_strv(obj, what, "statuses", &s->statuses, error)) {
        return FALSE;
    }
    strip_descriptions(s->statuses);
    s->driver_ok = g_strv_contains((const char *const *)s->statuses, "VIRTIO_CONFIG_S_DRIVER_OK");
    return TRUE;
}

FpbQmpVirtioStatus *fpb_qmp_virtio_status_parse(json_object *reply, GError **error)
{
    const char *what = FPB_QMP_REPLY("x-query-virtio-status");
    g_autoptr(FpbQmpVirtioStatus) s = g_new0(FpbQmpVirtioStatus, 1);
    const char *name = NULL;
    guint64 device_id = 0;

    if (!fpb_qmp_json_get_string(reply, what, "name", &name, error) ||
        !fpb_qmp_json_get_uint(reply, what, "device-id", G_MAXUINT16, &device_id, error) ||
        !fpb_qmp_json_get_bool(reply, what, "vm-running", &s->vm_running, error) ||
        !fpb_qmp_json_get_bool(reply, what, "broken", &s->broken, error) ||
        !fpb_qmp_json_get_bool(reply, what, "started", &s->started, error) ||
        !fpb_qmp_json_get_bool(reply, what, "disabled", &s->disabled, error) ||
        !parse_device_status(reply, s, error) ||
        !parse_features(reply, "host-features", &s->host, error) ||
        !parse_features(reply, "guest-features", &s->guest, error) ||
        !parse_features(reply, "backend-features", &s->backend, error)) {
        return NULL;
    }
    s->name = g_strdup(name);
    s->device_id = (guint16)device_id;
    balloon_features(&s->host, &s->host_balloon);
    balloon_features(&s->guest, &s->guest_balloon);
    return g_steal_pointer(&s);
}

FpbQmpVirtioStatus *fpb_qmp_query_virtio_status(FpbQmpClient *client, const char *virtio_path,
                                                GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) reply = NULL;
    FpbQmpVirtioStatus *status;

    json_object_object_add(args, "path", json_object_new_string(virtio_path));
    reply = fpb_qmp_call(client, "x-query-virtio-status", args, json_type_object, error);
    if (reply == NULL) {
        return NULL;
    }
    status = fpb_qmp_virtio_status_parse(reply, error);
    return status ? status : fpb_qmp_call_parse_failed(client, error);
}

static void features_clear(FpbQmpVirtioFeatures *features)
{
    g_clear_pointer(&features->transports, g_strfreev);
    g_clear_pointer(&features->dev_features, g_strfreev);
}

void fpb_qmp_virtio_status_free(FpbQmpVirtioStatus *status)
{
    if (status == NULL) {
        return;
    }
    g_free(status->name);
    g_strfreev(status->statuses);
    features_clear(&status->host);
    features_clear(&status->guest);
    features_clear(&status->backend);
    g_free(status);
}
