/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "qmp-replay.h"

#include <string.h>

#include "fpb-qmp-json.h"
#include "qmp-test-util.h"

#define TIMEOUT 5000

FpbQmpClient *qmp_replay_serve(FakeQmpServer *server)
{
    g_autoptr(GError) error = NULL;
    FpbQmpClient *client;

    fake_qmp_server_start(server);
    client = fpb_qmp_client_connect(fake_qmp_server_get_path(server), TIMEOUT, &error);
    g_assert_no_error(error);
    return client;
}

void qmp_replay_finish(FakeQmpServer *server, FpbQmpClient *client)
{
    g_autofree char *failures = NULL;

    fpb_qmp_client_free(client);
    failures = fake_qmp_server_join(server);
    if (failures != NULL) {
        g_error("fake QMP server: %s", failures);
    }
}

void qmp_replay_check_requests(FakeQmpServer *server, const char *recording)
{
    g_autofree char *path = qmp_test_recording_path(recording);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *sent = fake_qmp_server_get_requests(server);
    guint n = 0;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        g_autoptr(json_object) line = json_tokener_parse(lines[i]);
        g_autoptr(json_object) got = NULL;
        json_object *want = json_object_object_get(line, "msg");
        const char *command;

        if (!g_str_equal(json_object_get_string(json_object_object_get(line, "dir")), "c2s")) {
            continue;
        }
        g_assert_cmpuint(n, <, sent->len);
        /* Every byte costs with QEMU 7.2: no escaped slashes in QOM paths. */
        g_assert_null(strstr(sent->pdata[n], "\\/"));
        got = json_tokener_parse(sent->pdata[n++]);
        g_assert_nonnull(got);
        /* Ids are bare integers, counted from 1 (qmp_capabilities). */
        g_assert_true(json_object_is_type(json_object_object_get(got, "id"), json_type_int));
        g_assert_cmpint(json_object_get_int64(json_object_object_get(got, "id")), ==, n);
        json_object_object_del(got, "id");
        json_object_object_del(want, "id");
        command = json_object_get_string(json_object_object_get(want, "execute"));
        if (g_str_equal(command, "migrate") || g_str_equal(command, "migrate-incoming")) {
            json_object_object_del(got, "arguments");
            json_object_object_del(want, "arguments");
        }
        if (!json_object_equal(got, want)) {
            g_error("sent %s, recorded %s", json_object_to_json_string(got),
                    json_object_to_json_string(want));
        }
    }
}
