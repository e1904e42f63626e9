/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-libvirt"

#include <libvirt/virterror.h>

#include "fpb-libvirt-conn.h"
#include "fpb-libvirt-policy.h"
#include "fpb-run-options.h"

gboolean fpb_libvirt_policy_read(virDomainPtr dom, gboolean config, FpbConfPolicy *ret,
                                 GError **error)
{
    const char *name = virDomainGetName(dom);
    unsigned int flags =
        (config || virDomainIsActive(dom) != 1) ? VIR_DOMAIN_AFFECT_CONFIG : VIR_DOMAIN_AFFECT_LIVE;
    g_autofree char *xml = NULL;

    if (config && virDomainIsPersistent(dom) != 1) {
        flags = VIR_DOMAIN_AFFECT_LIVE;
    }
    xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, FPB_CONF_POLICY_NS, flags);
    if (xml == NULL) {
        if (fpb_libvirt_last_error_code() == VIR_ERR_NO_DOMAIN_METADATA) {
            fpb_conf_policy_init(ret);
            return TRUE;
        }
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': cannot read the policy metadata", name);
    }
    return fpb_conf_policy_parse_xml(name, xml, ret, error);
}

gboolean fpb_libvirt_policy_write(virDomainPtr dom, const FpbConfPolicy *policy, GError **error)
{
    g_autofree char *xml =
        fpb_conf_policy_is_empty(policy) ? NULL : fpb_conf_policy_to_xml(policy, FALSE);
    unsigned int flags = 0;
    const char *vm = virDomainGetName(dom); /* before: calls reset the last error */

    if (virDomainIsActive(dom) == 1) {
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    }
    if (virDomainIsPersistent(dom) == 1) {
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    }
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, FPB_CONF_POLICY_PREFIX,
                             FPB_CONF_POLICY_NS, flags) < 0) {
        return fpb_libvirt_set_error(error, FPB_LIBVIRT_ERROR_FAILED,
                                     "VM '%s': cannot write the policy metadata", vm);
    }
    return TRUE;
}

void fpb_libvirt_policy_apply(const FpbConfPolicy *p, FpbPolicySettings *s)
{
    fpb_run_options_apply_policy(p, s);
}
