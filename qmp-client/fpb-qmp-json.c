/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-json.h"

#include "fpb-qmp-error.h"

static gboolean protocol_error(GError **error, const char *what, const char *key,
                               const char *problem)
{
    g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: field '%s' %s", what, key,
                problem);
    return FALSE;
}

void fpb_qmp_json_unref(gpointer obj)
{
    json_object_put(obj);
}

gboolean fpb_qmp_json_has(json_object *obj, const char *key)
{
    json_object *member = NULL;

    return json_object_is_type(obj, json_type_object) &&
           json_object_object_get_ex(obj, key, &member) && member != NULL;
}

gboolean fpb_qmp_json_get_member(json_object *obj, const char *what, const char *key,
                                 json_type type, json_object **ret, GError **error)
{
    json_object *member = NULL;

    if (!json_object_is_type(obj, json_type_object)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not a JSON object", what);
        return FALSE;
    }
    if (!json_object_object_get_ex(obj, key, &member) || member == NULL) {
        return protocol_error(error, what, key, "is missing");
    }
    if (!json_object_is_type(member, type)) {
        g_autofree char *problem = g_strdup_printf("is a %s, expected a %s",
                                                   json_type_to_name(json_object_get_type(member)),
                                                   json_type_to_name(type));
        return protocol_error(error, what, key, problem);
    }
    *ret = member;
    return TRUE;
}

/* json-c keeps integers above G_MAXINT64 as unsigned; get_int64 clamps them. */
static gboolean is_above_int64(json_object *value)
{
    return json_object_get_int64(value) == G_MAXINT64 &&
           json_object_get_uint64(value) > (guint64)G_MAXINT64;
}

gboolean fpb_qmp_json_to_int(json_object *value, const char *what, gint64 min, gint64 max,
                             gint64 *ret, GError **error)
{
    gint64 v;

    if (!json_object_is_type(value, json_type_int)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not an integer", what);
        return FALSE;
    }
    v = json_object_get_int64(value);
    if (is_above_int64(value) || v < min || v > max) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "%s: integer '%s' out of range [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                    what, json_object_to_json_string(value), min, max);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

gboolean fpb_qmp_json_to_uint(json_object *value, const char *what, guint64 max, guint64 *ret,
                              GError **error)
{
    guint64 v;

    if (!json_object_is_type(value, json_type_int)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not an integer", what);
        return FALSE;
    }
    v = json_object_get_uint64(value);
    if (json_object_get_int64(value) < 0 || v > max) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "%s: integer '%s' out of range [0, %" G_GUINT64_FORMAT "]", what,
                    json_object_to_json_string(value), max);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

gboolean fpb_qmp_json_get_int(json_object *obj, const char *what, const char *key, gint64 min,
                              gint64 max, gint64 *ret, GError **error)
{
    json_object *member = NULL;
    g_autofree char *field = NULL;

    if (!fpb_qmp_json_get_member(obj, what, key, json_type_int, &member, error)) {
        return FALSE;
    }
    field = g_strdup_printf("%s: field '%s'", what, key);
    return fpb_qmp_json_to_int(member, field, min, max, ret, error);
}

gboolean fpb_qmp_json_get_uint(json_object *obj, const char *what, const char *key, guint64 max,
                               guint64 *ret, GError **error)
{
    json_object *member = NULL;
    g_autofree char *field = NULL;

    if (!fpb_qmp_json_get_member(obj, what, key, json_type_int, &member, error)) {
        return FALSE;
    }
    field = g_strdup_printf("%s: field '%s'", what, key);
    return fpb_qmp_json_to_uint(member, field, max, ret, error);
}

gboolean fpb_qmp_json_get_double(json_object *obj, const char *what, const char *key, double *ret,
                                 GError **error)
{
    json_object *member = NULL;

    if (fpb_qmp_json_has(obj, key) && json_object_object_get_ex(obj, key, &member) &&
        json_object_is_type(member, json_type_int)) {
        *ret = (double)json_object_get_int64(member);
        return TRUE;
    }
    if (!fpb_qmp_json_get_member(obj, what, key, json_type_double, &member, error)) {
        return FALSE;
    }
    *ret = json_object_get_double(member);
    return TRUE;
}

gboolean fpb_qmp_json_get_bool(json_object *obj, const char *what, const char *key, gboolean *ret,
                               GError **error)
{
    json_object *member = NULL;

    if (!fpb_qmp_json_get_member(obj, what, key, json_type_boolean, &member, error)) {
        return FALSE;
    }
    *ret = json_object_get_boolean(member) ? TRUE : FALSE;
    return TRUE;
}

gboolean fpb_qmp_json_get_string(json_object *obj, const char *what, const char *key,
                                 const char **ret, GError **error)
{
    json_object *member = NULL;

    if (!fpb_qmp_json_get_member(obj, what, key, json_type_string, &member, error)) {
        return FALSE;
    }
    *ret = json_object_get_string(member);
    return TRUE;
}

gboolean fpb_qmp_json_get_strv(json_object *obj, const char *what, const char *key, GStrv *ret,
                               GError **error)
{
    json_object *array = NULL;
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    size_t n;

    if (!fpb_qmp_json_get_member(obj, what, key, json_type_array, &array, error)) {
        return FALSE;
    }
    n = json_object_array_length(array);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(array, i);

        if (!json_object_is_type(item, json_type_string)) {
            return protocol_error(error, what, key, "has an element that is not a string");
        }
        g_strv_builder_add(builder, json_object_get_string(item));
    }
    *ret = g_strv_builder_end(builder);
    return TRUE;
}
