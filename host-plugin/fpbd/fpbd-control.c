/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's control socket (fpbd-control.h). Every client socket is
 * non-blocking and driven by GSources: input is read only while the
 * client waits for a request to be read (never while one of its requests
 * is being answered), output is queued and written when the socket takes
 * it. A Client lives while its socket is connected (the set's reference)
 * and while a kept call or a running callback holds it.
 */
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
#include "fpbd-peer.h"
#include "fpbd-request.h"

#define READ_CHUNK 4096

struct _FpbdControl {
    GSocketService *service;
    GMainContext *context;
    char *path;
    gboolean has_group;
    gid_t gid;
    guint max_clients;
    guint idle_seconds;
    GHashTable *clients; /* Client -> NULL; holds a reference to each */
    FpbdControlHandler handler;
    gpointer user_data;
};

typedef struct {
    gint refs;
    FpbdControl *control; /* NULL once disconnected */
    GSocketConnection *conn;
    GSocket *sock; /* borrowed from conn */
    uid_t uid;
    GByteArray *in;  /* at most FPBD_CONTROL_MAX_LINE + 1 bytes */
    GByteArray *out; /* at most FPBD_CONTROL_MAX_PENDING bytes */
    GSource *in_source;
    GSource *out_source;
    GSource *idle_source;
    GSource *gone_source;      /* a kept call watching its peer */
    void (*gone_fn)(gpointer); /* told once: the peer sent, ended or went */
    gpointer gone_data;
    gboolean busy;    /* a kept call: the next request waits for its reply */
    gboolean eof;     /* the peer sends no more */
    gboolean closing; /* disconnect once the output is written */
} Client;

struct _FpbdControlCall {
    Client *client;
    gboolean kept;
};

static void after_requests(Client *c);

static void client_unref(Client *c)
{
    if (--c->refs > 0) {
        return;
    }
    g_byte_array_unref(c->in);
    g_byte_array_unref(c->out);
    g_object_unref(c->conn);
    g_free(c);
}

static void drop_source(GSource **s)
{
    if (*s != NULL) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

/* The kept call's watcher learns that its peer is gone (or spoke). */
static void tell_gone(Client *c)
{
    void (*fn)(gpointer) = c->gone_fn;

    c->gone_fn = NULL;
    if (fn != NULL) {
        fn(c->gone_data);
    }
}

/* Closes the socket and lets go of the set's reference: a caller that
 * uses @c afterwards must hold one of its own. */
static void disconnect(Client *c)
{
    FpbdControl *control = c->control;

    if (control == NULL) {
        return;
    }
    c->control = NULL;
    drop_source(&c->gone_source);
    tell_gone(c);
    drop_source(&c->in_source);
    drop_source(&c->out_source);
    drop_source(&c->idle_source);
    g_socket_close(c->sock, NULL);
    g_hash_table_remove(control->clients, c);
}

static void watch(Client *c, GSource **slot, GIOCondition cond, GSocketSourceFunc fn)
{
    if (*slot == NULL) {
        *slot = g_socket_create_source(c->sock, cond, NULL);
        g_source_set_callback(*slot, G_SOURCE_FUNC(fn), c, NULL);
        g_source_attach(*slot, c->control->context);
    }
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

/* ---- output ---- */

static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer data);

/* Writes what the socket takes now; the rest when it is writable. */
static void flush(Client *c)
{
    while (c->control != NULL && c->out->len > 0) {
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_send(c->sock, (const char *)c->out->data, c->out->len, NULL, &error);

        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            watch(c, &c->out_source, G_IO_OUT, on_writable);
            return;
        }
        if (n < 0) {
            g_debug("control socket: client (uid %u): write failed: %s", c->uid, error->message);
            disconnect(c);
            return;
        }
        g_byte_array_remove_range(c->out, 0, (guint)n);
    }
    drop_source(&c->out_source);
    if (c->closing) {
        disconnect(c);
    }
}

static gboolean on_writable(GSocket *sock G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED,
                            gpointer data)
{
    Client *c = data;

    c->refs++;
    flush(c);
    client_unref(c);
    return G_SOURCE_CONTINUE;
}

/* Queues @line (borrowed). A client that leaves more than the bound
 * unread is cut off: it cannot make fpbd hold (or wait for) more. */
static void queue_line(Client *c, json_object *line)
{
    const char *text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN);

    if (c->control == NULL) {
        return;
    }
    g_byte_array_append(c->out, (const guint8 *)text, strlen(text));
    g_byte_array_append(c->out, (const guint8 *)"\n", 1);
    if (c->out->len > FPBD_CONTROL_MAX_PENDING) {
        g_warning("control socket: client (uid %u) leaves %u bytes of replies unread, "
                  "disconnecting",
                  c->uid, c->out->len);
        disconnect(c);
        return;
    }
    flush(c);
}

static void queue_error(Client *c, const char *message)
{
    g_autoptr(json_object) r = fpbd_control_error_reply("%s", message);

    queue_line(c, r);
}

/* No more requests: disconnect once the queued output is written. */
static void close_after_output(Client *c)
{
    c->closing = TRUE;
    drop_source(&c->in_source);
    drop_source(&c->idle_source);
    if (c->control != NULL && c->out->len == 0) {
        disconnect(c);
    }
}

/* ---- input ---- */

static void handle_line(Client *c, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) req = fpbd_request_parse(line, len, &error);
    FpbdControlCall call = {.client = c};
    json_object *reply;

    drop_source(&c->idle_source); /* a request: the idle time starts again */
    if (req == NULL) {
        reply = fpbd_control_error_reply("%s", error->message);
    } else {
        reply = c->control->handler(req, &call, c->control->user_data);
        if (reply == NULL && call.kept) {
            c->busy = TRUE;
            return;
        }
        if (reply == NULL) {
            reply = fpbd_control_error_reply("internal error: the request got no reply");
        }
    }
    queue_line(c, reply);
    json_object_put(reply);
}

/* Answers the complete lines buffered, one at a time. */
static void process(Client *c)
{
    while (c->control != NULL && !c->busy && !c->closing) {
        const guint8 *nl = memchr(c->in->data, '\n', c->in->len);
        gsize len;
        g_autofree char *line = NULL;

        if (nl == NULL) {
            break;
        }
        len = (gsize)(nl - c->in->data);
        line = g_malloc(len + 1);
        memcpy(line, c->in->data, len);
        line[len] = '\0';
        g_byte_array_remove_range(c->in, 0, (guint)len + 1);
        handle_line(c, line, len);
    }
    after_requests(c);
}

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer data);

static gboolean on_idle(gpointer data)
{
    Client *c = data;
    g_autofree char *m =
        g_strdup_printf("no request within %u s, disconnecting", c->control->idle_seconds);

    c->refs++;
    drop_source(&c->idle_source);
    g_message("control socket: client (uid %u): %s", c->uid, m);
    queue_error(c, m);
    close_after_output(c);
    client_unref(c);
    return G_SOURCE_REMOVE;
}

/* Reads on only while the client waits for its next request to be read;
 * a line past the cap ends the connection. */
static void after_requests(Client *c)
{
    if (c->control == NULL || c->busy || c->closing) {
        drop_source(&c->in_source);
        drop_source(&c->idle_source);
        return;
    }
    if (c->in->len > FPBD_CONTROL_MAX_LINE) {
        g_warning("control socket: client (uid %u): request line longer than 64 KiB, "
                  "disconnecting",
                  c->uid);
        queue_error(c, "request line longer than 64 KiB, disconnecting");
        close_after_output(c);
        return;
    }
    if (c->eof) {
        if (c->in->len > 0) {
            queue_error(c, "the request does not end with a newline");
        }
        close_after_output(c);
        return;
    }
    watch(c, &c->in_source, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable);
    if (c->idle_source == NULL) {
        c->idle_source = g_timeout_source_new_seconds(c->control->idle_seconds);
        g_source_set_callback(c->idle_source, on_idle, c, NULL);
        g_source_attach(c->idle_source, c->control->context);
    }
}

static gboolean on_readable(GSocket *sock G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED,
                            gpointer data)
{
    Client *c = data;
    g_autoptr(GError) error = NULL;
    char buf[READ_CHUNK];
    /* never more than one byte past the cap: enough to see the overflow */
    gsize room = FPBD_CONTROL_MAX_LINE + 1 - MIN(c->in->len, FPBD_CONTROL_MAX_LINE + 1);
    gssize n = room == 0 ? 0 : g_socket_receive(c->sock, buf, MIN(room, sizeof(buf)), NULL, &error);

    c->refs++;
    if (n < 0 && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_debug("control socket: client (uid %u): read failed: %s", c->uid, error->message);
        disconnect(c);
    } else if (n == 0 && room > 0) {
        c->eof = TRUE;
    } else if (n > 0) {
        g_byte_array_append(c->in, (const guint8 *)buf, (guint)n);
    }
    process(c);
    client_unref(c);
    return G_SOURCE_CONTINUE;
}

/* ---- calls ---- */

gboolean fpbd_control_call_peer_is_root(const FpbdControlCall *call)
{
    return call->client->uid == 0;
}

guint fpbd_control_call_peer_uid(const FpbdControlCall *call)
{
    return call->client->uid;
}

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
    queue_line(call->client, line);
}

static gboolean on_peer_gone(GSocket *sock G_GNUC_UNUSED, GIOCondition cond G_GNUC_UNUSED,
                             gpointer data)
{
    Client *c = data;

    /* nothing is read: the call's answer still goes out, if it can */
    c->refs++;
    drop_source(&c->gone_source);
    tell_gone(c);
    client_unref(c);
    return G_SOURCE_REMOVE;
}

void fpbd_control_call_watch_peer(FpbdControlCall *call, void (*fn)(gpointer), gpointer data)
{
    Client *c = call->client;

    if (c->control == NULL) {
        fn(data);
        return;
    }
    c->gone_fn = fn;
    c->gone_data = data;
    /* input (the end of its sending side, or bytes) and a hang-up alike */
    watch(c, &c->gone_source, G_IO_IN | G_IO_HUP | G_IO_ERR, on_peer_gone);
}

void fpbd_control_call_reply(FpbdControlCall *call, json_object *reply)
{
    Client *c = call->client;

    drop_source(&c->gone_source);
    c->gone_fn = NULL;
    queue_line(c, reply);
    json_object_put(reply);
    c->busy = FALSE;
    process(c); /* requests that came meanwhile, then reads on */
    client_unref(c);
    g_free(call);
}

/* ---- accepting ---- */

/* One error line to a peer fpbd will not serve, without waiting: a fresh
 * socket's buffer takes a short line whole, and if not, nothing is lost. */
static void refuse_now(GSocket *sock, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void refuse_now(GSocket *sock, const char *format, ...)
{
    g_autoptr(json_object) r = NULL;
    g_autofree char *message = NULL;
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, format);
    message = g_strdup_vprintf(format, ap);
    va_end(ap);
    r = fpbd_control_error_reply("%s", message);
    text = g_strdup_printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
    (void)g_socket_send(sock, text, strlen(text), NULL, NULL);
}

/* The socket's mode already keeps others out; this is the second lock. */
static gboolean peer_allowed(FpbdControl *control, GSocket *sock, uid_t *ret_uid)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbdPeer) peer = fpbd_peer_get(g_socket_get_fd(sock), &error);

    if (peer == NULL) {
        g_warning("control socket: %s, refusing", error->message);
        refuse_now(sock, "fpbd cannot read your credentials: %s", error->message);
        return FALSE;
    }
    if (peer->uid == 0 || (control->has_group && fpbd_peer_in_group(peer, control->gid))) {
        *ret_uid = peer->uid;
        return TRUE;
    }
    g_warning("control socket: peer uid %u gid %u (pid %d) is neither root nor in the "
              "socket-group, refusing",
              (guint)peer->uid, (guint)peer->gid, (int)peer->pid);
    refuse_now(sock, "not allowed: uid %u is neither root nor a member of fpbd's socket-group",
               (guint)peer->uid);
    return FALSE;
}

static gboolean on_incoming(GSocketService *service G_GNUC_UNUSED, GSocketConnection *conn,
                            GObject *source G_GNUC_UNUSED, gpointer data)
{
    FpbdControl *control = data;
    GSocket *sock = g_socket_connection_get_socket(conn);
    Client *c;
    uid_t uid = (uid_t)-1;

    g_socket_set_blocking(sock, FALSE);
    if (!peer_allowed(control, sock, &uid)) {
        return TRUE; /* closed when GIO drops the connection */
    }
    if (g_hash_table_size(control->clients) >= control->max_clients) {
        g_warning("control socket: %u clients connected (max-clients), refusing one",
                  control->max_clients);
        refuse_now(sock, "fpbd serves %u clients already (max-clients), try again later",
                   control->max_clients);
        return TRUE;
    }
    c = g_new0(Client, 1);
    c->refs = 1; /* the set's */
    c->control = control;
    c->conn = g_object_ref(conn);
    c->sock = sock;
    c->uid = uid;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    g_hash_table_add(control->clients, c);
    after_requests(c);
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

FpbdControl *fpbd_control_new(const char *path, const FpbdControlConfig *config,
                              FpbdControlHandler handler, gpointer user_data, GError **error)
{
    g_autoptr(FpbdControl) c = g_new0(FpbdControl, 1);
    g_autoptr(GSocketAddress) addr = NULL;
    mode_t old;
    gboolean ok;

    c->path = g_strdup(path);
    c->context = g_main_context_ref_thread_default();
    c->max_clients = MAX(config->max_clients, 1);
    c->idle_seconds = MAX(config->idle_seconds, 1);
    c->clients =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, (GDestroyNotify)client_unref, NULL);
    c->handler = handler;
    c->user_data = user_data;
    if (!prepare_path(c, config->group, error)) {
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
    if (c->clients != NULL) {
        g_autoptr(GList) clients = g_hash_table_get_keys(c->clients);

        /* a kept call may outlive this: its client is then disconnected */
        for (GList *l = clients; l != NULL; l = l->next) {
            disconnect(l->data);
        }
        g_hash_table_unref(c->clients);
    }
    g_main_context_unref(c->context);
    g_free(c->path);
    g_free(c);
}
