/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The chart of `fpbctl history --svg/--html` (fpbctl-history-svg.h). */
#define G_LOG_DOMAIN "fpbctl"

#include <math.h>

#include "fpbctl-history-svg.h"

#include "fpb-outcome.h"
#include "fpb-policy-mode.h"
#include "fpbctl-history-values.h"

enum { METRIC_BYTES, METRIC_SECONDS, N_METRICS };
enum { KIND_PREDICTED, KIND_ACTUAL, N_KINDS };

static const char *const metric_names[N_METRICS] = {"bytes", "seconds"};
static const char *const metric_titles[N_METRICS] = {"Bytes sent",
                                                     "Total time (prepare + migrate + restore)"};
static const char *const kind_names[N_KINDS] = {"predicted", "actual"};

#define NO_MODE_COLOUR "#999999"
#define NO_MODE_KEY "no-mode"

/* Layout in px: title, subtitle and legend above two panels; the labels of
 * the migrations under the lower one. */
#define LEFT 90.0
#define RIGHT 30.0
#define TOP 145.0
#define PANEL_H 220.0
#define PANEL_GAP 70.0
#define BOTTOM 115.0
#define SLOT_MIN 24.0
#define SLOT_MAX 80.0
#define MIN_WIDTH 900.0
#define LABEL_CHARS 20

typedef struct {
    const FpbOutcome *o;
    double v[N_METRICS][N_KINDS]; /* -1 = unknown */
} Item;

typedef struct {
    double divisor; /* value / divisor = value in unit */
    const char *unit;
    double top; /* in unit */
    double step;
} Scale;

typedef struct {
    GArray *items; /* Item, oldest first */
    guint total;   /* rows given, before the cap */
    const char *vm;
    gboolean any_no_mode;
    Scale scale[N_METRICS];
    double slot;
    double width;
    double height;
} Chart;

/* XML text and attribute values: valid UTF-8, the five specials escaped and
 * the control characters XML 1.0 forbids replaced. */
static void append_escaped(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);

    for (const char *p = valid; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        switch (c) {
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        case '\'':
            g_string_append(out, "&#39;");
            break;
        default:
            g_string_append_c(out, c < 0x20 && c != '\t' && c != '\n' ? '?' : (char)c);
        }
    }
}

/* @s cut to @max characters (with an ellipsis). (transfer full) */
static char *shorten(const char *s, glong max)
{
    g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "?", -1);

    if (g_utf8_strlen(valid, -1) <= max) {
        return g_steal_pointer(&valid);
    }
    g_autofree char *head = g_utf8_substring(valid, 0, max - 1);
    return g_strconcat(head, "\u2026", NULL);
}

static int mode_index(const char *mode)
{
    for (int i = 0; mode != NULL && i < FPB_POLICY_N_MODES; i++) {
        if (g_str_equal(mode, fpb_policy_mode_to_string((FpbPolicyMode)i))) {
            return i;
        }
    }
    return -1;
}

static const char *mode_colour(const FpbOutcome *o)
{
    int i = mode_index(o->mode);

    return i < 0 ? NO_MODE_COLOUR : fpb_policy_mode_info(i)->colour;
}

static const char *mode_key(const FpbOutcome *o)
{
    int i = mode_index(o->mode);

    return i < 0 ? NO_MODE_KEY : fpb_policy_mode_to_string((FpbPolicyMode)i);
}

static char *format_start(const FpbOutcome *o, const char *fmt)
{
    g_autoptr(GDateTime) t = NULL;

    if (o->start_us < 0) {
        return g_strdup("?");
    }
    t = g_date_time_new_from_unix_local(o->start_us / G_USEC_PER_SEC);
    return t != NULL ? g_date_time_format(t, fmt) : g_strdup("?");
}

/* Time order: start time, then row id. */
static gint compare_items(gconstpointer a, gconstpointer b)
{
    const FpbOutcome *x = ((const Item *)a)->o;
    const FpbOutcome *y = ((const Item *)b)->o;

    if (x->start_us != y->start_us) {
        return x->start_us < y->start_us ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static void choose_unit(int metric, double max, Scale *s)
{
    static const struct {
        double divisor;
        const char *unit;
    } bytes[] = {{1, "B"}, {1e3, "kB"}, {1e6, "MB"}, {1e9, "GB"}, {1e12, "TB"}, {1e15, "PB"}},
      seconds[] = {{1e-3, "ms"}, {1, "s"}, {60, "min"}, {3600, "h"}};

    if (metric == METRIC_BYTES) {
        s->divisor = bytes[0].divisor;
        s->unit = bytes[0].unit;
        for (gsize i = 0; i < G_N_ELEMENTS(bytes); i++) {
            if (max >= bytes[i].divisor) {
                s->divisor = bytes[i].divisor;
                s->unit = bytes[i].unit;
            }
        }
        return;
    }
    /* ms below 1 s, s up to 3 min, min up to 3 h, then h */
    gsize i = max < 1 ? 0 : max < 180 ? 1 : max < 3 * 3600 ? 2 : 3;
    s->divisor = seconds[i].divisor;
    s->unit = seconds[i].unit;
}

/* A scale from 0 to a round number >= @max, about 5 steps of 1, 2 or 5
 * times a power of ten. */
static void choose_ticks(double max, Scale *s)
{
    double raw, mag, norm;

    if (!(max > 0) || !isfinite(max)) {
        s->top = 1;
        s->step = 0.2;
        return;
    }
    raw = max / 5;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    s->step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
    s->top = ceil(max / s->step * (1 - 1e-12)) * s->step;
    if (!isfinite(s->top) || s->top < max || s->step <= 0) {
        s->top = max;
        s->step = max / 5;
    }
}

/* A value in @s's unit: "1.23 GB". (transfer full) */
static char *format_value(const Scale *s, double v)
{
    return v < 0 ? g_strdup("n/a") : g_strdup_printf("%.3g %s", v / s->divisor, s->unit);
}

/* A value in the unit that suits it alone (the table). (transfer full) */
static char *format_own_unit(int metric, double v)
{
    Scale s;

    choose_unit(metric, v, &s);
    return format_value(&s, v);
}

static char *format_tick(const Scale *s, double v)
{
    int decimals = 0;

    if (s->step >= 1e7 || s->step < 1e-9) {
        return g_strdup_printf("%g", v);
    }
    if (s->step < 1) {
        decimals = (int)ceil(-log10(s->step) - 1e-9);
    }
    return g_strdup_printf("%.*f", decimals, v);
}

static void chart_clear(Chart *c)
{
    g_clear_pointer(&c->items, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Chart, chart_clear)

static void chart_scales(Chart *c)
{
    for (int m = 0; m < N_METRICS; m++) {
        double max = 0;

        for (guint i = 0; i < c->items->len; i++) {
            const Item *it = &g_array_index(c->items, Item, i);

            max = MAX(max, MAX(it->v[m][KIND_PREDICTED], it->v[m][KIND_ACTUAL]));
        }
        choose_unit(m, max, &c->scale[m]);
        choose_ticks(max / c->scale[m].divisor, &c->scale[m]);
    }
}

static void chart_init(Chart *c, GPtrArray *rows, const char *vm)
{
    c->items = g_array_sized_new(FALSE, TRUE, sizeof(Item), rows->len);
    c->total = rows->len;
    c->vm = vm;
    for (guint i = 0; i < rows->len; i++) {
        const FpbOutcome *o = rows->pdata[i];
        Item it = {
            .o = o,
            .v = {{fpbctl_history_predicted(o, "bytes"), fpbctl_history_actual_bytes(o)},
                  {fpbctl_history_predicted(o, "total_seconds"), fpbctl_history_actual_seconds(o)}},
        };

        g_array_append_val(c->items, it);
    }
    g_array_sort(c->items, compare_items);
    if (c->items->len > FPBCTL_HISTORY_CHART_MAX_ROWS) {
        g_array_remove_range(c->items, 0, c->items->len - FPBCTL_HISTORY_CHART_MAX_ROWS);
    }
    for (guint i = 0; i < c->items->len; i++) {
        c->any_no_mode |= mode_index(g_array_index(c->items, Item, i).o->mode) < 0;
    }
    chart_scales(c);
    c->slot = c->items->len > 0
                  ? CLAMP((MIN_WIDTH - LEFT - RIGHT) / c->items->len, SLOT_MIN, SLOT_MAX)
                  : SLOT_MAX;
    c->width = MAX(MIN_WIDTH, LEFT + c->items->len * c->slot + RIGHT);
    c->height = TOP + 2 * PANEL_H + PANEL_GAP + BOTTOM;
}

static double panel_base(int metric)
{
    return TOP + metric * (PANEL_H + PANEL_GAP) + PANEL_H;
}

static void draw_text(GString *out, double x, double y, const char *attrs, const char *text)
{
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    append_escaped(out, text);
    g_string_append(out, "</text>\n");
}

static void draw_title(GString *out, const Chart *c)
{
    g_autofree char *title = c->vm != NULL
                                 ? g_strdup_printf("fpb migration history: VM '%s'", c->vm)
                                 : g_strdup("fpb migration history: all VMs");
    g_autofree char *what = NULL;

    if (c->items->len == 0) {
        what = g_strdup("No migrations recorded.");
    } else {
        const FpbOutcome *first = g_array_index(c->items, Item, 0).o;
        const FpbOutcome *last = g_array_index(c->items, Item, c->items->len - 1).o;
        g_autofree char *from = format_start(first, "%F %R");
        g_autofree char *to = format_start(last, "%F %R");
        g_autofree char *count =
            c->total > c->items->len
                ? g_strdup_printf("The newest %u of %u migrations", c->items->len, c->total)
                : g_strdup_printf("%u migration%s", c->items->len, c->items->len == 1 ? "" : "s");

        what = g_strdup_printf("%s, %s to %s, oldest on the left.", count, from, to);
    }
    draw_text(out, LEFT, 30, "class=\"title\"", title);
    draw_text(out, LEFT, 52, "class=\"subtitle\"", what);
    draw_text(out, LEFT, 70, "class=\"subtitle\"",
              "Per migration: the prediction for the mode it ran (light, left) beside the "
              "actual value (solid, right); n/a = not recorded.");
}

static double draw_swatch(GString *out, double x, const char *key, const char *fill,
                          const char *extra, const char *label)
{
    double y = TOP - 50;

    g_string_append_printf(out,
                           "<rect class=\"swatch\" data-key=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                           "width=\"14\" height=\"14\" fill=\"%s\" %s/>\n",
                           key, x, y - 11, fill, extra);
    draw_text(out, x + 19, y, "class=\"legend\"", label);
    return x + 19 + 7.2 * (double)strlen(label) + 18;
}

static void draw_legend(GString *out, const Chart *c)
{
    double x = LEFT;

    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        const char *name = fpb_policy_mode_to_string((FpbPolicyMode)i);

        x = draw_swatch(out, x, name, fpb_policy_mode_info(i)->colour, "", name);
    }
    if (c->any_no_mode) {
        x = draw_swatch(out, x, NO_MODE_KEY, NO_MODE_COLOUR, "", "no decision");
    }
    x = draw_swatch(out, x + 20, "predicted", "#555555", "fill-opacity=\"0.3\" stroke=\"#555555\"",
                    "predicted");
    draw_swatch(out, x, "actual", "#555555", "", "actual");
}

static void draw_axes(GString *out, const Chart *c, int m)
{
    const Scale *s = &c->scale[m];
    double base = panel_base(m);
    guint n = (guint)CLAMP(lround(s->top / s->step), 1, 20);
    g_autofree char *title = g_strdup_printf("%s (%s)", metric_titles[m], s->unit);
    g_autofree char *unit_attrs = g_strdup_printf(
        "class=\"axis-title\" text-anchor=\"middle\" transform=\"rotate(-90 24 %.1f)\"",
        base - PANEL_H / 2);

    draw_text(out, LEFT, base - PANEL_H - 14, "class=\"panel-title\"", title);
    draw_text(out, 24, base - PANEL_H / 2, unit_attrs, s->unit);
    for (guint i = 0; i <= n; i++) {
        double y = base - PANEL_H * i / n;
        g_autofree char *tick = format_tick(s, s->top * i / n);

        g_string_append_printf(out,
                               "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                               "y2=\"%.1f\"/>\n",
                               LEFT, y, c->width - RIGHT, y);
        draw_text(out, LEFT - 6, y + 4, "class=\"tick\" text-anchor=\"end\"", tick);
    }
    g_string_append_printf(out, "<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n", LEFT,
                           base - PANEL_H, base, c->width - RIGHT);
}

/* One bar, or "n/a" standing on the axis when the value is unknown. */
static void draw_bar(GString *out, const Chart *c, const Item *it, int m, int k, double x, double w)
{
    const Scale *s = &c->scale[m];
    double base = panel_base(m);
    double v = it->v[m][k];
    const char *colour = mode_colour(it->o);
    g_autofree char *value = format_value(s, v);
    g_autofree char *tip =
        g_strdup_printf("#%" G_GINT64_FORMAT " VM '%s', %s: %s %s", it->o->id,
                        it->o->vm != NULL ? it->o->vm : "?", mode_key(it->o), kind_names[k], value);
    double h;

    g_string_append_printf(out,
                           "<g class=\"%s\" data-metric=\"%s\" data-kind=\"%s\" "
                           "data-mode=\"%s\"><title>",
                           v < 0 ? "missing" : "bar", metric_names[m], kind_names[k],
                           mode_key(it->o));
    append_escaped(out, tip);
    g_string_append(out, "</title>");
    if (v < 0) {
        g_string_append_printf(out,
                               "<text class=\"na\" x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 "
                               "%.1f %.1f)\">n/a</text></g>\n",
                               x + w / 2 + 3, base - 4, x + w / 2 + 3, base - 4);
        return;
    }
    h = PANEL_H * (v / s->divisor) / s->top;
    h = v > 0 ? CLAMP(h, 1, PANEL_H) : 0;
    /* predicted: light, outlined in the mode's colour so that it still reads */
    g_string_append_printf(out,
                           "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" height=\"%.2f\" "
                           "fill=\"%s\"",
                           x, base - h, w, h, colour);
    if (k == KIND_PREDICTED) {
        g_string_append_printf(out, " fill-opacity=\"0.3\" stroke=\"%s\"", colour);
    }
    g_string_append(out, "/></g>\n");
}

static void draw_label(GString *out, const Chart *c, const Item *it, double cx)
{
    double y = panel_base(METRIC_SECONDS) + 16;
    g_autofree char *vm = shorten(it->o->vm, LABEL_CHARS);
    g_autofree char *when = format_start(it->o, "%m-%d %R");
    g_autofree char *text = c->vm == NULL
                                ? g_strdup_printf("%s #%" G_GINT64_FORMAT, vm, it->o->id)
                                : g_strdup_printf("#%" G_GINT64_FORMAT " %s", it->o->id, when);
    g_autofree char *attrs = g_strdup_printf(
        "class=\"label\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %.1f)\"", cx, y);

    draw_text(out, cx, y, attrs, text);
}

static void draw_migrations(GString *out, const Chart *c)
{
    double w = c->slot * 0.38;

    for (guint i = 0; i < c->items->len; i++) {
        const Item *it = &g_array_index(c->items, Item, i);
        double x = LEFT + i * c->slot + c->slot * 0.12;

        for (int m = 0; m < N_METRICS; m++) {
            draw_bar(out, c, it, m, KIND_PREDICTED, x, w);
            draw_bar(out, c, it, m, KIND_ACTUAL, x + w, w);
        }
        draw_label(out, c, it, LEFT + (i + 0.5) * c->slot + 4);
    }
    draw_text(out, LEFT, c->height - 12, "class=\"axis-title\"",
              c->vm == NULL ? "Migrations in time order, labelled with their VM and journal row id"
                            : "Migrations in time order, labelled with their journal row id "
                              "and start");
}

static const char svg_style[] = "<style>\n"
                                "text{font-family:'DejaVu Sans',Arial,sans-serif;fill:#222}\n"
                                ".title{font-size:20px;font-weight:bold}\n"
                                ".subtitle,.legend{font-size:13px}\n"
                                ".panel-title{font-size:14px;font-weight:bold}\n"
                                ".tick,.label{font-size:11px}\n"
                                ".axis-title{font-size:12px}\n"
                                ".na{font-size:9px;fill:#777}\n"
                                ".grid{stroke:#e4e4e4}\n"
                                ".axis{stroke:#333;fill:none}\n"
                                "</style>\n";

static void append_svg(GString *out, const Chart *c)
{
    g_string_append_printf(out,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                           "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
                           c->width, c->height, c->width, c->height);
    g_string_append(out, svg_style);
    g_string_append_printf(out,
                           "<rect class=\"background\" width=\"%.0f\" height=\"%.0f\" "
                           "fill=\"#ffffff\"/>\n",
                           c->width, c->height);
    draw_title(out, c);
    draw_legend(out, c);
    for (int m = 0; m < N_METRICS; m++) {
        draw_axes(out, c, m);
    }
    draw_migrations(out, c);
    g_string_append(out, "</svg>\n");
}

char *fpbctl_history_svg(GPtrArray *rows, const char *vm)
{
    g_auto(Chart) c = {0};
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");

    chart_init(&c, rows, vm);
    append_svg(out, &c);
    return g_string_free(out, FALSE);
}

static void append_cell(GString *out, const char *tag, const char *text)
{
    g_string_append_printf(out, "<%s>", tag);
    append_escaped(out, text);
    g_string_append_printf(out, "</%s>", tag);
}

static void append_row(GString *out, const Item *it)
{
    const FpbOutcome *o = it->o;
    g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, o->id);
    g_autofree char *when = format_start(o, "%F %T");
    g_autofree char *mode = g_strdup_printf("%s (%s)", o->mode != NULL ? o->mode : "-",
                                            o->requested_mode != NULL ? o->requested_mode : "?");

    g_string_append(out, "<tr>");
    append_cell(out, "td", id);
    append_cell(out, "td", when);
    append_cell(out, "td", o->vm != NULL ? o->vm : "?");
    append_cell(out, "td", mode);
    append_cell(out, "td", o->phase != NULL ? o->phase : "?");
    for (int m = 0; m < N_METRICS; m++) {
        for (int k = 0; k < N_KINDS; k++) {
            g_autofree char *v = format_own_unit(m, it->v[m][k]);

            append_cell(out, "td", v);
        }
    }
    append_cell(out, "td", o->error != NULL ? o->error : "");
    g_string_append(out, "</tr>\n");
}

static const char html_style[] =
    "<style>\n"
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:8px;color:#222;background:#fff}\n"
    ".chart{overflow-x:auto}\n"
    "table{border-collapse:collapse;font-size:13px;margin-top:16px}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}\n"
    "th{background:#f0f0f0}\n"
    "</style>\n";

char *fpbctl_history_html(GPtrArray *rows, const char *vm)
{
    static const char *const heads[] = {
        "id",   "start",           "VM",   "mode (asked)", "outcome", "sent, predicted",
        "sent", "time, predicted", "time", "error"};
    g_auto(Chart) c = {0};
    g_autofree char *title = vm != NULL ? g_strdup_printf("fpb migration history: VM '%s'", vm)
                                        : g_strdup("fpb migration history: all VMs");
    GString *out = g_string_new("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                                "<meta charset=\"utf-8\"/>\n<title>");

    chart_init(&c, rows, vm);
    append_escaped(out, title);
    g_string_append_printf(out, "</title>\n%s</head>\n<body>\n<div class=\"chart\">\n", html_style);
    append_svg(out, &c);
    g_string_append(out, "</div>\n<table>\n<tr>");
    for (gsize i = 0; i < G_N_ELEMENTS(heads); i++) {
        append_cell(out, "th", heads[i]);
    }
    g_string_append(out, "</tr>\n");
    for (guint i = 0; i < c.items->len; i++) {
        append_row(out, &g_array_index(c.items, Item, i));
    }
    g_string_append(out, "</table>\n</body>\n</html>\n");
    return g_string_free(out, FALSE);
}
