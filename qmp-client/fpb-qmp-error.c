/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fpb-qmp-error.h"

typedef struct {
    char *command;
    char *qmp_class;
    char *desc;
} FpbQmpErrorPrivate;

static void fpb_qmp_error_private_init(FpbQmpErrorPrivate *priv)
{
    priv->command = NULL;
    priv->qmp_class = NULL;
    priv->desc = NULL;
}

static void fpb_qmp_error_private_copy(const FpbQmpErrorPrivate *src, FpbQmpErrorPrivate *dest)
{
    dest->command = g_strdup(src->command);
    dest->qmp_class = g_strdup(src->qmp_class);
    dest->desc = g_strdup(src->desc);
}

static void fpb_qmp_error_private_clear(FpbQmpErrorPrivate *priv)
{
    g_clear_pointer(&priv->command, g_free);
    g_clear_pointer(&priv->qmp_class, g_free);
    g_clear_pointer(&priv->desc, g_free);
}

G_DEFINE_EXTENDED_ERROR(FpbQmpError, fpb_qmp_error)

static const FpbQmpErrorPrivate *get_private(const GError *error)
{
    if (error == NULL || error->domain != FPB_QMP_ERROR) {
        return NULL;
    }
    return fpb_qmp_error_get_private(error);
}

const char *fpb_qmp_error_get_command(const GError *error)
{
    const FpbQmpErrorPrivate *priv = get_private(error);
    return priv ? priv->command : NULL;
}

const char *fpb_qmp_error_get_class(const GError *error)
{
    const FpbQmpErrorPrivate *priv = get_private(error);
    return priv ? priv->qmp_class : NULL;
}

const char *fpb_qmp_error_get_desc(const GError *error)
{
    const FpbQmpErrorPrivate *priv = get_private(error);
    return priv ? priv->desc : NULL;
}

void fpb_qmp_error_set_details(GError *error, const char *command, const char *qmp_class,
                               const char *desc)
{
    FpbQmpErrorPrivate *priv;

    if (error == NULL || error->domain != FPB_QMP_ERROR) {
        return;
    }
    priv = fpb_qmp_error_get_private(error);
    g_free(priv->command);
    priv->command = g_strdup(command);
    g_free(priv->qmp_class);
    priv->qmp_class = g_strdup(qmp_class);
    g_free(priv->desc);
    priv->desc = g_strdup(desc);
}
