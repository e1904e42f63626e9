/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden tests for `fpbctl explain --facts FILE --json`, plus its usage and
 * refusal paths. Each golden/NAME.facts.json (its "comment" says which
 * situation it documents) must produce exactly golden/NAME.expected.json
 * (compared as JSON values).
 *
 * Regenerating the goldens after an intended change of the cost model:
 *   FPB_REGENERATE_GOLDEN=1 meson test -C BUILDDIR test-fpbctl-golden
 * then review `git diff tests/policy/golden/` like any other change.
 *
 * Arguments (meson passes them): --tap FPBCTL GOLDEN_DIR
 */
#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

static const char *fpbctl;
static const char *golden_dir;

typedef struct {
    int status;
    char *out;
    char *err;
} RunResult;

static void run_result_clear(RunResult *r)
{
    g_free(r->out);
    g_free(r->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunResult, run_result_clear)

/* Runs fpbctl with @args (NULL-terminated, without argv[0]). */
static void run_fpbctl(const char *const *args, RunResult *ret)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int wait_status = 0;

    g_ptr_array_add(argv, (gpointer)fpbctl);
    for (int i = 0; args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &ret->out,
                      &ret->err, &wait_status, &error)) {
        g_error("cannot run %s: %s", fpbctl, error->message);
    }
    g_assert_true(WIFEXITED(wait_status));
    ret->status = WEXITSTATUS(wait_status);
}

static void test_golden(gconstpointer data)
{
    const char *name = data;
    g_autofree char *facts = g_strdup_printf("%s/%s.facts.json", golden_dir, name);
    g_autofree char *expected_path = g_strdup_printf("%s/%s.expected.json", golden_dir, name);
    const char *args[] = {"explain", "--facts", facts, "--json", NULL};
    g_auto(RunResult) r = {0};
    g_autoptr(json_object) got = NULL;
    g_autoptr(json_object) expected = NULL;

    run_fpbctl(args, &r);
    if (r.status != 0) {
        g_printerr("%s", r.err);
        g_error("%s: exit %d, stderr above", name, r.status);
    }
    got = json_tokener_parse(r.out);
    g_assert_nonnull(got);
    if (g_strcmp0(g_getenv("FPB_REGENERATE_GOLDEN"), "1") == 0) {
        g_assert_true(g_file_set_contents(expected_path, r.out, -1, NULL));
        g_test_message("regenerated %s", expected_path);
        return;
    }
    expected = json_object_from_file(expected_path);
    if (expected == NULL) {
        g_error("%s: cannot read %s (regenerate with FPB_REGENERATE_GOLDEN=1)", name,
                expected_path);
    }
    if (!json_object_equal(got, expected)) {
        /* stdout is TAP: the output goes to stderr, the verdict on one line */
        g_printerr("%s", r.out);
        g_error("%s: output differs from %s (printed on stderr)", name, expected_path);
    }
}

typedef struct {
    const char *path;
    const char *args[6];
    int status;
    const char *stdout_has;
    const char *stderr_has;
} UsageCase;

/* "@BAD@" and "@GOLDEN@" in args are replaced by a scratch file / golden dir. */
static const UsageCase usage_cases[] = {
    {"/fpbctl/usage/no-command", {NULL}, 2, NULL, "Usage: fpbctl COMMAND"},
    {"/fpbctl/usage/help", {"--help", NULL}, 0, "explain", NULL},
    {"/fpbctl/usage/unknown-command",
     {"frobnicate", NULL},
     2,
     NULL,
     "unknown command 'frobnicate'"},
    {"/fpbctl/usage/explain-help", {"explain", "--help", NULL}, 0, "--facts", NULL},
    {"/fpbctl/usage/explain-no-facts", {"explain", NULL}, 2, NULL, "--facts FILE is required"},
    {"/fpbctl/usage/explain-bad-option",
     {"explain", "--qmp", "x", "--db", "@DB@", NULL},
     2,
     NULL,
     "fpbctl explain:"},
    {"/fpbctl/usage/explain-extra-arg",
     {"explain", "--facts", "@GOLDEN@/facts-2gib-stock-tcg.facts.json", "vm1", NULL},
     2,
     NULL,
     "unexpected argument 'vm1'"},
    {"/fpbctl/refused/missing-file",
     {"explain", "--facts", "/nonexistent/f.json", NULL},
     2,
     NULL,
     "/nonexistent/f.json: cannot open"},
    {"/fpbctl/refused/malformed",
     {"explain", "--facts", "@BAD@", NULL},
     2,
     NULL,
     ": malformed JSON"},
    /* issue 20: ram_bytes near INT64_MAX overflowed the cost model */
    {"/fpbctl/refused/ram-near-int64-max",
     {"explain", "--facts", "@GOLDEN@/refused-ram-near-int64-max.json", NULL},
     2,
     NULL,
     "facts.ram_bytes: must be positive and at most 4503599627370496 (4 PiB)"},
    {"/fpbctl/human/table",
     {"explain", "--facts", "@GOLDEN@/facts-2gib-stock-tcg.facts.json", NULL},
     0,
     "Decision: none",
     NULL},
};

/* @BAD@: a malformed facts file; @DB@: a journal in the case's own
 * directory (never the host's /var/lib/fpb). */
static char *expand(const char *arg, const char *bad)
{
    if (g_str_equal(arg, "@BAD@")) {
        return g_strdup(bad);
    }
    if (g_str_equal(arg, "@DB@")) {
        g_autofree char *dir = g_path_get_dirname(bad);

        return g_build_filename(dir, "journal.db", NULL);
    }
    if (g_str_has_prefix(arg, "@GOLDEN@")) {
        return g_strconcat(golden_dir, arg + strlen("@GOLDEN@"), NULL);
    }
    return g_strdup(arg);
}

static void test_usage(gconstpointer data)
{
    const UsageCase *c = data;
    g_autofree char *dir = g_dir_make_tmp("fpbctl-XXXXXX", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.json", NULL);
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    g_auto(RunResult) r = {0};

    g_assert_true(g_file_set_contents(bad, "{\"ram_bytes\": ", -1, NULL));
    for (int i = 0; c->args[i] != NULL; i++) {
        g_ptr_array_add(args, expand(c->args[i], bad));
    }
    g_ptr_array_add(args, NULL);
    run_fpbctl((const char *const *)args->pdata, &r);
    g_unlink(bad);
    for (const char *const *f = (const char *const[]){"journal.db", "journal.db-wal",
                                                      "journal.db-shm", "journal.db-journal", NULL};
         *f != NULL; f++) {
        g_autofree char *path = g_build_filename(dir, *f, NULL);

        g_unlink(path);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
    if (r.status != c->status || (c->stdout_has && !strstr(r.out, c->stdout_has)) ||
        (c->stderr_has && !strstr(r.err, c->stderr_has))) {
        g_printerr("stdout: %s\nstderr: %s\n", r.out, r.err);
        g_error("%s: exit %d (want %d), output on stderr", c->path, r.status, c->status);
    }
    if (c->status == 2) {
        /* refusals are one line on stderr, nothing on stdout */
        g_assert_cmpstr(r.out, ==, "");
    }
}

/* A forced infeasible mode is refused naming the file and the rule. */
static void test_forced_infeasible(void)
{
    g_autofree char *dir = g_dir_make_tmp("fpbctl-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "forced.json", NULL);
    const char *args[] = {"explain", "--facts", path, NULL};
    g_auto(RunResult) r = {0};

    g_assert_true(g_file_set_contents(
        path,
        "{\"ram_bytes\": 2147483648, \"can_restore\": false, \"guest\": {\"free_page_hint\": "
        "false}, \"stats\": {\"free_bytes\": 1800000000, \"available_bytes\": 1800000000, "
        "\"age_seconds\": 1}, \"policy\": {\"mode\": \"balloon\"}}",
        -1, NULL));
    run_fpbctl(args, &r);
    g_unlink(path);
    g_rmdir(dir);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_nonnull(strstr(r.err, path));
    g_assert_nonnull(strstr(r.err, "BALLOON_NO_RESTORE_PATH"));
    g_assert_cmpuint(strchr(r.err, '\n') - r.err + 1, ==, strlen(r.err));
}

/* A forced 'hint' on TCG with a QEMU that lacks the dirty-tracking fix
 * (issue 6): refused, and the one line says why and where to read more. */
static void test_forced_hint_unfixed_tcg(void)
{
    g_autofree char *dir = g_dir_make_tmp("fpbctl-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "forced-hint.json", NULL);
    const char *args[] = {"explain", "--facts", path, NULL};
    g_auto(RunResult) r = {0};

    g_assert_true(g_file_set_contents(
        path,
        "{\"ram_bytes\": 2147483648, \"accelerator\": \"tcg\", \"can_restore\": true, "
        "\"hints_can_be_disabled\": true, \"qemu\": {\"version\": \"7.2.22\", \"package\": "
        "\"Debian 1:7.2+dfsg-7+deb12u18\"}, \"guest\": {\"free_page_hint\": true, "
        "\"driver\": \"fpb\", \"init_on_alloc\": false}, \"policy\": {\"mode\": \"hint\"}}",
        -1, NULL));
    run_fpbctl(args, &r);
    g_unlink(path);
    g_rmdir(dir);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_cmpstr(r.out, ==, "");
    g_assert_nonnull(
        strstr(r.err, "policy mode 'hint' cannot run: HINT_UNSAFE_TCG_DIRTY_TRACKING"));
    g_assert_nonnull(strstr(r.err, "QEMU 7.2.22"));
    g_assert_nonnull(strstr(r.err, "docs/hint-safety.md"));
    g_assert_cmpuint(strchr(r.err, '\n') - r.err + 1, ==, strlen(r.err));
}

/* The mode explain --facts FILE --json picks with @extra options. */
static char *mode_with(const char *name, const char *extra_a, const char *extra_b, char **ret_codes)
{
    g_autofree char *facts = g_strdup_printf("%s/%s.facts.json", golden_dir, name);
    const char *args[] = {"explain", "--facts", facts, "--json", extra_a, extra_b, NULL};
    g_auto(RunResult) r = {0};
    g_autoptr(json_object) out = NULL;
    json_object *decision = NULL;
    json_object *reasons = NULL;
    g_autoptr(GString) codes = g_string_new(NULL);

    run_fpbctl(args, &r);
    g_assert_cmpint(r.status, ==, 0);
    out = json_tokener_parse(r.out);
    g_assert_nonnull(out);
    g_assert_true(json_object_object_get_ex(out, "decision", &decision));
    g_assert_true(json_object_object_get_ex(decision, "reasons", &reasons));
    for (size_t i = 0; i < json_object_array_length(reasons); i++) {
        json_object *code = json_object_object_get(json_object_array_get_idx(reasons, i), "code");

        g_string_append_printf(codes, "%s ", json_object_get_string(code));
    }
    *ret_codes = g_strdup(codes->str);
    return g_strdup(json_object_get_string(json_object_object_get(decision, "mode")));
}

/* Options on the command line win over the facts file, as over a VM's
 * facts: the risk accepted by name lets hints run on KVM with fpb's driver
 * and a QEMU that leaves the dirty-log window open (issue 15); --mode and
 * --guest-driver replay the file as a migration would be asked for. */
static void test_options_over_file(void)
{
    const char *open_window = "kvm-8gib-fpb-driver-window-open";
    g_autofree char *c1 = NULL, *c2 = NULL, *c3 = NULL;
    g_autofree char *plain = mode_with(open_window, NULL, NULL, &c1);
    g_autofree char *accepted =
        mode_with(open_window, "--accept-risk", "kvm-dirty-log-window", &c2);
    g_autofree char *stock = mode_with(open_window, "--guest-driver", "stock", &c3);

    g_assert_cmpstr(plain, ==, "none");
    g_assert_nonnull(strstr(c1, "HINT_KVM_DIRTY_LOG_WINDOW "));
    g_assert_cmpstr(accepted, ==, "hint");
    g_assert_nonnull(strstr(c2, "HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED"));
    g_assert_cmpstr(stock, ==, "hint");
    g_assert_null(strstr(c3, "HINT_KVM_DIRTY_LOG_WINDOW"));
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static void add_goldens(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(golden_dir, 0, &error);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const char *entry;

    if (dir == NULL) {
        g_error("%s", error->message);
    }
    while ((entry = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(entry, ".facts.json")) {
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - strlen(".facts.json")));
        }
    }
    g_ptr_array_sort(names, compare_names);
    g_assert_cmpuint(names->len, >=, 5);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path =
            g_strdup_printf("/fpbctl/golden/%s", (char *)g_ptr_array_index(names, i));

        g_test_add_data_func_full(path, g_ptr_array_index(names, i), test_golden, g_free);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc != 3) {
        g_printerr("usage: %s [--tap] FPBCTL GOLDEN_DIR\n", argv[0]);
        return 2;
    }
    fpbctl = argv[1];
    golden_dir = argv[2];
    add_goldens();
    for (gsize i = 0; i < G_N_ELEMENTS(usage_cases); i++) {
        g_test_add_data_func(usage_cases[i].path, &usage_cases[i], test_usage);
    }
    g_test_add_func("/fpbctl/refused/forced-infeasible", test_forced_infeasible);
    g_test_add_func("/fpbctl/explain/options-over-file", test_options_over_file);
    g_test_add_func("/fpbctl/refused/forced-hint-unfixed-tcg", test_forced_hint_unfixed_tcg);
    return g_test_run();
}
