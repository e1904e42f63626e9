/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration modes, each defined once (fpb-policy-mode.c): its name,
 * whether it uses free-page hints, whether it inflates the balloon, the
 * request that forces it, its place when options tie, and its help text.
 * Everything that names, parses, lists or prints modes derives from this
 * table: the policy engine, the facts JSON, fpbctl's messages and --help,
 * and conf/ (which links this table alone, not the engine).
 *
 * A new mode is an FPB_POLICY_MODE_* and an FPB_POLICY_REQUEST_* below, a
 * row in fpb-policy-mode.c (the build fails without it) and a <value> in
 * conf/fpb-policy.rng (tests/policy/test-policy-mode.c fails without it);
 * what it costs is the cost model's business (fpb_policy_mode_uses_*).
 *
 * Pure data and lookups: no I/O, callable from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The options the cost model prices; predictions are indexed by it. */
typedef enum {
    FPB_POLICY_MODE_NONE = 0,
    FPB_POLICY_MODE_HINT,
    FPB_POLICY_MODE_BALLOON,
    FPB_POLICY_MODE_HINT_BALLOON,
    FPB_POLICY_N_MODES,
} FpbPolicyMode;

/* What the per-VM policy asks for: AUTO lets the cost model choose, any
 * other value forces the mode whose row names it. */
typedef enum {
    FPB_POLICY_REQUEST_AUTO = 0,
    FPB_POLICY_REQUEST_NONE,
    FPB_POLICY_REQUEST_HINT,
    FPB_POLICY_REQUEST_BALLOON,
    FPB_POLICY_REQUEST_HINT_BALLOON,
} FpbPolicyRequest;

/* Valid requests are 0 .. FPB_POLICY_N_REQUESTS - 1: auto and one per mode. */
#define FPB_POLICY_N_REQUESTS (FPB_POLICY_N_MODES + 1)

/* One row of the table. */
typedef struct {
    const char *name;         /* JSON key, CLI, metadata and fpbd.conf value */
    FpbPolicyRequest request; /* the request that forces this mode */
    gboolean hints;           /* free-page hints stay on during the migration */
    gboolean balloon;         /* the balloon inflates before and deflates after */
    guint tie_rank;           /* on a tie the lower rank wins: 0 .. FPB_POLICY_N_MODES - 1 */
    const char *help;         /* one line for --help */
    const char *colour;       /* in charts (fpbctl history --svg): Okabe-Ito, told apart
                               * with the common colour-vision deficiencies */
} FpbPolicyModeInfo;

/* @mode's row (static), NULL when @mode is not a mode. */
const FpbPolicyModeInfo *fpb_policy_mode_info(FpbPolicyMode mode);

/* The name, "invalid" for a value that is not a mode. */
const char *fpb_policy_mode_to_string(FpbPolicyMode mode);
/* FALSE (and *ret untouched) for an unknown name or NULL. */
gboolean fpb_policy_mode_from_string(const char *s, FpbPolicyMode *ret);
gboolean fpb_policy_mode_uses_hints(FpbPolicyMode mode);
gboolean fpb_policy_mode_uses_balloon(FpbPolicyMode mode);
/* The mode of tie rank @rank (0: preferred on every tie); N_MODES when
 * @rank is out of range. */
FpbPolicyMode fpb_policy_mode_by_tie_rank(guint rank);

/* "auto" or the forced mode's name; "invalid" for other values. */
const char *fpb_policy_request_to_string(FpbPolicyRequest request);
gboolean fpb_policy_request_from_string(const char *s, FpbPolicyRequest *ret);
/* The mode @request forces; FALSE for AUTO (and for invalid values). */
gboolean fpb_policy_request_mode(FpbPolicyRequest request, FpbPolicyMode *ret);
/* One line for --help (static); "" for invalid values. */
const char *fpb_policy_request_help(FpbPolicyRequest request);

/* Every request name, for messages and --help: "auto, none, hint, balloon
 * or hint+balloon". Static, built on first use (thread-safe). */
const char *fpb_policy_request_names(void);
/* The names joined by @sep, the last two by @last, each between @quote
 * (NULL: none); with "auto" first when @with_auto. E.g. (TRUE, "|", "|",
 * NULL): "auto|none|hint|balloon|hint+balloon". (transfer full) */
char *fpb_policy_mode_names_join(gboolean with_auto, const char *sep, const char *last,
                                 const char *quote);

G_END_DECLS
