#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The include rules of docs/architecture.md, checked: every folder with a
# README.md that has a "May include:" line may include headers of its own
# and of the folders listed there, nothing else; and the folders' rules
# form no cycle. A header is owned by the folder that holds it; includes
# of headers outside the tree (system, generated) are not checked.
#
#   check-includes.sh [ROOT]        check the tree at ROOT (default: ../..)
#   check-includes.sh --self-test   also prove the check fails on a backend
#                                   that includes the other backend, and on
#                                   policy/ including host code
set -eu

here=$(cd "$(dirname "$0")" && pwd)

rules_of() { # FOLDER -> the folders it may include, one per line
    sed -n 's/^May include: *//p' "$1/README.md" | tr ',' '\n' |
        sed 's/^ *//; s/ *$//; s/^(none)$//' | sed '/^$/d'
}

index_headers() { # ROOT -> "header folder" lines for every header of the tree
    (cd "$1" && find . -path './build*' -prune -o -path ./tests -prune -o -path ./.git -prune -o \
        -name '*.h' -type f -print) | sed 's|^\./||' | awk '{ n = split($0, p, "/"); d = $0;
        sub("/[^/]*$", "", d); print p[n], d }'
}

check_tree() { # ROOT -> 0 when every rule holds
    root=$1
    bad=0
    folders=$(cd "$root" && find . -path ./build -prune -o -path ./tests -prune -o \
        -name README.md -print | xargs grep -l '^May include:' | sed 's|^\./||; s|/README.md$||' | sort)
    [ -n "$folders" ] || { echo "check-includes: no folder with a 'May include:' rule under $root"; return 1; }
    edges=$(mktemp)
    index=$(mktemp)
    rules=$(mktemp)
    index_headers "$root" >"$index"
    for f in $folders; do
        allowed=$(rules_of "$root/$f")
        for a in $allowed; do
            [ -d "$root/$a" ] || { echo "$f/README.md: 'May include: $a': no such folder"; bad=1; }
            echo "$a $f" >>"$edges"
        done
        echo "$f $f" >>"$edges"
        echo "$allowed" | sed "/^\$/d; s|^|allow $f |" >>"$rules"
        (cd "$root" && grep -H '^#include "' "$f"/*.c "$f"/*.h 2>/dev/null) |
            sed 's|^\([^:]*\):#include "\([^"]*\)".*|use '"$f"' \1 \2|' >>"$rules"
    done
    # one pass: a use of a header owned elsewhere must be allowed
    awk 'FNR == NR { owner[$1] = $2; next }
         $1 == "allow" { ok[$2 " " $3] = 1; next }
         $1 == "use" { n = split($4, p, "/"); o = owner[p[n]];
             if (o != "" && o != $2 && !(($2 " " o) in ok)) {
                 printf "%s: includes \"%s\" of %s/, which %s/README.md does not allow\n", $3, $4, o, $2
                 bad = 1 } }
         END { exit bad }' "$index" "$rules" || bad=1
    if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
        echo "check-includes: the folders' rules form a cycle:"; cat "$edges.err"
        bad=1
    fi
    rm -f "$edges" "$edges.err" "$index" "$rules"
    return $bad
}

if [ "${1:-}" = "--self-test" ]; then
    root=$(cd "$here/../.." && pwd)
    check_tree "$root" || exit 1
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$root" && find . -path './build*' -prune -o -path ./.git -prune -o -path ./tests -prune -o \
        \( -name '*.[ch]' -o -name README.md \) -print | tar -cf - -T -) | tar -xf - -C "$tmp"
    echo '#include "fpb-backend-libvirt.h"' >>"$tmp/host-plugin/backend-qmp/fpb-backend-qmp.c"
    if check_tree "$tmp" >/dev/null; then
        echo "self-test: a QMP backend including the libvirt backend was not caught"; exit 1
    fi
    sed -i '$d' "$tmp/host-plugin/backend-qmp/fpb-backend-qmp.c"
    echo '#include "fpb-journal.h"' >>"$tmp/policy/fpb-cost-model.c"
    if check_tree "$tmp" >/dev/null; then
        echo "self-test: policy/ including host code was not caught"; exit 1
    fi
    echo "check-includes: rules hold; a backend including the other and policy/ including host code are caught"
    exit 0
fi
check_tree "$(cd "${1:-$here/../..}" && pwd)"
