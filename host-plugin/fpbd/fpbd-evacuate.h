/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's "evacuate" request (docs/libvirt.md, "Control protocol";
 * docs/evacuate.md, "Through fpbd"): the evacuation `fpbctl evacuate`
 * runs (fpb-evacuate-run.h), run in a thread of fpbd for a client of its
 * control socket. Everything the run prints goes to the client as interim
 * lines ({"output": TEXT} for stdout, {"progress": TEXT} for stderr, and
 * with "progress" {"tick": {...}} and {"done": VM}), then the reply
 * {"ok": true, "exit": STATUS}. The client's end (or anything it sends)
 * cancels the evacuation: no VM starts any more, the running ones are
 * cancelled and give their memory back, the outcome still goes out.
 *
 * fpbd.c claims the domains and fpbd's migration slots first; this module
 * checks the request and runs it. Main context only, except where said.
 */
#pragma once

#include <json-c/json.h>

#include "fpb-conf-policy.h"
#include "fpb-evacuate-run.h"
#include "fpbd-control.h"
#include "fpbd-uri-guard.h"

G_BEGIN_DECLS

typedef struct _FpbdEvacuation FpbdEvacuation;

struct _FpbdEvacuation {
    char *dest;
    GPtrArray *domains; /* char *: as asked, then libvirt's names once claimed */
    char *vms_text;     /* "VMs 'a', 'b'" for messages */
    GPtrArray *uuids;   /* char *: the domains' UUIDs once fpbd holds them */
    guint slots;        /* of fpbd's max-migrations it holds: its pipelines at once */
    FpbEvacuateRunOptions options;
    FpbLibvirtMigrateRequest base;
    FpbEvacuateRunRequest run; /* borrows the above */
    gboolean ticks;            /* the client shows migrations' progress */
    guint uid;                 /* the peer's, for the log */
    gint cancel;               /* the run's FpbEvacuateRunRequest.cancel */
    int status;                /* the run's exit status */
    gint pipelines_done;       /* VMs whose pipeline returned (g_atomic_int) */
    FpbdControlCall *call;
    void (*done)(FpbdEvacuation *ev, gpointer data);
    gpointer done_data;
};

/**
 * fpbd_evacuation_new:
 * What @request (borrowed; fpbd_request_check() passed it) asks, checked
 * without touching anything, in fpbd's order for "migrate": the options
 * (over the host defaults @host), those only root may give (@root), the
 * destination (@guard). (transfer full), or NULL with @ret_refusal the
 * {"ok": false, ...} reply (transfer full) naming the VMs and the cause
 * (the caller logs it, with the peer). Pure: any thread, no logging.
 */
FpbdEvacuation *fpbd_evacuation_new(json_object *request, const FpbConfPolicy *host,
                                    const FpbdUriGuard *guard, gboolean root, guint uid,
                                    json_object **ret_refusal);
void fpbd_evacuation_free(FpbdEvacuation *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbdEvacuation, fpbd_evacuation_free)

/* Runs @ev (taken) in a thread of its own from @source_uri into the
 * journal at @journal, at most @max_running pipelines at once, answering
 * @call (kept here); @done(@ev, @data) in the main context once the reply
 * is sent, which frees nothing: the caller frees @ev then. */
void fpbd_evacuation_start(FpbdEvacuation *ev, FpbdControlCall *call, const char *source_uri,
                           const char *journal, guint max_running,
                           void (*done)(FpbdEvacuation *ev, gpointer data), gpointer data);

/* No VM starts any more; the running ones give their memory back. Any
 * thread. */
void fpbd_evacuation_cancel(FpbdEvacuation *ev, const char *why);

G_END_DECLS
