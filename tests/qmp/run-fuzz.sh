#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the QMP stream fuzz target for a bounded time.
#
# Usage: tests/qmp/run-fuzz.sh BUILD_DIR SECONDS
#
# BUILD_DIR must be configured with clang (tests/run-fuzzer.sh), e.g.
#   CC=clang meson setup build-fuzz -Dguest=disabled \
#       -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_coverage=true
#   ninja -C build-fuzz tests/qmp/fuzz-qmp-stream
# The seed corpus is made from tests/qmp/recordings (each recorded stream
# whole, and each message alone); what the fuzzer finds stays in
# BUILD_DIR/fuzz-qmp-stream-corpus. Exits non-zero on a crash, a leak or a
# sanitizer report; the reproducer is left in BUILD_DIR/fuzz-qmp-stream-artifacts.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
seeds=$1/fuzz-qmp-stream-seeds
rm -rf "$seeds"
mkdir -p "$seeds"
for rec in "$here"/recordings/*.jsonl; do
    base=$(basename "$rec" .jsonl)
    n=0
    # Recording lines are {"dir": "s2c", "msg": MSG}: keep MSG, as QEMU sent it.
    # The first byte of a seed picks the fuzzer's read size.
    { printf '\x07'; sed -n 's/^{"dir": "s2c", "msg": \(.*\)}$/\1\r/p' "$rec"; } \
        >"$seeds/$base-stream"
    while IFS= read -r msg; do
        n=$((n + 1))
        { printf '\x3f'; printf '%s\r\n' "$msg"; } >"$seeds/$base-$n"
    done < <(sed -n 's/^{"dir": "s2c", "msg": \(.*\)}$/\1/p' "$rec")
done

exec "$here/../run-fuzzer.sh" "$1" "$2" tests/qmp/fuzz-qmp-stream "$seeds" -max_len=131072 \
    -dict="$here/fuzz-qmp-stream.dict"
