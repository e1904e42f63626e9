/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend (fpb-backend.h): a VM is a domain of a libvirt
 * (source URI + name), migrated peer-to-peer to another libvirt (docs/
 * libvirt.md). Facts: fpb-libvirt-facts.h (the per-VM policy comes from
 * the domain's metadata, below @cli_policy); balloon and migration:
 * fpb-libvirt-steps.h; a lost libvirtd and crash recovery:
 * fpb-libvirt-recover.h. Journal rows: the source column is
 * "libvirt:URI#NAME" (fpb_libvirt_source_id()).
 */
#pragma once

#include "fpb-backend.h"
#include "fpb-conf-policy.h"
#include "fpb-pipeline.h"

G_BEGIN_DECLS

typedef struct {
    const char *source_uri; /* the source libvirt, NULL: qemu:///system */
    const char *domain;
    const char *dest_uri;       /* the destination libvirt; NULL for explain */
    const char *migrate_uri;    /* data connection, NULL: libvirt's choice */
    const char *listen_address; /* on the destination, NULL: libvirt's choice */
    FpbConfPolicy cli_policy;   /* keys given on the command line (win over metadata) */
} FpbLibvirtTarget;

/* A libvirt migration as fpbctl and fpbd ask for it. */
typedef struct {
    FpbLibvirtTarget target;
    FpbPipelineRequest run; /* run.facts.policy: the host defaults */
} FpbLibvirtMigrateRequest;

/* Defaults as fpb_pipeline_request_init(), no policy keys. */
void fpb_libvirt_migrate_request_init(FpbLibvirtMigrateRequest *request);

/* The journal's source column for a libvirt domain: "libvirt:URI#NAME". */
char *fpb_libvirt_source_id(const char *uri, const char *domain);

extern const FpbBackendOps fpb_backend_libvirt_ops;

/* A backend object for @target (copied); nothing is connected before
 * open(). (transfer full) */
FpbBackend *fpb_backend_libvirt_new(const FpbLibvirtTarget *target);

G_END_DECLS
