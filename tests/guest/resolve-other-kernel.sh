#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the kernel package of the second test guest: the newest
# linux-image-<version>-amd64 (plain flavour, signed) the package sources
# offer other than the default guest's (resolve-kernel-package.sh), e.g.
# linux-image-6.12.118+deb12-amd64 on bookworm with bookworm-security.
# FPB_OTHER_KERNEL_PACKAGE=linux-image-... picks one instead.
set -eu
if [ -n "${FPB_OTHER_KERNEL_PACKAGE:-}" ]; then
    echo "$FPB_OTHER_KERNEL_PACKAGE"
    exit 0
fi
default=$("$(dirname "$0")/resolve-kernel-package.sh") || exit 1
other=$(apt-cache search --names-only '^linux-image-[0-9]' 2>/dev/null |
        awk '{ print $1 }' |
        grep -E '^linux-image-[0-9]+\.[0-9]+\.[0-9]+[-+][^ ]*-amd64$' |
        grep -vE -- '-(cloud|rt)-amd64$' |
        grep -vxF "$default" | sort -V | tail -n 1 || true)
if [ -z "$other" ]; then
    echo "no kernel package other than $default (linux-image-<version>-amd64) in the package sources" >&2
    exit 1
fi
echo "$other"
