#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the facts-file fuzz target for a bounded time.
#
# Usage: tests/policy/run-fuzz.sh BUILD_DIR SECONDS [LIBFUZZER_OPTION...]
#
# BUILD_DIR as for tests/run-fuzzer.sh (clang, ASan+UBSan,
# -Dfuzz_coverage=true). The seed corpus is the golden facts files
# (tests/policy/golden/*.json); corpus and reproducers stay in
# BUILD_DIR/fuzz-facts-json-{corpus,artifacts}.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [LIBFUZZER_OPTION...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$1
seconds=$2
shift 2
seeds=$build/fuzz-facts-json-seeds
rm -rf "$seeds"
mkdir -p "$seeds"
cp "$here"/golden/*.json "$seeds/"
exec "$here/../run-fuzzer.sh" "$build" "$seconds" tests/policy/fuzz-facts-json "$seeds" \
    -max_len=65536 "$@"
