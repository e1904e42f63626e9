#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the QMP fuzz targets, each for a bounded time, one after the other:
# fuzz-qmp-stream (the stream parser and every message parser) and
# fuzz-qmp-client (the client's state machine against a fake server's
# bytes on a socket).
#
# Usage: tests/qmp/run-fuzz.sh BUILD_DIR SECONDS [TARGET] [LIBFUZZER_OPTION...]
#
# TARGET (fuzz-qmp-stream or fuzz-qmp-client) runs that one only.
# BUILD_DIR must be configured with clang (tests/run-fuzzer.sh), e.g.
#   CC=clang meson setup build-fuzz -Dguest=disabled \
#       -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_coverage=true
#   ninja -C build-fuzz tests/qmp/fuzz-qmp-stream tests/qmp/fuzz-qmp-client
# The stream's seed corpus is made from tests/qmp/recordings (each recorded
# stream whole, and each message alone); the client's is
# fuzz-corpus-client/. What the fuzzers find stays in
# BUILD_DIR/NAME-corpus. Exits non-zero on a crash, a leak or a sanitizer
# report (the reproducer is left in BUILD_DIR/NAME-artifacts); ends with
# one summary line per target.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET] [LIBFUZZER_OPTION...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$1
seconds=$2
shift 2
targets=(fuzz-qmp-stream fuzz-qmp-client)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    targets=("$1")
    shift
fi

stream_seeds() {
    local seeds=$1 rec base n msg
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
}

rc=0
summary=()
for name in "${targets[@]}"; do
    seeds=$build/$name-seeds
    rm -rf "$seeds"
    case "$name" in
        fuzz-qmp-stream) mkdir -p "$seeds" && stream_seeds "$seeds"; max_len=131072 ;;
        fuzz-qmp-client) cp -r "$here/fuzz-corpus-client" "$seeds"; max_len=32768 ;;
        *) echo "run-fuzz: unknown target '$name'" >&2; exit 2 ;;
    esac
    "$here/../run-fuzzer.sh" "$build" "$seconds" "tests/qmp/$name" "$seeds" \
        -max_len=$max_len -dict="$here/$name.dict" "$@" || rc=1
    summary+=("$(cat "$build/$name.summary" 2>/dev/null)")
done
[ ${#targets[@]} -gt 1 ] && printf '%s\n' "${summary[@]}"
exit "$rc"
