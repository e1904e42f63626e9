/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one validator of a run's options (host-plugin/pipeline/
 * fpb-run-options.h): every option onto the request, the message of every
 * mistake, the caller's defaults under the options given, the JSON of
 * fpbd's control socket; and the same message for the same mistake from
 * the libvirt form (fpb_libvirt_options_apply) and from the built
 * fpbctl's bare-QMP and libvirt forms.
 */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fpb-libvirt-options.h"
#include "fpb-run-options.h"
#include "orch-helpers.h"

static char *tmpdir;

static void test_defaults(void)
{
    FpbRunOptions o;
    FpbPipelineRequest req, defaults;
    FpbConfPolicy given;
    g_autoptr(GError) error = NULL;

    fpb_run_options_init(&o);
    fpb_pipeline_request_init(&req);
    fpb_pipeline_request_init(&defaults);
    g_assert_true(fpb_run_options_apply(&o, &given, &req, &error));
    g_assert_no_error(error);
    g_assert_true(fpb_conf_policy_is_empty(&given));
    g_assert_cmpstr(req.requested_mode, ==, "auto");
    g_assert_cmpfloat(req.timeout_s, ==, 600);
    g_assert_cmpfloat(req.migration_stall_s, ==, 60);
    g_assert_cmpint(req.facts.max_bandwidth, ==, -1);
    g_assert_cmpint(req.facts.driver, ==, FPB_POLICY_DRIVER_UNKNOWN);
    g_assert_cmpint(req.facts.init_on_alloc, ==, FPB_POLICY_INIT_ON_ALLOC_UNKNOWN);
    g_assert_cmpint(req.facts.tcg_dirty_tracking, ==, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN);
    g_assert_cmpint(req.facts.policy.mode, ==, defaults.facts.policy.mode);
    g_assert_cmpint(req.facts.policy.objective, ==, defaults.facts.policy.objective);
    g_assert_cmpint(req.facts.policy.floor_bytes, ==, defaults.facts.policy.floor_bytes);
    g_assert_cmpfloat(req.facts.policy.max_prep_seconds, ==,
                      defaults.facts.policy.max_prep_seconds);
    g_assert_true(req.facts.policy.balloon_allowed);
    g_assert_cmpint(req.facts.policy.method, ==, FPB_POLICY_METHOD_REQUEST_AUTO);
    g_assert_false(req.facts.policy.allow_unsafe_live_migration);
    fpb_run_options_clear(&o);
}

static void test_every_option(void)
{
    FpbRunOptions o;
    FpbPipelineRequest req;
    FpbConfPolicy given;
    g_autoptr(GError) error = NULL;
    const FpbPolicySettings *p = &req.facts.policy;

    fpb_run_options_init(&o);
    o.mode = g_strdup("hint+balloon");
    o.objective = g_strdup("guest-impact");
    o.floor = g_strdup("512MiB");
    o.max_prep = g_strdup("7.5");
    o.no_balloon = TRUE;
    o.guest_driver = g_strdup("fpb");
    o.guest_init_on_alloc = g_strdup("0");
    o.tcg = g_strdup("fixed");
    o.migration_method = g_strdup("postcopy");
    o.allow_unsafe_live_migration = TRUE;
    o.max_bandwidth = 125000000;
    o.timeout_s = 0;
    fpb_pipeline_request_init(&req);
    g_assert_true(fpb_run_options_apply(&o, &given, &req, &error));
    g_assert_no_error(error);
    g_assert_true(req.requested_mode == o.mode); /* borrowed */
    g_assert_cmpint(p->mode, ==, FPB_POLICY_REQUEST_HINT_BALLOON);
    g_assert_cmpint(p->objective, ==, FPB_POLICY_OBJECTIVE_GUEST_IMPACT);
    g_assert_cmpint(p->floor_bytes, ==, G_GINT64_CONSTANT(512) << 20);
    g_assert_cmpfloat(p->max_prep_seconds, ==, 7.5);
    g_assert_false(p->balloon_allowed);
    g_assert_cmpint(p->method, ==, FPB_POLICY_METHOD_REQUEST_POSTCOPY);
    g_assert_true(p->allow_unsafe_live_migration);
    g_assert_cmpint(req.facts.driver, ==, FPB_POLICY_DRIVER_FPB);
    g_assert_cmpint(req.facts.init_on_alloc, ==, FPB_POLICY_INIT_ON_ALLOC_OFF);
    g_assert_cmpint(req.facts.tcg_dirty_tracking, ==, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED);
    g_assert_cmpint(req.facts.max_bandwidth, ==, 125000000);
    g_assert_cmpfloat(req.timeout_s, ==, 0);
    g_assert_true(given.has_mode && given.mode == FPB_POLICY_REQUEST_HINT_BALLOON);
    g_assert_true(given.has_objective);
    g_assert_cmpint(given.floor_bytes, ==, G_GINT64_CONSTANT(512) << 20);
    g_assert_cmpfloat(given.max_prep_seconds, ==, 7.5);
    g_assert_cmpint(given.balloon, ==, 0);
    fpb_run_options_clear(&o);
}

/* The caller's defaults (fpbd.conf [policy]) stay where no option is given. */
static void test_over_defaults(void)
{
    FpbRunOptions o;
    FpbPipelineRequest req;
    FpbConfPolicy given;
    g_autoptr(GError) error = NULL;

    fpb_run_options_init(&o);
    o.mode = g_strdup("none");
    fpb_pipeline_request_init(&req);
    req.facts.policy.mode = FPB_POLICY_REQUEST_BALLOON;
    req.facts.policy.objective = FPB_POLICY_OBJECTIVE_BYTES;
    req.facts.policy.floor_bytes = 100;
    g_assert_true(fpb_run_options_apply(&o, &given, &req, &error));
    g_assert_cmpint(req.facts.policy.mode, ==, FPB_POLICY_REQUEST_NONE);
    g_assert_cmpint(req.facts.policy.objective, ==, FPB_POLICY_OBJECTIVE_BYTES);
    g_assert_cmpint(req.facts.policy.floor_bytes, ==, 100);
    g_assert_true(given.has_mode);
    g_assert_false(given.has_objective);
    g_assert_cmpint(given.floor_bytes, ==, -1);
    fpb_run_options_clear(&o);
}

typedef struct {
    const char *path;
    const char *options; /* as fpbd receives them */
    const char *message; /* the whole message */
} BadCase;

static const BadCase bad_cases[] = {
    {"/run-options/bad/mode", "{\"mode\": \"sideways\"}",
     "--mode: 'sideways' is not auto, none, hint, balloon or hint+balloon"},
    {"/run-options/bad/mode-empty", "{\"mode\": \"\"}",
     "--mode: '' is not auto, none, hint, balloon or hint+balloon"},
    {"/run-options/bad/objective", "{\"objective\": \"fast\"}",
     "--objective: 'fast' is not time, bytes or guest-impact"},
    {"/run-options/bad/floor", "{\"floor\": \"-5\"}",
     "--floor: '-5' is not a size up to 1 PiB (e.g. 512MiB)"},
    {"/run-options/bad/max-prep-seconds", "{\"max-prep-seconds\": \"3601\"}",
     "--max-prep-seconds: '3601' is not a number of seconds within 0..3600"},
    {"/run-options/bad/guest-driver", "{\"guest-driver\": \"unknown\"}",
     "--guest-driver: 'unknown' is not stock or fpb"},
    {"/run-options/bad/guest-init-on-alloc", "{\"guest-init-on-alloc\": \"2\"}",
     "--guest-init-on-alloc: '2' is not 0 or 1"},
    {"/run-options/bad/qemu-tcg-dirty-tracking", "{\"qemu-tcg-dirty-tracking\": \"maybe\"}",
     "--qemu-tcg-dirty-tracking: 'maybe' is not fixed or broken"},
    {"/run-options/bad/accept-risk", "{\"accept-risk\": \"everything\"}",
     "--accept-risk: 'everything' is not a risk fpb knows (kvm-dirty-log-window)"},
    {"/run-options/bad/migration-method", "{\"migration-method\": \"live\"}",
     "--migration-method: 'live' is not auto, precopy, postcopy or paused"},
    {"/run-options/bad/max-bandwidth", "{\"max-bandwidth\": 0}",
     "--max-bandwidth: '0' is not a rate > 0 (bytes per second)"},
    {"/run-options/bad/timeout", "{\"timeout\": -1}",
     "--timeout: '-1' is not a number of seconds within 0..86400"},
    {"/run-options/bad/timeout-long", "{\"timeout\": 86400.5}",
     "--timeout: '86400.5' is not a number of seconds within 0..86400"},
    {"/run-options/bad/stall-timeout", "{\"stall-timeout\": -0.5}",
     "--stall-timeout: '-0.5' is not a number of seconds within 0..86400"},
};

/* The message and nothing changed; the libvirt form says exactly the same. */
static void expect_bad(const FpbRunOptions *o, const char *message)
{
    FpbPipelineRequest req, before;
    FpbConfPolicy given, given_before;
    FpbLibvirtMigrateRequest lv;
    FpbConfPolicy host;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) lv_error = NULL;

    fpb_pipeline_request_init(&req);
    memcpy(&before, &req, sizeof(req));
    fpb_conf_policy_init(&given);
    memcpy(&given_before, &given, sizeof(given));
    g_assert_false(fpb_run_options_apply(o, &given, &req, &error));
    g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    g_assert_cmpstr(error->message, ==, message);
    g_assert_true(memcmp(&req, &before, sizeof(req)) == 0);
    g_assert_true(memcmp(&given, &given_before, sizeof(given)) == 0);

    fpb_conf_policy_init(&host);
    fpb_libvirt_migrate_request_init(&lv);
    g_assert_false(fpb_libvirt_options_apply(o, &host, &lv, &lv_error));
    g_assert_cmpstr(lv_error->message, ==, message);
}

static void run_bad_case(gconstpointer data)
{
    const BadCase *c = data;
    FpbRunOptions o;
    g_autoptr(json_object) j = json_tokener_parse(c->options);
    g_autoptr(GError) error = NULL;

    g_assert_nonnull(j);
    fpb_run_options_init(&o);
    g_assert_true(fpb_run_options_from_json(j, &o, &error));
    expect_bad(&o, c->message);
    fpb_run_options_clear(&o);
}

static void test_bad_timeout_nan(void)
{
    FpbRunOptions o;

    fpb_run_options_init(&o);
    o.timeout_s = NAN;
    expect_bad(&o, "--timeout: 'nan' is not a number of seconds within 0..86400");
}

static void test_json_round_trip(void)
{
    FpbRunOptions in, out;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) j = NULL;

    fpb_run_options_init(&in);
    fpb_run_options_init(&out);
    in.mode = g_strdup("hint");
    in.objective = g_strdup("bytes");
    in.floor = g_strdup("1GiB");
    in.max_prep = g_strdup("5");
    in.no_balloon = TRUE;
    in.guest_driver = g_strdup("stock");
    in.guest_init_on_alloc = g_strdup("1");
    in.tcg = g_strdup("broken");
    in.migration_method = g_strdup("paused");
    in.allow_unsafe_live_migration = TRUE;
    in.max_bandwidth = 1000;
    in.timeout_s = 12.5;
    in.stall_s = 7;
    in.migrate_uri = g_strdup("tcp://192.0.2.2");
    in.listen_address = g_strdup("192.0.2.3");
    j = fpb_run_options_to_json(&in);
    g_assert_cmpint(json_object_object_length(j), ==, 15);
    g_assert_true(fpb_run_options_from_json(j, &out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out.mode, ==, in.mode);
    g_assert_cmpstr(out.objective, ==, in.objective);
    g_assert_cmpstr(out.floor, ==, in.floor);
    g_assert_cmpstr(out.max_prep, ==, in.max_prep);
    g_assert_true(out.no_balloon);
    g_assert_cmpstr(out.guest_driver, ==, in.guest_driver);
    g_assert_cmpstr(out.guest_init_on_alloc, ==, in.guest_init_on_alloc);
    g_assert_cmpstr(out.tcg, ==, in.tcg);
    g_assert_cmpstr(out.migration_method, ==, in.migration_method);
    g_assert_true(out.allow_unsafe_live_migration);
    g_assert_cmpint(out.max_bandwidth, ==, 1000);
    g_assert_cmpfloat(out.timeout_s, ==, 12.5);
    g_assert_cmpfloat(out.stall_s, ==, 7);
    g_assert_cmpstr(out.migrate_uri, ==, in.migrate_uri);
    g_assert_cmpstr(out.listen_address, ==, in.listen_address);
    fpb_run_options_clear(&in);
    fpb_run_options_clear(&out);
}

/* Only what was given travels, and the timeouts (they have defaults). */
static void test_json_nothing_given(void)
{
    FpbRunOptions o;
    g_autoptr(json_object) j = NULL;

    fpb_run_options_init(&o);
    j = fpb_run_options_to_json(&o);
    g_assert_cmpstr(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), ==,
                    "{\"timeout\":600.0,\"stall-timeout\":60.0}");
    g_assert_true(fpb_run_options_from_json(NULL, &o, NULL));
}

static void expect_json_error(const char *text, const char *want)
{
    FpbRunOptions o;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) j = json_tokener_parse(text);

    g_assert_nonnull(j);
    fpb_run_options_init(&o);
    g_assert_false(fpb_run_options_from_json(j, &o, &error));
    g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    g_assert_cmpstr(error->message, ==, want);
    fpb_run_options_clear(&o);
}

static void test_json_errors(void)
{
    expect_json_error("{\"colour\": \"red\"}", "unknown option 'colour'");
    expect_json_error("{\"mode\": 3}", "option 'mode': not a string");
    expect_json_error("{\"mode\": null}", "option 'mode': not a string");
    expect_json_error("{\"max-bandwidth\": 1.5}", "option 'max-bandwidth': not an integer");
    expect_json_error("{\"timeout\": \"10\"}", "option 'timeout': not a number");
    expect_json_error("{\"no-balloon\": 1}", "option 'no-balloon': not a boolean");
    expect_json_error("[1]", "'options' is not an object");
}

/* fpbctl says it too, in both forms, and stops before anything is done. */
static void test_fpbctl_same_message(void)
{
    g_autofree char *db = g_build_filename(tmpdir, "j.db", NULL);
    g_autofree char *conf = g_build_filename(tmpdir, "empty.conf", NULL);
    const char *bare[] = {"explain", "--qmp",  "/nonexistent.qmp", "--db",
                          db,        "--mode", "sideways",         NULL};
    const char *lv[] = {"explain", "vm1", "--config", conf, "--db", db, "--mode", "sideways", NULL};
    const char *bare_timeout[] = {"migrate", "--qmp", "/nonexistent.qmp", "--to", "unix:/x",
                                  "--db",    db,      "--timeout",        "-1",   NULL};
    const char *lv_timeout[] = {"migrate", "vm1", "qemu+tcp://h/system", "--config", conf,
                                "--db",    db,    "--timeout",           "-1",       NULL};
    /* a flag before DOMAIN is no option value: still the libvirt form */
    const char *lv_flag_first[] = {"explain",  "--allow-unsafe-live-migration",
                                   "vm1",      "--config",
                                   conf,       "--db",
                                   db,         "--mode",
                                   "sideways", NULL};
    const char *const *runs[] = {bare, lv, bare_timeout, lv_timeout, lv_flag_first};
    const char *want[] = {
        "fpbctl explain: --mode: 'sideways' is not auto, none, hint, balloon or hint+balloon\n",
        "fpbctl explain: --mode: 'sideways' is not auto, none, hint, balloon or hint+balloon\n",
        "fpbctl migrate: --timeout: '-1' is not a number of seconds within 0..86400\n",
        "fpbctl migrate: --timeout: '-1' is not a number of seconds within 0..86400\n",
        "fpbctl explain: --mode: 'sideways' is not auto, none, hint, balloon or hint+balloon\n",
    };

    g_assert_true(g_file_set_contents(conf, "", 0, NULL));
    for (gsize i = 0; i < G_N_ELEMENTS(runs); i++) {
        OrchRun r;

        orch_run_fpbctl(runs[i], &r);
        g_assert_cmpint(r.status, ==, 2);
        g_assert_cmpstr(r.err, ==, want[i]);
        orch_run_clear(&r);
    }
    g_assert_false(g_file_test(db, G_FILE_TEST_EXISTS)); /* no journal opened */
}

/* --help lists every mode with its help line, from the table. */
static void test_fpbctl_help_lists_modes(void)
{
    const char *forms[][4] = {
        {"explain", "--help", NULL},
        {"migrate", "--help", NULL},
        {"explain", "vm1", "--help", NULL},
    };

    for (gsize f = 0; f < G_N_ELEMENTS(forms); f++) {
        OrchRun r;

        orch_run_fpbctl(forms[f], &r);
        g_assert_cmpint(r.status, ==, 0);
        g_assert_nonnull(strstr(r.out, fpb_policy_request_names()));
        for (int i = 0; i < FPB_POLICY_N_REQUESTS; i++) {
            g_autofree char *line =
                g_strdup_printf("  %-14s %s\n", fpb_policy_request_to_string((FpbPolicyRequest)i),
                                fpb_policy_request_help((FpbPolicyRequest)i));

            g_assert_nonnull(strstr(r.out, line));
        }
        orch_run_clear(&r);
    }
}

int main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    orch_set_fpbctl(argc, argv);
    tmpdir = g_dir_make_tmp("fpb-run-options-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/run-options/defaults", test_defaults);
    g_test_add_func("/run-options/every-option", test_every_option);
    g_test_add_func("/run-options/over-defaults", test_over_defaults);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].path, &bad_cases[i], run_bad_case);
    }
    g_test_add_func("/run-options/bad/timeout-nan", test_bad_timeout_nan);
    g_test_add_func("/run-options/json/round-trip", test_json_round_trip);
    g_test_add_func("/run-options/json/nothing-given", test_json_nothing_given);
    g_test_add_func("/run-options/json/errors", test_json_errors);
    g_test_add_func("/run-options/fpbctl/same-message", test_fpbctl_same_message);
    g_test_add_func("/run-options/fpbctl/help-lists-modes", test_fpbctl_help_lists_modes);
    status = g_test_run();
    {
        g_autofree char *conf = g_build_filename(tmpdir, "empty.conf", NULL);

        g_unlink(conf);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return status;
}
