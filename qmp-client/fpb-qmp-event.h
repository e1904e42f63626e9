/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FpbQmpEvent: the events fpb acts on (MIGRATION, MIGRATION_PASS,
 * BALLOON_CHANGE, STOP, RESUME, SHUTDOWN), parsed from what an
 * FpbQmpEventFunc receives. */
#pragma once

#include "fpb-qmp-migration.h"

G_BEGIN_DECLS

typedef enum {
    FPB_QMP_EVENT_OTHER, /* any event not listed here; only name and time set */
    FPB_QMP_EVENT_MIGRATION,
    FPB_QMP_EVENT_MIGRATION_PASS,
    FPB_QMP_EVENT_BALLOON_CHANGE,
    FPB_QMP_EVENT_STOP,
    FPB_QMP_EVENT_RESUME,
    FPB_QMP_EVENT_SHUTDOWN,
} FpbQmpEventType;

typedef struct {
    FpbQmpEventType type;
    char *name;
    gint64 timestamp_us;                    /* -1 if QEMU sent none */
    FpbQmpMigrationStatus migration_status; /* MIGRATION */
    gint64 pass;                            /* MIGRATION_PASS: dirty-sync count */
    guint64 balloon_actual;                 /* BALLOON_CHANGE: guest memory, bytes */
    gboolean shutdown_guest;                /* SHUTDOWN: guest initiated */
    char *shutdown_reason;                  /* SHUTDOWN: ShutdownCause */
} FpbQmpEvent;

/* Parses an event; @data (borrowed, may be NULL) is its "data" member. An
 * event listed above with wrong or missing data fails with
 * FPB_QMP_ERROR_PROTOCOL. */
FpbQmpEvent *fpb_qmp_event_parse(const char *name, json_object *data, gint64 timestamp_us,
                                 GError **error);
void fpb_qmp_event_free(FpbQmpEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpbQmpEvent, fpb_qmp_event_free)

G_END_DECLS
