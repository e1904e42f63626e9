/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbctl status: what fpbd says over its control socket (docs/libvirt.md). */
#define G_LOG_DOMAIN "fpbctl"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <stdio.h>
#include <string.h>

#include "fpb-conf-daemon.h"
#include "fpbctl.h"

#define TIMEOUT_S 5

/* One request line, one reply line. (transfer full) or NULL with @error. */
static json_object *ask(const char *path, const char *request, GError **error)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GDataInputStream) in = NULL;
    g_autofree char *line = NULL;
    json_object *reply;

    g_socket_client_set_timeout(client, TIMEOUT_S);
    conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, error);
    if (conn == NULL || !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)),
                                                   request, strlen(request), NULL, NULL, error)) {
        return NULL;
    }
    in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    line = g_data_input_stream_read_line_utf8(in, NULL, NULL, error);
    if (line == NULL) {
        if (error != NULL && *error == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "fpbd closed the connection");
        }
        return NULL;
    }
    reply = json_tokener_parse(line);
    if (reply == NULL || !json_object_is_type(reply, json_type_object)) {
        json_object_put(reply);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "fpbd's reply is not JSON");
        return NULL;
    }
    return reply;
}

static void print_human(json_object *r)
{
    json_object *v = NULL;

    printf("fpbd %s\n",
           json_object_object_get_ex(r, "version", &v) ? json_object_get_string(v) : "?");
    if (json_object_object_get_ex(r, "uri", &v)) {
        json_object *c = NULL;

        json_object_object_get_ex(r, "connected", &c);
        printf("  libvirt:  %s (%s)\n", json_object_get_string(v),
               json_object_get_boolean(c) ? "connected" : "not connected, retrying");
    }
    if (json_object_object_get_ex(r, "running", &v)) {
        printf("  running:  %s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    if (json_object_object_get_ex(r, "observed", &v)) {
        printf("  observed: %s migrations recorded\n", json_object_get_string(v));
    }
    if (json_object_object_get_ex(r, "journal", &v)) {
        printf("  journal:  %s\n", json_object_get_string(v));
    }
}

/* fpbctl status [--socket PATH] [--config FILE] [--json] */
int fpbctl_cmd_status(int argc, char **argv)
{
    g_autofree char *socket = NULL;
    g_autofree char *config = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"socket", 0, 0, G_OPTION_ARG_FILENAME, &socket,
         "fpbd's control socket (default: fpbd.conf's)", "PATH"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config,
         "fpbd.conf (default " FPB_CONF_DAEMON_DEFAULT_PATH ")", "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print fpbd's JSON reply", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbConfDaemon) conf = fpb_conf_daemon_new();
    g_autoptr(json_object) reply = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Show what fpbd is doing (its control socket).");
    g_set_prgname("fpbctl status");
    if (!g_option_context_parse(ctx, &argc, &argv, &error) ||
        (socket == NULL &&
         !fpb_conf_daemon_load_file(conf, config ? config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                    config == NULL, &error))) {
        fprintf(stderr, "fpbctl status: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if (socket == NULL) {
        socket = g_strdup(conf->socket_path);
    }
    if ((reply = ask(socket, "{\"op\":\"status\"}\n", &error)) == NULL) {
        fprintf(stderr, "fpbctl status: fpbd at '%s' not reachable: %s\n", socket, error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (json) {
        fpbctl_print_json(reply, FALSE);
    } else {
        print_human(reply);
    }
    return FPBCTL_EXIT_OK;
}
