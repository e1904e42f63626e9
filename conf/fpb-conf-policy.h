/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FpbConfPolicy: the per-VM migration policy (docs/libvirt.md, "Per-VM
 * policy"). Each key is optional; an unset key falls back to the host's
 * default (fpbd.conf [policy]), then to the policy engine's default.
 *
 * The same keys have three spellings that all go through this module:
 *   - libvirt domain metadata, one element in fpb's namespace:
 *       <fpb:policy xmlns:fpb="https://fpb.example/xmlns/policy/1">
 *         <fpb:mode>balloon</fpb:mode>
 *         <fpb:objective>time</fpb:objective>
 *         <fpb:floor unit="MiB">512</fpb:floor>
 *         <fpb:max-prep-seconds>10</fpb:max-prep-seconds>
 *         <fpb:balloon>yes</fpb:balloon>
 *       </fpb:policy>
 *     (schema: conf/fpb-policy.rng);
 *   - `fpbctl policy DOMAIN KEY=VALUE`;
 *   - fpbd.conf's [policy] group (host defaults).
 *
 * A plain value type (no pointers): copy with `=`. Everything parsed here
 * is outside input: errors, never asserts.
 */
#pragma once

#include <glib.h>

#include "fpb-policy-mode.h"

G_BEGIN_DECLS

/* Why a URI under fpb.example: it is a name fpb owns by convention only
 * (RFC 2606 reserves example domains), never dereferenced, and versioned in
 * the path so a later incompatible format gets /2. libvirt requires the
 * metadata element to be in some namespace of its own. */
#define FPB_CONF_POLICY_NS "https://fpb.example/xmlns/policy/1"
#define FPB_CONF_POLICY_PREFIX "fpb"
#define FPB_CONF_POLICY_ELEMENT "policy"

/* Metadata larger than this is refused unparsed. */
#define FPB_CONF_POLICY_MAX_XML (64 * 1024)
/* Range checks (the policy engine's own limits, plus a sane cap). */
#define FPB_CONF_POLICY_MAX_PREP_SECONDS 3600.0
#define FPB_CONF_POLICY_MAX_FLOOR_BYTES (G_GINT64_CONSTANT(1) << 50) /* 1 PiB */

/* The mode key is the policy's request: its names and values come from the
 * mode table (policy/fpb-policy-mode.h), so a new mode needs nothing here.
 * The FPB_CONF_MODE_* names are kept for existing callers. */
typedef FpbPolicyRequest FpbConfMode;
#define FPB_CONF_MODE_AUTO FPB_POLICY_REQUEST_AUTO
#define FPB_CONF_MODE_NONE FPB_POLICY_REQUEST_NONE
#define FPB_CONF_MODE_HINT FPB_POLICY_REQUEST_HINT
#define FPB_CONF_MODE_BALLOON FPB_POLICY_REQUEST_BALLOON
#define FPB_CONF_MODE_HINT_BALLOON FPB_POLICY_REQUEST_HINT_BALLOON

typedef enum {
    FPB_CONF_OBJECTIVE_TIME = 0,
    FPB_CONF_OBJECTIVE_BYTES,
    FPB_CONF_OBJECTIVE_GUEST_IMPACT,
} FpbConfObjective;

typedef struct {
    gboolean has_mode;
    FpbConfMode mode;
    gboolean has_objective;
    FpbConfObjective objective;
    gint64 floor_bytes;               /* -1: unset */
    double max_prep_seconds;          /* < 0: unset */
    int balloon;                      /* -1 unset, 0 no, 1 yes */
    int reclaim;                      /* -1 unset, else FPB_POLICY_RECLAIM_* bits (0: none) */
    gint64 reclaim_cache_bound_bytes; /* -1: unset */
} FpbConfPolicy;

/* reclaim: what fpb's guest driver frees before it answers free-page hints
 * (fpb's QEMU, docs/guest-driver.md "Memory that only looks used"): none,
 * split (the shrinkers: huge pages a program freed parts of), cache (clean
 * page cache, when the guest holds at most reclaim-cache-bound of it) or
 * split+cache. */

#define FPB_CONF_ERROR (fpb_conf_error_quark())
GQuark fpb_conf_error_quark(void);

typedef enum {
    FPB_CONF_ERROR_PARSE,   /* not well-formed (XML or key file syntax) */
    FPB_CONF_ERROR_INVALID, /* well-formed, but a value or an element is wrong */
    FPB_CONF_ERROR_IO,      /* cannot read the file */
} FpbConfError;

/* Every key unset. */
void fpb_conf_policy_init(FpbConfPolicy *policy);
/* Is any key set? */
gboolean fpb_conf_policy_is_empty(const FpbConfPolicy *policy);
/* Copies every key set in @over into @base. */
void fpb_conf_policy_merge(FpbConfPolicy *base, const FpbConfPolicy *over);

/* The keys, NULL-terminated (static): mode, objective, floor,
 * max-prep-seconds, balloon, reclaim, reclaim-cache-bound. */
const char *const *fpb_conf_policy_keys(void);

/**
 * fpb_conf_policy_set:
 * Sets @key from the text @value (the XML element's text, a KEY=VALUE
 * argument, a fpbd.conf value); NULL or "" unsets it. floor takes a size
 * with an optional unit suffix or @unit (b, KiB, MiB, GiB, TiB; k/M/G/T and
 * KB/MB/GB are read as powers of 1024 as libvirt does). On FALSE, @error
 * (FPB_CONF_ERROR_INVALID) says "KEY: 'VALUE' is not ..." and @policy is
 * unchanged.
 */
gboolean fpb_conf_policy_set(FpbConfPolicy *policy, const char *key, const char *value,
                             const char *unit, GError **error);

/* As fpb_conf_policy_set(), but @value is a value even when NULL or "" (an
 * option given empty), so it is refused like any other bad value, with the
 * same "KEY: 'VALUE' is not ..." message. */
gboolean fpb_conf_policy_set_value(FpbConfPolicy *policy, const char *key, const char *value,
                                   const char *unit, GError **error);

/* @key's value as text ("512 MiB" sizes are written in bytes: "536870912"),
 * NULL when unset or @key is unknown. (transfer full) */
char *fpb_conf_policy_get(const FpbConfPolicy *policy, const char *key);

/**
 * fpb_conf_policy_parse_xml:
 * @vm: the domain's name, for messages.
 * @xml: the metadata element as virDomainGetMetadata() returns it.
 * Strict: the root must be FPB_CONF_POLICY_ELEMENT in FPB_CONF_POLICY_NS,
 * every child one of the keys in the same namespace (no namespace counts as
 * ours: virDomainGetMetadata strips the prefix), at most once, no
 * attribute but floor's unit. Errors read "VM 'NAME': policy metadata:
 * element 'fpb:KEY': ...". Writes *ret only on success.
 */
gboolean fpb_conf_policy_parse_xml(const char *vm, const char *xml, FpbConfPolicy *ret,
                                   GError **error);

/* The element with the set keys in the order above. @with_namespace:
 * prefixed and declared, as documented and as the schema reads it; FALSE:
 * without any namespace, the form virDomainSetMetadata() wants (libvirt
 * puts every node into the namespace itself and refuses an element that
 * declares the prefix again). (transfer full) */
char *fpb_conf_policy_to_xml(const FpbConfPolicy *policy, gboolean with_namespace);

const char *fpb_conf_mode_to_string(FpbConfMode mode);
gboolean fpb_conf_mode_from_string(const char *s, FpbConfMode *ret);
const char *fpb_conf_objective_to_string(FpbConfObjective objective);
gboolean fpb_conf_objective_from_string(const char *s, FpbConfObjective *ret);

/* A size like "512", "512MiB", "2 G" with @unit as the default unit (NULL:
 * bytes). Writes *ret only on success. */
gboolean fpb_conf_parse_size(const char *text, const char *unit, gint64 *ret);

G_END_DECLS
