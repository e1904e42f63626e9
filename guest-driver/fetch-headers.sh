#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Puts the build headers of one Debian kernel into CACHE_DIR without
# installing them, and prints the header directory to build against.
# Usage: fetch-headers.sh KVER CACHE_DIR   (KVER e.g. 6.12.118+deb12-amd64)
# apt-get install of linux-headers-KVER would also install that kernel's
# image on this machine (the 6.12 headers depend on it): here only the
# three packages a module build reads are downloaded (headers, their
# -common[-rt] and linux-kbuild) and unpacked into CACHE_DIR/KVER/root. The
# headers' Makefile includes the -common one by absolute path; that one line
# is pointed into the cache. A second call reuses the unpacked tree.
set -eu
kver=${1:-} cache=${2:-}
if [ -z "$kver" ] || [ -z "$cache" ]; then
    echo "usage: fetch-headers.sh KVER CACHE_DIR" >&2
    exit 2
fi
dir=$cache/$kver
root=$dir/root
hdr=$root/usr/src/linux-headers-$kver
if [ -f "$dir/done" ] && [ -f "$hdr/Makefile" ]; then
    echo "$hdr"
    exit 0
fi
pkg=linux-headers-$kver
deps=$(apt-cache depends "$pkg" 2>/dev/null |
       awk '$1 ~ /Depends:$/ && ($2 ~ /^linux-headers-.*-common(-rt)?$/ || $2 ~ /^linux-kbuild-/) { print $2 }' |
       sort -u)
[ -n "$deps" ] || { echo "fetch-headers: apt knows no $pkg (or its -common/kbuild); run 'apt-get update'?" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/debs" "$root"
# shellcheck disable=SC2086 # deps: package names, one per word
if ! (cd "$dir/debs" && apt-get download -q "$pkg" $deps >"$dir/download.log" 2>&1); then
    grep -v 'unsandboxed' "$dir/download.log" >&2 || true
    echo "fetch-headers: cannot download $pkg $deps" >&2
    exit 1
fi
for deb in "$dir"/debs/*.deb; do
    dpkg-deb -x "$deb" "$root"
done
[ -f "$hdr/Makefile" ] || { echo "fetch-headers: $pkg has no $hdr/Makefile" >&2; exit 1; }
abs=$(cd "$root" && pwd)
sed -i "s|^include /usr/src/|include $abs/usr/src/|" "$hdr/Makefile"
rm -rf "$dir/debs"
: > "$dir/done"
echo "$hdr"
