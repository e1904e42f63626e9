/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Giving a libvirt domain its memory back when fpb lost sight of it: the
 * libvirt connection died during a migration (libvirtd restarted or
 * crashed), or fpbctl itself died and `fpbctl recover` finds its row open.
 * Where the domain runs is asked of both libvirts, waiting for a restarting
 * libvirtd; docs/libvirt.md, "When libvirtd goes away".
 */
#pragma once

#include "fpb-outcome.h"

G_BEGIN_DECLS

/* How long fpbctl waits for a libvirtd that went away mid-migration. */
#define FPB_LIBVIRT_RECONNECT_WAIT_S 60.0
/* How long `fpbctl recover` waits for one (it is run by hand). */
#define FPB_LIBVIRT_RECOVER_WAIT_S 10.0

/* Splits a journal source column "libvirt:URI#NAME" (the name is after
 * the first '#': URIs have none); FALSE if @id is not one. (transfer full) */
gboolean fpb_libvirt_source_id_parse(const char *id, char **ret_uri, char **ret_domain);

typedef struct {
    const char *source_uri;
    const char *dest_uri; /* NULL: the domain can only be on the source */
    const char *domain;
    gint64 original_bytes;     /* the size to give back, > 0 */
    double wait_s;             /* wait this long for a libvirt to answer */
    gboolean abort_unattended; /* abort a migration job nobody watches */
} FpbLibvirtGiveBack;

/**
 * fpb_libvirt_give_back:
 * Finds where @gb->domain runs (active on the destination and not on the
 * source, or the source paused after the migration: the destination; else
 * the source) and gives it @gb->original_bytes, live, and persistent too
 * on the destination (the migrated definition has the inflated size).
 * Fills @row's restore_* fields; appends what it did to @notes ("; ...").
 * TRUE when the memory is back (restore_status "done").
 */
gboolean fpb_libvirt_give_back(const FpbLibvirtGiveBack *gb, FpbOutcome *row, GString *notes);

/* The libvirt backend's repair of one of its journal rows
 * (FpbBackendOps.repair_row): @open, its owner died (a migration job
 * nobody watches is aborted); else memory is missing after it ended. */
void fpb_libvirt_recover_repair(FpbOutcome *row, gboolean open, GString *notes);

G_END_DECLS
