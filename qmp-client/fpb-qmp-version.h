/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpVersion: QEMU's VersionInfo, as in the greeting and query-version. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

typedef struct {
    gint64 major;
    gint64 minor;
    gint64 micro;
    char *package; /* e.g. "Debian 1:7.2+dfsg-7+deb12u18", may be "" */
} FpbQmpVersion;

/* Parses a VersionInfo object ({"qemu": {...}, "package": ...}); @what names
 * it in error messages. */
FpbQmpVersion *fpb_qmp_version_parse(json_object *obj, const char *what, GError **error);
FpbQmpVersion *fpb_qmp_version_copy(const FpbQmpVersion *version);
void fpb_qmp_version_free(FpbQmpVersion *version);

/* TRUE if @version is at least major.minor.micro. */
gboolean fpb_qmp_version_at_least(const FpbQmpVersion *version, gint64 major, gint64 minor,
                                  gint64 micro);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpVersion, fpb_qmp_version_free)

G_END_DECLS
