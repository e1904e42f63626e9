/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Giving a libvirt domain its memory back after losing sight of it
 * (fpb-libvirt-recover.h). */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <string.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-recover.h"
#include "fpb-libvirt-steps.h"
#include "fpb-recover.h"

#define RESTORE_BUDGET_S 120.0
#define RESTORE_STALL_MS 10000
#define RETRY_US (500 * 1000)

gboolean fpb_libvirt_source_id_parse(const char *id, char **ret_uri, char **ret_domain)
{
    const char *hash;

    if (id == NULL || !g_str_has_prefix(id, "libvirt:")) {
        return FALSE;
    }
    id += strlen("libvirt:");
    /* a libvirt URI has no fragment, a domain name may hold '#' */
    hash = strchr(id, '#');
    if (hash == NULL || hash == id || hash[1] == '\0') {
        return FALSE;
    }
    *ret_uri = g_strndup(id, hash - id);
    *ret_domain = g_strdup(hash + 1);
    return TRUE;
}

/* One end: a connection kept across retries and the domain's state. */
typedef struct {
    const char *uri;
    virConnectPtr conn;
    virDomainPtr dom;
    int state; /* VIR_DOMAIN_*; VIR_DOMAIN_NOSTATE when not known */
    int reason;
    gboolean active; /* the domain runs there (any state but shut off) */
    gboolean in_job; /* a migration or other async job runs */
    char *error;     /* why it could not be asked */
} End;

static void end_clear(End *e)
{
    fpb_libvirt_domain_unref(e->dom);
    fpb_libvirt_conn_unref(e->conn);
    g_free(e->error);
}

static void end_fail(End *e, GError *error)
{
    g_free(e->error);
    e->error = g_strdup(error->message);
}

/* Asks @e's libvirt about @domain; reconnects a dead connection. */
static void end_probe(End *e, const char *domain)
{
    g_autoptr(GError) error = NULL;
    virDomainJobInfo job;

    e->active = e->in_job = FALSE;
    e->state = VIR_DOMAIN_NOSTATE;
    if (e->uri == NULL) {
        return;
    }
    if (e->conn != NULL && virConnectIsAlive(e->conn) != 1) {
        fpb_libvirt_domain_unref(g_steal_pointer(&e->dom));
        fpb_libvirt_conn_unref(g_steal_pointer(&e->conn));
    }
    if (e->conn == NULL && (e->conn = fpb_libvirt_connect(e->uri, &error)) == NULL) {
        end_fail(e, error);
        return;
    }
    if (e->dom == NULL && (e->dom = fpb_libvirt_lookup(e->conn, domain, &error)) == NULL) {
        end_fail(e, error);
        return;
    }
    if (virDomainGetState(e->dom, &e->state, &e->reason, 0) < 0) {
        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainGetState",
                              domain);
        end_fail(e, error);
        return;
    }
    g_clear_pointer(&e->error, g_free);
    e->active = e->state != VIR_DOMAIN_SHUTOFF && e->state != VIR_DOMAIN_NOSTATE;
    e->in_job =
        e->active && virDomainGetJobInfo(e->dom, &job) == 0 && job.type != VIR_DOMAIN_JOB_NONE;
}

/* The source paused after a migration the destination finished. */
static gboolean left_source(const End *src)
{
    return !src->active ||
           (src->state == VIR_DOMAIN_PAUSED && (src->reason == VIR_DOMAIN_PAUSED_MIGRATION ||
                                                src->reason == VIR_DOMAIN_PAUSED_POSTCOPY));
}

/* The end that runs the domain, or NULL while that is not settled: a
 * libvirt not answering, a job still running (libvirtd recovering it). */
static End *settled(End *src, End *dst)
{
    gboolean on_dst = dst->active && dst->state == VIR_DOMAIN_RUNNING && !dst->in_job;

    if (on_dst && left_source(src) && src->error == NULL) {
        return dst;
    }
    if (on_dst && src->error != NULL && dst->error == NULL) {
        return dst; /* the source's libvirt is gone, the guest runs here */
    }
    if (src->active && !src->in_job && !on_dst && src->error == NULL &&
        (dst->uri == NULL || dst->error == NULL || !dst->active)) {
        return src;
    }
    return NULL;
}

static void abort_job(End *src, const char *domain, GString *notes)
{
    if (virDomainAbortJob(src->dom) == 0) {
        g_string_append(notes, "; aborted the unattended migration");
    } else {
        g_autoptr(GError) error = NULL;

        fpb_libvirt_set_error(&error, FPB_LIBVIRT_ERROR_FAILED, "VM '%s': virDomainAbortJob",
                              domain);
        g_string_append_printf(notes, "; %s", error->message);
    }
}

/* Waits up to @gb->wait_s for the domain to be settled on one end. */
static End *locate(const FpbLibvirtGiveBack *gb, End *src, End *dst, GString *notes)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(gb->wait_s * G_USEC_PER_SEC);
    gboolean aborted = FALSE;

    for (;;) {
        End *where;

        end_probe(src, gb->domain);
        end_probe(dst, gb->domain);
        if ((where = settled(src, dst)) != NULL) {
            return where;
        }
        if (src->in_job && gb->abort_unattended && !aborted) {
            abort_job(src, gb->domain, notes);
            aborted = TRUE;
        }
        if (g_get_monotonic_time() >= deadline) {
            return NULL;
        }
        g_usleep(RETRY_US);
    }
}

static void give_back_on(const FpbLibvirtGiveBack *gb, End *where, gboolean is_dest,
                         FpbOutcome *row, GString *notes)
{
    g_autoptr(GError) error = NULL;
    const char *name = is_dest ? "destination" : "source";
    FpbBalloonStep step;

    fpb_outcome_set(&row->restore_where, name);
    fpb_libvirt_balloon_run(where->dom, gb->original_bytes,
                            is_dest && virDomainIsPersistent(where->dom) == 1, RESTORE_BUDGET_S,
                            RESTORE_STALL_MS, &step, &error);
    fpb_recover_note_restore(row, name, &step, error, notes);
}

gboolean fpb_libvirt_give_back(const FpbLibvirtGiveBack *gb, FpbOutcome *row, GString *notes)
{
    End src = {.uri = gb->source_uri};
    End dst = {.uri = gb->dest_uri};
    End *where = locate(gb, &src, &dst, notes);

    if (where == NULL) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; VM '%s' not found running on either libvirt within %.0f s",
                               gb->domain, gb->wait_s);
        if (src.error != NULL) {
            g_string_append_printf(notes, " (source: %s)", src.error);
        }
        if (dst.error != NULL) {
            g_string_append_printf(notes, " (destination: %s)", dst.error);
        }
    } else {
        give_back_on(gb, where, where == &dst, row, notes);
    }
    end_clear(&src);
    end_clear(&dst);
    return g_strcmp0(row->restore_status, "done") == 0;
}

void fpb_libvirt_recover_repair(FpbOutcome *row, gboolean open, GString *notes)
{
    g_autofree char *uri = NULL;
    g_autofree char *domain = NULL;
    /* a closed row's migration ended: a job running now is someone else's */
    FpbLibvirtGiveBack gb = {.wait_s = FPB_LIBVIRT_RECOVER_WAIT_S, .abort_unattended = open};

    if (!fpb_libvirt_source_id_parse(row->source_qmp, &uri, &domain)) {
        fpb_outcome_set(&row->restore_status, "failed");
        g_string_append_printf(notes, "; '%s' is not a libvirt domain",
                               row->source_qmp ? row->source_qmp : "");
        return;
    }
    gb.source_uri = uri;
    gb.dest_uri = row->uri;
    gb.domain = domain;
    gb.original_bytes = row->prep_original_bytes;
    if (fpb_recover_row_used_balloon(row) && gb.original_bytes > 0) {
        fpb_libvirt_give_back(&gb, row, notes);
    } else {
        /* nothing to give back; a migration nobody watches is still ended */
        End src = {.uri = gb.source_uri};
        End dst = {.uri = gb.dest_uri};

        locate(&gb, &src, &dst, notes);
        end_clear(&src);
        end_clear(&dst);
        fpb_outcome_set(&row->restore_status, "not-needed");
    }
}
