# SPDX-License-Identifier: GPL-2.0-or-later
# TAP output for the libvirt tests (sourced): ok, not_ok, check, note;
# $n counts the tests, $failed the failures.
n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
}
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
note() { echo "# $*"; }
