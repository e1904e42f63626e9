/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpbd's "evacuate" request (fpbd-evacuate.h): the checks, then the run in
 * a thread of its own; what the run prints is handed to the main loop
 * line by line, in order (idle callbacks of one priority run in the order
 * they were added), and the reply goes last.
 */
#define G_LOG_DOMAIN "fpbd"

#include <string.h>

#include "fpb-qmp-json.h"
#include "fpbd-evacuate.h"
#include "fpbd-request.h"

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static gboolean get_bool(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

void fpbd_evacuation_free(FpbdEvacuation *ev)
{
    if (ev == NULL) {
        return;
    }
    g_free(ev->dest);
    g_ptr_array_unref(ev->domains);
    g_ptr_array_unref(ev->uuids);
    g_free(ev->vms_text);
    fpb_evacuate_run_options_clear(&ev->options);
    g_free(ev);
}

/* "VMs 'a', 'b'" (at most 4 named), or "every running VM". (transfer full) */
static char *vms_text(const GPtrArray *domains)
{
    GString *s = g_string_new(NULL);

    if (domains->len == 0) {
        g_string_append(s, "every running VM");
        return g_string_free(s, FALSE);
    }
    g_string_append(s, domains->len == 1 ? "VM " : "VMs ");
    for (guint i = 0; i < domains->len && i < 4; i++) {
        g_string_append_printf(s, "%s'%.64s'", i > 0 ? ", " : "", (const char *)domains->pdata[i]);
    }
    if (domains->len > 4) {
        g_string_append_printf(s, " and %u more", domains->len - 4);
    }
    return g_string_free(s, FALSE);
}

static FpbdEvacuation *evacuation_alloc(json_object *request)
{
    FpbdEvacuation *ev = g_new0(FpbdEvacuation, 1);
    json_object *names = NULL;

    ev->dest = g_strdup(get_str(request, "dest"));
    ev->domains = g_ptr_array_new_with_free_func(g_free);
    ev->uuids = g_ptr_array_new_with_free_func(g_free);
    if (json_object_object_get_ex(request, "domains", &names)) {
        for (size_t i = 0; i < json_object_array_length(names); i++) {
            g_ptr_array_add(ev->domains,
                            g_strdup(json_object_get_string(json_object_array_get_idx(names, i))));
        }
    }
    ev->vms_text = vms_text(ev->domains);
    fpb_evacuate_run_options_init(&ev->options);
    fpb_libvirt_migrate_request_init(&ev->base);
    ev->run.dry_run = get_bool(request, "dry-run");
    ev->run.json = get_bool(request, "json");
    ev->ticks = get_bool(request, "progress");
    ev->status = -1;
    return ev;
}

FpbdEvacuation *fpbd_evacuation_new(json_object *request, const FpbConfPolicy *host,
                                    const FpbdUriGuard *guard, gboolean root, guint uid,
                                    json_object **ret_refusal)
{
    g_autoptr(FpbdEvacuation) ev = evacuation_alloc(request);
    g_autoptr(GError) error = NULL;
    json_object *options = NULL;
    const char *why = NULL;
    const char *option;

    ev->uid = uid;
    json_object_object_get_ex(request, "options", &options);
    if (!fpb_evacuate_run_options_from_json(options, &ev->options, &error) ||
        !fpb_evacuate_run_options_apply(&ev->options, host, &ev->base, &ev->run, &error)) {
        *ret_refusal = fpbd_control_error_reply("%s: evacuate: %s; nothing was done", ev->vms_text,
                                                error->message);
        return NULL;
    }
    if (!root && (option = fpbd_request_root_only_option(options, &why)) != NULL) {
        *ret_refusal = fpbd_control_error_reply("%s: evacuate: option '%s' is accepted from root "
                                                "only (it %s); nothing was done",
                                                ev->vms_text, option, why);
        return NULL;
    }
    if (!fpbd_uri_guard_check(guard, ev->dest, root, &error)) {
        *ret_refusal = fpbd_control_error_reply("%s: evacuate to '%s' refused: %s; nothing was "
                                                "done",
                                                ev->vms_text, ev->dest, error->message);
        return NULL;
    }
    return g_steal_pointer(&ev);
}

/* ---- the run's output, to the client ---- */

typedef struct {
    FpbdEvacuation *ev;
    json_object *line;
} Interim;

static gboolean send_interim(gpointer data)
{
    Interim *i = data;

    fpbd_control_call_send(i->ev->call, i->line);
    json_object_put(i->line);
    g_free(i);
    return G_SOURCE_REMOVE;
}

/* From any thread: {KEY: VALUE (taken)} to the client, in order. */
static void queue_interim(FpbdEvacuation *ev, const char *key, json_object *value)
{
    Interim *i = g_new0(Interim, 1);

    i->ev = ev;
    i->line = json_object_new_object();
    json_object_object_add(i->line, key, value);
    g_idle_add(send_interim, i);
}

static void on_emit(FpbEvacuateRunStream stream, const char *text, gpointer data)
{
    FpbdEvacuation *ev = data;

    if (stream == FPB_EVACUATE_RUN_ERR) {
        /* fpbd's log keeps what the operator saw, without the newline */
        g_message("evacuation for uid %u: %.*s", ev->uid, (int)strcspn(text, "\n"), text);
    }
    queue_interim(ev, stream == FPB_EVACUATE_RUN_OUT ? "output" : "progress",
                  json_object_new_string(text));
}

static void add_int(json_object *o, const char *key, gint64 v)
{
    json_object_object_add(o, key, v >= 0 ? json_object_new_int64(v) : NULL);
}

static void add_num(json_object *o, const char *key, double v)
{
    json_object_object_add(o, key, v >= 0 ? json_object_new_double(v) : NULL);
}

/* A pipeline's tick, for the client's progress view (fpbctl-progress.h). */
static void on_tick(const FpbPipelineTick *t, gpointer data)
{
    FpbdEvacuation *ev = data;
    const FpbMigrationProgress *m = t->migration;
    json_object *o;

    if (!ev->ticks) {
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "vm", t->vm ? json_object_new_string(t->vm) : NULL);
    json_object_object_add(o, "mode", t->mode ? json_object_new_string(t->mode) : NULL);
    json_object_object_add(o, "status", m->status ? json_object_new_string(m->status) : NULL);
    add_int(o, "elapsed_ms", m->elapsed_ms);
    add_int(o, "sent_bytes", m->sent_bytes);
    add_int(o, "remaining_bytes", m->remaining_bytes);
    add_int(o, "total_bytes", m->total_bytes);
    add_num(o, "mbps", m->mbps);
    add_num(o, "predicted_seconds", t->predicted_seconds);
    add_int(o, "predicted_bytes", t->predicted_bytes);
    queue_interim(ev, "tick", o);
}

static void on_vm_done(const char *vm, gpointer data)
{
    FpbdEvacuation *ev = data;

    g_atomic_int_inc(&ev->pipelines_done);
    if (ev->ticks) {
        queue_interim(ev, "done", json_object_new_string(vm));
    }
}

/* ---- the run ---- */

static gboolean run_done(gpointer data)
{
    FpbdEvacuation *ev = data;
    json_object *reply = json_object_new_object();

    json_object_object_add(reply, "ok", json_object_new_boolean(TRUE));
    json_object_object_add(reply, "exit", json_object_new_int(ev->status));
    fpbd_control_call_reply(g_steal_pointer(&ev->call), reply);
    g_message("%s: evacuation to '%s' for uid %u ended, exit status %d", ev->vms_text, ev->dest,
              ev->uid, ev->status);
    ev->done(ev, ev->done_data);
    return G_SOURCE_REMOVE;
}

static gpointer run_thread(gpointer data)
{
    FpbdEvacuation *ev = data;

    ev->status = fpb_evacuate_run(&ev->run);
    g_idle_add(run_done, ev);
    return NULL;
}

static void on_client_gone(gpointer data)
{
    fpbd_evacuation_cancel(data, "the client ended its request");
}

void fpbd_evacuation_cancel(FpbdEvacuation *ev, const char *why)
{
    if (!g_atomic_int_compare_and_exchange(&ev->cancel, 0, 1)) {
        return;
    }
    g_message("%s: evacuation to '%s' cancelled (%s): no VM starts any more, the running ones "
              "give their memory back",
              ev->vms_text, ev->dest, why);
}

void fpbd_evacuation_start(FpbdEvacuation *ev, FpbdControlCall *call, const char *source_uri,
                           const char *journal, guint max_running,
                           void (*done)(FpbdEvacuation *ev, gpointer data), gpointer data)
{
    g_ptr_array_add(ev->domains, NULL);
    ev->base.target.source_uri = source_uri;
    ev->run.source_uri = source_uri;
    ev->run.dest_uri = ev->dest;
    ev->run.db_path = journal;
    ev->run.domains = (const char *const *)ev->domains->pdata;
    ev->run.max_running = max_running;
    ev->run.cancel = &ev->cancel;
    ev->run.hooks =
        (FpbEvacuateRunHooks){.emit = on_emit, .tick = on_tick, .vm_done = on_vm_done, .data = ev};
    ev->done = done;
    ev->done_data = data;
    ev->call = fpbd_control_call_keep(call);
    fpbd_control_call_watch_peer(ev->call, on_client_gone, ev);
    g_thread_unref(g_thread_new("fpbd-evacuate", run_thread, ev));
}
