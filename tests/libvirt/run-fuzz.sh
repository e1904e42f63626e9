#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the fuzz targets of what operators write, each for a bounded time:
# fuzz-conf-daemon (fpbd.conf) and fuzz-policy-xml (the per-VM policy
# metadata), one after the other.
#
# Usage: tests/libvirt/run-fuzz.sh BUILD_DIR SECONDS [TARGET] [LIBFUZZER_OPTION...]
#
# TARGET (fuzz-conf-daemon or fuzz-policy-xml) runs that one only.
# BUILD_DIR as for tests/run-fuzzer.sh (clang, ASan+UBSan,
# -Dfuzz_coverage=true). The seeds are fuzz-corpus-conf-daemon/ and
# fuzz-corpus-policy-xml/; corpus and reproducers stay in
# BUILD_DIR/NAME-{corpus,artifacts}. Ends with one summary line per
# target; exits non-zero if any target failed.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET] [LIBFUZZER_OPTION...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$1
seconds=$2
shift 2
targets=(fuzz-conf-daemon fuzz-policy-xml)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    targets=("$1")
    shift
fi

rc=0
summary=()
for name in "${targets[@]}"; do
    case "$name" in
        fuzz-conf-daemon) seeds_dir=fuzz-corpus-conf-daemon ;;
        fuzz-policy-xml) seeds_dir=fuzz-corpus-policy-xml ;;
        *) echo "run-fuzz: unknown target '$name'" >&2; exit 2 ;;
    esac
    seeds=$build/$name-seeds
    rm -rf "$seeds"
    cp -r "$here/$seeds_dir" "$seeds"
    "$here/../run-fuzzer.sh" "$build" "$seconds" "tests/libvirt/$name" "$seeds" \
        -max_len=4096 -dict="$here/$name.dict" "$@" || rc=1
    summary+=("$(cat "$build/$name.summary" 2>/dev/null)")
done
[ ${#targets[@]} -gt 1 ] && printf '%s\n' "${summary[@]}"
exit "$rc"
