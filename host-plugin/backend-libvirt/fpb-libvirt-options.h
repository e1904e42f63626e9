/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The options of a libvirt migration as the user gave them (strings, as
 * on fpbctl's command line): onto a FpbLibvirtMigrateRequest, and to and
 * from the JSON of fpbd's "migrate" request, so fpbctl and fpbd check
 * them with the same code (docs/libvirt.md).
 */
#pragma once

#include <json-c/json.h>

#include "fpb-backend-libvirt.h"

G_BEGIN_DECLS

typedef struct {
    char *mode;
    char *objective;
    char *floor;
    char *max_prep;
    gboolean no_balloon;
    gint64 max_bandwidth; /* -1: not given */
    char *migrate_uri;
    char *listen_address;
    double timeout_s;
    char *guest_driver;
    char *guest_init_on_alloc;
    char *tcg;
    char *migration_method;               /* auto, precopy, postcopy, paused */
    gboolean allow_unsafe_live_migration; /* precopy on a QEMU that may lose TCG writes */
} FpbLibvirtOptions;

/* Nothing given; timeout 600 s. */
void fpb_libvirt_options_init(FpbLibvirtOptions *o);
void fpb_libvirt_options_clear(FpbLibvirtOptions *o);

/* Checks @o and puts it onto @req, over the host defaults @host (a
 * fpbd.conf [policy]). @req borrows @o's strings. */
gboolean fpb_libvirt_options_apply(const FpbLibvirtOptions *o, const FpbConfPolicy *host,
                                   FpbLibvirtMigrateRequest *req, GError **error);

/* The options given, as a JSON object of fpbctl's option names. (transfer full) */
json_object *fpb_libvirt_options_to_json(const FpbLibvirtOptions *o);
/* Back from that object; an unknown key or a wrong type is an error. */
gboolean fpb_libvirt_options_from_json(json_object *j, FpbLibvirtOptions *o, GError **error);

G_END_DECLS
