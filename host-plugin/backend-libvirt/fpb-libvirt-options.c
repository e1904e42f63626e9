/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A libvirt migration's options (fpb-libvirt-options.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <string.h>

#include "fpb-libvirt-options.h"
#include "fpb-libvirt-policy.h"

void fpb_libvirt_options_init(FpbLibvirtOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->max_bandwidth = -1;
    o->timeout_s = 600;
}

void fpb_libvirt_options_clear(FpbLibvirtOptions *o)
{
    g_free(o->mode);
    g_free(o->objective);
    g_free(o->floor);
    g_free(o->max_prep);
    g_free(o->migrate_uri);
    g_free(o->listen_address);
    g_free(o->guest_driver);
    g_free(o->guest_init_on_alloc);
    g_free(o->tcg);
    g_free(o->migration_method);
    fpb_libvirt_options_init(o);
}

static gboolean bad(GError **error, const char *format, const char *value)
{
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, format, value);
    return FALSE;
}

static gboolean set_key(FpbConfPolicy *p, const char *key, const char *value, GError **error)
{
    return value == NULL || fpb_conf_policy_set(p, key, value, NULL, error);
}

/* What the guest and QEMU are, when the user knows better than the facts. */
static gboolean apply_facts(const FpbLibvirtOptions *o, FpbVmFactsOptions *f, GError **error)
{
    if (o->guest_driver != NULL && (g_str_equal(o->guest_driver, "unknown") ||
                                    !fpb_policy_driver_from_string(o->guest_driver, &f->driver))) {
        return bad(error, "--guest-driver: '%s' is not stock or fpb", o->guest_driver);
    }
    if (o->guest_init_on_alloc != NULL) {
        if (!g_str_equal(o->guest_init_on_alloc, "0") && !g_str_equal(o->guest_init_on_alloc, "1")) {
            return bad(error, "--guest-init-on-alloc: '%s' is not 0 or 1", o->guest_init_on_alloc);
        }
        f->init_on_alloc = o->guest_init_on_alloc[0] == '1' ? FPB_POLICY_INIT_ON_ALLOC_ON
                                                            : FPB_POLICY_INIT_ON_ALLOC_OFF;
    }
    if (o->tcg != NULL &&
        (!fpb_policy_tcg_dirty_tracking_from_string(o->tcg, &f->tcg_dirty_tracking) ||
         f->tcg_dirty_tracking == FPB_POLICY_TCG_DIRTY_TRACKING_UNKNOWN)) {
        return bad(error, "--qemu-tcg-dirty-tracking: '%s' is not fixed or broken", o->tcg);
    }
    return TRUE;
}

/* How the migration runs; never from fpbd.conf or the domain's metadata:
 * an unsafe live migration is asked for per migration, by name. */
static gboolean apply_method(const FpbLibvirtOptions *o, FpbPolicySettings *p, GError **error)
{
    if (o->migration_method != NULL &&
        !fpb_policy_method_request_from_string(o->migration_method, &p->method)) {
        return bad(error, "--migration-method: '%s' is not auto, precopy, postcopy or paused",
                   o->migration_method);
    }
    p->allow_unsafe_live_migration = o->allow_unsafe_live_migration;
    return TRUE;
}

gboolean fpb_libvirt_options_apply(const FpbLibvirtOptions *o, const FpbConfPolicy *host,
                                   FpbLibvirtMigrateRequest *req, GError **error)
{
    FpbConfPolicy *cli = &req->target.cli_policy;

    fpb_libvirt_policy_apply(host, &req->run.facts.policy);
    if (!set_key(cli, "mode", o->mode, error) || !set_key(cli, "objective", o->objective, error) ||
        !set_key(cli, "floor", o->floor, error) ||
        !set_key(cli, "max-prep-seconds", o->max_prep, error) ||
        !set_key(cli, "balloon", o->no_balloon ? "no" : NULL, error) ||
        !apply_facts(o, &req->run.facts, error) || !apply_method(o, &req->run.facts.policy, error)) {
        return FALSE;
    }
    if (o->max_bandwidth != -1 && o->max_bandwidth <= 0) {
        return bad(error, "--max-bandwidth: must be > 0%s", "");
    }
    if (!(o->timeout_s >= 0 && o->timeout_s <= 86400)) {
        return bad(error, "--timeout: must be within 0..86400 seconds%s", "");
    }
    req->run.facts.max_bandwidth = o->max_bandwidth;
    req->target.migrate_uri = o->migrate_uri;
    req->target.listen_address = o->listen_address;
    req->run.timeout_s = o->timeout_s;
    req->run.requested_mode = o->mode ? o->mode : "auto";
    return TRUE;
}

/* ---- JSON ---- */

typedef struct {
    const char *name;
    gsize offset;
} StringOption;

static const StringOption string_options[] = {
    {"mode", G_STRUCT_OFFSET(FpbLibvirtOptions, mode)},
    {"objective", G_STRUCT_OFFSET(FpbLibvirtOptions, objective)},
    {"floor", G_STRUCT_OFFSET(FpbLibvirtOptions, floor)},
    {"max-prep-seconds", G_STRUCT_OFFSET(FpbLibvirtOptions, max_prep)},
    {"migrate-uri", G_STRUCT_OFFSET(FpbLibvirtOptions, migrate_uri)},
    {"listen-address", G_STRUCT_OFFSET(FpbLibvirtOptions, listen_address)},
    {"guest-driver", G_STRUCT_OFFSET(FpbLibvirtOptions, guest_driver)},
    {"guest-init-on-alloc", G_STRUCT_OFFSET(FpbLibvirtOptions, guest_init_on_alloc)},
    {"qemu-tcg-dirty-tracking", G_STRUCT_OFFSET(FpbLibvirtOptions, tcg)},
    {"migration-method", G_STRUCT_OFFSET(FpbLibvirtOptions, migration_method)},
};

static char **string_slot(FpbLibvirtOptions *o, const StringOption *s)
{
    return G_STRUCT_MEMBER_P(o, s->offset);
}

json_object *fpb_libvirt_options_to_json(const FpbLibvirtOptions *o)
{
    json_object *j = json_object_new_object();

    for (gsize i = 0; i < G_N_ELEMENTS(string_options); i++) {
        const char *v = *string_slot((FpbLibvirtOptions *)o, &string_options[i]);

        if (v != NULL) {
            json_object_object_add(j, string_options[i].name, json_object_new_string(v));
        }
    }
    if (o->no_balloon) {
        json_object_object_add(j, "no-balloon", json_object_new_boolean(TRUE));
    }
    if (o->allow_unsafe_live_migration) {
        json_object_object_add(j, "allow-unsafe-live-migration", json_object_new_boolean(TRUE));
    }
    if (o->max_bandwidth != -1) {
        json_object_object_add(j, "max-bandwidth", json_object_new_int64(o->max_bandwidth));
    }
    json_object_object_add(j, "timeout", json_object_new_double(o->timeout_s));
    return j;
}

static gboolean take_string(FpbLibvirtOptions *o, const char *key, json_object *v, gboolean *found,
                            GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(string_options); i++) {
        if (g_str_equal(key, string_options[i].name)) {
            *found = TRUE;
            if (!json_object_is_type(v, json_type_string)) {
                return bad(error, "option '%s': not a string", key);
            }
            g_free(*string_slot(o, &string_options[i]));
            *string_slot(o, &string_options[i]) = g_strdup(json_object_get_string(v));
            return TRUE;
        }
    }
    return TRUE;
}

static gboolean take_other(FpbLibvirtOptions *o, const char *key, json_object *v, GError **error)
{
    if (g_str_equal(key, "no-balloon") || g_str_equal(key, "allow-unsafe-live-migration")) {
        if (!json_object_is_type(v, json_type_boolean)) {
            return bad(error, "option '%s': not a boolean", key);
        }
        *(g_str_equal(key, "no-balloon") ? &o->no_balloon : &o->allow_unsafe_live_migration) =
            json_object_get_boolean(v);
    } else if (g_str_equal(key, "max-bandwidth")) {
        if (!json_object_is_type(v, json_type_int)) {
            return bad(error, "option '%s': not an integer", key);
        }
        o->max_bandwidth = json_object_get_int64(v);
    } else if (g_str_equal(key, "timeout")) {
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
            return bad(error, "option '%s': not a number", key);
        }
        o->timeout_s = json_object_get_double(v);
    } else {
        return bad(error, "unknown option '%s'", key);
    }
    return TRUE;
}

gboolean fpb_libvirt_options_from_json(json_object *j, FpbLibvirtOptions *o, GError **error)
{
    if (j == NULL) {
        return TRUE;
    }
    if (!json_object_is_type(j, json_type_object)) {
        return bad(error, "'options' is not an object%s", "");
    }
    json_object_object_foreach(j, key, v)
    {
        gboolean found = FALSE;

        if (!take_string(o, key, v, &found, error) ||
            (!found && !take_other(o, key, v, error))) {
            return FALSE;
        }
    }
    return TRUE;
}
