/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbdMetricsHttp: a minimal HTTP/1.0 responder in fpbd's main loop for
 * one resource, GET /metrics (docs/metrics.md). Everything is
 * non-blocking (GIO async reads and writes on a GSocketService): a
 * request of at most FPBD_METRICS_HTTP_MAX_REQUEST bytes (request line and
 * headers) is read, answered and the connection closed; a client that
 * takes longer than FPBD_METRICS_HTTP_TIMEOUT_SECONDS in all is cut off;
 * at most FPBD_METRICS_HTTP_MAX_CLIENTS connections at once. Answers:
 * 200 for GET /metrics, 404 for any other path, 405 for any other method,
 * 400 for what is not HTTP, 431 for a request too large, 500 when the body
 * cannot be made. Main loop (default main context) only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPBD_METRICS_HTTP_MAX_REQUEST 8192
#define FPBD_METRICS_HTTP_TIMEOUT_SECONDS 10
#define FPBD_METRICS_HTTP_MAX_CLIENTS 8

/* Makes the body of a GET /metrics: (transfer full) text, or NULL with
 * @error (the client gets 500; the responder logs @error). */
typedef char *(*FpbdMetricsHttpBody)(gpointer data, GError **error);

typedef struct _FpbdMetricsHttp FpbdMetricsHttp;

/**
 * fpbd_metrics_http_new:
 * @host: an IP address (IPv6 without brackets).
 * @port: 0 for any free port (fpbd_metrics_http_port() tells which).
 * @content_type: of the body, e.g. FPBD_METRICS_CONTENT_TYPE.
 * Listens on @host:@port and serves @body(@data) (@data must outlive the
 * responder). Returns (transfer full), or NULL with @error.
 */
FpbdMetricsHttp *fpbd_metrics_http_new(const char *host, guint port, const char *content_type,
                                       FpbdMetricsHttpBody body, gpointer data, GError **error);
/* The port it listens on. */
guint fpbd_metrics_http_port(FpbdMetricsHttp *http);
/* Stops listening and cancels the connections being served. Accepts NULL. */
void fpbd_metrics_http_free(FpbdMetricsHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbdMetricsHttp, fpbd_metrics_http_free)

G_END_DECLS
