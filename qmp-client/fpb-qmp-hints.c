/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-hints.h"

#include <stddef.h>
#include <string.h>

#include "fpb-qmp-balloon.h"
#include "fpb-qmp-call-priv.h"
#include "fpb-qmp-migration.h"

/* ---- query-qmp-schema --------------------------------------------------- */

/* name -> entity (borrowed from the schema); entries without a string
 * name are skipped, the schema being untrusted. */
static GHashTable *schema_index(json_object *schema)
{
    GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
    size_t n = json_object_array_length(schema);

    for (size_t i = 0; i < n; i++) {
        json_object *entity = json_object_array_get_idx(schema, i);
        json_object *name = NULL;

        if (json_object_object_get_ex(entity, "name", &name) &&
            json_object_is_type(name, json_type_string)) {
            g_hash_table_insert(index, (gpointer)json_object_get_string(name), entity);
        }
    }
    return index;
}

/* The entity called @name if its meta-type is @meta_type, else NULL. */
static json_object *schema_lookup(GHashTable *index, const char *name, const char *meta_type)
{
    json_object *entity = name ? g_hash_table_lookup(index, name) : NULL;
    json_object *meta = NULL;

    if (entity == NULL || !json_object_object_get_ex(entity, "meta-type", &meta) ||
        g_strcmp0(json_object_get_string(meta), meta_type) != 0) {
        return NULL;
    }
    return entity;
}

/* The string member @key of @obj, NULL if absent or not a string. */
static const char *string_member(json_object *obj, const char *key)
{
    json_object *value = NULL;

    if (!json_object_object_get_ex(obj, key, &value) ||
        !json_object_is_type(value, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(value);
}

/* The type name of member @member of object entity @object. */
static const char *object_member_type(json_object *object, const char *member)
{
    json_object *members = NULL;

    if (object == NULL || !json_object_object_get_ex(object, "members", &members) ||
        !json_object_is_type(members, json_type_array)) {
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(members); i++) {
        json_object *m = json_object_array_get_idx(members, i);

        if (g_strcmp0(string_member(m, "name"), member) == 0) {
            return string_member(m, "type");
        }
    }
    return NULL;
}

/* Does enum entity @en have the value @value? QEMU 7.2 lists them twice:
 * "members" (objects with a name) and the older "values" (strings). */
static gboolean enum_has_value(json_object *en, const char *value)
{
    json_object *list = NULL;

    if (en != NULL && json_object_object_get_ex(en, "members", &list) &&
        json_object_is_type(list, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            if (g_strcmp0(string_member(json_object_array_get_idx(list, i), "name"), value) == 0) {
                return TRUE;
            }
        }
    }
    if (en != NULL && json_object_object_get_ex(en, "values", &list) &&
        json_object_is_type(list, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            if (g_strcmp0(json_object_get_string(json_object_array_get_idx(list, i)), value) == 0) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* migrate-set-capabilities -> its argument object -> member 'capabilities'
 * (an array type) -> element object -> member 'capability' -> the enum. */
static json_object *capability_enum(GHashTable *index)
{
    json_object *cmd = schema_lookup(index, "migrate-set-capabilities", "command");
    json_object *args = cmd ? schema_lookup(index, string_member(cmd, "arg-type"), "object") : NULL;
    json_object *array = schema_lookup(index, object_member_type(args, "capabilities"), "array");
    json_object *status =
        array ? schema_lookup(index, string_member(array, "element-type"), "object") : NULL;

    return schema_lookup(index, object_member_type(status, "capability"), "enum");
}

gboolean fpb_qmp_hints_schema_parse(json_object *schema, FpbQmpHintsSupport *ret, GError **error)
{
    g_autoptr(GHashTable) index = NULL;

    if (!json_object_is_type(schema, json_type_array)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not a JSON array",
                    FPB_QMP_REPLY("query-qmp-schema"));
        return FALSE;
    }
    index = schema_index(schema);
    ret->hint_switch = enum_has_value(capability_enum(index), FPB_QMP_HINTS_CAPABILITY);
    ret->hint_stats = schema_lookup(index, FPB_QMP_HINTS_STATS_COMMAND, "command") != NULL;
    return TRUE;
}

gboolean fpb_qmp_hints_query_support(FpbQmpClient *client, FpbQmpHintsSupport *ret, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-qmp-schema", NULL, json_type_array, error);
    FpbQmpHintsSupport support = {0};

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_hints_schema_parse(reply, &support, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    *ret = support;
    return TRUE;
}

/* ---- the switch ------------------------------------------------------------ */

gboolean fpb_qmp_hints_set_switch(FpbQmpClient *client, gboolean on, GError **error)
{
    const FpbQmpMigrationCapability cap = {.name = FPB_QMP_HINTS_CAPABILITY, .state = on};

    return fpb_qmp_migrate_set_capabilities(client, &cap, 1, error);
}

gboolean fpb_qmp_hints_capabilities_parse(json_object *reply, gboolean *ret_present,
                                          gboolean *ret_on, GError **error)
{
    const char *what = FPB_QMP_REPLY("query-migrate-capabilities");

    if (!json_object_is_type(reply, json_type_array)) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL, "%s: not a JSON array", what);
        return FALSE;
    }
    for (size_t i = 0; i < json_object_array_length(reply); i++) {
        json_object *item = json_object_array_get_idx(reply, i);
        const char *name = NULL;
        gboolean state = FALSE;

        if (!fpb_qmp_json_get_string(item, what, "capability", &name, error) ||
            !fpb_qmp_json_get_bool(item, what, "state", &state, error)) {
            return FALSE;
        }
        if (g_str_equal(name, FPB_QMP_HINTS_CAPABILITY)) {
            *ret_present = TRUE;
            *ret_on = state;
            return TRUE;
        }
    }
    *ret_present = FALSE;
    *ret_on = FALSE;
    return TRUE;
}

gboolean fpb_qmp_hints_get_switch(FpbQmpClient *client, gboolean *ret_present, gboolean *ret_on,
                                  GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, "query-migrate-capabilities", NULL, json_type_array, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_hints_capabilities_parse(reply, ret_present, ret_on, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

/* ---- x-fpb-query-hint-stats ------------------------------------------------- */

typedef struct {
    const char *key;
    size_t offset;
} StatField;

#define STAT(key, member)                                                                          \
    {                                                                                              \
        key, offsetof(FpbQmpHintStats, member)                                                     \
    }

/* Every member is a required 'uint64' in the schema of the patch set. */
static const StatField stat_fields[] = {
    STAT("generation", generation),
    STAT("commands", commands),
    STAT("commands-answered", commands_answered),
    STAT("commands-finished", commands_finished),
    STAT("buffers", buffers),
    STAT("ranges", ranges),
    STAT("reported-bytes", reported_bytes),
    STAT("ignored-buffers", ignored_buffers),
    STAT("cleared-bytes", cleared_bytes),
    STAT("report-time-us", report_time_us),
    STAT("max-report-time-us", max_report_time_us),
    STAT("dirty-log-clear-rounds", dirty_log_clear_rounds),
    STAT("dirty-log-cleared-chunks", dirty_log_cleared_chunks),
    STAT("dirty-log-pending-chunks", dirty_log_pending_chunks),
};

gboolean fpb_qmp_hint_stats_parse(json_object *reply, FpbQmpHintStats *ret, GError **error)
{
    FpbQmpHintStats stats = {0};

    for (gsize i = 0; i < G_N_ELEMENTS(stat_fields); i++) {
        guint64 *field = (guint64 *)((char *)&stats + stat_fields[i].offset);

        if (!fpb_qmp_json_get_uint(reply, FPB_QMP_REPLY(FPB_QMP_HINTS_STATS_COMMAND),
                                   stat_fields[i].key, G_MAXUINT64, field, error)) {
            return FALSE;
        }
    }
    *ret = stats;
    return TRUE;
}

gboolean fpb_qmp_query_hint_stats(FpbQmpClient *client, FpbQmpHintStats *ret, GError **error)
{
    g_autoptr(json_object) reply =
        fpb_qmp_call(client, FPB_QMP_HINTS_STATS_COMMAND, NULL, json_type_object, error);

    if (reply == NULL) {
        return FALSE;
    }
    if (!fpb_qmp_hint_stats_parse(reply, ret, error)) {
        fpb_qmp_call_parse_failed(client, error);
        return FALSE;
    }
    return TRUE;
}

/* ---- guest-driver ------------------------------------------------------------ */

static const char *const kind_names[] = {
    [FPB_QMP_GUEST_DRIVER_UNSUPPORTED] = "unsupported",
    [FPB_QMP_GUEST_DRIVER_NONE] = "none",
    [FPB_QMP_GUEST_DRIVER_STOCK] = "stock",
    [FPB_QMP_GUEST_DRIVER_IDENTIFIED] = "identified",
};

const char *fpb_qmp_guest_driver_kind_to_string(FpbQmpGuestDriverKind kind)
{
    if ((guint)kind >= G_N_ELEMENTS(kind_names)) {
        return "unknown";
    }
    return kind_names[kind];
}

void fpb_qmp_guest_driver_free(FpbQmpGuestDriver *driver)
{
    if (driver == NULL) {
        return;
    }
    g_free(driver->name);
    g_free(driver->version);
    g_free(driver);
}

/* QEMU sanitises what the guest sent to printable ASCII of at most 16
 * characters; a reply breaking that is not from the patch set we know. */
static gboolean get_id_string(json_object *reply, const char *key, char **ret, GError **error)
{
    const char *what = "command 'qom-get' guest-driver: reply";
    const char *value = NULL;

    if (!fpb_qmp_json_get_string(reply, what, key, &value, error)) {
        return FALSE;
    }
    for (const char *p = value; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || p - value >= 16) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                        "%s: field '%s' is not up to 16 printable ASCII characters", what, key);
            return FALSE;
        }
    }
    *ret = g_strdup(value);
    return TRUE;
}

static gboolean parse_identified(json_object *reply, FpbQmpGuestDriver *driver, GError **error)
{
    return get_id_string(reply, "name", &driver->name, error) &&
           get_id_string(reply, "version", &driver->version, error) &&
           fpb_qmp_json_get_uint(reply, "command 'qom-get' guest-driver: reply", "features",
                                 G_MAXUINT64, &driver->features, error);
}

FpbQmpGuestDriver *fpb_qmp_guest_driver_parse(json_object *reply, GError **error)
{
    const char *what = "command 'qom-get' guest-driver: reply";
    g_autoptr(FpbQmpGuestDriver) driver = g_new0(FpbQmpGuestDriver, 1);
    const char *state = NULL;

    if (!fpb_qmp_json_get_string(reply, what, "state", &state, error)) {
        return NULL;
    }
    if (g_str_equal(state, "none")) {
        driver->kind = FPB_QMP_GUEST_DRIVER_NONE;
    } else if (g_str_equal(state, "unidentified")) {
        driver->kind = FPB_QMP_GUEST_DRIVER_STOCK;
        driver->name = g_strdup(FPB_QMP_GUEST_DRIVER_STOCK_NAME);
    } else if (g_str_equal(state, "identified")) {
        driver->kind = FPB_QMP_GUEST_DRIVER_IDENTIFIED;
        if (!parse_identified(reply, driver, error)) {
            return NULL;
        }
    } else {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "%s: field 'state' has the unknown value '%s'", what, state);
        return NULL;
    }
    return g_steal_pointer(&driver);
}

/* QEMU's answer when the device has no such property: object_property_find's
 * "Property '<type>.guest-driver' not found" (class GenericError). */
gboolean fpb_qmp_guest_driver_error_is_unsupported(const GError *error)
{
    const char *desc = fpb_qmp_error_get_desc(error);

    return g_error_matches(error, FPB_QMP_ERROR, FPB_QMP_ERROR_COMMAND) &&
           g_strcmp0(fpb_qmp_error_get_class(error), "GenericError") == 0 && desc != NULL &&
           g_str_has_prefix(desc, "Property '") &&
           g_str_has_suffix(desc, ".guest-driver' not found");
}

FpbQmpGuestDriver *fpb_qmp_query_guest_driver(FpbQmpClient *client, const char *qom_path,
                                              GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(json_object) reply = fpb_qmp_qom_get(client, qom_path, "guest-driver", &local);
    FpbQmpGuestDriver *driver;

    if (reply == NULL) {
        if (fpb_qmp_guest_driver_error_is_unsupported(local)) {
            driver = g_new0(FpbQmpGuestDriver, 1);
            driver->kind = FPB_QMP_GUEST_DRIVER_UNSUPPORTED;
            return driver;
        }
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    driver = fpb_qmp_guest_driver_parse(reply, error);
    return driver ? driver : fpb_qmp_call_parse_failed(client, error);
}

/* qom-set and qom-get through @call. */
static gboolean qom_set_u32(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                            const char *property, guint32 value, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) r = NULL;

    json_object_object_add(args, "path", json_object_new_string(qom_path));
    json_object_object_add(args, "property", json_object_new_string(property));
    json_object_object_add(args, "value", json_object_new_int64(value));
    r = call(ctx, "qom-set", args, error);
    return r != NULL;
}

static gboolean qom_get_u32(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                            const char *property, guint32 *ret, GError **error)
{
    g_autoptr(json_object) args = json_object_new_object();
    g_autoptr(json_object) v = NULL;
    gint64 n;

    json_object_object_add(args, "path", json_object_new_string(qom_path));
    json_object_object_add(args, "property", json_object_new_string(property));
    v = call(ctx, "qom-get", args, error);
    if (v == NULL) {
        return FALSE;
    }
    n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < 0 || n > G_MAXUINT32) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "command 'qom-get' %s on '%s': not a 32-bit unsigned integer", property,
                    qom_path);
        return FALSE;
    }
    *ret = (guint32)n;
    return TRUE;
}

gboolean fpb_qmp_reclaim_set_with(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                                  guint32 what, guint32 cache_mib, GError **error)
{
    if (what & ~FPB_QMP_RECLAIM_ALL) {
        g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_PROTOCOL,
                    "reclaim request 0x%x on '%s': unknown bits 0x%x", what, qom_path,
                    what & ~FPB_QMP_RECLAIM_ALL);
        return FALSE;
    }
    return qom_set_u32(call, ctx, qom_path, "x-fpb-reclaim-cache-mib", cache_mib, error) &&
           qom_set_u32(call, ctx, qom_path, "x-fpb-reclaim", what, error);
}

gboolean fpb_qmp_reclaim_wait_with(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                                   guint timeout_ms, GError **error)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    guint32 seq, done;

    if (!qom_get_u32(call, ctx, qom_path, "x-fpb-reclaim-seq", &seq, error)) {
        return FALSE;
    }
    while (qom_get_u32(call, ctx, qom_path, "x-fpb-reclaim-done", &done, error)) {
        if (done == seq) {
            return TRUE;
        }
        if (g_get_monotonic_time() >= end) {
            g_set_error(error, FPB_QMP_ERROR, FPB_QMP_ERROR_TIMEOUT,
                        "the guest driver has not answered reclaim request %u within %u ms "
                        "(last answered: %u)",
                        seq, timeout_ms, done);
            return FALSE;
        }
        g_usleep(100 * 1000);
    }
    return FALSE;
}

static json_object *client_call(gpointer ctx, const char *command, json_object *args,
                                GError **error)
{
    return fpb_qmp_client_execute(ctx, command, args, fpb_qmp_client_get_default_timeout(ctx),
                                  error);
}

gboolean fpb_qmp_balloon_set_reclaim(FpbQmpClient *client, const char *qom_path, guint32 what,
                                     guint32 cache_mib, GError **error)
{
    return fpb_qmp_reclaim_set_with(client_call, client, qom_path, what, cache_mib, error);
}

gboolean fpb_qmp_balloon_wait_reclaim(FpbQmpClient *client, const char *qom_path, guint timeout_ms,
                                      GError **error)
{
    return fpb_qmp_reclaim_wait_with(client_call, client, qom_path, timeout_ms, error);
}
