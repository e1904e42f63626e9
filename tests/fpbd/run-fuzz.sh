#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the control-socket fuzz target (fuzz-fpbd-request.c) for a bounded
# time.
#
# Usage: tests/fpbd/run-fuzz.sh BUILD_DIR SECONDS [LIBFUZZER_OPTION...]
#
# BUILD_DIR as for tests/run-fuzzer.sh (clang, ASan+UBSan,
# -Dfuzz_coverage=true). The seeds are fuzz-corpus-request/ (first byte:
# the daemon's side, see the target); corpus and reproducers stay in
# BUILD_DIR/fuzz-fpbd-request-{corpus,artifacts}.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [LIBFUZZER_OPTION...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$1
seconds=$2
shift 2
seeds=$build/fuzz-fpbd-request-seeds
rm -rf "$seeds"
cp -r "$here/fuzz-corpus-request" "$seeds"
exec "$here/../run-fuzzer.sh" "$build" "$seconds" tests/fpbd/fuzz-fpbd-request "$seeds" \
    -max_len=2048 -dict="$here/fuzz-fpbd-request.dict" "$@"
