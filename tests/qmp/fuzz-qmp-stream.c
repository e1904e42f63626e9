/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: bytes as QEMU might send them, through everything that
 * reads them: FpbQmpStream (split at places the input chooses), message
 * classification, and every typed reply/event parser. Nothing may crash,
 * leak or trip a sanitizer. See run-fuzz.sh. */
#include <stdint.h>
#include <string.h>

#include "fpb-qmp.h"
#include "fpb-qmp-message.h"
#include "fpb-qmp-stream.h"

/* Small, so that the cap is reached often. */
#define FUZZ_MAX_MESSAGE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_reply(json_object *value)
{
    char *name = NULL;
    FpbQmpBalloonStats stats;
    FpbQmpMigrationParameters params;
    FpbQmpDirtyRateInfo dirty;
    FpbQmpHintsSupport support;
    FpbQmpHintStats hint_stats;
    gboolean present, on;
    guint64 actual;

    fpb_qmp_status_free(fpb_qmp_status_parse(value, NULL));
    fpb_qmp_version_free(fpb_qmp_version_parse(value, "fuzz", NULL));
    fpb_qmp_migration_info_free(fpb_qmp_migration_info_parse(value, NULL));
    fpb_qmp_virtio_status_free(fpb_qmp_virtio_status_parse(value, NULL));
    g_clear_pointer(&name, g_free);
    if (fpb_qmp_name_parse(value, &name, NULL)) {
        g_free(name);
    }
    {
        GPtrArray *devices = fpb_qmp_virtio_list_parse(value, NULL);

        if (devices != NULL) {
            g_ptr_array_unref(devices);
        }
    }
    fpb_qmp_balloon_info_parse(value, &actual, NULL);
    fpb_qmp_balloon_stats_parse(value, &stats, NULL);
    fpb_qmp_migration_parameters_parse(value, &params, NULL);
    fpb_qmp_dirty_rate_info_parse(value, &dirty, NULL);
    fpb_qmp_hints_schema_parse(value, &support, NULL);
    fpb_qmp_hints_capabilities_parse(value, &present, &on, NULL);
    fpb_qmp_hint_stats_parse(value, &hint_stats, NULL);
    fpb_qmp_guest_driver_free(fpb_qmp_guest_driver_parse(value, NULL));
}

static void handle(json_object *msg)
{
    FpbQmpMessage m;
    g_autoptr(GError) error = NULL;

    if (!fpb_qmp_message_parse(msg, &m, &error)) {
        return;
    }
    if (m.kind == FPB_QMP_MESSAGE_RETURN) {
        parse_reply(m.value);
    } else if (m.kind == FPB_QMP_MESSAGE_EVENT) {
        fpb_qmp_event_free(fpb_qmp_event_parse(m.event, m.value, m.timestamp_us, NULL));
    } else if (m.kind == FPB_QMP_MESSAGE_GREETING) {
        parse_reply(m.value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(FpbQmpStream) stream = fpb_qmp_stream_new(FUZZ_MAX_MESSAGE);
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(fpb_qmp_json_unref);
    /* The first byte picks the read size, as the socket would. */
    size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
    gboolean ok = TRUE;

    if (size > 0) {
        data++;
        size--;
    }
    while (size > 0 && ok) {
        size_t n = MIN(chunk, size);

        ok = fpb_qmp_stream_feed(stream, (const char *)data, n, messages, NULL);
        data += n;
        size -= n;
    }
    (void)fpb_qmp_stream_in_message(stream);
    for (guint i = 0; i < messages->len; i++) {
        handle(messages->pdata[i]);
    }
    return 0;
}
