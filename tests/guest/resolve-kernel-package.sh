#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the versioned kernel package that linux-image-amd64 depends on
# (e.g. linux-image-6.1.0-NN-amd64), so the number is never hard-coded.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
    echo "cannot resolve the kernel package of linux-image-amd64 (run 'apt-get update' first)" >&2
    exit 1
fi
echo "$pkg"
