/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbd's control socket (fpbd-control.h). */
#define G_LOG_DOMAIN "fpbd"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpb-qmp-json.h"
#include "fpbd-control.h"

struct _FpbdControl {
    GSocketService *service;
    char *path;
    gboolean has_group;
    gid_t gid;
    FpbdControlHandler handler;
    gpointer user_data;
};

typedef struct {
    gint refs;
    gboolean broken; /* a write failed: the peer is gone */
    FpbdControl *control;
    GSocketConnection *conn;
    GDataInputStream *in;
} Client;

struct _FpbdControlCall {
    Client *client;
    gboolean kept;
};

static void client_unref(Client *c)
{
    if (--c->refs > 0) {
        return;
    }
    g_object_unref(c->in);
    g_object_unref(c->conn);
    g_free(c);
}

static gboolean peer_allowed(FpbdControl *control, GSocketConnection *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GCredentials) cred =
        g_socket_get_credentials(g_socket_connection_get_socket(conn), &error);
    uid_t uid;
    gid_t gid;

    if (cred == NULL) {
        g_warning("control socket: cannot read peer credentials: %s, refusing", error->message);
        return FALSE;
    }
    uid = g_credentials_get_unix_user(cred, NULL);
    gid = (gid_t)-1;
#ifdef __linux__
    {
        const struct ucred *u = g_credentials_get_native(cred, G_CREDENTIALS_TYPE_LINUX_UCRED);

        gid = u ? u->gid : (gid_t)-1;
    }
#endif
    /* The socket's mode already keeps others out; this is the second lock. */
    return uid == 0 || (control->has_group && gid == control->gid);
}

json_object *fpbd_control_error_reply(const char *format, ...)
{
    json_object *r = json_object_new_object();
    g_autofree char *message = NULL;
    va_list ap;

    va_start(ap, format);
    message = g_strdup_vprintf(format, ap);
    va_end(ap);
    json_object_object_add(r, "ok", json_object_new_boolean(FALSE));
    json_object_object_add(r, "error", json_object_new_string(message));
    return r;
}

static json_object *handle_line(FpbdControlCall *call, const char *line)
{
    g_autoptr(json_object) req = json_tokener_parse(line);
    FpbdControl *control = call->client->control;

    if (req == NULL || !json_object_is_type(req, json_type_object)) {
        return fpbd_control_error_reply("the request is not a JSON object");
    }
    return control->handler(req, call, control->user_data);
}

/* One line to the client; a failed write marks it broken. */
static void send_line(Client *c, json_object *line)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *text =
        g_strdup_printf("%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));

    /* Lines are small; a client that does not read them is cut off by the
     * socket buffer, not by blocking the daemon for long. */
    if (!c->broken && !g_output_stream_write_all(out, text, strlen(text), NULL, NULL, &error)) {
        g_debug("control socket: write failed: %s", error->message);
        c->broken = TRUE;
    }
}

static void read_line(Client *c);

FpbdControlCall *fpbd_control_call_keep(FpbdControlCall *call)
{
    FpbdControlCall *kept = g_new0(FpbdControlCall, 1);

    call->kept = TRUE;
    kept->client = call->client;
    kept->client->refs++;
    return kept;
}

void fpbd_control_call_send(FpbdControlCall *call, json_object *line)
{
    send_line(call->client, line);
}

void fpbd_control_call_reply(FpbdControlCall *call, json_object *reply)
{
    Client *c = call->client;

    send_line(c, reply);
    json_object_put(reply);
    if (!c->broken) {
        read_line(c); /* takes over the call's reference */
    } else {
        client_unref(c);
    }
    g_free(call);
}

static void on_line(GObject *source, GAsyncResult *res, gpointer data)
{
    Client *c = data;
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    g_autofree char *line =
        g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(source), res, &len, &error);
    FpbdControlCall call = {.client = c};
    json_object *reply;

    if (line == NULL) { /* EOF or error: the client is done */
        client_unref(c);
        return;
    }
    reply = len > FPBD_CONTROL_MAX_LINE
                ? fpbd_control_error_reply("request line longer than 64 KiB")
                : handle_line(&call, line);
    if (reply == NULL && call.kept) {
        client_unref(c); /* the kept call holds the client until it answers */
        return;
    }
    if (reply == NULL) {
        reply = fpbd_control_error_reply("internal error: the request got no reply");
    }
    send_line(c, reply);
    json_object_put(reply);
    if (c->broken) {
        client_unref(c);
        return;
    }
    read_line(c);
}

static void read_line(Client *c)
{
    g_data_input_stream_read_line_async(c->in, G_PRIORITY_DEFAULT, NULL, on_line, c);
}

static gboolean on_incoming(GSocketService *service G_GNUC_UNUSED, GSocketConnection *conn,
                            GObject *source G_GNUC_UNUSED, gpointer data)
{
    FpbdControl *control = data;
    Client *c;

    if (!peer_allowed(control, conn)) {
        return TRUE; /* dropped: the connection is closed when unreffed */
    }
    c = g_new0(Client, 1);
    c->refs = 1; /* the pending read's */
    c->control = control;
    c->conn = g_object_ref(conn);
    c->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
    g_data_input_stream_set_newline_type(c->in, G_DATA_STREAM_NEWLINE_TYPE_LF);
    read_line(c);
    return TRUE;
}

static gboolean prepare_path(FpbdControl *c, const char *group, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(c->path);

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create '%s': %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (unlink(c->path) < 0 && errno != ENOENT) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot remove the old socket '%s': %s", c->path, g_strerror(errno));
        return FALSE;
    }
    if (group != NULL) {
        struct group *gr = getgrnam(group);

        if (gr == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "socket-group '%s': no such group",
                        group);
            return FALSE;
        }
        c->has_group = TRUE;
        c->gid = gr->gr_gid;
    }
    return TRUE;
}

FpbdControl *fpbd_control_new(const char *path, const char *group, FpbdControlHandler handler,
                              gpointer user_data, GError **error)
{
    g_autoptr(FpbdControl) c = g_new0(FpbdControl, 1);
    g_autoptr(GSocketAddress) addr = NULL;
    mode_t old;
    gboolean ok;

    c->path = g_strdup(path);
    c->handler = handler;
    c->user_data = user_data;
    if (!prepare_path(c, group, error)) {
        return NULL;
    }
    c->service = g_socket_service_new();
    addr = g_unix_socket_address_new(path);
    /* Created 0600 from the start: no window in which others can connect. */
    old = umask(0177);
    ok = g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error);
    umask(old);
    if (!ok) {
        return NULL;
    }
    if (c->has_group && (chown(path, 0, c->gid) < 0 || chmod(path, 0660) < 0)) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot give '%s' to its group: %s", path, g_strerror(errno));
        return NULL;
    }
    g_signal_connect(c->service, "incoming", G_CALLBACK(on_incoming), c);
    g_socket_service_start(c->service);
    return g_steal_pointer(&c);
}

void fpbd_control_free(FpbdControl *c)
{
    if (c == NULL) {
        return;
    }
    if (c->service != NULL) {
        g_socket_service_stop(c->service);
        g_socket_listener_close(G_SOCKET_LISTENER(c->service));
        g_object_unref(c->service);
        unlink(c->path);
    }
    g_free(c->path);
    g_free(c);
}
