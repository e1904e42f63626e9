/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "bench-svg.h"

#define WIDTH 1000
#define LABEL_W 190
#define BAR_W 330
#define BYTES_X LABEL_W
#define TIME_X (LABEL_W + BAR_W + 70)
#define ROW_H 17
#define HEAD_H 26
#define GAP_H 10
#define TOP 70

/* colours: normal modes blue, auto orange; prep/restore lighter */
static const char *const fill_mode[] = {"#4e79a7", "#a0cbe8"};
static const char *const fill_auto[] = {"#e15759", "#ff9d9a"};

typedef struct {
    double max_bytes, max_s;
} Scale;

static void find_scale(GPtrArray *cells, Scale *ret)
{
    ret->max_bytes = 1;
    ret->max_s = 1;
    for (guint i = 0; i < cells->len; i++) {
        const BenchCell *c = cells->pdata[i];
        ret->max_bytes = MAX(ret->max_bytes, c->bytes);
        ret->max_s = MAX(ret->max_s, c->total_s);
    }
}

static gboolean new_group(GPtrArray *cells, guint i)
{
    const BenchCell *c = cells->pdata[i], *p = i ? cells->pdata[i - 1] : NULL;

    return p == NULL || !g_str_equal(p->scenario, c->scenario) || p->bandwidth != c->bandwidth;
}

static void rect(GString *s, double x, double y, double w, const char *fill)
{
    if (w > 0) {
        g_string_append_printf(s,
                               "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                               "fill=\"%s\"/>\n",
                               x, y, w, ROW_H - 4, fill);
    }
}

static void text(GString *s, double x, double y, const char *attrs, const char *t)
{
    g_autofree char *esc = g_markup_escape_text(t, -1);

    g_string_append_printf(s, "<text x=\"%.1f\" y=\"%.1f\" %s>%s</text>\n", x, y, attrs, esc);
}

static void bars(GString *s, const BenchCell *c, const Scale *k, double y)
{
    gboolean is_auto = g_str_equal(c->mode, "auto");
    const char *const *fill = is_auto ? fill_auto : fill_mode;
    double wb = BAR_W * c->bytes / k->max_bytes, per_s = BAR_W / k->max_s;
    double wp = per_s * MAX(c->prep_s, 0), wm = per_s * c->mig_s;
    double wr = per_s * MAX(c->restore_s, 0);
    g_autofree char *mb = g_strdup_printf("%.0f MB", c->bytes / 1e6);
    g_autofree char *sec = g_strdup_printf("%.1f s", c->total_s);

    rect(s, BYTES_X, y, wb, fill[0]);
    text(s, BYTES_X + wb + 4, y + ROW_H - 6, "class=\"v\"", mb);
    rect(s, TIME_X, y, wp, fill[1]);
    rect(s, TIME_X + wp, y, wm, fill[0]);
    rect(s, TIME_X + wp + wm, y, wr, fill[1]);
    text(s, TIME_X + wp + wm + wr + 4, y + ROW_H - 6, "class=\"v\"", sec);
}

static void row(GString *s, const BenchCell *c, const Scale *k, double y)
{
    gboolean is_auto = g_str_equal(c->mode, "auto");
    g_autofree char *label =
        is_auto ? g_strdup_printf("auto → %s", c->decided ? c->decided : "?") : g_strdup(c->mode);

    text(s, LABEL_W - 8, y + ROW_H - 6, is_auto ? "class=\"l a\"" : "class=\"l\"", label);
    if (c->migrated == 0 || c->bytes < 0 || c->total_s < 0) {
        g_autofree char *why =
            g_strdup_printf("%s%s%s", c->status, c->reason ? ": " : "", c->reason ? c->reason : "");
        if (strlen(why) > 110) {
            strcpy(why + 107, "...");
        }
        text(s, BYTES_X, y + ROW_H - 6, "class=\"n\"", why);
        return;
    }
    bars(s, c, k, y);
    if (c->corrupted) {
        text(s, WIDTH - 10, y + ROW_H - 6, "class=\"n\" text-anchor=\"end\"", "CORRUPTED");
    }
}

static double height(GPtrArray *cells)
{
    double h = TOP;

    for (guint i = 0; i < cells->len; i++) {
        h += (new_group(cells, i) ? HEAD_H + (i ? GAP_H : 0) : 0) + ROW_H;
    }
    return h + 40;
}

static void header(GString *s, double h, const char *subtitle)
{
    g_string_append_printf(s,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
                           "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
                           "<style>.l{text-anchor:end}.a{font-weight:bold;fill:#c03030}"
                           ".v{fill:#333;font-size:11px}.n{fill:#888;font-style:italic;"
                           "font-size:11px}.h{font-weight:bold;font-size:13px}</style>\n"
                           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                           WIDTH, h, WIDTH, h);
    text(s, 10, 20, "class=\"h\"", "fpb benchmark: bytes sent and total time per mode (medians)");
    text(s, 10, 38, "class=\"v\"", subtitle ? subtitle : "");
    text(s, BYTES_X, TOP - 10, "class=\"h\"", "bytes sent (MB = 10^6 B)");
    text(s, TIME_X, TOP - 10, "class=\"h\"", "total s (light: prepare / restore)");
}

char *bench_svg_chart(GPtrArray *cells, const char *subtitle)
{
    GString *s = g_string_new(NULL);
    Scale k;
    double y = TOP, h = height(cells);

    find_scale(cells, &k);
    header(s, h, subtitle);
    for (guint i = 0; i < cells->len; i++) {
        const BenchCell *c = cells->pdata[i];
        if (new_group(cells, i)) {
            g_autofree char *bw = bench_report_bandwidth_label(c->bandwidth);
            g_autofree char *title = g_strdup_printf("%s, %s", c->scenario, bw);
            y += i ? GAP_H : 0;
            g_string_append_printf(s,
                                   "<line x1=\"10\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                                   "stroke=\"#ccc\"/>\n",
                                   WIDTH - 10, y, y);
            text(s, 10, y + HEAD_H - 8, "class=\"h\"", title);
            y += HEAD_H;
        }
        row(s, c, &k, y);
        y += ROW_H;
    }
    text(s, 10, h - 14, "class=\"v\"",
         "auto (red) is fpb's own choice; the other modes are forced. Missing bars: the mode "
         "was refused, skipped or failed (reason shown).");
    g_string_append(s, "</svg>\n");
    return g_string_free(s, FALSE);
}
