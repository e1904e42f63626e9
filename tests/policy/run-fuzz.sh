#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the facts-file fuzz target for a bounded time.
#
# Usage: tests/policy/run-fuzz.sh BUILD_DIR SECONDS
#
# BUILD_DIR must be configured with clang (as for tests/qmp/run-fuzz.sh).
# The seed corpus is the golden facts files (tests/policy/golden/*.json);
# what the fuzzer finds stays in BUILD_DIR/fuzz-facts-json-corpus. Exits
# non-zero on a crash, a broken property (abort), a leak or a sanitizer
# report; the reproducer is left in BUILD_DIR/fuzz-facts-json-artifacts.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$build/tests/policy/fuzz-facts-json

if [ ! -x "$fuzzer" ]; then
    ninja -C "$build" tests/policy/fuzz-facts-json >/dev/null 2>&1 || true
fi
if [ ! -x "$fuzzer" ]; then
    echo "run-fuzz: $fuzzer not built (configure BUILD_DIR with CC=clang)" >&2
    exit 1
fi

seeds=$build/fuzz-facts-json-seeds
corpus=$build/fuzz-facts-json-corpus
artifacts=$build/fuzz-facts-json-artifacts
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
cp "$here"/golden/*.json "$seeds/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds"
