#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one libFuzzer target for a bounded time: what the targets'
# run-fuzz.sh scripts share once they have made their seeds.
#
# Usage: tests/run-fuzzer.sh BUILD_DIR SECONDS TARGET SEEDS [LIBFUZZER_OPTION...]
#
# TARGET is the target's path under BUILD_DIR (e.g. tests/qmp/fuzz-qmp-stream),
# built if missing; BUILD_DIR must be configured with clang (ASan+UBSan,
# -Dfuzz_coverage=true). What the fuzzer finds stays in
# BUILD_DIR/NAME-corpus, a reproducer in BUILD_DIR/NAME-artifacts (NAME: the
# target's file name), its output in BUILD_DIR/NAME.out. The last line is a
# summary (also in BUILD_DIR/NAME.summary):
#   run-fuzzer: NAME: passed|FAILED: N executions (R/s), cov C ft F, corpus S -> E files
# Exits non-zero on a crash, an abort, a leak or a sanitizer report.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 BUILD_DIR SECONDS TARGET SEEDS [LIBFUZZER_OPTION...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
target=$3
seeds=$4
shift 4
name=$(basename "$target")
fuzzer=$build/$target

if [ ! -x "$fuzzer" ]; then
    ninja -C "$build" "$target" >/dev/null 2>&1 || true
fi
if [ ! -x "$fuzzer" ]; then
    echo "run-fuzz: $fuzzer not built (configure BUILD_DIR with CC=clang)" >&2
    exit 1
fi
corpus=$build/$name-corpus
artifacts=$build/$name-artifacts
mkdir -p "$corpus" "$artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
before=$(find "$corpus" -type f | wc -l)
out=$build/$name.out
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$corpus" "$seeds" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}

final_stat() { sed -n "s/^stat::$1: *//p" "$out" | tail -n 1; }
last=$(grep -a -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$out" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
echo "run-fuzzer: $name: $([ "$rc" = 0 ] && echo passed || echo FAILED): $(final_stat number_of_executed_units)" \
    "executions ($(final_stat average_exec_per_sec)/s), cov ${cov:-?} ft ${ft:-?}," \
    "corpus $before -> $(find "$corpus" -type f | wc -l) files" | tee "$build/$name.summary"
exit "$rc"
