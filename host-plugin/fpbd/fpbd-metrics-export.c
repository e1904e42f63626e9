/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where fpbd's metrics go (fpbd-metrics-export.h). The textfile follows
 * the journal by SQLite's data_version, which changes at every commit of
 * another connection: this one only reads, so every write counts.
 */
#define G_LOG_DOMAIN "fpbd"

#include <string.h>

#include "fpbd-metrics-export.h"
#include "fpbd-metrics-http.h"
#include "fpbd-metrics.h"

struct _FpbdMetricsExport {
    const FpbConfDaemon *conf;
    FpbJournal *journal; /* a connection of its own, read only */
    FpbdMetricsHttp *http;
    guint poll_id;
    gint64 data_version; /* of the journal when the textfile was last written */
    gboolean failing;    /* the last textfile write failed (warned once) */
};

static char *http_body(gpointer data, GError **error)
{
    FpbdMetricsExport *e = data;

    return fpbd_metrics_render_journal(e->journal, error);
}

static gboolean write_textfile(FpbdMetricsExport *e, GError **error)
{
    g_autofree char *text = NULL;

    /* the version first: a commit while rendering is seen at the next poll */
    if (!fpb_journal_data_version(e->journal, &e->data_version, error) ||
        (text = fpbd_metrics_render_journal(e->journal, error)) == NULL) {
        return FALSE;
    }
    return fpbd_metrics_write_textfile(e->conf->metrics_textfile, text, error);
}

static void refresh(FpbdMetricsExport *e)
{
    g_autoptr(GError) error = NULL;

    if (write_textfile(e, &error)) {
        if (e->failing) {
            g_message("metrics: textfile '%s' written again", e->conf->metrics_textfile);
        }
        e->failing = FALSE;
        return;
    }
    if (!e->failing) {
        g_warning("metrics: %s; the textfile stays as it was, retrying every %d s", error->message,
                  FPBD_METRICS_EXPORT_POLL_SECONDS);
    }
    e->failing = TRUE;
}

static gboolean poll_journal(gpointer data)
{
    FpbdMetricsExport *e = data;
    g_autoptr(GError) error = NULL;
    gint64 version = 0;

    if (!fpb_journal_data_version(e->journal, &version, &error)) {
        g_debug("metrics: %s, trying again in %d s", error->message,
                FPBD_METRICS_EXPORT_POLL_SECONDS);
        return G_SOURCE_CONTINUE;
    }
    if (version != e->data_version || e->failing) {
        refresh(e);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean start_http(FpbdMetricsExport *e, GError **error)
{
    const char *host = e->conf->metrics_host;
    gboolean v6 = strchr(host, ':') != NULL;

    e->http = fpbd_metrics_http_new(host, e->conf->metrics_port, FPBD_METRICS_CONTENT_TYPE,
                                    http_body, e, error);
    if (e->http == NULL) {
        return FALSE;
    }
    g_message("metrics: serving http://%s%s%s:%u/metrics", v6 ? "[" : "", host, v6 ? "]" : "",
              fpbd_metrics_http_port(e->http));
    return TRUE;
}

FpbdMetricsExport *fpbd_metrics_export_new(const FpbConfDaemon *conf, GError **error)
{
    g_autoptr(FpbdMetricsExport) e = g_new0(FpbdMetricsExport, 1);

    e->conf = conf;
    if (conf->metrics_host == NULL && conf->metrics_textfile == NULL) {
        return g_steal_pointer(&e);
    }
    if ((e->journal = fpb_journal_open(conf->journal_path, error)) == NULL) {
        return NULL;
    }
    if (conf->metrics_host != NULL && !start_http(e, error)) {
        return NULL;
    }
    if (conf->metrics_textfile != NULL) {
        if (!write_textfile(e, error)) {
            return NULL;
        }
        e->poll_id = g_timeout_add_seconds(FPBD_METRICS_EXPORT_POLL_SECONDS, poll_journal, e);
        g_message("metrics: textfile '%s', rewritten when the journal changes",
                  conf->metrics_textfile);
    }
    return g_steal_pointer(&e);
}

void fpbd_metrics_export_changed(FpbdMetricsExport *e)
{
    if (e != NULL && e->conf->metrics_textfile != NULL) {
        refresh(e);
    }
}

void fpbd_metrics_export_free(FpbdMetricsExport *e)
{
    if (e == NULL) {
        return;
    }
    if (e->poll_id != 0) {
        g_source_remove(e->poll_id);
    }
    fpbd_metrics_http_free(e->http);
    fpb_journal_free(e->journal);
    g_free(e);
}
