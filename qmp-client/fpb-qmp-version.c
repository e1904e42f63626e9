/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-version.h"

#include "fpb-qmp-json.h"

/* Version components are small; anything else is not a QEMU version. */
#define VERSION_PART_MAX 100000

FpbQmpVersion *fpb_qmp_version_parse(json_object *obj, const char *what, GError **error)
{
    g_autoptr(FpbQmpVersion) version = g_new0(FpbQmpVersion, 1);
    g_autofree char *qemu_what = g_strdup_printf("%s: member 'qemu'", what);
    json_object *qemu = NULL;
    const char *package = NULL;

    if (!fpb_qmp_json_get_member(obj, what, "qemu", json_type_object, &qemu, error) ||
        !fpb_qmp_json_get_int(qemu, qemu_what, "major", 0, VERSION_PART_MAX, &version->major,
                              error) ||
        !fpb_qmp_json_get_int(qemu, qemu_what, "minor", 0, VERSION_PART_MAX, &version->minor,
                              error) ||
        !fpb_qmp_json_get_int(qemu, qemu_what, "micro", 0, VERSION_PART_MAX, &version->micro,
                              error) ||
        !fpb_qmp_json_get_string(obj, what, "package", &package, error)) {
        return NULL;
    }
    version->package = g_strdup(package);
    return g_steal_pointer(&version);
}

FpbQmpVersion *fpb_qmp_version_copy(const FpbQmpVersion *version)
{
    FpbQmpVersion *copy = g_new0(FpbQmpVersion, 1);

    *copy = *version;
    copy->package = g_strdup(version->package);
    return copy;
}

void fpb_qmp_version_free(FpbQmpVersion *version)
{
    if (version == NULL) {
        return;
    }
    g_free(version->package);
    g_free(version);
}

gboolean fpb_qmp_version_at_least(const FpbQmpVersion *version, gint64 major, gint64 minor,
                                  gint64 micro)
{
    if (version->major != major) {
        return version->major > major;
    }
    if (version->minor != minor) {
        return version->minor > minor;
    }
    return version->micro >= micro;
}
