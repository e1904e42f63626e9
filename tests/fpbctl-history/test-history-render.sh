#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fpbctl history --svg/--html on a hand-made journal (history-make-journal):
# the files are written whole (no temporary left), nothing is written when
# there are no rows, and headless Chromium renders the page to a PNG that
# shows every mode's colour (check-png.py). Needs chromium (Debian's
# package; scripts/install-deps installs it): without it the test fails.
# FPBCTL_HISTORY_PNG=PATH keeps the screenshot.
set -uo pipefail

here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=1
    fi
}

echo "1..8"

"$MAKE_JOURNAL" "$tmp/j.db" && "$MAKE_JOURNAL" "$tmp/empty.db" --empty
ok $? "hand-made journals"

"$FPBCTL" history --db "$tmp/j.db" --svg "$tmp/out/h.svg" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "cannot write '$tmp/out/h.svg'" "$tmp/err" && [ ! -e "$tmp/out" ]
ok $? "a FILE that cannot be written: exit 1 and a message (rc $rc)"

mkdir "$tmp/out"
"$FPBCTL" history --db "$tmp/j.db" --svg "$tmp/out/h.svg" --html "$tmp/out/h.html"
rc=$?
[ $rc = 0 ] && [ -s "$tmp/out/h.svg" ] && [ -s "$tmp/out/h.html" ] &&
    [ "$(ls "$tmp/out" | wc -l)" = 2 ] && grep -q '</html>' "$tmp/out/h.html"
ok $? "--svg and --html write both files whole, no temporary left (rc $rc)"

"$FPBCTL" history --db "$tmp/j.db" --vm 'db<&">' --svg - >"$tmp/stdout.svg"
rc=$?
[ $rc = 0 ] && head -1 "$tmp/stdout.svg" | grep -q '^<?xml' &&
    grep -q "VM &#39;db&lt;&amp;&quot;&gt;&#39;" "$tmp/stdout.svg"
ok $? "--svg - writes to stdout, the VM name escaped (rc $rc)"

"$FPBCTL" history --db "$tmp/empty.db" --svg "$tmp/none.svg" --html - >"$tmp/none.out" \
    2>"$tmp/none.err"
rc=$?
[ $rc = 0 ] && [ ! -e "$tmp/none.svg" ] && [ ! -s "$tmp/none.out" ] &&
    grep -q 'no migrations recorded' "$tmp/none.err"
ok $? "no rows: exit 0, a message, no file (rc $rc: $(cat "$tmp/none.err"))"

"$FPBCTL" history --db "$tmp/j.db" --json --svg "$tmp/x.svg" 2>/dev/null
rc=$?
[ $rc = 2 ] && [ ! -e "$tmp/x.svg" ]
ok $? "--json with --svg is a usage error (rc $rc)"

chromium=$(command -v chromium || command -v chromium-browser)
if [ -z "$chromium" ]; then
    echo "# chromium is missing: apt-get install chromium (scripts/install-deps)"
    ok 1 "headless chromium renders the page"
    ok 1 "the picture shows every mode"
    exit 1
fi
png=${FPBCTL_HISTORY_PNG:-$tmp/h.png}
HOME=$tmp timeout 60 "$chromium" --headless --disable-gpu --no-sandbox \
    --user-data-dir="$tmp/profile" --force-color-profile=srgb --hide-scrollbars \
    --screenshot="$png" --window-size=1200,800 "file://$tmp/out/h.html" \
    >"$tmp/chromium.log" 2>&1
rc=$?
[ $rc = 0 ] && [ -s "$png" ]
ok $? "headless chromium renders the page (rc $rc)" || sed 's/^/# /' "$tmp/chromium.log"

# The mode colours (fpbctl-history-svg.c): none, hint, balloon, hint+balloon.
python3 "$here/check-png.py" "$png" '#e69f00=1500' '#0072b2=1500' '#009e73=1500' \
    '#cc79a7=1500'
ok $? "the picture shows every mode"
exit $failed
