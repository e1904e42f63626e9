/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What fpb's QEMU patch set (host-plugin/qemu-patches) adds for free-page
 * hints, and how to tell a QEMU that has it from one that has not:
 *
 *  - the migration capability x-fpb-free-page-hints (default on): off, the
 *    balloon does not ask the guest for hints during that migration;
 *  - x-fpb-query-hint-stats: what the guest reported and what QEMU cleared
 *    from the dirty bitmap, per outgoing migration;
 *  - the balloon property guest-driver: the guest driver's identity.
 *
 * Conventions as in fpb-qmp-machine.h: blocking helpers with the client's
 * default timeout, public parsers for async users, ret_* written only on
 * success. See docs/qmp-client.md. */
#pragma once

#include "fpb-qmp-client.h"

G_BEGIN_DECLS

#define FPB_QMP_HINTS_CAPABILITY "x-fpb-free-page-hints"
#define FPB_QMP_HINTS_STATS_COMMAND "x-fpb-query-hint-stats"

/* What the QEMU's query-qmp-schema shows. */
typedef struct {
    gboolean hint_switch; /* MigrationCapability has x-fpb-free-page-hints */
    gboolean hint_stats;  /* the command x-fpb-query-hint-stats exists */
} FpbQmpHintsSupport;

/* Follows migrate-set-capabilities' argument type down to the
 * MigrationCapability enum (names are masked in the schema) and looks for
 * the switch; looks for the command by name. A chain that breaks (an
 * entity missing or of the wrong shape) means "not there", not an error;
 * a reply that is not an array is one. */
gboolean fpb_qmp_hints_schema_parse(json_object *schema, FpbQmpHintsSupport *ret, GError **error);
/* query-qmp-schema (about 200 KB from QEMU 7.2: ask once per connection). */
gboolean fpb_qmp_hints_query_support(FpbQmpClient *client, FpbQmpHintsSupport *ret, GError **error);

/* migrate-set-capabilities x-fpb-free-page-hints = @on. Before a migration
 * only (QEMU refuses while one runs); stays set for later migrations. */
gboolean fpb_qmp_hints_set_switch(FpbQmpClient *client, gboolean on, GError **error);
/* query-migrate-capabilities: @ret_present FALSE when QEMU has no such
 * capability (then @ret_on is FALSE). */
gboolean fpb_qmp_hints_capabilities_parse(json_object *reply, gboolean *ret_present,
                                          gboolean *ret_on, GError **error);
gboolean fpb_qmp_hints_get_switch(FpbQmpClient *client, gboolean *ret_present, gboolean *ret_on,
                                  GError **error);

/* x-fpb-query-hint-stats: the current or last outgoing migration (reset at
 * each migration start, kept after it ended). Bytes are bytes, times
 * microseconds. What the guest reports is untrusted: reported_bytes may
 * exceed the guest's RAM, cleared_bytes never does. */
typedef struct {
    guint64 generation; /* migrations started so far; 0: none */
    guint64 commands;   /* hint commands QEMU started (one per sync while running) */
    guint64 commands_answered;
    guint64 commands_finished; /* the guest sent its stop id while the command ran */
    guint64 buffers;           /* buffers of free pages acted on */
    guint64 ranges;            /* their scatter-gather entries */
    guint64 reported_bytes;
    guint64 ignored_buffers; /* arrived while no command ran */
    guint64 cleared_bytes;   /* set dirty bits the hints cleared, in bytes */
    guint64 report_time_us;  /* sum over finished commands: start to the guest's stop */
    guint64 max_report_time_us;
    guint64 dirty_log_clear_rounds;   /* syncs followed by the early dirty-log clear */
    guint64 dirty_log_cleared_chunks; /* chunks those clears armed */
    guint64 dirty_log_pending_chunks; /* chunks still pending when a command started: 0 */
} FpbQmpHintStats;

gboolean fpb_qmp_hint_stats_parse(json_object *reply, FpbQmpHintStats *ret, GError **error);
gboolean fpb_qmp_query_hint_stats(FpbQmpClient *client, FpbQmpHintStats *ret, GError **error);

/* Who the guest's balloon driver is. "Known" means IDENTIFIED. */
typedef enum {
    FPB_QMP_GUEST_DRIVER_UNSUPPORTED, /* this QEMU has no guest-driver property */
    FPB_QMP_GUEST_DRIVER_NONE,        /* no statistics since the device reset: no driver
                                         (yet), or one without the statistics queue */
    FPB_QMP_GUEST_DRIVER_STOCK,       /* statistics without identity: a stock driver */
    FPB_QMP_GUEST_DRIVER_IDENTIFIED,  /* the driver named itself (fpb_balloon) */
} FpbQmpGuestDriverKind;

/* Feature bits an identified driver announces. */
#define FPB_QMP_GUEST_DRIVER_F_HINT_NO_ALLOC (G_GUINT64_CONSTANT(1) << 0)
#define FPB_QMP_GUEST_DRIVER_F_HINT_FRAGMENTED (G_GUINT64_CONSTANT(1) << 1)
#define FPB_QMP_GUEST_DRIVER_F_REPORTING (G_GUINT64_CONSTANT(1) << 2)
/* frees what the host asks for (fpb_qmp_balloon_set_reclaim) before a walk */
#define FPB_QMP_GUEST_DRIVER_F_RECLAIM (G_GUINT64_CONSTANT(1) << 3)

/* The name a driver that does not identify itself is taken for: Linux's. */
#define FPB_QMP_GUEST_DRIVER_STOCK_NAME "virtio_balloon"

typedef struct {
    FpbQmpGuestDriverKind kind;
    char *name;       /* IDENTIFIED: as sent (printable ASCII, <= 16 chars);
                         STOCK: FPB_QMP_GUEST_DRIVER_STOCK_NAME (presumed); else NULL */
    char *version;    /* IDENTIFIED only, else NULL */
    guint64 features; /* IDENTIFIED only, else 0 */
} FpbQmpGuestDriver;

const char *fpb_qmp_guest_driver_kind_to_string(FpbQmpGuestDriverKind kind);
/* The value of qom-get guest-driver. */
FpbQmpGuestDriver *fpb_qmp_guest_driver_parse(json_object *reply, GError **error);
/* qom-get @qom_path guest-driver (the balloon device, e.g.
 * "/machine/peripheral/balloon0"). A QEMU without the property (its
 * "Property '….guest-driver' not found" error) gives kind UNSUPPORTED, not
 * an error; any other error reply (e.g. a wrong path) is one. */
FpbQmpGuestDriver *fpb_qmp_query_guest_driver(FpbQmpClient *client, const char *qom_path,
                                              GError **error);
/* TRUE when @error is a qom-get of guest-driver on a QEMU without the
 * property (for callers that send qom-get another way, e.g. libvirt). */
gboolean fpb_qmp_guest_driver_error_is_unsupported(const GError *error);
/* TRUE for QEMU's error reply to qom-get of a missing guest-driver property
 * (a QEMU without the patch set), for callers that run qom-get themselves
 * (e.g. through libvirt) and parse with fpb_qmp_guest_driver_parse(). */
gboolean fpb_qmp_guest_driver_error_is_unsupported(const GError *error);
void fpb_qmp_guest_driver_free(FpbQmpGuestDriver *driver);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpGuestDriver, fpb_qmp_guest_driver_free)

/* What fpb's guest driver frees before its next free page hint walk
 * (qemu-patches 0006: the balloon's x-fpb-reclaim and
 * x-fpb-reclaim-cache-mib, shown to the guest in its configuration space). */
#define FPB_QMP_RECLAIM_SPLIT (1u << 0) /* the shrinkers: the deferred THP split */
#define FPB_QMP_RECLAIM_CACHE (1u << 1) /* clean page cache, if at most cache_mib */
#define FPB_QMP_RECLAIM_ALL (FPB_QMP_RECLAIM_SPLIT | FPB_QMP_RECLAIM_CACHE)

/* qom-set both properties on @qom_path (the bound first, so a request never
 * pairs the cache bit with an old bound); @what 0 withdraws the request.
 * Each call is a new request: QEMU numbers it (x-fpb-reclaim-seq) and
 * interrupts the guest, whose driver frees what it names and writes the
 * number back (x-fpb-reclaim-done). Host state, not migrated: the
 * destination's starts at 0. Bits outside FPB_QMP_RECLAIM_ALL are refused
 * (FPB_QMP_ERROR_PROTOCOL, nothing sent). On a QEMU without the properties,
 * QEMU's own "Property ... not found" error. */
gboolean fpb_qmp_balloon_set_reclaim(FpbQmpClient *client, const char *qom_path, guint32 what,
                                     guint32 cache_mib, GError **error);
/* Waits until the guest driver has answered the latest request (done ==
 * seq), polling every 100 ms for at most @timeout_ms; FPB_QMP_ERROR_TIMEOUT
 * when it has not (a driver that does not serve requests, or a reclaim
 * still running), saying how far it got. */
gboolean fpb_qmp_balloon_wait_reclaim(FpbQmpClient *client, const char *qom_path, guint timeout_ms,
                                      GError **error);
/* The same two for callers that send QMP another way (libvirt's QMP
 * pass-through): @call runs @command with @args (borrowed) and returns its
 * "return" value of any type (transfer full), NULL with @error. */
typedef json_object *(*FpbQmpCallFunc)(gpointer ctx, const char *command, json_object *args,
                                       GError **error);
gboolean fpb_qmp_reclaim_set_with(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                                  guint32 what, guint32 cache_mib, GError **error);
gboolean fpb_qmp_reclaim_wait_with(FpbQmpCallFunc call, gpointer ctx, const char *qom_path,
                                   guint timeout_ms, GError **error);

G_END_DECLS
