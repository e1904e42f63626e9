/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules that never bend, one table row per rule and branch: each row
 * changes the FACTS.md guest and states the decision (or refusal), the
 * reasons it must carry and the options it must rule out. Then the hint
 * guard over every accelerator x QEMU x driver x init_on_alloc.
 */
#include <math.h>
#include <string.h>

#include "policy-test-util.h"

typedef void (*Mutate)(FpbPolicyFacts *f);

typedef struct {
    const char *path;
    Mutate mutate;
    int expect_mode;       /* FpbPolicyMode, or -1 when refused */
    int expect_error;      /* FpbPolicyError when refused */
    FpbReasonCode reason;  /* a reason the decision (or the error text) must carry */
    int infeasible_mode;   /* a mode that must be infeasible, or -1 */
    FpbReasonCode why_not; /* ... for this reason */
} RuleCase;

static void m_none(FpbPolicyFacts *f)
{
    (void)f;
}
static void m_floor_high(FpbPolicyFacts *f)
{
    f->policy.floor_bytes = f->ram_bytes - 32 * MIB;
}
static void m_floor_mid(FpbPolicyFacts *f)
{
    f->policy.floor_bytes = 1 * GIB;
}
static void m_little_available(FpbPolicyFacts *f)
{
    f->stats.available_bytes = 150 * MIB;
}
static void m_no_restore(FpbPolicyFacts *f)
{
    f->can_restore = FALSE;
}
static void m_no_restore_forced(FpbPolicyFacts *f)
{
    f->can_restore = FALSE;
    f->policy.mode = FPB_POLICY_REQUEST_BALLOON;
}
static void m_not_negotiated_forced(FpbPolicyFacts *f)
{
    f->guest.free_page_hint = FALSE;
    f->policy.mode = FPB_POLICY_REQUEST_HINT;
}
static void m_not_negotiated_nostats(FpbPolicyFacts *f)
{
    f->guest.free_page_hint = FALSE;
    f->stats.free_bytes = FPB_POLICY_UNKNOWN;
}
static void m_stock_ioa_off(FpbPolicyFacts *f)
{
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
}
static void m_stock_unknown_accel(FpbPolicyFacts *f)
{
    f->accelerator = FPB_POLICY_ACCEL_UNKNOWN;
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
}
/* KVM rows forbid the balloon: under KVM it inflates fast enough to win on
 * time, and these rows are about hints being allowed. */
static void m_stock_kvm(FpbPolicyFacts *f)
{
    f->accelerator = FPB_POLICY_ACCEL_KVM;
    f->policy.balloon_allowed = FALSE;
}
static void m_stuck_hints(FpbPolicyFacts *f)
{
    f->hints_can_be_disabled = FALSE;
}
static void m_stuck_hints_safe(FpbPolicyFacts *f)
{
    f->hints_can_be_disabled = FALSE;
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
    test_facts_set_qemu(f, "9.0.0", "");
}
static void m_stale(FpbPolicyFacts *f)
{
    f->stats.age_seconds = 120;
}
static void m_age_unknown(FpbPolicyFacts *f)
{
    f->stats.age_seconds = FPB_POLICY_UNKNOWN;
}
static void m_clamped(FpbPolicyFacts *f)
{
    f->stats.free_bytes = 64 * GIB;
    f->stats.available_bytes = 64 * GIB;
}
static void m_balloon_forbidden(FpbPolicyFacts *f)
{
    f->policy.balloon_allowed = FALSE;
}
static void m_budget_tiny(FpbPolicyFacts *f)
{
    f->policy.max_prep_seconds = 0.1;
}
static void m_budget_small(FpbPolicyFacts *f)
{
    f->policy.max_prep_seconds = 1.0;
    f->policy.objective = FPB_POLICY_OBJECTIVE_BYTES;
}
static void m_forced_none(FpbPolicyFacts *f)
{
    f->policy.mode = FPB_POLICY_REQUEST_NONE;
}
static void m_objective_impact(FpbPolicyFacts *f)
{
    f->policy.objective = FPB_POLICY_OBJECTIVE_GUEST_IMPACT;
}
static void m_fpb_driver(FpbPolicyFacts *f)
{
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
}
static void m_unknown_driver(FpbPolicyFacts *f)
{
    f->guest.driver = FPB_POLICY_DRIVER_UNKNOWN;
    f->accelerator = FPB_POLICY_ACCEL_KVM;
    f->policy.balloon_allowed = FALSE;
}
/* The test bed's QEMU binaries under TCG (docs/stock-hint-crash.md, 0.2). */
static void m_tcg_stock_qemu(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_STOCK);
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
}
static void m_tcg_patched_qemu(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_PATCHED);
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
}
static void m_tcg_qemu_8_2(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "8.2.9", "v8.2.9");
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
}
static void m_tcg_qemu_9_0(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "9.0.0", "");
}
static void m_tcg_backport_override(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_STOCK);
    test_facts_override_tracking(f, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED);
}
static void m_tcg_distrust_override(FpbPolicyFacts *f)
{
    test_facts_set_qemu(f, "9.2.0", "");
    test_facts_override_tracking(f, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN);
}
static void m_unknown_accel_fixed_qemu(FpbPolicyFacts *f)
{
    f->accelerator = FPB_POLICY_ACCEL_UNKNOWN;
    test_facts_set_qemu(f, "9.1.2", "");
}
static void m_kvm_stock_qemu(FpbPolicyFacts *f)
{
    f->accelerator = FPB_POLICY_ACCEL_KVM;
    f->policy.balloon_allowed = FALSE;
    test_facts_set_qemu(f, "7.2.22", TEST_QEMU_PACKAGE_STOCK);
    f->guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_ON;
}
static void m_forced_hint_unfixed(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->policy.mode = FPB_POLICY_REQUEST_HINT;
}
static void m_forced_hint_balloon_unfixed(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->policy.mode = FPB_POLICY_REQUEST_HINT_BALLOON;
}
static void m_forced_hint_patched(FpbPolicyFacts *f)
{
    m_tcg_patched_qemu(f);
    f->policy.mode = FPB_POLICY_REQUEST_HINT;
}
static void m_no_convergence(FpbPolicyFacts *f)
{
    f->dirty_rate_bytes_per_second = 500e6;
}
/* A 1 GB/s cap over which this VM moved 300 MB/s: 'none' takes 5.7 s, less
 * than inflating 1448 MiB (4.0 s) and giving it back (2.1 s). */
static void m_calibrated(FpbPolicyFacts *f)
{
    f->bandwidth_bytes_per_second = 1e9;
    f->history.bandwidth = (FpbPolicyEstimate){.value = 300e6, .samples = 1};
}

/* issue 15, the KVM dirty-log window: fpb's driver on KVM */
static void m_kvm_fpb_driver_open(FpbPolicyFacts *f)
{
    m_stock_kvm(f);
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
    f->policy.balloon_allowed = FALSE;
}
static void m_kvm_fpb_driver_forced(FpbPolicyFacts *f)
{
    m_kvm_fpb_driver_open(f);
    f->policy.mode = FPB_POLICY_REQUEST_HINT;
}
static void m_kvm_fpb_driver_closed(FpbPolicyFacts *f)
{
    m_kvm_fpb_driver_open(f);
    f->qemu.hint_window_closed = TRUE;
}
static void m_kvm_fpb_driver_accepted(FpbPolicyFacts *f)
{
    m_kvm_fpb_driver_open(f);
    f->policy.accept_kvm_dirty_log_window = TRUE;
}
/* accepting the window does not touch the TCG guard */
static void m_tcg_fpb_driver_accepted(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->guest.driver = FPB_POLICY_DRIVER_FPB;
    f->policy.accept_kvm_dirty_log_window = TRUE;
}

#define OK(m) (m), -1
#define REFUSED(e) -1, (e)

static const RuleCase cases[] = {
    {"/policy/rules/baseline/balloon", m_none, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_BEST_TOTAL_TIME, FPB_POLICY_MODE_HINT, FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/floor/nothing-above", m_floor_high, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_BALLOON_NOTHING_TO_TAKE, FPB_POLICY_MODE_BALLOON,
     FPB_REASON_BALLOON_NOTHING_TO_TAKE},
    {"/policy/rules/floor/limits", m_floor_mid, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_BALLOON_LIMITED_BY_FLOOR, -1, 0},
    {"/policy/rules/in-use-margin", m_little_available, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_BALLOON_NOTHING_TO_TAKE, FPB_POLICY_MODE_BALLOON,
     FPB_REASON_BALLOON_NOTHING_TO_TAKE},
    {"/policy/rules/restore/none", m_no_restore, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_BALLOON_NO_RESTORE_PATH, FPB_POLICY_MODE_HINT_BALLOON,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/restore/forced", m_no_restore_forced,
     REFUSED(FPB_POLICY_ERROR_FORCED_INFEASIBLE), FPB_REASON_BALLOON_NO_RESTORE_PATH, -1, 0},
    {"/policy/rules/negotiated/forced", m_not_negotiated_forced,
     REFUSED(FPB_POLICY_ERROR_FORCED_INFEASIBLE), FPB_REASON_HINT_NOT_NEGOTIATED, -1, 0},
    {"/policy/rules/negotiated/auto", m_not_negotiated_nostats, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_HINT_NOT_NEGOTIATED, FPB_POLICY_MODE_HINT, FPB_REASON_HINT_NOT_NEGOTIATED},
    /* unknown QEMU under TCG: neither init_on_alloc=0 nor fpb's driver
     * exempts hints any more (issue 6) */
    {"/policy/rules/guard/ioa-off-not-exempt", m_stock_ioa_off, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/fpb-driver-not-exempt", m_fpb_driver, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_METHOD_POSTCOPY_TCG, FPB_POLICY_MODE_HINT_BALLOON,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/unknown-accel", m_stock_unknown_accel, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/unknown-accel-fixed-qemu", m_unknown_accel_fixed_qemu,
     OK(FPB_POLICY_MODE_HINT), FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/tcg-stock-qemu-7.2", m_tcg_stock_qemu, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_METHOD_POSTCOPY_TCG, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/tcg-qemu-8.2-fpb-driver", m_tcg_qemu_8_2, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/tcg-patched-qemu-7.2", m_tcg_patched_qemu, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/tcg-qemu-9.0", m_tcg_qemu_9_0, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/override-fixed", m_tcg_backport_override, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/override-broken", m_tcg_distrust_override, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_METHOD_POSTCOPY_TCG, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    /* KVM: the TCG bug does not apply, whatever the QEMU, driver or
     * init_on_alloc */
    {"/policy/rules/guard/kvm-stock", m_stock_kvm, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/kvm-stock-qemu-7.2", m_kvm_stock_qemu, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/kvm-unknown-driver", m_unknown_driver, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/kvm-fpb-driver-window-open", m_kvm_fpb_driver_open,
     OK(FPB_POLICY_MODE_NONE), FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW},
    {"/policy/rules/guard/kvm-fpb-driver-window-forced", m_kvm_fpb_driver_forced,
     REFUSED(FPB_POLICY_ERROR_FORCED_INFEASIBLE), FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW, -1, 0},
    {"/policy/rules/guard/kvm-fpb-driver-window-closed", m_kvm_fpb_driver_closed,
     OK(FPB_POLICY_MODE_HINT), FPB_REASON_BEST_TOTAL_TIME, -1, 0},
    {"/policy/rules/guard/kvm-fpb-driver-window-accepted", m_kvm_fpb_driver_accepted,
     OK(FPB_POLICY_MODE_HINT), FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW_ACCEPTED, -1, 0},
    {"/policy/rules/guard/tcg-window-accepted-not-exempt", m_tcg_fpb_driver_accepted,
     OK(FPB_POLICY_MODE_BALLOON), FPB_REASON_METHOD_POSTCOPY_TCG, FPB_POLICY_MODE_HINT,
     FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING},
    {"/policy/rules/guard/forced-hint-unfixed", m_forced_hint_unfixed,
     REFUSED(FPB_POLICY_ERROR_FORCED_INFEASIBLE), FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING, -1, 0},
    {"/policy/rules/guard/forced-hint-balloon-unfixed", m_forced_hint_balloon_unfixed,
     REFUSED(FPB_POLICY_ERROR_FORCED_INFEASIBLE), FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING, -1, 0},
    {"/policy/rules/guard/forced-hint-patched", m_forced_hint_patched, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_MODE_FORCED, -1, 0},
    {"/policy/rules/hints-stay-on/unsafe", m_stuck_hints,
     REFUSED(FPB_POLICY_ERROR_NO_FEASIBLE_MODE), FPB_REASON_HINTS_CANNOT_BE_DISABLED, -1, 0},
    {"/policy/rules/hints-stay-on/safe", m_stuck_hints_safe, OK(FPB_POLICY_MODE_HINT),
     FPB_REASON_HINTS_CANNOT_BE_DISABLED, FPB_POLICY_MODE_NONE,
     FPB_REASON_HINTS_CANNOT_BE_DISABLED},
    {"/policy/rules/stats/stale", m_stale, OK(FPB_POLICY_MODE_NONE), FPB_REASON_STATS_STALE,
     FPB_POLICY_MODE_BALLOON, FPB_REASON_BALLOON_STATS_UNKNOWN},
    {"/policy/rules/stats/age-unknown", m_age_unknown, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_STATS_STALE, FPB_POLICY_MODE_BALLOON, FPB_REASON_BALLOON_STATS_UNKNOWN},
    {"/policy/rules/stats/clamped", m_clamped, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_STATS_CLAMPED, -1, 0},
    {"/policy/rules/balloon/not-allowed", m_balloon_forbidden, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_BALLOON_NOT_ALLOWED, FPB_POLICY_MODE_BALLOON, FPB_REASON_BALLOON_NOT_ALLOWED},
    {"/policy/rules/budget/too-small", m_budget_tiny, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL, FPB_POLICY_MODE_BALLOON,
     FPB_REASON_BALLOON_PREP_BUDGET_TOO_SMALL},
    {"/policy/rules/budget/limits", m_budget_small, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_BALLOON_LIMITED_BY_PREP_BUDGET, -1, 0},
    {"/policy/rules/forced/none", m_forced_none, OK(FPB_POLICY_MODE_NONE), FPB_REASON_MODE_FORCED,
     -1, 0},
    {"/policy/rules/objective/guest-impact", m_objective_impact, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_LEAST_GUEST_IMPACT, -1, 0},
    {"/policy/rules/convergence", m_no_convergence, OK(FPB_POLICY_MODE_BALLOON),
     FPB_REASON_MAY_NOT_CONVERGE, -1, 0},
    {"/policy/rules/calibrated", m_calibrated, OK(FPB_POLICY_MODE_NONE),
     FPB_REASON_CALIBRATED_FROM_HISTORY, -1, 0},
};

/* Invariants every accepted decision keeps, whatever the row. */
static void check_invariants(const FpbPolicyFacts *f, const FpbPolicyDecision *d)
{
    const FpbPolicyPrediction *p = &d->predictions[d->mode];

    g_assert_true(p->feasible);
    if (fpb_policy_mode_uses_balloon(d->mode)) {
        g_assert_cmpint(d->balloon_target_bytes, >=, f->policy.floor_bytes);
        g_assert_true(f->can_restore);
        g_assert_cmpint(d->inflate_bytes, >, 0);
    } else {
        g_assert_cmpint(d->inflate_bytes, ==, 0);
    }
    if (fpb_policy_mode_uses_hints(d->mode)) {
        g_assert_true(f->guest.free_page_hint);
    }
}

static void run_case(gconstpointer data)
{
    const RuleCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    c->mutate(&f);
    d = fpb_policy_decide(&f, &error);
    if (c->expect_mode < 0) {
        g_assert_null(d);
        g_assert_error(error, FPB_POLICY_ERROR, c->expect_error);
        g_assert_nonnull(strstr(error->message, fpb_policy_reason_code_to_string(c->reason)));
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpstr(fpb_policy_mode_to_string(d->mode), ==,
                    fpb_policy_mode_to_string((FpbPolicyMode)c->expect_mode));
    g_assert_true(fpb_policy_decision_has_reason(d, c->reason));
    if (c->infeasible_mode >= 0) {
        g_assert_false(d->predictions[c->infeasible_mode].feasible);
        g_assert_cmpstr(
            fpb_policy_reason_code_to_string(d->predictions[c->infeasible_mode].why_not), ==,
            fpb_policy_reason_code_to_string(c->why_not));
        g_assert_nonnull(d->predictions[c->infeasible_mode].why_not_text);
    }
    check_invariants(&f, d);
}

/* The QEMUs the guard table runs through: version, package, override (-1
 * none), and what the tracking must come out as. */
typedef struct {
    const char *version;
    const char *package;
    int override;
    FpbPolicyTcgDirtyTracking expect;
} QemuCase;

static const QemuCase qemu_cases[] = {
    {NULL, NULL, -1, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN},
    {NULL, TEST_QEMU_PACKAGE_PATCHED, -1, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    {"7.2.22", TEST_QEMU_PACKAGE_STOCK, -1, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
    {"7.2.22", TEST_QEMU_PACKAGE_PATCHED, -1, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    {"8.2.9", "", -1, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
    {"9.0.0", "", -1, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    {"10.1.0", NULL, -1, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    {"7.2.22", TEST_QEMU_PACKAGE_STOCK, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED,
     FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    {"9.2.0", "", FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
    {"9.2.0", "", FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN},
};

static void check_guard(const FpbPolicyFacts *f, const QemuCase *q)
{
    FpbReasonCode code = FPB_REASON_NONE;
    g_autofree char *text = NULL;
    g_autofree char *warning = NULL;
    gboolean expect_unsafe =
        f->accelerator != FPB_POLICY_ACCEL_KVM && q->expect != FPB_POLICY_TCG_DIRTY_TRACKING_FIXED;
    /* fpb's driver on KVM, no QEMU in the table closes the window */
    gboolean window =
        f->accelerator == FPB_POLICY_ACCEL_KVM && f->guest.driver == FPB_POLICY_DRIVER_FPB;
    FpbHintSafety s = fpb_hint_guard_check(f, &code, &text);

    g_assert_cmpint(fpb_policy_facts_tcg_dirty_tracking(f), ==, q->expect);
    g_assert_cmpint(s == FPB_HINT_UNSAFE, ==, expect_unsafe || window);
    g_assert_cmpint(fpb_hint_guard_live_migration_unsafe(f, &warning), ==, expect_unsafe);
    if (window) {
        g_assert_cmpint(code, ==, FPB_REASON_HINT_KVM_DIRTY_LOG_WINDOW);
        g_assert_nonnull(strstr(text, "--accept-risk kvm-dirty-log-window"));
        g_assert_null(warning);
        return;
    }
    if (!expect_unsafe) {
        g_assert_null(text);
        g_assert_null(warning);
        return;
    }
    g_assert_cmpint(code, ==, FPB_REASON_HINT_UNSAFE_TCG_DIRTY_TRACKING);
    g_assert_nonnull(strstr(text, "docs/hint-safety.md"));
    g_assert_nonnull(strstr(warning, "docs/hint-safety.md"));
    g_assert_nonnull(strstr(text, q->version != NULL ? q->version : "unknown version"));
    g_assert_nonnull(strstr(warning, q->version != NULL ? q->version : "unknown version"));
}

/* Every driver x init_on_alloc x accelerator x QEMU combination: only the
 * accelerator and the QEMU decide (issue 6). */
static void test_guard_table(void)
{
    for (gsize qi = 0; qi < G_N_ELEMENTS(qemu_cases); qi++) {
        for (int drv = 0; drv < 3; drv++) {
            for (int ioa = 0; ioa < 3; ioa++) {
                for (int acc = 0; acc < 3; acc++) {
                    const QemuCase *q = &qemu_cases[qi];
                    FpbPolicyFacts f;

                    fpb_policy_facts_init(&f);
                    f.guest.driver = (FpbPolicyDriver)drv;
                    f.guest.init_on_alloc = (FpbPolicyInitOnAlloc)ioa;
                    f.accelerator = (FpbPolicyAccel)acc;
                    test_facts_set_qemu(&f, q->version, q->package);
                    if (q->override >= 0) {
                        test_facts_override_tracking(&f, (FpbPolicyTcgDirtyTracking)q->override);
                    }
                    check_guard(&f, q);
                }
            }
        }
    }
}

/* The pure derivation from query-version. */
static void test_tcg_dirty_tracking_derive(void)
{
    static const struct {
        int major, minor;
        const char *package;
        FpbPolicyTcgDirtyTracking expect;
    } cases[] = {
        {-1, -1, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN},
        {-1, -1, "", FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN},
        {-1, -1, TEST_QEMU_PACKAGE_PATCHED, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
        {2, 11, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
        {7, 2, TEST_QEMU_PACKAGE_STOCK, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
        {7, 2, "Debian 1:7.2+dfsg-7+deb12u18 unpatched-control",
         FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
        {7, 2, TEST_QEMU_PACKAGE_PATCHED, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
        {8, 2, "", FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
        {8, 99, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN},
        {9, 0, "", FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
        {9, 0, NULL, FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
        {11, 0, "v11.0.0", FPB_POLICY_TCG_DIRTY_TRACKING_FIXED},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpint(
            fpb_policy_tcg_dirty_tracking_derive(cases[i].major, cases[i].minor, cases[i].package),
            ==, cases[i].expect);
    }
}

static void test_qemu_version(void)
{
    static const char *const bad[] = {"",        "7",         "7.2",     "7.2.", "7.2.22.1",
                                      "v7.2.22", "7.2.22 ",   " 7.2.22", "7..2", "-1.0.0",
                                      "7.2.x",   "10000.0.0", "7.2.+1"};
    FpbPolicyQemu q = {.major = -1, .minor = -1, .micro = -1};
    int major = 42, minor = 42, micro = 42;
    g_autofree char *s = NULL;
    g_autofree char *long_package = g_strnfill(FPB_POLICY_QEMU_PACKAGE_MAX + 10, 'x');

    g_assert_true(fpb_policy_qemu_version_parse("7.2.22", &major, &minor, &micro));
    g_assert_cmpint(major, ==, 7);
    g_assert_cmpint(minor, ==, 2);
    g_assert_cmpint(micro, ==, 22);
    g_assert_true(fpb_policy_qemu_version_parse("9999.0.9999", &major, &minor, &micro));
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        major = 42;
        g_assert_false(fpb_policy_qemu_version_parse(bad[i], &major, &minor, &micro));
        g_assert_cmpint(major, ==, 42); /* untouched on failure */
    }
    g_assert_false(fpb_policy_qemu_version_parse(NULL, &major, &minor, &micro));
    g_assert_null(fpb_policy_qemu_version_to_string(&q));
    g_assert_false(fpb_policy_qemu_set_version(&q, 7, 2, 10000));
    g_assert_cmpint(q.major, ==, -1);
    g_assert_true(fpb_policy_qemu_set_version(&q, 7, 2, 22));
    s = fpb_policy_qemu_version_to_string(&q);
    g_assert_cmpstr(s, ==, "7.2.22");
    /* a too long package is cut: the marker at its end is lost (safe side) */
    memcpy(long_package + FPB_POLICY_QEMU_PACKAGE_MAX, "fpb-patched", 11);
    g_assert_false(fpb_policy_qemu_set_package(&q, long_package));
    g_assert_true(q.package_known);
    g_assert_cmpuint(strlen(q.package), ==, FPB_POLICY_QEMU_PACKAGE_MAX - 1);
    g_assert_cmpint(fpb_policy_tcg_dirty_tracking_derive(q.major, q.minor, q.package), ==,
                    FPB_POLICY_TCG_DIRTY_TRACKING_BROKEN);
    g_assert_true(fpb_policy_qemu_set_package(&q, NULL));
    g_assert_false(q.package_known);
}

/* Issue 14: where live migration may lose writes, the default method is
 * postcopy (started at once) instead of a plain live precopy; elsewhere
 * nothing changes. */
static void test_method_by_qemu(void)
{
    for (gsize qi = 0; qi < G_N_ELEMENTS(qemu_cases); qi++) {
        for (int acc = 0; acc < 3; acc++) {
            const QemuCase *q = &qemu_cases[qi];
            g_autoptr(FpbPolicyDecision) d = NULL;
            FpbPolicyFacts f;
            gboolean expect =
                acc != FPB_POLICY_ACCEL_KVM && q->expect != FPB_POLICY_TCG_DIRTY_TRACKING_FIXED;

            test_facts_2gib(&f);
            f.accelerator = (FpbPolicyAccel)acc;
            test_facts_set_qemu(&f, q->version, q->package);
            if (q->override >= 0) {
                test_facts_override_tracking(&f, (FpbPolicyTcgDirtyTracking)q->override);
            }
            d = fpb_policy_decide(&f, NULL);
            g_assert_nonnull(d);
            g_assert_cmpint(fpb_policy_decision_has_reason(d, FPB_REASON_METHOD_POSTCOPY_TCG), ==,
                            expect);
            g_assert_false(fpb_policy_decision_has_reason(d, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE));
            g_assert_cmpstr(fpb_policy_method_to_string(d->method), ==,
                            expect ? "postcopy" : "precopy");
            g_assert_cmpint(d->predictions[FPB_POLICY_MODE_HINT].feasible, ==, !expect);
            if (expect) {
                g_assert_false(fpb_policy_mode_uses_hints(d->mode));
            }
        }
    }
}

typedef struct {
    const char *path;
    Mutate mutate;
    int expect_method;    /* FpbPolicyMethod, or -1 when refused */
    int expect_error;     /* FpbPolicyError when refused */
    FpbReasonCode reason; /* a reason the decision (or the error text) must carry, or NONE */
    FpbReasonCode absent; /* a reason the decision must not carry, or NONE */
} MethodCase;

static void m_no_destination(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->hints_can_be_disabled = FALSE;
    f->guest.free_page_hint = FALSE;
    f->can_restore = FALSE;
}
static void m_allow_unsafe(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->policy.allow_unsafe_live_migration = TRUE;
}
static void m_ask_precopy(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->policy.method = FPB_POLICY_METHOD_REQUEST_PRECOPY;
}
static void m_ask_precopy_allowed(FpbPolicyFacts *f)
{
    m_ask_precopy(f);
    f->policy.allow_unsafe_live_migration = TRUE;
}
static void m_ask_precopy_unknown_qemu(FpbPolicyFacts *f)
{
    f->policy.method = FPB_POLICY_METHOD_REQUEST_PRECOPY;
}
static void m_ask_precopy_patched(FpbPolicyFacts *f)
{
    m_tcg_patched_qemu(f);
    f->policy.method = FPB_POLICY_METHOD_REQUEST_PRECOPY;
}
static void m_ask_precopy_kvm(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->accelerator = FPB_POLICY_ACCEL_KVM;
    f->policy.method = FPB_POLICY_METHOD_REQUEST_PRECOPY;
}
static void m_ask_paused(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->policy.method = FPB_POLICY_METHOD_REQUEST_PAUSED;
}
static void m_ask_paused_kvm(FpbPolicyFacts *f)
{
    m_ask_paused(f);
    f->accelerator = FPB_POLICY_ACCEL_KVM;
}
static void m_ask_postcopy_no_destination(FpbPolicyFacts *f)
{
    m_no_destination(f);
    f->policy.method = FPB_POLICY_METHOD_REQUEST_POSTCOPY;
}
static void m_ask_postcopy_with_hints(FpbPolicyFacts *f)
{
    m_tcg_patched_qemu(f);
    f->policy.mode = FPB_POLICY_REQUEST_HINT;
    f->policy.method = FPB_POLICY_METHOD_REQUEST_POSTCOPY;
}
static void m_kvm_stock_qemu_method(FpbPolicyFacts *f)
{
    m_tcg_stock_qemu(f);
    f->accelerator = FPB_POLICY_ACCEL_KVM;
}

static const MethodCase method_cases[] = {
    {"/policy/method/tcg-stock/postcopy", m_tcg_stock_qemu, FPB_POLICY_METHOD_POSTCOPY, 0,
     FPB_REASON_METHOD_POSTCOPY_TCG, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE},
    {"/policy/method/tcg-stock/no-destination-paused", m_no_destination, FPB_POLICY_METHOD_PAUSED,
     0, FPB_REASON_DESTINATION_STAYS_PAUSED, FPB_REASON_NONE},
    {"/policy/method/tcg-stock/allow-unsafe", m_allow_unsafe, FPB_POLICY_METHOD_PRECOPY, 0,
     FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE, FPB_REASON_METHOD_POSTCOPY_TCG},
    {"/policy/method/tcg-stock/precopy-refused", m_ask_precopy, -1,
     FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION, FPB_REASON_LIVE_MIGRATION_REFUSED_TCG,
     FPB_REASON_NONE},
    {"/policy/method/tcg-unknown-qemu/precopy-refused", m_ask_precopy_unknown_qemu, -1,
     FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION, FPB_REASON_LIVE_MIGRATION_REFUSED_TCG,
     FPB_REASON_NONE},
    {"/policy/method/tcg-stock/precopy-allowed", m_ask_precopy_allowed, FPB_POLICY_METHOD_PRECOPY,
     0, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE, FPB_REASON_NONE},
    {"/policy/method/tcg-patched/precopy", m_ask_precopy_patched, FPB_POLICY_METHOD_PRECOPY, 0,
     FPB_REASON_METHOD_FORCED, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE},
    {"/policy/method/kvm/precopy", m_ask_precopy_kvm, FPB_POLICY_METHOD_PRECOPY, 0,
     FPB_REASON_METHOD_FORCED, FPB_REASON_TCG_LIVE_MIGRATION_UNSAFE},
    {"/policy/method/kvm/auto-precopy", m_kvm_stock_qemu_method, FPB_POLICY_METHOD_PRECOPY, 0,
     FPB_REASON_NONE, FPB_REASON_METHOD_POSTCOPY_TCG},
    {"/policy/method/tcg-stock/paused", m_ask_paused, FPB_POLICY_METHOD_PAUSED, 0,
     FPB_REASON_METHOD_FORCED, FPB_REASON_DESTINATION_STAYS_PAUSED},
    {"/policy/method/kvm/paused", m_ask_paused_kvm, FPB_POLICY_METHOD_PAUSED, 0,
     FPB_REASON_METHOD_FORCED, FPB_REASON_NONE},
    {"/policy/method/postcopy-no-destination", m_ask_postcopy_no_destination, -1,
     FPB_POLICY_ERROR_FORCED_INFEASIBLE, FPB_REASON_NONE, FPB_REASON_NONE},
    {"/policy/method/postcopy-with-hints", m_ask_postcopy_with_hints, -1,
     FPB_POLICY_ERROR_FORCED_INFEASIBLE, FPB_REASON_NONE, FPB_REASON_NONE},
};

static void run_method_case(gconstpointer data)
{
    const MethodCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    c->mutate(&f);
    d = fpb_policy_decide(&f, &error);
    if (c->expect_method < 0) {
        g_assert_null(d);
        g_assert_error(error, FPB_POLICY_ERROR, c->expect_error);
        g_assert_nonnull(strstr(error->message, fpb_policy_reason_code_to_string(c->reason)));
        if (c->expect_error == FPB_POLICY_ERROR_UNSAFE_LIVE_MIGRATION) {
            /* the message names the way out */
            g_assert_nonnull(strstr(error->message, "--allow-unsafe-live-migration"));
            g_assert_nonnull(strstr(error->message, "QEMU"));
        }
        return;
    }
    g_assert_no_error(error);
    g_assert_cmpstr(fpb_policy_method_to_string(d->method), ==,
                    fpb_policy_method_to_string((FpbPolicyMethod)c->expect_method));
    if (c->reason != FPB_REASON_NONE) {
        g_assert_true(fpb_policy_decision_has_reason(d, c->reason));
    }
    if (c->absent != FPB_REASON_NONE) {
        g_assert_false(fpb_policy_decision_has_reason(d, c->absent));
    }
    check_invariants(&f, d);
}

static void test_method_names(void)
{
    FpbPolicyMethodRequest r;

    for (int i = 0; i <= FPB_POLICY_METHOD_REQUEST_PAUSED; i++) {
        g_assert_true(fpb_policy_method_request_from_string(
            fpb_policy_method_request_to_string((FpbPolicyMethodRequest)i), &r));
        g_assert_cmpint(r, ==, i);
    }
    g_assert_false(fpb_policy_method_request_from_string("live", &r));
    g_assert_cmpstr(fpb_policy_method_to_string(FPB_POLICY_METHOD_PAUSED), ==, "paused");
    g_assert_cmpstr(fpb_policy_method_to_string((FpbPolicyMethod)99), ==, "unknown");
}

/* `--mode hint` on an unfixed TCG VM: the error says why. */
static void test_forced_hint_message(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbPolicyDecision) d = NULL;
    FpbPolicyFacts f;

    test_facts_2gib(&f);
    test_facts_set_qemu(&f, "7.2.22", TEST_QEMU_PACKAGE_STOCK);
    f.guest.driver = FPB_POLICY_DRIVER_FPB;
    f.guest.init_on_alloc = FPB_POLICY_INIT_ON_ALLOC_OFF;
    f.policy.mode = FPB_POLICY_REQUEST_HINT;
    d = fpb_policy_decide(&f, &error);
    g_assert_null(d);
    g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_FORCED_INFEASIBLE);
    g_assert_true(g_str_has_prefix(error->message,
                                   "policy mode 'hint' cannot run: HINT_UNSAFE_TCG_DIRTY_TRACKING: "
                                   "QEMU 7.2.22"));
    g_assert_nonnull(strstr(error->message, "docs/hint-safety.md"));
}

typedef struct {
    const char *field;
    void (*mutate)(FpbPolicyFacts *f);
} InvalidCase;

static void i_ram(FpbPolicyFacts *f)
{
    f->ram_bytes = 0;
}
static void i_actual(FpbPolicyFacts *f)
{
    f->balloon_actual_bytes = f->ram_bytes + 1;
}
static void i_floor(FpbPolicyFacts *f)
{
    f->policy.floor_bytes = f->ram_bytes + 1;
}
static void i_floor_neg(FpbPolicyFacts *f)
{
    f->policy.floor_bytes = -5;
}
static void i_prep(FpbPolicyFacts *f)
{
    f->policy.max_prep_seconds = -1;
}
static void i_prep_nan(FpbPolicyFacts *f)
{
    f->policy.max_prep_seconds = NAN;
}
static void i_downtime(FpbPolicyFacts *f)
{
    f->downtime_limit_seconds = 0;
}
static void i_bandwidth(FpbPolicyFacts *f)
{
    f->bandwidth_bytes_per_second = 0;
}
static void i_dirty(FpbPolicyFacts *f)
{
    f->dirty_rate_bytes_per_second = INFINITY;
}
static void i_mode(FpbPolicyFacts *f)
{
    f->policy.mode = (FpbPolicyRequest)42;
}
static void i_objective(FpbPolicyFacts *f)
{
    f->policy.objective = (FpbPolicyObjective)-3;
}
static void i_qemu_version(FpbPolicyFacts *f)
{
    f->qemu.major = 7; /* minor, micro still unknown */
}
static void i_qemu_package(FpbPolicyFacts *f)
{
    f->qemu.package_known = TRUE;
    memset(f->qemu.package, 'x', sizeof(f->qemu.package));
}
static void i_qemu_override(FpbPolicyFacts *f)
{
    test_facts_override_tracking(f, (FpbPolicyTcgDirtyTracking)7);
}

static const InvalidCase invalid_cases[] = {
    {"facts.ram_bytes", i_ram},
    {"facts.balloon_actual_bytes", i_actual},
    {"facts.policy.floor_bytes", i_floor},
    {"facts.policy.floor_bytes", i_floor_neg},
    {"facts.policy.max_prep_seconds", i_prep},
    {"facts.policy.max_prep_seconds", i_prep_nan},
    {"facts.downtime_limit_seconds", i_downtime},
    {"facts.bandwidth_bytes_per_second", i_bandwidth},
    {"facts.dirty_rate_bytes_per_second", i_dirty},
    {"facts.policy.mode", i_mode},
    {"facts.policy.objective", i_objective},
    {"facts.qemu.version", i_qemu_version},
    {"facts.qemu.package", i_qemu_package},
    {"facts.qemu.tcg_dirty_tracking", i_qemu_override},
};

static void test_invalid_facts(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FpbPolicyDecision) d = NULL;
        FpbPolicyFacts f;

        test_facts_2gib(&f);
        invalid_cases[i].mutate(&f);
        d = fpb_policy_decide(&f, &error);
        g_assert_null(d);
        g_assert_error(error, FPB_POLICY_ERROR, FPB_POLICY_ERROR_INVALID_FACTS);
        g_assert_true(g_str_has_prefix(error->message, invalid_cases[i].field));
    }
}

static void test_reason_codes(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    FpbReasonCode back;

    for (int c = 1; c < FPB_REASON_N_CODES; c++) {
        const char *name = fpb_policy_reason_code_to_string((FpbReasonCode)c);

        g_assert_cmpuint(strlen(name), >, 0);
        g_assert_false(g_hash_table_contains(seen, name));
        g_hash_table_add(seen, (gpointer)name);
        g_assert_true(fpb_policy_reason_code_from_string(name, &back));
        g_assert_cmpint(back, ==, c);
    }
    g_assert_false(fpb_policy_reason_code_from_string("NO_SUCH_CODE", &back));
    g_assert_cmpstr(fpb_policy_reason_code_to_string((FpbReasonCode)999), ==, "");
}

static void test_names(void)
{
    FpbPolicyMode m;
    FpbPolicyRequest r;

    for (int i = 0; i < FPB_POLICY_N_MODES; i++) {
        g_assert_true(fpb_policy_mode_from_string(fpb_policy_mode_to_string((FpbPolicyMode)i), &m));
        g_assert_cmpint(m, ==, i);
    }
    g_assert_true(fpb_policy_request_from_string("hint+balloon", &r));
    g_assert_cmpint(r, ==, FPB_POLICY_REQUEST_HINT_BALLOON);
    g_assert_false(fpb_policy_request_from_string("Hint", &r));
    g_assert_false(fpb_policy_mode_from_string(NULL, &m));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_add_data_func(cases[i].path, &cases[i], run_case);
    }
    g_test_add_func("/policy/rules/guard/table", test_guard_table);
    g_test_add_func("/policy/rules/guard/method-by-qemu", test_method_by_qemu);
    for (gsize i = 0; i < G_N_ELEMENTS(method_cases); i++) {
        g_test_add_data_func(method_cases[i].path, &method_cases[i], run_method_case);
    }
    g_test_add_func("/policy/method/names", test_method_names);
    g_test_add_func("/policy/rules/guard/forced-hint-message", test_forced_hint_message);
    g_test_add_func("/policy/facts/tcg-dirty-tracking", test_tcg_dirty_tracking_derive);
    g_test_add_func("/policy/facts/qemu-version", test_qemu_version);
    g_test_add_func("/policy/facts/invalid", test_invalid_facts);
    g_test_add_func("/policy/reason/codes", test_reason_codes);
    g_test_add_func("/policy/names", test_names);
    return g_test_run();
}
