/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The predicted and actual numbers of a journal row (fpbctl-history-values.h). */
#include <math.h>

#include "fpbctl-history-values.h"

static double known(double v)
{
    return isfinite(v) && v >= 0 ? v : -1;
}

double fpbctl_history_predicted(const FpbOutcome *o, const char *key)
{
    json_object *mode = NULL;
    json_object *v = NULL;

    if (o->mode == NULL || !json_object_is_type(o->predictions, json_type_object) ||
        !json_object_object_get_ex(o->predictions, o->mode, &mode) ||
        !json_object_is_type(mode, json_type_object) || !json_object_object_get_ex(mode, key, &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        return -1;
    }
    return known(json_object_get_double(v));
}

double fpbctl_history_actual_bytes(const FpbOutcome *o)
{
    return o->mig_transferred_bytes < 0 ? -1 : (double)o->mig_transferred_bytes;
}

double fpbctl_history_actual_seconds(const FpbOutcome *o)
{
    if (o->mig_total_ms < 0) {
        return -1;
    }
    return known(MAX(o->prep_seconds, 0) + (double)o->mig_total_ms / 1000 +
                 MAX(o->restore_seconds, 0));
}
