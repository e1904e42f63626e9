/* SPDX-License-Identifier: GPL-2.0-or-later */
/* history-make-journal DB [--empty]: a journal with hand-made migration rows
 * for tests/fpbctl-history/test-history-render.sh: three VMs (one with XML's
 * specials in its name), every mode, a row without predictions or bytes and
 * a refused one. --empty: the journal and no row. */
#include <stdio.h>

#include "fpb-journal.h"

typedef struct {
    const char *vm;
    const char *mode;  /* NULL: refused before a decision */
    double pred_bytes; /* < 0: no prediction */
    gint64 bytes;      /* < 0: not recorded */
    double pred_s;
    gint64 ms;
} Row;

static const Row rows[] = {
    {"web-1", "hint", 2.1e9, 1900000000, 24, 21000},
    {"db<&\">", "balloon", 1.4e9, 1500000000, 38, 30000},
    {"web-1", "none", 4.2e9, 4300000000, 45, 47000},
    {"cache", "hint+balloon", 0.9e9, 800000000, 52, 41000},
    {"web-1", "hint", 2.0e9, 2400000000, 23, 27000},
    {"db<&\">", "balloon", -1, -1, -1, 33000},
    {"cache", "none", 3.9e9, 3700000000, 41, 39000},
    {"web-1", "hint+balloon", 1.1e9, 1000000000, 35, 36000},
    {"cache", NULL, -1, -1, -1, -1},
    {"db<&\">", "hint", 1.8e9, 1700000000, 20, 19000},
};

static json_object *predictions(const Row *r)
{
    json_object *all = json_object_new_object();
    json_object *mode = json_object_new_object();

    if (r->pred_bytes >= 0) {
        json_object_object_add(mode, "bytes", json_object_new_int64((gint64)r->pred_bytes));
    }
    if (r->pred_s >= 0) {
        json_object_object_add(mode, "total_seconds", json_object_new_double(r->pred_s));
    }
    json_object_object_add(all, r->mode, mode);
    return all;
}

static gboolean add(FpbJournal *j, const Row *r, gint64 i, GError **error)
{
    g_autoptr(FpbOutcome) o = fpb_outcome_new();

    fpb_outcome_set(&o->vm, r->vm);
    fpb_outcome_set(&o->requested_mode, "auto");
    fpb_outcome_set(&o->phase, r->mode != NULL ? FPB_PHASE_DONE : FPB_PHASE_REFUSED);
    fpb_outcome_set(&o->mode, r->mode);
    o->start_us = 1700000000000000 + i * 3600 * G_USEC_PER_SEC;
    o->end_us = o->start_us + (r->ms > 0 ? r->ms * 1000 : 0);
    o->mig_transferred_bytes = r->bytes;
    o->mig_total_ms = r->ms;
    if (r->mode != NULL && (r->pred_bytes >= 0 || r->pred_s >= 0)) {
        o->predictions = predictions(r);
    }
    return fpb_journal_insert(j, o, error);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpbJournal) j = NULL;
    gboolean empty = argc == 3 && g_str_equal(argv[2], "--empty");

    if (argc != 2 && !empty) {
        fprintf(stderr, "usage: history-make-journal DB [--empty]\n");
        return 2;
    }
    if ((j = fpb_journal_open(argv[1], &error)) == NULL) {
        fprintf(stderr, "history-make-journal: %s\n", error->message);
        return 1;
    }
    for (gsize i = 0; !empty && i < G_N_ELEMENTS(rows); i++) {
        if (!add(j, &rows[i], (gint64)i, &error)) {
            fprintf(stderr, "history-make-journal: %s\n", error->message);
            return 1;
        }
    }
    return 0;
}
