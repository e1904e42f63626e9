/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-pipeline"

#include "fpb-backend.h"

const char *fpb_end_to_string(FpbEnd end)
{
    return end == FPB_END_DESTINATION ? "destination" : "source";
}

void fpb_backend_free(FpbBackend *backend)
{
    if (backend != NULL) {
        backend->ops->free(backend);
    }
}

const FpbBackendOps *fpb_backend_find(const FpbBackendOps *const *backends, const char *name)
{
    for (; backends != NULL && *backends != NULL; backends++) {
        if (g_strcmp0((*backends)->name, name) == 0) {
            return *backends;
        }
    }
    return NULL;
}
