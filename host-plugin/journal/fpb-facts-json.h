/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON <-> policy facts, decision and predictions (json-c). The facts shape
 * is what `fpbctl explain --json` prints under "facts" and what
 * `fpbctl explain --facts FILE` reads, so any situation can be replayed;
 * docs/cost-model.md lists the fields.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "fpb-policy.h"

G_BEGIN_DECLS

/* g_autoptr(json_object): defined once, by the QMP client's JSON header, so
 * code that uses both libraries compiles. */
#include "fpb-qmp-json.h"

/* Facts files larger than this are refused (a facts object is ~2 KiB). */
#define FPB_FACTS_JSON_MAX_BYTES (1024 * 1024)

#define FPB_FACTS_JSON_ERROR (fpb_facts_json_error_quark())
GQuark fpb_facts_json_error_quark(void);

typedef enum {
    FPB_FACTS_JSON_ERROR_READ,  /* the file cannot be read or is too large */
    FPB_FACTS_JSON_ERROR_PARSE, /* not JSON */
    FPB_FACTS_JSON_ERROR_FIELD, /* a field is missing, unknown, mistyped or out of range */
} FpbFactsJsonError;

/* Reads the facts object @obj (borrowed) into @ret_facts (written only on
 * success). Missing optional fields keep fpb_policy_facts_init()'s
 * defaults; JSON null means unknown. Error messages start with the field's
 * path, e.g. "facts.stats.free_bytes: expected an integer >= 0 or null".
 * The facts are also checked with fpb_policy_facts_validate(). */
gboolean fpb_facts_json_read(json_object *obj, FpbPolicyFacts *ret_facts, GError **error);

/* Parses @len bytes of JSON text. The top level is a facts object, or an
 * object with a "facts" member (a saved `fpbctl explain --json` output). */
gboolean fpb_facts_json_parse(const char *text, gsize len, FpbPolicyFacts *ret_facts,
                              GError **error);

/* fpb_facts_json_parse() on the contents of @path (at most
 * FPB_FACTS_JSON_MAX_BYTES). Messages do not name the file; callers add it. */
gboolean fpb_facts_json_load_file(const char *path, FpbPolicyFacts *ret_facts, GError **error);

/* New references, owned by the caller (json_object_put). */
json_object *fpb_facts_json_from_facts(const FpbPolicyFacts *facts);
json_object *fpb_facts_json_from_prediction(const FpbPolicyPrediction *prediction);
/* {"mode", "balloon_target_bytes", "inflate_bytes", "reasons": [{"code", "text"}]} */
json_object *fpb_facts_json_from_decision(const FpbPolicyDecision *decision);
/* {"none": {...}, "hint": {...}, ...}: one member per mode, in the mode
 * table's order (fpb-policy-mode.h) */
json_object *fpb_facts_json_from_predictions(const FpbPolicyDecision *decision);
/* {"facts", "decision", "predictions"}: `fpbctl explain --json`. */
json_object *fpb_facts_json_explain(const FpbPolicyFacts *facts, const FpbPolicyDecision *decision);

G_END_DECLS
