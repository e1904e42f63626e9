/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The chart of `fpbctl history --svg/--html` (fpbctl-history-svg.h) with
 * hand-made rows: well-formed XML (libxml2), the bars per mode and metric,
 * escaping, unknown values drawn as n/a, the scales and the row cap. */
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "fpb-outcome.h"
#include "fpbctl-history-svg.h"

/* A row of @mode; @pred_bytes/@pred_s < 0: no prediction, @bytes/@ms < 0:
 * not recorded. */
static FpbOutcome *make_row(gint64 id, const char *vm, const char *mode, double pred_bytes,
                            gint64 bytes, double pred_s, gint64 ms)
{
    FpbOutcome *o = fpb_outcome_new();

    o->id = id;
    o->start_us = 1700000000000000 + id * 60 * G_USEC_PER_SEC;
    fpb_outcome_set(&o->vm, vm);
    fpb_outcome_set(&o->mode, mode);
    fpb_outcome_set(&o->requested_mode, "auto");
    fpb_outcome_set(&o->phase, FPB_PHASE_DONE);
    o->mig_transferred_bytes = bytes;
    o->mig_total_ms = ms;
    if (mode != NULL && (pred_bytes >= 0 || pred_s >= 0)) {
        json_object *p = json_object_new_object();
        json_object *m = json_object_new_object();

        if (pred_bytes >= 0) {
            json_object_object_add(m, "bytes", json_object_new_int64((gint64)pred_bytes));
        }
        if (pred_s >= 0) {
            json_object_object_add(m, "total_seconds", json_object_new_double(pred_s));
        }
        json_object_object_add(p, mode, m);
        o->predictions = p;
    }
    return o;
}

static GPtrArray *new_rows(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)fpb_outcome_free);
}

/* Parses @text as XML (no recovery: NULL unless well-formed). */
static xmlDocPtr parse(const char *text)
{
    xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "chart.svg", "UTF-8", XML_PARSE_NONET);

    g_assert_nonnull(doc);
    return doc;
}

static xmlXPathObjectPtr eval(xmlDocPtr doc, const char *xpath)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr r = NULL;

    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
    r = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
    xmlXPathFreeContext(ctx);
    g_assert_nonnull(r);
    return r;
}

static int count(xmlDocPtr doc, const char *xpath)
{
    g_autofree char *expr = g_strdup_printf("count(%s)", xpath);
    xmlXPathObjectPtr r = eval(doc, expr);
    int n = (int)r->floatval;

    xmlXPathFreeObject(r);
    return n;
}

static char *string(xmlDocPtr doc, const char *xpath)
{
    g_autofree char *expr = g_strdup_printf("string(%s)", xpath);
    xmlXPathObjectPtr r = eval(doc, expr);
    char *s = g_strdup((const char *)r->stringval);

    xmlXPathFreeObject(r);
    return s;
}

static int bars(xmlDocPtr doc, const char *cls, const char *metric, const char *kind,
                const char *mode)
{
    g_autofree char *xpath =
        g_strdup_printf("//s:g[@class='%s'][@data-metric='%s'][@data-kind='%s'][@data-mode='%s']",
                        cls, metric, kind, mode);

    return count(doc, xpath);
}

/* Three hint, two balloon, one none, one hint+balloon: one predicted and
 * one actual bar per migration and metric, in the mode's colour. */
static void test_bars_per_mode(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    const char *modes[] = {"hint", "balloon", "hint", "none", "hint+balloon", "balloon", "hint"};
    const struct {
        const char *mode;
        int n;
    } want[] = {{"hint", 3}, {"balloon", 2}, {"none", 1}, {"hint+balloon", 1}};
    g_autofree char *svg = NULL;
    xmlDocPtr doc = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_ptr_array_add(rows, make_row((gint64)i + 1, "vm1", modes[i], 2e9, 1500000000 + i, 20 + i,
                                       18000 + i * 1000));
    }
    svg = fpbctl_history_svg(rows, "vm1");
    doc = parse(svg);
    g_assert_cmpstr((const char *)xmlDocGetRootElement(doc)->name, ==, "svg");
    for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
        const char *metrics[] = {"bytes", "seconds"};

        for (gsize m = 0; m < 2; m++) {
            g_assert_cmpint(bars(doc, "bar", metrics[m], "predicted", want[i].mode), ==, want[i].n);
            g_assert_cmpint(bars(doc, "bar", metrics[m], "actual", want[i].mode), ==, want[i].n);
        }
    }
    g_assert_cmpint(count(doc, "//s:g[@class='missing']"), ==, 0);
    g_assert_cmpint(count(doc, "//s:g[@data-mode='hint']/s:rect[@fill='#0072b2']"), ==, 3 * 4);
    /* a legend entry per mode, the units in the panel titles */
    g_assert_cmpint(count(doc, "//s:rect[@class='swatch']"), ==, 4 + 2);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(GB)')]"), ==, 1);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(s)')]"), ==, 1);
    g_assert_cmpint(count(doc, "//s:text[@class='label']"), ==, 7);
    xmlFreeDoc(doc);
}

/* Oldest on the left whatever the order of the rows (the journal lists the
 * newest first). */
static void test_time_order(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *svg = NULL;
    g_autofree char *first = NULL;
    xmlDocPtr doc = NULL;

    g_ptr_array_add(rows, make_row(9, "vm1", "hint", 1, 1, 1, 1));
    g_ptr_array_add(rows, make_row(3, "vm1", "none", 1, 1, 1, 1));
    svg = fpbctl_history_svg(rows, NULL);
    doc = parse(svg);
    first = string(doc, "(//s:text[@class='label'])[1]");
    g_assert_cmpstr(first, ==, "vm1 #3");
    xmlFreeDoc(doc);
}

/* A VM name with XML's specials, control characters and invalid UTF-8
 * stays well-formed and reads back as it was (the specials). */
static void test_escaping(void)
{
    const char *name = "a<&\">'b";
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *svg = NULL;
    g_autofree char *all = NULL;
    g_autofree char *html = NULL;
    g_autofree char *title = NULL;
    g_autofree char *label = NULL;
    xmlDocPtr doc = NULL;

    g_ptr_array_add(rows, make_row(1, name, "hint", 1e9, 900000000, 10, 9000));
    g_ptr_array_add(rows, make_row(2, "bad\x01\xff\xfename", "none", 1e9, 900000000, 10, 9000));
    svg = fpbctl_history_svg(rows, name);
    g_assert_null(strstr(svg, "<&"));
    doc = parse(svg);
    title = string(doc, "//s:text[@class='title']");
    g_assert_cmpstr(title, ==, "fpb migration history: VM 'a<&\">'b'");
    xmlFreeDoc(doc);

    all = fpbctl_history_svg(rows, NULL);
    doc = parse(all);
    label = string(doc, "(//s:text[@class='label'])[1]");
    g_assert_cmpstr(label, ==, "a<&\">'b #1");
    g_assert_cmpint(count(doc, "//s:g/s:title[contains(., \"VM 'a<&\")]"), ==, 4);
    xmlFreeDoc(doc);

    html = fpbctl_history_html(rows, name);
    g_assert_null(strstr(html, "<&"));
    doc = parse(html);
    g_assert_cmpint(count(doc, "//td[. = concat('a<&', '\"', \">'b\")]"), ==, 1);
    xmlFreeDoc(doc);
}

/* No prediction and no bytes: n/a markers, not bars of height 0; the time
 * that is known is still a bar. */
static void test_missing(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *svg = NULL;
    xmlDocPtr doc = NULL;

    g_ptr_array_add(rows, make_row(1, "vm1", "balloon", -1, -1, -1, 12000));
    g_ptr_array_add(rows, make_row(2, "vm1", "hint", 3e9, 2000000000, 30, 25000));
    g_ptr_array_add(rows, make_row(3, "vm1", NULL, -1, -1, -1, -1)); /* refused */
    svg = fpbctl_history_svg(rows, "vm1");
    doc = parse(svg);
    g_assert_cmpint(bars(doc, "missing", "bytes", "predicted", "balloon"), ==, 1);
    g_assert_cmpint(bars(doc, "missing", "bytes", "actual", "balloon"), ==, 1);
    g_assert_cmpint(bars(doc, "missing", "seconds", "predicted", "balloon"), ==, 1);
    g_assert_cmpint(bars(doc, "bar", "seconds", "actual", "balloon"), ==, 1);
    g_assert_cmpint(bars(doc, "bar", "bytes", "actual", "balloon"), ==, 0);
    g_assert_cmpint(count(doc, "//s:g[@class='missing'][@data-mode='no-mode']"), ==, 4);
    g_assert_cmpint(count(doc, "//s:g[@class='missing']/s:rect"), ==, 0);
    g_assert_cmpint(count(doc, "//s:g[@class='missing']/s:text[. = 'n/a']"), ==, 7);
    g_assert_cmpint(count(doc, "//s:g[@class='bar']"), ==, 5);
    /* the row without a mode gets its own legend entry */
    g_assert_cmpint(count(doc, "//s:rect[@class='swatch'][@data-key='no-mode']"), ==, 1);
    xmlFreeDoc(doc);
}

static double bar_height(xmlDocPtr doc, const char *metric, gint64 id)
{
    g_autofree char *xpath = g_strdup_printf(
        "//s:g[@class='bar'][@data-metric='%s'][@data-kind='actual'][starts-with(s:title, "
        "'#%" G_GINT64_FORMAT " ')]/s:rect/@height",
        metric, id);
    g_autofree char *h = string(doc, xpath);

    g_assert_cmpstr(h, !=, "");
    return g_ascii_strtod(h, NULL);
}

/* Petabytes next to one byte, hours next to a millisecond: the unit follows
 * the largest value, the tiny bar stays visible, a zero is a zero. */
static void test_scales(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *svg = NULL;
    xmlDocPtr doc = NULL;

    g_ptr_array_add(rows, make_row(1, "vm1", "none", 5e15, 4000000000000000, 40000, 36000000));
    g_ptr_array_add(rows, make_row(2, "vm1", "hint", 1, 1, 0.001, 1));
    g_ptr_array_add(rows, make_row(3, "vm1", "hint", 0, 0, 0, 0));
    svg = fpbctl_history_svg(rows, "vm1");
    doc = parse(svg);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(PB)')]"), ==, 1);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(h)')]"), ==, 1);
    g_assert_cmpfloat(bar_height(doc, "bytes", 1), >, 100);
    g_assert_cmpfloat(bar_height(doc, "bytes", 2), ==, 1);
    g_assert_cmpfloat(bar_height(doc, "seconds", 2), ==, 1);
    g_assert_cmpfloat(bar_height(doc, "bytes", 3), ==, 0);
    xmlFreeDoc(doc);

    /* all tiny: milliseconds and bytes */
    g_ptr_array_set_size(rows, 0);
    g_ptr_array_add(rows, make_row(1, "vm1", "hint", 300, 200, 0.004, 3));
    g_free(svg);
    svg = fpbctl_history_svg(rows, "vm1");
    doc = parse(svg);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(B)')]"), ==, 1);
    g_assert_cmpint(count(doc, "//s:text[@class='panel-title'][contains(., '(ms)')]"), ==, 1);
    g_assert_cmpfloat(bar_height(doc, "bytes", 1), >, 100);
    g_assert_cmpfloat(bar_height(doc, "seconds", 1), >, 100);
    xmlFreeDoc(doc);
}

/* More rows than the cap: the newest are drawn, the title says so, the
 * chart grows to the right with bars of a readable width. */
static void test_many_rows(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    guint n = FPBCTL_HISTORY_CHART_MAX_ROWS + 100;
    g_autofree char *svg = NULL;
    g_autofree char *first = NULL;
    g_autofree char *width = NULL;
    g_autofree char *subtitle = NULL;
    g_autofree char *want =
        g_strdup_printf("The newest %d of %u migrations", FPBCTL_HISTORY_CHART_MAX_ROWS, n);
    xmlDocPtr doc = NULL;

    for (guint i = n; i > 0; i--) {
        g_ptr_array_add(rows, make_row(i, "vm1", i % 2 ? "hint" : "none", 1e9, 1e9, 10, 10000));
    }
    svg = fpbctl_history_svg(rows, NULL);
    doc = parse(svg);
    g_assert_cmpint(count(doc, "//s:g[@class='bar'][@data-metric='bytes'][@data-kind='actual']"),
                    ==, FPBCTL_HISTORY_CHART_MAX_ROWS);
    first = string(doc, "(//s:text[@class='label'])[1]");
    g_assert_cmpstr(first, ==, "vm1 #101");
    subtitle = string(doc, "(//s:text[@class='subtitle'])[1]");
    g_assert_true(g_str_has_prefix(subtitle, want));
    width = string(doc, "(//s:g[@class='bar'])[1]/s:rect/@width");
    g_assert_cmpfloat(g_ascii_strtod(width, NULL), >=, 9);
    xmlFreeDoc(doc);
}

/* No rows: still a well-formed picture that says so. */
static void test_empty(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *svg = fpbctl_history_svg(rows, NULL);
    g_autofree char *html = fpbctl_history_html(rows, "vm1");
    xmlDocPtr doc = parse(svg);

    g_assert_cmpint(count(doc, "//s:text[. = 'No migrations recorded.']"), ==, 1);
    g_assert_cmpint(count(doc, "//s:g[@class='bar']"), ==, 0);
    xmlFreeDoc(doc);
    doc = parse(html);
    xmlFreeDoc(doc);
}

/* The page: an HTML parser reads it too, the SVG is inline, a table row per
 * migration, nothing to fetch and no script. */
static void test_html(void)
{
    g_autoptr(GPtrArray) rows = new_rows();
    g_autofree char *html = NULL;
    xmlDocPtr doc = NULL;

    g_ptr_array_add(rows, make_row(1, "vm1", "hint", 1e9, 900000000, 10, 9000));
    g_ptr_array_add(rows, make_row(2, "vm2", "balloon", -1, -1, 10, 9000));
    html = fpbctl_history_html(rows, NULL);
    g_assert_null(strstr(html, "<script"));
    g_assert_null(strstr(html, "href"));
    g_assert_null(strstr(html, "src="));
    g_assert_null(strstr(html, "url("));
    doc = parse(html);
    g_assert_cmpint(count(doc, "//s:svg"), ==, 1);
    g_assert_cmpint(count(doc, "//tr"), ==, 3);
    g_assert_cmpint(count(doc, "//tr[3]/td[. = 'n/a']"), ==, 2);
    xmlFreeDoc(doc);
    doc = htmlReadMemory(html, (int)strlen(html), "chart.html", "UTF-8",
                         HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    g_assert_nonnull(doc);
    xmlFreeDoc(doc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fpbctl/history-svg/bars-per-mode", test_bars_per_mode);
    g_test_add_func("/fpbctl/history-svg/time-order", test_time_order);
    g_test_add_func("/fpbctl/history-svg/escaping", test_escaping);
    g_test_add_func("/fpbctl/history-svg/missing", test_missing);
    g_test_add_func("/fpbctl/history-svg/scales", test_scales);
    g_test_add_func("/fpbctl/history-svg/many-rows", test_many_rows);
    g_test_add_func("/fpbctl/history-svg/empty", test_empty);
    g_test_add_func("/fpbctl/history-svg/html", test_html);
    return g_test_run();
}
