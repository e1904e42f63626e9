#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# build-module.sh against the headers of kernel KVER: the installed ones
# (/usr/src/linux-headers-KVER) if there are, else the packages unpacked
# into CACHE_DIR by fetch-headers.sh (not installed: see there).
# Usage: build-module-fetched.sh OUTPUT_KO KVER CACHE_DIR SOURCE...
set -eu
out=$1 kver=$2 cache=$3
shift 3
here=$(dirname "$0")
hdr=/usr/src/linux-headers-$kver
[ -f "$hdr/Makefile" ] || hdr=$("$here/fetch-headers.sh" "$kver" "$cache")
exec "$here/build-module.sh" "$out" "$hdr" "$@"
