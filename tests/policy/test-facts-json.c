/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Facts JSON: the round trip (what `explain --json` prints replays to the
 * same facts), the names the issue fixes, and refusal of malformed input.
 */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fpb-facts-json.h"
#include "policy-test-util.h"

static void assert_estimate_equal(const FpbPolicyEstimate *a, const FpbPolicyEstimate *b)
{
    g_assert_cmpfloat(a->value, ==, b->value);
    g_assert_cmpuint(a->samples, ==, b->samples);
}

static void assert_history_equal(const FpbPolicyHistory *a, const FpbPolicyHistory *b)
{
    g_assert_cmpuint(a->migrations, ==, b->migrations);
    assert_estimate_equal(&a->hint_efficiency, &b->hint_efficiency);
    assert_estimate_equal(&a->inflate_rate, &b->inflate_rate);
    assert_estimate_equal(&a->deflate_rate, &b->deflate_rate);
    assert_estimate_equal(&a->zero_share, &b->zero_share);
    assert_estimate_equal(&a->bandwidth, &b->bandwidth);
    assert_estimate_equal(&a->used_zero_share, &b->used_zero_share);
    assert_estimate_equal(&a->zero_page_seconds, &b->zero_page_seconds);
}

static void assert_facts_equal(const FpbPolicyFacts *a, const FpbPolicyFacts *b)
{
    g_assert_cmpint(a->ram_bytes, ==, b->ram_bytes);
    g_assert_cmpint(a->balloon_actual_bytes, ==, b->balloon_actual_bytes);
    g_assert_cmpint(a->accelerator, ==, b->accelerator);
    g_assert_cmpint(a->qemu.major, ==, b->qemu.major);
    g_assert_cmpint(a->qemu.minor, ==, b->qemu.minor);
    g_assert_cmpint(a->qemu.micro, ==, b->qemu.micro);
    g_assert_cmpint(a->qemu.package_known, ==, b->qemu.package_known);
    g_assert_cmpstr(a->qemu.package, ==, b->qemu.package);
    g_assert_cmpint(a->qemu.hint_window_closed, ==, b->qemu.hint_window_closed);
    g_assert_cmpint(a->qemu.tcg_dirty_tracking_overridden, ==,
                    b->qemu.tcg_dirty_tracking_overridden);
    if (a->qemu.tcg_dirty_tracking_overridden) {
        g_assert_cmpint(a->qemu.tcg_dirty_tracking_override, ==,
                        b->qemu.tcg_dirty_tracking_override);
    }
    g_assert_cmpmem(&a->guest, sizeof(a->guest), &b->guest, sizeof(b->guest));
    g_assert_cmpint(a->stats.free_bytes, ==, b->stats.free_bytes);
    g_assert_cmpint(a->stats.available_bytes, ==, b->stats.available_bytes);
    g_assert_cmpint(a->stats.disk_caches_bytes, ==, b->stats.disk_caches_bytes);
    g_assert_cmpint(a->stats.total_bytes, ==, b->stats.total_bytes);
    g_assert_cmpfloat(a->stats.age_seconds, ==, b->stats.age_seconds);
    g_assert_cmpfloat(a->dirty_rate_bytes_per_second, ==, b->dirty_rate_bytes_per_second);
    g_assert_cmpfloat(a->bandwidth_bytes_per_second, ==, b->bandwidth_bytes_per_second);
    g_assert_cmpfloat(a->downtime_limit_seconds, ==, b->downtime_limit_seconds);
    g_assert_cmpint(a->can_restore, ==, b->can_restore);
    g_assert_cmpint(a->hints_can_be_disabled, ==, b->hints_can_be_disabled);
    /* Field by field: the structs have padding, which memcmp would see. */
    g_assert_cmpint(a->policy.mode, ==, b->policy.mode);
    g_assert_cmpint(a->policy.objective, ==, b->policy.objective);
    g_assert_cmpint(a->policy.floor_bytes, ==, b->policy.floor_bytes);
    g_assert_cmpfloat(a->policy.max_prep_seconds, ==, b->policy.max_prep_seconds);
    g_assert_cmpint(a->policy.balloon_allowed, ==, b->policy.balloon_allowed);
    g_assert_cmpuint(a->policy.reclaim, ==, b->policy.reclaim);
    g_assert_cmpint(a->policy.reclaim_cache_bound_bytes, ==, b->policy.reclaim_cache_bound_bytes);
    assert_history_equal(&a->history, &b->history);
}

/* The random generator makes negative history values; JSON carries only
 * what a journal can hold, so keep them >= 0. */
static void make_representable(FpbPolicyFacts *f)
{
    FpbPolicyEstimate *e[] = {&f->history.hint_efficiency,  &f->history.inflate_rate,
                              &f->history.deflate_rate,     &f->history.zero_share,
                              &f->history.bandwidth,        &f->history.used_zero_share,
                              &f->history.zero_page_seconds};

    for (gsize i = 0; i < G_N_ELEMENTS(e); i++) {
        e[i]->value = fabs(e[i]->value);
        if (e[i]->samples == 0) {
            e[i]->value = 0;
        }
    }
}

static void test_roundtrip(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(4242);

    for (int i = 0; i < 2000; i++) {
        g_autoptr(json_object) obj = NULL;
        g_autoptr(GError) error = NULL;
        FpbPolicyFacts f, back;
        const char *text;

        test_facts_random(r, &f);
        make_representable(&f);
        obj = fpb_facts_json_from_facts(&f);
        text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        if (!fpb_facts_json_parse(text, strlen(text), &back, &error)) {
            g_error("case %d: %s\n%s", i, error->message, text);
        }
        assert_facts_equal(&f, &back);
    }
}

static json_object *path_get(json_object *root, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    json_object *cur = root;

    for (int i = 0; parts[i] != NULL; i++) {
        if (!json_object_object_get_ex(cur, parts[i], &cur)) {
            g_error("missing '%s' (at '%s')", path, parts[i]);
        }
    }
    return cur;
}

/* The names issue 4 fixes for `explain --json`. */
static void test_explain_names(void)
{
    static const char *const names[] = {
        "facts.ram_bytes",
        "facts.guest.free_page_hint",
        "facts.stats.free_bytes",
        "facts.stats.available_bytes",
        "facts.policy.mode",
        "facts.policy.floor_bytes",
        "facts.policy.max_prep_seconds",
        "facts.can_restore",
        "decision.mode",
        "decision.balloon_target_bytes",
        "decision.reasons",
    };
    static const char *const fields[] = {"bytes",           "prep_seconds", "migrate_seconds",
                                         "restore_seconds", "feasible",     "why_not"};
    g_autoptr(FpbPolicyDecision) d = NULL;
    g_autoptr(json_object) out = NULL;
    json_object *reason = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    d = fpb_policy_decide(&f, NULL);
    g_assert_nonnull(d);
    out = fpb_facts_json_explain(&f, d);
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        path_get(out, names[i]);
    }
    for (int m = 0; m < FPB_POLICY_N_MODES; m++) {
        json_object *p = NULL;

        g_assert_true(json_object_object_get_ex(path_get(out, "predictions"),
                                                fpb_policy_mode_to_string((FpbPolicyMode)m), &p));
        for (gsize i = 0; i < G_N_ELEMENTS(fields); i++) {
            g_assert_true(json_object_object_get_ex(p, fields[i], NULL));
        }
    }
    reason = json_object_array_get_idx(path_get(out, "decision.reasons"), 0);
    g_assert_true(json_object_is_type(path_get(reason, "code"), json_type_string));
    g_assert_true(json_object_is_type(path_get(reason, "text"), json_type_string));
}

typedef struct {
    const char *json;
    int code;            /* FpbFactsJsonError, or -1 for FPB_POLICY_ERROR_INVALID_FACTS */
    const char *message; /* must appear in the error message */
} BadCase;

#define BASE_GUEST "\"guest\": {\"free_page_hint\": true}"
#define BASE "\"ram_bytes\": 2147483648, \"can_restore\": true, " BASE_GUEST
#define LONG16 "0123456789abcdef"
#define LONG_PACKAGE LONG16 LONG16 LONG16 LONG16 LONG16 LONG16 LONG16 LONG16

static const BadCase bad_cases[] = {
    {"", FPB_FACTS_JSON_ERROR_PARSE, "malformed JSON"},
    {"{\"ram_bytes\": 1", FPB_FACTS_JSON_ERROR_PARSE, "malformed JSON"},
    {"{} {}", FPB_FACTS_JSON_ERROR_PARSE, "trailing data"},
    {"[1, 2]", FPB_FACTS_JSON_ERROR_FIELD, "facts: expected an object"},
    {"{\"can_restore\": true, " BASE_GUEST "}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.ram_bytes: missing required field"},
    {"{\"ram_bytes\": 1073741824, " BASE_GUEST "}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.can_restore: missing required field"},
    {"{\"ram_bytes\": 1073741824, \"can_restore\": true}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.guest: missing required field"},
    {"{\"ram_bytes\": 1073741824, \"can_restore\": true, \"guest\": {}}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.guest.free_page_hint: missing required field"},
    {"{\"ram_bytes\": \"2G\", \"can_restore\": true, " BASE_GUEST "}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.ram_bytes: expected an integer"},
    {"{\"ram_bytes\": 0, \"can_restore\": true, " BASE_GUEST "}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.ram_bytes: expected an integer > 0"},
    {"{\"ram_bytes\": 1.5e9, \"can_restore\": true, " BASE_GUEST "}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.ram_bytes"},
    {"{\"ram_bytes\": 99999999999999999999, \"can_restore\": true, " BASE_GUEST "}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.ram_bytes"},
    /* issue 20: near INT64_MAX the cost model overflowed */
    {"{\"ram_bytes\": 9223372036854775000, \"can_restore\": true, " BASE_GUEST "}", -1,
     "facts.ram_bytes: must be positive and at most 4503599627370496 (4 PiB)"},
    {"{\"ram_bytes\": 4503599627370497, \"can_restore\": true, " BASE_GUEST "}", -1,
     "facts.ram_bytes: must be positive and at most"},
    {"{" BASE ", \"stats\": {\"free_bytes\": -1}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.stats.free_bytes: expected an integer >= 0 or null"},
    {"{" BASE ", \"stats\": {\"fre_bytes\": 1}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.stats.fre_bytes: unknown field"},
    {"{" BASE ", \"stats\": 5}", FPB_FACTS_JSON_ERROR_FIELD, "facts.stats: expected an object"},
    {"{" BASE ", \"policy\": {\"mode\": \"fast\"}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.policy.mode: expected"},
    {"{" BASE ", \"policy\": {\"objective\": 3}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.policy.objective: expected a string"},
    {"{" BASE ", \"policy\": {\"floor_bytes\": 4294967296}}", -1,
     "facts.policy.floor_bytes: must be between 0 and facts.ram_bytes"},
    {"{" BASE ", \"policy\": {\"max_prep_seconds\": null}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.policy.max_prep_seconds: expected a number >= 0"},
    {"{" BASE ", \"policy\": {\"max_prep_seconds\": 7200}}", -1, "facts.policy.max_prep_seconds"},
    {"{" BASE ", \"accelerator\": \"hvf\"}", FPB_FACTS_JSON_ERROR_FIELD, "facts.accelerator"},
    {"{" BASE ", \"can_restore\": \"yes\"}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.can_restore: expected true or false"},
    {"{\"ram_bytes\": 2147483648, \"can_restore\": true, \"guest\": {\"free_page_hint\": true, "
     "\"init_on_alloc\": 1}}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.guest.init_on_alloc: expected true, false or null"},
    {"{\"ram_bytes\": 2147483648, \"can_restore\": true, \"guest\": {\"free_page_hint\": true, "
     "\"transparent_hugepage\": \"sometimes\"}}",
     FPB_FACTS_JSON_ERROR_FIELD,
     "facts.guest.transparent_hugepage: expected \"always\", \"madvise\", \"never\" or null"},
    {"{\"ram_bytes\": 2147483648, \"can_restore\": true, \"guest\": {\"free_page_hint\": true, "
     "\"driver\": \"virtio\"}}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.guest.driver"},
    {"{" BASE ", \"history\": {\"zero_share\": {\"value\": 0.5}, \"bogus\": 1}}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.history.bogus: unknown field"},
    {"{" BASE ", \"history\": {\"bandwidth_bytes_per_second\": {\"value\": -4, \"samples\": 1}}}",
     FPB_FACTS_JSON_ERROR_FIELD, "facts.history.bandwidth_bytes_per_second.value"},
    {"{" BASE ", \"balloon_actual_bytes\": 4294967296}", -1, "facts.balloon_actual_bytes"},
    {"{" BASE ", \"downtime_limit_seconds\": 0}", -1, "facts.downtime_limit_seconds"},
    {"{" BASE ", \"bandwidth_bytes_per_second\": 0}", -1, "facts.bandwidth_bytes_per_second"},
    {"{" BASE ", \"qemu\": \"7.2.22\"}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu: expected an object"},
    {"{" BASE ", \"qemu\": {\"version\": \"7.2\"}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.version: expected \"MAJOR.MINOR.MICRO\""},
    {"{" BASE ", \"qemu\": {\"version\": 7}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.version: expected a string or null"},
    {"{" BASE ", \"qemu\": {\"package\": false}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.package: expected a string or null"},
    {"{" BASE ", \"qemu\": {\"package\": \"" LONG_PACKAGE "\"}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.package: longer than 127 bytes"},
    {"{" BASE ", \"qemu\": {\"tcg_dirty_tracking\": \"ok\"}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.tcg_dirty_tracking: expected \"fixed\", \"broken\", \"unknown\" or null"},
    {"{" BASE ", \"qemu\": {\"verison\": \"9.0.0\"}}", FPB_FACTS_JSON_ERROR_FIELD,
     "facts.qemu.verison: unknown field"},
};

static void test_malformed(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        const BadCase *c = &bad_cases[i];
        g_autoptr(GError) error = NULL;
        FpbPolicyFacts f;

        fpb_policy_facts_init(&f);
        f.ram_bytes = 77;
        g_assert_false(fpb_facts_json_parse(c->json, strlen(c->json), &f, &error));
        if (c->code < 0) {
            g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_INVALID_FACTS);
        } else {
            g_assert_error(error, FPB_FACTS_JSON_ERROR, c->code);
        }
        if (strstr(error->message, c->message) == NULL) {
            g_error("case %zu: '%s' does not contain '%s'", i, error->message, c->message);
        }
        g_assert_cmpint(f.ram_bytes, ==, 77); /* untouched on failure */
    }
}

/* The guest's THP mode: written as its name, read back; absent is unknown. */
static void test_thp(void)
{
    static const FpbPolicyThp modes[] = {FPB_POLICY_THP_UNKNOWN, FPB_POLICY_THP_ALWAYS,
                                         FPB_POLICY_THP_MADVISE, FPB_POLICY_THP_NEVER};

    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autoptr(json_object) obj = NULL;
        g_autoptr(GError) error = NULL;
        FpbPolicyFacts f, back;
        const char *text;

        fpb_policy_facts_init(&f);
        f.ram_bytes = 1 << 30;
        f.guest.transparent_hugepage = modes[i];
        obj = fpb_facts_json_from_facts(&f);
        text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
        g_assert_true(fpb_facts_json_parse(text, strlen(text), &back, &error));
        g_assert_no_error(error);
        g_assert_cmpint(back.guest.transparent_hugepage, ==, modes[i]);
        g_assert_nonnull(strstr(text, modes[i] == FPB_POLICY_THP_MADVISE
                                          ? "\"transparent_hugepage\":\"madvise\""
                                          : "\"transparent_hugepage\":"));
    }
}

static void test_defaults_and_wrapper(void)
{
    const char *minimal = "{" BASE "}";
    g_autofree char *wrapped = g_strdup_printf("{\"facts\": %s, \"decision\": {}}", minimal);
    g_autoptr(GError) error = NULL;
    FpbPolicyFacts f, g;

    g_assert_true(fpb_facts_json_parse(minimal, strlen(minimal), &f, &error));
    g_assert_no_error(error);
    g_assert_cmpint(f.stats.free_bytes, ==, FPB_POLICY_UNKNOWN);
    g_assert_cmpint(f.policy.mode, ==, FPB_POLICY_REQUEST_AUTO);
    g_assert_cmpint(f.guest.init_on_alloc, ==, FPB_POLICY_INIT_ON_ALLOC_UNKNOWN);
    g_assert_cmpfloat(f.downtime_limit_seconds, ==, 0.3);
    g_assert_true(fpb_facts_json_parse(wrapped, strlen(wrapped), &g, &error));
    assert_facts_equal(&f, &g);
}

/* facts.qemu: absent/null = unknown, the version and package as given,
 * the override only when present and not null. */
static void test_qemu(void)
{
    static const struct {
        const char *qemu;
        int major, micro;
        const char *package;
        FpbPolicyTcgDirtyTracking tracking;
        gboolean overridden;
    } cases[] = {
        {NULL, -1, -1, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, FALSE},
        {"null", -1, -1, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, FALSE},
        {"{}", -1, -1, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, FALSE},
        {"{\"version\": null, \"package\": null, \"tcg_dirty_tracking\": null}", -1, -1, NULL,
         FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, FALSE},
        {"{\"version\": \"7.2.22\", \"package\": \"" TEST_QEMU_PACKAGE_STOCK "\"}", 7, 22,
         TEST_QEMU_PACKAGE_STOCK, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN, FALSE},
        {"{\"version\": \"7.2.22\", \"package\": \"" TEST_QEMU_PACKAGE_PATCHED "\"}", 7, 22,
         TEST_QEMU_PACKAGE_PATCHED, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED, FALSE},
        {"{\"version\": \"9.0.0\", \"package\": \"\"}", 9, 0, "",
         FPB_POLICY_TCG_DIRTY_TRACKING_FIXED, FALSE},
        {"{\"version\": \"7.2.22\", \"tcg_dirty_tracking\": \"fixed\"}", 7, 22, NULL,
         FPB_POLICY_TCG_DIRTY_TRACKING_FIXED, TRUE},
        {"{\"version\": \"9.2.0\", \"tcg_dirty_tracking\": \"broken\"}", 9, 0, NULL,
         FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN, TRUE},
        {"{\"tcg_dirty_tracking\": \"unknown\"}", -1, -1, NULL,
         FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, TRUE},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *json = cases[i].qemu != NULL
                                    ? g_strdup_printf("{" BASE ", \"qemu\": %s}", cases[i].qemu)
                                    : g_strdup("{" BASE "}");
        g_autoptr(GError) error = NULL;
        FpbPolicyFacts f;

        if (!fpb_facts_json_parse(json, strlen(json), &f, &error)) {
            g_error("case %zu: %s", i, error->message);
        }
        g_assert_cmpint(f.qemu.major, ==, cases[i].major);
        g_assert_cmpint(f.qemu.micro, ==, cases[i].micro);
        g_assert_cmpint(f.qemu.package_known, ==, cases[i].package != NULL);
        if (cases[i].package != NULL) {
            g_assert_cmpstr(f.qemu.package, ==, cases[i].package);
        }
        g_assert_cmpint(f.qemu.tcg_dirty_tracking_overridden, ==, cases[i].overridden);
        g_assert_cmpint(fpb_policy_facts_tcg_dirty_tracking(&f), ==, cases[i].tracking);
    }
}

/* Written back: version and package as strings or null, the override only
 * when set (null otherwise, so a replay derives again). */
static void test_qemu_written(void)
{
    g_autoptr(json_object) unknown = NULL;
    g_autoptr(json_object) known = NULL;
    json_object *q = NULL;
    json_object *v = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    unknown = fpb_facts_json_from_facts(&f);
    g_assert_true(json_object_object_get_ex(unknown, "qemu", &q));
    g_assert_true(json_object_object_get_ex(q, "version", &v) && v == NULL);
    g_assert_true(json_object_object_get_ex(q, "package", &v) && v == NULL);
    g_assert_true(json_object_object_get_ex(q, "tcg_dirty_tracking", &v) && v == NULL);
    test_facts_set_qemu(&f, "7.2.22", TEST_QEMU_PACKAGE_STOCK);
    test_facts_override_tracking(&f, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED);
    known = fpb_facts_json_from_facts(&f);
    g_assert_true(json_object_object_get_ex(known, "qemu", &q));
    g_assert_true(json_object_object_get_ex(q, "version", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "7.2.22");
    g_assert_true(json_object_object_get_ex(q, "package", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, TEST_QEMU_PACKAGE_STOCK);
    g_assert_true(json_object_object_get_ex(q, "tcg_dirty_tracking", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "fixed");
}

static void test_load_file(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("fpb-facts-XXXXXX", NULL);
    g_autofree char *big = g_build_filename(dir, "big.json", NULL);
    g_autofree char *content = g_malloc(FPB_FACTS_JSON_MAX_BYTES + 10);
    FpbPolicyFacts f;

    g_assert_false(fpb_facts_json_load_file("/nonexistent/fpb.json", &f, &error));
    g_assert_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ);
    g_clear_error(&error);
    memset(content, ' ', FPB_FACTS_JSON_MAX_BYTES + 10);
    g_assert_true(g_file_set_contents(big, content, FPB_FACTS_JSON_MAX_BYTES + 10, NULL));
    g_assert_false(fpb_facts_json_load_file(big, &f, &error));
    g_assert_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ);
    g_clear_error(&error);
    g_assert_false(fpb_facts_json_load_file(dir, &f, &error));
    g_assert_error(error, FPB_FACTS_JSON_ERROR, FPB_FACTS_JSON_ERROR_READ);
    g_unlink(big);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/facts-json/roundtrip", test_roundtrip);
    g_test_add_func("/facts-json/explain-names", test_explain_names);
    g_test_add_func("/facts-json/malformed", test_malformed);
    g_test_add_func("/facts-json/transparent-hugepage", test_thp);
    g_test_add_func("/facts-json/defaults", test_defaults_and_wrapper);
    g_test_add_func("/facts-json/load-file", test_load_file);
    g_test_add_func("/facts-json/qemu", test_qemu);
    g_test_add_func("/facts-json/qemu-written", test_qemu_written);
    return g_test_run();
}
