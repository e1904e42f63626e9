/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checked accessors for QMP replies: get + type check + range check + one
 * error message. Everything QEMU sends is untrusted, so nothing here asserts.
 *
 * @what names the object being read for the message, e.g.
 * "command 'query-migrate': reply member 'ram'". Every getter fails with
 * FPB_QMP_ERROR_PROTOCOL when @key is missing, null, of the wrong type or out
 * of range, and then leaves @ret untouched. Test optional keys with
 * fpb_qmp_json_has() first. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* json_object_put as a GDestroyNotify (json_object_put returns int). */
void fpb_qmp_json_unref(gpointer obj);

/* TRUE if @obj is an object with a non-null member @key. */
gboolean fpb_qmp_json_has(json_object *obj, const char *key);

/* The member @key of type @type, borrowed from @obj. */
gboolean fpb_qmp_json_get_member(json_object *obj, const char *what, const char *key,
                                 json_type type, json_object **ret, GError **error);
gboolean fpb_qmp_json_get_int(json_object *obj, const char *what, const char *key, gint64 min,
                              gint64 max, gint64 *ret, GError **error);
gboolean fpb_qmp_json_get_uint(json_object *obj, const char *what, const char *key, guint64 max,
                               guint64 *ret, GError **error);
/* Accepts JSON integers as well as doubles. */
gboolean fpb_qmp_json_get_double(json_object *obj, const char *what, const char *key, double *ret,
                                 GError **error);
gboolean fpb_qmp_json_get_bool(json_object *obj, const char *what, const char *key, gboolean *ret,
                               GError **error);
/* @ret is borrowed from @obj. */
gboolean fpb_qmp_json_get_string(json_object *obj, const char *what, const char *key,
                                 const char **ret, GError **error);
/* An array of strings, as a newly allocated NULL-terminated vector. */
gboolean fpb_qmp_json_get_strv(json_object *obj, const char *what, const char *key, GStrv *ret,
                               GError **error);

/* Range-checked conversions of a value (not a member). */
gboolean fpb_qmp_json_to_int(json_object *value, const char *what, gint64 min, gint64 max,
                             gint64 *ret, GError **error);
gboolean fpb_qmp_json_to_uint(json_object *value, const char *what, guint64 max, guint64 *ret,
                              GError **error);

G_END_DECLS
