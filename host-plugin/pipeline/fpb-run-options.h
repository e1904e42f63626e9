/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbRunOptions: the options of one migration (or explain) as the user
 * gave them, whichever way they came: fpbctl's bare-QMP form, its libvirt
 * form, or the "options" object of fpbd's "migrate" request (the same
 * names, docs/libvirt.md). One validator puts them onto a
 * FpbPipelineRequest, so the same mistake gets the same message
 * everywhere: "--OPTION: 'VALUE' is not ...".
 *
 * The per-VM policy keys (mode, objective, floor, max-prep-seconds,
 * no-balloon, reclaim, reclaim-cache-bound) are checked by conf/'s key parser, the one that also
 * reads the domain metadata and fpbd.conf [policy]; the rest here.
 *
 * Values are outside input (a command line, a control socket): errors,
 * never asserts. Not thread-safe per object; no global state.
 */
#pragma once

#include <json-c/json.h>

#include "fpb-conf-policy.h"
#include "fpb-pipeline.h"

G_BEGIN_DECLS

typedef struct {
    /* the per-VM policy keys (fpb-conf-policy.h spells and checks them) */
    char *mode;
    char *objective;
    char *floor;    /* a size: "536870912", "512MiB" */
    char *max_prep; /* --max-prep-seconds: 0..3600 */
    gboolean no_balloon;
    char *reclaim;             /* none, split, cache, split+cache */
    char *reclaim_cache_bound; /* a size */
    /* what the operator knows better than the facts */
    char *guest_driver;        /* stock, fpb */
    char *guest_init_on_alloc; /* 0, 1 */
    char *tcg;                 /* --qemu-tcg-dirty-tracking: fixed, broken */
    /* how the migration runs: asked for per migration, never from a config
     * file or the domain's metadata */
    char *migration_method;               /* auto, precopy, postcopy, paused */
    gboolean allow_unsafe_live_migration; /* precopy on a QEMU that may lose TCG writes */
    char *accept_risk;                    /* FPB_POLICY_RISK_KVM_DIRTY_LOG_WINDOW */
    gint64 max_bandwidth;                 /* bytes/s, -1: not given */
    double timeout_s;                     /* 0: never */
    double stall_s;                       /* nothing sent for this long: cancel; 0: never */
    /* the libvirt backend's data connection (the bare-QMP form's --to is
     * its migration URI) */
    char *migrate_uri;
    char *listen_address;
} FpbRunOptions;

/* Nothing given; timeout 600 s, stall timeout 60 s. */
void fpb_run_options_init(FpbRunOptions *options);
/* Frees the strings and goes back to fpb_run_options_init()'s state. */
void fpb_run_options_clear(FpbRunOptions *options);

/**
 * fpb_run_options_apply:
 * Checks @options and puts them onto @req: the policy keys given win over
 * @req->facts.policy (the caller's defaults, e.g. fpbd.conf [policy]), the
 * guest and QEMU overrides, the bandwidth cap, the method, the timeout and
 * the requested mode. @ret_policy gets the policy keys given, for a
 * backend that layers a VM's own policy in between (libvirt's metadata:
 * host defaults < metadata < @ret_policy). @req borrows @options' strings.
 * On FALSE, @error (G_OPTION_ERROR_BAD_VALUE) reads "--OPTION: 'VALUE' is
 * not ..." and neither @req nor @ret_policy is changed.
 */
gboolean fpb_run_options_apply(const FpbRunOptions *options, FpbConfPolicy *ret_policy,
                               FpbPipelineRequest *req, GError **error);

/* Every key set in @policy overrides @settings (the policy engine's). */
void fpb_run_options_apply_policy(const FpbConfPolicy *policy, FpbPolicySettings *settings);

/* The options given, as a JSON object of the option names (fpbctl's long
 * options without "--"). (transfer full) */
json_object *fpb_run_options_to_json(const FpbRunOptions *options);
/* Back from that object (NULL: nothing given) into @options; an unknown key
 * or a wrong type is an error. Values are checked by fpb_run_options_apply(). */
gboolean fpb_run_options_from_json(json_object *j, FpbRunOptions *options, GError **error);

G_END_DECLS
