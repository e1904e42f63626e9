/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The grammar of fpbd's control requests (docs/libvirt.md, "Control
 * protocol"): exactly one JSON object per line (strict JSON, nothing but
 * blanks after it, nested at most 8 deep), an "op" fpbd knows, only that
 * op's keys, each of its type:
 *
 *   ping, status   {"op"}
 *   hook           {"op", "domain", "action", "subaction", ["extra"]}   strings
 *   migrate        {"op", "domain", "dest", ["options"]}  strings, options an object
 *   evacuate       {"op", "dest", ["domains"], ["options"], ["dry-run"], ["json"],
 *                   ["progress"]}  dest a string, domains an array of (at most
 *                   FPBD_REQUEST_MAX_DOMAINS non-empty) strings, options an
 *                   object, the rest booleans
 *
 * Pure code: no I/O, any thread.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_BEGIN_DECLS

#define FPBD_REQUEST_MAX_DEPTH 8
/* An evacuation's "domains": as many as the planner takes (FPB_EVACUATE_MAX_VMS). */
#define FPBD_REQUEST_MAX_DOMAINS 1024

/* @line (@len bytes, no newline) as one JSON object. (transfer full) or
 * NULL with @error saying why ("the request is not a JSON object: ..."). */
json_object *fpbd_request_parse(const char *line, gsize len, GError **error);

/* Checks @req (borrowed) against its op's keys; @ret_op (borrowed from
 * @req) on success. */
gboolean fpbd_request_check(json_object *req, const char **ret_op, GError **error);

/* The first option in @options (a migrate or evacuate request's "options", borrowed,
 * may be NULL) that only root may give, or NULL; @ret_why says what it
 * would let a peer do. */
const char *fpbd_request_root_only_option(json_object *options, const char **ret_why);

G_END_DECLS
