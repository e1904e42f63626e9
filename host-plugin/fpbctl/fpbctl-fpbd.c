/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbctl as a client of fpbd's control socket (docs/libvirt.md, "Control
 * protocol"): one request, progress lines, one reply. An evacuation
 * (fpbctl evacuate --via-fpbd) is cancelled by ending the request's
 * sending side: fpbd reads nothing else from it meanwhile.
 */
#define G_LOG_DOMAIN "fpbctl"

#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fpb-conf-daemon.h"
#include "fpb-evacuate-run.h"
#include "fpbctl-progress.h"
#include "fpbctl.h"

#define CONNECT_TIMEOUT_S 5
#define ASK_TIMEOUT_S 5

struct _FpbctlFpbd {
    GSocketConnection *conn;
    GDataInputStream *in;
};

void fpbctl_fpbd_close(FpbctlFpbd *f)
{
    if (f == NULL) {
        return;
    }
    g_clear_object(&f->in);
    g_clear_object(&f->conn);
    g_free(f);
}

FpbctlFpbd *fpbctl_fpbd_request(const char *path, json_object *request, guint io_timeout_s,
                                GError **error)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    g_autoptr(FpbctlFpbd) f = g_new0(FpbctlFpbd, 1);
    g_autofree char *text =
        g_strdup_printf("%s\n", json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));

    g_socket_client_set_timeout(client, CONNECT_TIMEOUT_S);
    f->conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, error);
    if (f->conn != NULL) {
        /* the connect timeout sticks to the socket: a migration takes longer */
        g_socket_set_timeout(g_socket_connection_get_socket(f->conn), io_timeout_s);
    }
    if (f->conn == NULL ||
        !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(f->conn)), text,
                                   strlen(text), NULL, NULL, error)) {
        return NULL;
    }
    f->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(f->conn)));
    return g_steal_pointer(&f);
}

json_object *fpbctl_fpbd_read(FpbctlFpbd *f, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *line = g_data_input_stream_read_line_utf8(f->in, NULL, NULL, &local);
    json_object *reply;

    if (line == NULL) {
        if (local != NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
        } else {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "fpbd closed the connection");
        }
        return NULL;
    }
    reply = json_tokener_parse(line);
    if (reply == NULL || !json_object_is_type(reply, json_type_object)) {
        json_object_put(reply);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "fpbd's reply is not JSON: %.80s",
                    line);
        return NULL;
    }
    return reply;
}

json_object *fpbctl_fpbd_ask(const char *path, json_object *request, GError **error)
{
    g_autoptr(FpbctlFpbd) f = fpbctl_fpbd_request(path, request, ASK_TIMEOUT_S, error);

    return f != NULL ? fpbctl_fpbd_read(f, error) : NULL;
}

char *fpbctl_fpbd_socket(const char *socket, const char *config, GError **error)
{
    g_autoptr(FpbConfDaemon) conf = NULL;

    if (socket != NULL) {
        return g_strdup(socket);
    }
    conf = fpb_conf_daemon_new();
    if (!fpb_conf_daemon_load_file(conf, config ? config : FPB_CONF_DAEMON_DEFAULT_PATH,
                                   config == NULL, error)) {
        return NULL;
    }
    return g_strdup(conf->socket_path);
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* Prints fpbd's progress lines until the reply, which it returns. */
static json_object *follow(FpbctlFpbd *f, GError **error)
{
    for (;;) {
        g_autoptr(json_object) line = fpbctl_fpbd_read(f, error);
        const char *progress;

        if (line == NULL) {
            return NULL;
        }
        if ((progress = get_str(line, "progress")) == NULL) {
            return g_steal_pointer(&line);
        }
        fprintf(stderr, "fpbctl migrate (fpbd): %s\n", progress);
    }
}

static int print_reply(json_object *reply, gboolean json)
{
    json_object *row = NULL;
    const char *result = get_str(reply, "result");

    json_object_object_get_ex(reply, "row", &row);
    if (json && row != NULL) {
        fpbctl_print_json(row, FALSE);
    } else if (get_str(reply, "summary") != NULL) {
        fputs(get_str(reply, "summary"), stdout);
    }
    if (g_strcmp0(result, "refused") == 0 && get_str(reply, "error") != NULL) {
        fprintf(stderr, "fpbctl migrate: %s\n", get_str(reply, "error"));
    }
    return g_strcmp0(result, "ok") == 0       ? FPBCTL_EXIT_OK
           : g_strcmp0(result, "failed") == 0 ? FPBCTL_EXIT_FAILED
                                              : FPBCTL_EXIT_USAGE;
}

int fpbctl_migrate_via_fpbd(const char *socket, const char *config, const char *connect,
                            const char *db, const FpbLibvirtOptions *lv, const char *domain,
                            const char *dest, gboolean json)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autoptr(json_object) req = json_object_new_object();
    g_autoptr(FpbctlFpbd) f = NULL;
    g_autoptr(json_object) reply = NULL;

    if (connect != NULL || db != NULL) {
        fprintf(stderr, "fpbctl migrate: with --via-fpbd, fpbd migrates from its own libvirt into "
                        "its own journal (fpbd.conf uri, journal): drop --connect and --db\n");
        return FPBCTL_EXIT_USAGE;
    }
    if ((path = fpbctl_fpbd_socket(socket, config, &error)) == NULL) {
        fprintf(stderr, "fpbctl migrate: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    json_object_object_add(req, "op", json_object_new_string("migrate"));
    json_object_object_add(req, "domain", json_object_new_string(domain));
    json_object_object_add(req, "dest", json_object_new_string(dest));
    json_object_object_add(req, "options", fpb_libvirt_options_to_json(lv));
    /* no read timeout: fpbd applies the migration's own --timeout */
    if ((f = fpbctl_fpbd_request(path, req, 0, &error)) == NULL ||
        (reply = follow(f, &error)) == NULL) {
        fprintf(stderr, "fpbctl migrate: fpbd at '%s': %s\n", path, error->message);
        return FPBCTL_EXIT_FAILED;
    }
    if (get_str(reply, "result") == NULL) {
        fprintf(stderr, "fpbctl migrate: fpbd refused: %s\n",
                get_str(reply, "error") ? get_str(reply, "error") : "no reason given");
        return FPBCTL_EXIT_USAGE;
    }
    return print_reply(reply, json);
}

/* ---- fpbctl evacuate --via-fpbd ---- */

/* The evacuation's socket once connected, -1 before; a signal that came
 * earlier is acted on when it is set. */
static volatile int evacuate_fd = -1;
static volatile sig_atomic_t evacuate_signalled;

/* SIGINT/SIGTERM: the end of the request's sending side is fpbd's cancel
 * (shutdown() is async-signal-safe); the replies keep coming until the
 * outcome. A second signal changes nothing, as in the direct form. */
static void on_evacuate_signal(int sig)
{
    (void)sig;
    evacuate_signalled = 1;
    if (evacuate_fd >= 0) {
        shutdown(evacuate_fd, SHUT_WR);
    }
}

static gint64 get_int(json_object *o, const char *key, gint64 missing)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
               ? json_object_get_int64(v)
               : missing;
}

static double get_double(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && (json_object_is_type(v, json_type_double) ||
                                                     json_object_is_type(v, json_type_int))
               ? json_object_get_double(v)
               : -1;
}

/* A {"tick": {...}} line onto fpbctl's own progress view. */
static void show_tick(json_object *t)
{
    const char *status = get_str(t, "status");
    FpbMigrationProgress m = {
        .status = status ? status : "?",
        .elapsed_ms = get_int(t, "elapsed_ms", -1),
        .sent_bytes = get_int(t, "sent_bytes", -1),
        .remaining_bytes = get_int(t, "remaining_bytes", -1),
        .total_bytes = get_int(t, "total_bytes", -1),
        .mbps = get_double(t, "mbps"),
    };
    FpbPipelineTick tick = {
        .vm = get_str(t, "vm"),
        .mode = get_str(t, "mode"),
        .migration = &m,
        .predicted_seconds = get_double(t, "predicted_seconds"),
        .predicted_bytes = get_int(t, "predicted_bytes", -1),
    };

    fpbctl_progress_tick(&tick, NULL);
}

/* One interim line of the evacuation; FALSE when it is the reply. */
static gboolean show_interim(json_object *line)
{
    json_object *tick = NULL;
    const char *text;

    if ((text = get_str(line, "progress")) != NULL) {
        fpbctl_progress_break();
        fputs(text, stderr);
    } else if ((text = get_str(line, "output")) != NULL) {
        fpbctl_progress_break();
        fputs(text, stdout);
        fflush(stdout);
    } else if (json_object_object_get_ex(line, "tick", &tick) &&
               json_object_is_type(tick, json_type_object)) {
        show_tick(tick);
    } else if ((text = get_str(line, "done")) != NULL) {
        fpbctl_progress_done(text);
    } else {
        return FALSE;
    }
    return TRUE;
}

/* fpbd's exit status for the evacuation, as the direct form's. */
static int evacuate_status(json_object *reply)
{
    gint64 status = get_int(reply, "exit", -1);

    fpbctl_progress_break();
    if (get_str(reply, "error") != NULL && status < 0) {
        fprintf(stderr, "fpbctl evacuate: fpbd refused: %s\n", get_str(reply, "error"));
        return FPBCTL_EXIT_USAGE;
    }
    if (status < 0 || status > FPB_EVACUATE_EXIT_NOT_EVACUATED + 100) {
        fprintf(stderr, "fpbctl evacuate: fpbd's reply has no exit status\n");
        return FPBCTL_EXIT_FAILED;
    }
    return (int)status;
}

int fpbctl_evacuate_via_fpbd(const char *socket, const char *config, json_object *request)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autoptr(FpbctlFpbd) f = NULL;

    if ((path = fpbctl_fpbd_socket(socket, config, &error)) == NULL) {
        fprintf(stderr, "fpbctl evacuate: %s\n", error->message);
        return FPBCTL_EXIT_USAGE;
    }
    fpbctl_catch_signals(on_evacuate_signal);
    /* no read timeout: an evacuation takes as long as its VMs */
    if ((f = fpbctl_fpbd_request(path, request, 0, &error)) == NULL) {
        fprintf(stderr, "fpbctl evacuate: fpbd at '%s': %s\n", path, error->message);
        return FPBCTL_EXIT_FAILED;
    }
    evacuate_fd = g_socket_get_fd(g_socket_connection_get_socket(f->conn));
    if (evacuate_signalled) {
        shutdown(evacuate_fd, SHUT_WR);
    }
    for (;;) {
        g_autoptr(json_object) line = fpbctl_fpbd_read(f, &error);

        if (line == NULL) {
            fpbctl_progress_break();
            fprintf(stderr, "fpbctl evacuate: fpbd at '%s': %s\n", path, error->message);
            return FPBCTL_EXIT_FAILED;
        }
        if (!show_interim(line)) {
            return evacuate_status(line);
        }
    }
}
