/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Edits of a domain's persistent XML for `fpbctl enable-hints`
 * (docs/libvirt.md, "Free-page hints"). libvirt has no free-page-hint
 * attribute on <memballoon> and QEMU 7.2 needs an iothread for it, so the
 * edit adds <iothreads> (when the domain has none) and, under
 * <qemu:override>, the balloon device's frontend properties
 * free-page-hint=true and iothread=iothreadN. Everything else in the XML
 * is left as it was. Pure code over libxml2: no libvirt calls.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FPB_LIBVIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/**
 * fpb_libvirt_xml_set_hints:
 * @vm: the domain's name, for messages.
 * @xml: the domain's persistent (inactive) XML.
 * @enable: TRUE adds the override, FALSE removes fpb's two properties
 *   (and the override elements left empty; <iothreads> stays, other
 *   devices may use it).
 * @ret_xml: (out) the new XML, or NULL when nothing had to change.
 * Returns FALSE with @error (FPB_LIBVIRT_ERROR_INVALID) when @xml is not
 * a domain with a virtio <memballoon>.
 */
gboolean fpb_libvirt_xml_set_hints(const char *vm, const char *xml, gboolean enable, char **ret_xml,
                                   GError **error);

/* The virtio balloon's device alias in the domain @xml (a user alias such
 * as "ua-balloon", else libvirt's "balloon0"); its QOM path is
 * /machine/peripheral/ALIAS. NULL with @error without a virtio balloon.
 * (transfer full) */
char *fpb_libvirt_xml_balloon_alias(const char *vm, const char *xml, GError **error);

/* The domain's <devices><emulator> path, NULL (without error) when it has
 * none; NULL with @error when @xml does not parse. */
char *fpb_libvirt_xml_emulator(const char *vm, const char *xml, GError **error);

/* Sets the domain's <devices><emulator> to @path (adding it when absent).
 * @ret_xml: (out) the new XML, or NULL when it already was @path. FALSE
 * with @error when @xml is not a domain with <devices>. */
gboolean fpb_libvirt_xml_set_emulator(const char *vm, const char *xml, const char *path,
                                      char **ret_xml, GError **error);

/* The domain's type attribute is "qemu": it runs under TCG. */
gboolean fpb_libvirt_xml_is_tcg(const char *xml);

/* Whether @xml has fpb's free-page-hint override (TRUE) or not. */
gboolean fpb_libvirt_xml_hints_enabled(const char *xml);

G_END_DECLS
