/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's control socket (docs/libvirt.md, "Control protocol" and "Control
 * socket security"): a UNIX stream socket, mode 0600 (0660 and the group
 * when a socket-group is configured), peers checked again with the
 * kernel's credentials (root, or the group as primary or supplementary
 * group; fpbd-peer.h). One JSON object per line each way; a reply is
 * {"ok": true, ...} or {"ok": false, "error": "..."}.
 *
 * The main loop never waits for a client: a request line is capped at
 * 64 KiB while it is read (never buffered past that), replies are queued
 * and written as the socket takes them, and a client whose unread replies
 * pass 256 KiB, that sends nothing for the idle time, or that comes when
 * max-clients are connected, is answered with an error where possible
 * and disconnected.
 *
 * Runs in the thread-default main context of the caller.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

G_BEGIN_DECLS

#define FPBD_CONTROL_MAX_LINE (64 * 1024)
/* Unread output a client may leave behind before it is cut off. */
#define FPBD_CONTROL_MAX_PENDING (256 * 1024)

typedef struct {
    const char *group;  /* NULL: root only */
    guint max_clients;  /* connected at once, all peers */
    guint idle_seconds; /* without a request (none being answered) */
} FpbdControlConfig;

typedef struct _FpbdControl FpbdControl;
/* One request being answered; lets a handler answer later. */
typedef struct _FpbdControlCall FpbdControlCall;

/* Answers one request (borrowed) with a reply (transfer full), or returns
 * NULL after taking @call with fpbd_control_call_keep() to answer later;
 * the client's next request is read only after that answer. */
typedef json_object *(*FpbdControlHandler)(json_object *request, FpbdControlCall *call,
                                           gpointer user_data);

/* {"ok": false, "error": MESSAGE}. (transfer full) */
json_object *fpbd_control_error_reply(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* The peer is uid 0 (trusted with what only root may ask). */
gboolean fpbd_control_call_peer_is_root(const FpbdControlCall *call);
/* The peer's uid, for messages. */
guint fpbd_control_call_peer_uid(const FpbdControlCall *call);

/* Keeps @call (and its client) past the handler. (transfer full) */
FpbdControlCall *fpbd_control_call_keep(FpbdControlCall *call);
/* Sends an interim line (borrowed), e.g. progress; the call stays open.
 * In the control's main context only. */
void fpbd_control_call_send(FpbdControlCall *call, json_object *line);
/* Calls @fn(@data) once, in the main context, when the peer of a kept
 * @call sends anything, ends its sending side or goes (now, if it has
 * gone already): a long request's cancel. Nothing is read; the reply is
 * still written if the socket takes it. Until the reply. */
void fpbd_control_call_watch_peer(FpbdControlCall *call, void (*fn)(gpointer), gpointer data);
/* Sends the reply (transfer full) and frees @call. Main context only. */
void fpbd_control_call_reply(FpbdControlCall *call, json_object *reply);

/* Listens on @path (replacing a stale socket file); @config is copied.
 * (transfer full) or NULL with @error. */
FpbdControl *fpbd_control_new(const char *path, const FpbdControlConfig *config,
                              FpbdControlHandler handler, gpointer user_data, GError **error);
void fpbd_control_free(FpbdControl *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbdControl, fpbd_control_free)

G_END_DECLS
