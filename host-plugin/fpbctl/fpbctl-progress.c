/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpbctl-progress.h"

#include <json-c/json.h>
#include <stdio.h>
#include <unistd.h>

#define LINE_EVERY_US (G_USEC_PER_SEC / 4)
#define JSON_EVERY_US G_USEC_PER_SEC
#define MIB (1024.0 * 1024.0)

static GMutex lock;
static FpbctlProgressMode mode = FPBCTL_PROGRESS_OFF;
static GHashTable *texts;      /* vm -> char *: its part of the line */
static GHashTable *last_event; /* vm -> gint64 *: when its last JSON event went out */
static GPtrArray *order;       /* vm names in the order they first ticked */
static gint64 last_line_us;
static gboolean line_open;

FpbctlProgressMode fpbctl_progress_mode(gboolean json, gboolean progress)
{
    if (json) {
        return progress ? FPBCTL_PROGRESS_JSON : FPBCTL_PROGRESS_OFF;
    }
    return isatty(STDOUT_FILENO) ? FPBCTL_PROGRESS_LINE : FPBCTL_PROGRESS_OFF;
}

void fpbctl_progress_start(FpbctlProgressMode m)
{
    g_mutex_lock(&lock);
    mode = m;
    if (texts == NULL) {
        texts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        last_event = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        order = g_ptr_array_new_with_free_func(g_free);
    }
    g_mutex_unlock(&lock);
}

/* How far through the RAM QEMU is (sent, or skipped as zero, free or
 * ballooned), 0..100, or -1. */
static double percent_done(const FpbMigrationProgress *m)
{
    if (m->total_bytes <= 0 || m->remaining_bytes < 0) {
        return -1;
    }
    return 100.0 * (double)(m->total_bytes - MIN(m->remaining_bytes, m->total_bytes)) /
           (double)m->total_bytes;
}

/* Seconds left at QEMU's present rate, or -1. */
static double eta_seconds(const FpbMigrationProgress *m)
{
    if (m->mbps <= 0 || m->remaining_bytes < 0) {
        return -1;
    }
    return (double)m->remaining_bytes / (m->mbps * 1e6 / 8);
}

/* One VM's part of the line. (transfer full) */
static char *progress_text(const FpbPipelineTick *t)
{
    const FpbMigrationProgress *m = t->migration;
    GString *s = g_string_new(NULL);
    double pct = percent_done(m), eta = eta_seconds(m);

    g_string_append_printf(s, "VM '%s' %s (%s):", t->vm ? t->vm : "?", m->status,
                           t->mode ? t->mode : "?");
    if (pct >= 0) {
        g_string_append_printf(s, " %.0f%% of %.0f MiB RAM", pct, m->total_bytes / MIB);
    }
    if (m->sent_bytes >= 0) {
        g_string_append_printf(s, ", %.0f MB sent", m->sent_bytes / 1e6);
    }
    if (m->mbps >= 0) {
        g_string_append_printf(s, ", %.0f MB/s", m->mbps / 8);
    }
    if (m->remaining_bytes >= 0) {
        g_string_append_printf(s, ", %.0f MiB left", m->remaining_bytes / MIB);
    }
    if (eta >= 0) {
        g_string_append_printf(s, ", ~%.0f s", eta);
    }
    if (t->predicted_seconds >= 0 && m->elapsed_ms >= 0) {
        g_string_append_printf(s, "; predicted %.1f s (%.1f s left), %.0f MB", t->predicted_seconds,
                               MAX(0.0, t->predicted_seconds - m->elapsed_ms / 1000.0),
                               t->predicted_bytes / 1e6);
    }
    return g_string_free(s, FALSE);
}

static void add_num(json_object *o, const char *key, double v)
{
    json_object_object_add(o, key, v >= 0 ? json_object_new_double(v) : NULL);
}

static void add_int(json_object *o, const char *key, gint64 v)
{
    json_object_object_add(o, key, v >= 0 ? json_object_new_int64(v) : NULL);
}

/* One progress event as JSON text. (transfer full) */
static char *progress_json(const FpbPipelineTick *t)
{
    const FpbMigrationProgress *m = t->migration;
    json_object *o = json_object_new_object();
    char *text;

    json_object_object_add(o, "event", json_object_new_string("progress"));
    json_object_object_add(o, "vm", t->vm ? json_object_new_string(t->vm) : NULL);
    json_object_object_add(o, "mode", t->mode ? json_object_new_string(t->mode) : NULL);
    json_object_object_add(o, "status", json_object_new_string(m->status));
    add_num(o, "elapsed_s", m->elapsed_ms >= 0 ? m->elapsed_ms / 1000.0 : -1);
    add_num(o, "percent", percent_done(m));
    add_int(o, "sent_bytes", m->sent_bytes);
    add_int(o, "remaining_bytes", m->remaining_bytes);
    add_int(o, "total_bytes", m->total_bytes);
    add_num(o, "mbps", m->mbps);
    add_num(o, "eta_s", eta_seconds(m));
    add_num(o, "predicted_seconds", t->predicted_seconds);
    add_int(o, "predicted_bytes", t->predicted_bytes);
    text = g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* With the lock held. */
static void print_line(void)
{
    GString *line = g_string_new("\r\033[K");

    for (guint i = 0; i < order->len; i++) {
        const char *text = g_hash_table_lookup(texts, order->pdata[i]);

        if (text != NULL) {
            g_string_append_printf(line, "%s%s", line->len > 4 ? " | " : "", text);
        }
    }
    fputs(line->str, stdout);
    fflush(stdout);
    line_open = TRUE;
    g_string_free(line, TRUE);
}

static void remember(const char *vm)
{
    for (guint i = 0; i < order->len; i++) {
        if (g_str_equal(order->pdata[i], vm)) {
            return;
        }
    }
    g_ptr_array_add(order, g_strdup(vm));
}

static void json_event(const FpbPipelineTick *t, const char *vm, gint64 now)
{
    gint64 *last = g_hash_table_lookup(last_event, vm);
    g_autofree char *text = NULL;

    if (last != NULL && now - *last < JSON_EVERY_US) {
        return;
    }
    if (last == NULL) {
        last = g_new0(gint64, 1);
        g_hash_table_insert(last_event, g_strdup(vm), last);
    }
    *last = now;
    text = progress_json(t);
    printf("%s\n", text);
    fflush(stdout);
}

void fpbctl_progress_tick(const FpbPipelineTick *t, gpointer user_data G_GNUC_UNUSED)
{
    const char *vm = t->vm ? t->vm : "?";
    gint64 now = g_get_monotonic_time();

    g_mutex_lock(&lock);
    if (mode == FPBCTL_PROGRESS_JSON) {
        json_event(t, vm, now);
    } else if (mode == FPBCTL_PROGRESS_LINE) {
        remember(vm);
        g_hash_table_insert(texts, g_strdup(vm), progress_text(t));
        if (now - last_line_us >= LINE_EVERY_US) {
            last_line_us = now;
            print_line();
        }
    }
    g_mutex_unlock(&lock);
}

void fpbctl_progress_done(const char *vm)
{
    g_mutex_lock(&lock);
    if (texts != NULL && vm != NULL) {
        g_hash_table_remove(texts, vm);
        g_hash_table_remove(last_event, vm);
    }
    g_mutex_unlock(&lock);
}

void fpbctl_progress_break(void)
{
    g_mutex_lock(&lock);
    if (line_open) {
        fputs("\n", stdout);
        fflush(stdout);
        line_open = FALSE;
        last_line_us = 0;
    }
    g_mutex_unlock(&lock);
}
