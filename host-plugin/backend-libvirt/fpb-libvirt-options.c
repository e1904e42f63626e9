/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A libvirt migration's options (fpb-libvirt-options.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include "fpb-libvirt-options.h"
#include "fpb-libvirt-policy.h"

gboolean fpb_libvirt_options_apply(const FpbLibvirtOptions *o, const FpbConfPolicy *host,
                                   FpbLibvirtMigrateRequest *req, GError **error)
{
    FpbPipelineRequest run = req->run;
    FpbConfPolicy cli;

    fpb_libvirt_policy_apply(host, &run.facts.policy);
    if (!fpb_run_options_apply(o, &cli, &run, error)) {
        return FALSE;
    }
    req->run = run;
    req->target.cli_policy = cli;
    req->target.migrate_uri = o->migrate_uri;
    req->target.listen_address = o->listen_address;
    return TRUE;
}
