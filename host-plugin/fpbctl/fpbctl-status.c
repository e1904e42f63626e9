/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbctl status: what fpbd says over its control socket (docs/libvirt.md). */
#define G_LOG_DOMAIN "fpbctl"

#include <stdio.h>

#include "fpb-conf-daemon.h"
#include "fpbctl.h"

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
    g_autofree char *path = NULL;
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
    g_autoptr(json_object) req = json_object_new_object();
    g_autoptr(json_object) reply = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Show what fpbd is doing (its control socket).");
    g_set_prgname("fpbctl status");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "fpbctl status: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    if ((path = fpbctl_fpbd_socket(socket, config, &error)) == NULL) {
        fprintf(stderr, "fpbctl status: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    json_object_object_add(req, "op", json_object_new_string("status"));
    if ((reply = fpbctl_fpbd_ask(path, req, &error)) == NULL) {
        fprintf(stderr, "fpbctl status: fpbd at '%s' not reachable: %s\n", path, error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (json) {
        fpbctl_print_json(reply, FALSE);
    } else {
        print_human(reply);
    }
    return FPBCTL_EXIT_OK;
}
