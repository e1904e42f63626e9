#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds fpb_balloon.ko (or the test build fpb_balloon_faults.ko: the
# module is named after OUTPUT_KO) out of tree against a kernel header tree.
# Usage: build-module.sh OUTPUT_KO HEADERS_DIR SOURCE...
# Kbuild writes next to its sources, so they are copied into a private
# directory beside OUTPUT_KO first; the source tree stays clean.
set -eu
out=$1 headers=$2
shift 2
[ -f "$headers/Makefile" ] || { echo "build-module: no kernel headers at $headers" >&2; exit 1; }
module=$(basename "$out" .ko)
# one directory per module: ninja builds both at once
work=$(dirname "$out")/kbuild-$module
rm -rf "$work"
mkdir -p "$work"
for f in "$@"; do cp "$f" "$work/"; done
# Kbuild's own output is noisy; keep it in a log, show it only on failure.
if ! make -C "$headers" M="$(cd "$work" && pwd)" FPB_MODULE="$module" modules > "$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    exit 1
fi
grep -E 'warning|error' "$work/build.log" >&2 || true
cp "$work/$module.ko" "$out.tmp"
mv "$out.tmp" "$out"
