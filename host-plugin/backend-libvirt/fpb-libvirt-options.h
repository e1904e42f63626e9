/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The options of a libvirt migration as the user gave them: the pipeline's
 * FpbRunOptions (fpb-run-options.h), checked by the same validator as the
 * bare-QMP form's, put onto a FpbLibvirtMigrateRequest over the host
 * defaults; to and from the JSON of fpbd's "migrate" request, so fpbctl
 * and fpbd check them with the same code (docs/libvirt.md).
 */
#pragma once

#include "fpb-backend-libvirt.h"
#include "fpb-run-options.h"

G_BEGIN_DECLS

/* One options type for every form; the name stays for fpbctl and fpbd. */
typedef FpbRunOptions FpbLibvirtOptions;

/* Nothing given; timeout 600 s. */
static inline void fpb_libvirt_options_init(FpbLibvirtOptions *o)
{
    fpb_run_options_init(o);
}

static inline void fpb_libvirt_options_clear(FpbLibvirtOptions *o)
{
    fpb_run_options_clear(o);
}

/* Checks @o and puts it onto @req, over the host defaults @host (a
 * fpbd.conf [policy]); the policy keys given go to req->target.cli_policy
 * too, so they win over the domain's metadata (host defaults < metadata <
 * command line). @req borrows @o's strings. */
gboolean fpb_libvirt_options_apply(const FpbLibvirtOptions *o, const FpbConfPolicy *host,
                                   FpbLibvirtMigrateRequest *req, GError **error);

/* The options given, as a JSON object of fpbctl's option names. (transfer full) */
static inline json_object *fpb_libvirt_options_to_json(const FpbLibvirtOptions *o)
{
    return fpb_run_options_to_json(o);
}

/* Back from that object; an unknown key or a wrong type is an error. */
static inline gboolean fpb_libvirt_options_from_json(json_object *j, FpbLibvirtOptions *o,
                                                     GError **error)
{
    return fpb_run_options_from_json(j, o, error);
}

G_END_DECLS
