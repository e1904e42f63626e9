#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fpbd and fpb-hook without libvirtd: a bad fpbd.conf is an error with the
# line, the control socket (mode, ping, status, unknown op, migrate
# requests checked and a refused one answered), fpb-hook
# within 1 s whether fpbd is up, down or hung, never writing to stdout,
# and fpbd stopping on SIGTERM. TAP on stdout.
# Environment: FPBD, FPB_HOOK, FPBCTL.
set -u
fpbd=${FPBD:?FPBD is not set}
fpbctl=${FPBCTL:?FPBCTL is not set}
hook=${FPB_HOOK:?FPB_HOOK is not set}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

if ! command -v socat >/dev/null; then
    echo "1..0 # SKIP needs socat"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-fpbd-test.XXXXXX")
pid=
hung=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    [ -n "$hung" ] && kill "$hung" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

sock=$work/fpbd.sock
cat > "$work/fpbd.conf" <<CONF
[daemon]
uri=qemu+unix:///system?socket=$work/no-libvirtd
socket=$sock
journal=$work/journal.db
reconnect-seconds=1
CONF
printf '[daemon]\nuri=x\n[policy]\nfloor=lots\n' > "$work/bad.conf"
"$fpbd" --config "$work/bad.conf" > /dev/null 2> "$work/bad.err"
check "bad config: exit 1" [ $? = 1 ]
check "bad config: file, line and reason" \
    grep -q "bad.conf:4: floor: 'lots' is not a size" "$work/bad.err"
"$fpbd" --config "$work/fpbd.conf" --check-config > "$work/check.out"
check "--check-config prints the effective values" grep -q "^record-observed=true$" "$work/check.out"

"$fpbd" --config "$work/fpbd.conf" > "$work/fpbd.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "control socket created" [ -S "$sock" ]
check "control socket mode 0600" [ "$(stat -c %a "$sock")" = 600 ]
rq() { echo "$1" | socat -t 2 - "UNIX-CONNECT:$sock"; }
check "ping" sh -c "echo '{\"op\":\"ping\"}' | socat -t 2 - UNIX-CONNECT:$sock | grep -q '\"ok\":true'"
rq '{"op":"status"}' > "$work/status.json"
check "status without libvirtd: not connected, still serving" grep -q '"connected":false' "$work/status.json"
check "unknown op is an error reply" sh -c "echo '{\"op\":\"x\"}' | socat -t 2 - UNIX-CONNECT:$sock | grep -q '\"ok\":false'"
check "malformed request is an error reply" sh -c "echo 'nope' | socat -t 2 - UNIX-CONNECT:$sock | grep -q 'not a JSON object'"

"$fpbctl" status --socket "$sock" > "$work/fpbctl-status.out" 2>&1
check "fpbctl status: exit 0" [ $? = 0 ]
check "fpbctl status: shows the libvirt state" grep -q "not connected, retrying" "$work/fpbctl-status.out"
"$fpbctl" status --socket "$work/nobody.sock" > /dev/null 2>&1
check "fpbctl status, fpbd down: exit 1" [ $? = 1 ]

# migrate requests: checked before anything runs; a libvirt that is not
# there is a refused migration with a journal row, answered after the
# worker thread ran
rq '{"op":"migrate","domain":"vm1"}' > "$work/m-nodest.json"
check "migrate without dest: error reply" grep -q "'domain' and 'dest'" "$work/m-nodest.json"
rq '{"op":"migrate","domain":"vm1","dest":"x","options":{"mode":"sideways"}}' > "$work/m-bad.json"
check "migrate with a bad mode: error names VM and value" grep -q "VM 'vm1': migrate: .*sideways" "$work/m-bad.json"
rq '{"op":"migrate","domain":"vm1","dest":"x","options":{"colour":"red"}}' > "$work/m-unk.json"
check "migrate with an unknown option: error reply" grep -q "unknown option 'colour'" "$work/m-unk.json"
"$fpbctl" migrate vm1 "qemu+unix:///system?socket=$work/nowhere" --via-fpbd --socket "$sock" \
    --mode none --json > "$work/via.json" 2> "$work/via.err"
check "fpbctl migrate --via-fpbd, libvirt unreachable: exit 2" [ $? = 2 ]
check "fpbctl migrate --via-fpbd: fpbd's refusal names the VM" grep -q "VM 'vm1'" "$work/via.err"
check "fpbctl migrate --via-fpbd: the row is printed" grep -q '"phase":"refused"' "$work/via.json"
"$fpbctl" history --db "$work/journal.db" --json > "$work/hist.json" 2>&1
check "the refused row is in fpbd's journal" grep -q '"requested_mode":"none"' "$work/hist.json"
"$fpbctl" migrate vm1 x --via-fpbd --socket "$sock" --db "$work/other.db" > /dev/null 2>&1
check "fpbctl migrate --via-fpbd --db: usage error" [ $? = 2 ]
"$fpbctl" migrate vm1 x --via-fpbd --socket "$work/nobody.sock" > /dev/null 2> "$work/via-down.err"
check "fpbctl migrate --via-fpbd, fpbd down: exit 1" [ $? = 1 ]
check "fpbctl migrate --via-fpbd, fpbd down: says where" grep -q "nobody.sock" "$work/via-down.err"

# ms since the epoch, for durations
now_ms() { date +%s%3N; }
run_hook() { # run_hook SOCKET: sets hook_rc, hook_ms; stdout to $work/hook.out
    t0=$(now_ms)
    echo "<domain><name>vm1</name></domain>" |
        "$hook" --socket "$1" vm1 migrate begin - > "$work/hook.out" 2> "$work/hook.err"
    hook_rc=$?
    hook_ms=$(($(now_ms) - t0))
}
run_hook "$sock"
check "hook, fpbd up: exit 0" [ $hook_rc = 0 ]
check "hook, fpbd up: told fpbd" grep -q "told fpbd" "$work/hook.err"
check "hook, fpbd up: nothing on stdout" [ ! -s "$work/hook.out" ]
check "fpbd counted the hook" sh -c "echo '{\"op\":\"status\"}' | socat -t 2 - UNIX-CONNECT:$sock | grep -q '\"hooks\":1'"
run_hook "$work/nobody.sock"
check "hook, fpbd down: exit 0" [ $hook_rc = 0 ]
check "hook, fpbd down: within 1 s ($hook_ms ms)" [ $hook_ms -lt 1000 ]
# what starting the binary costs here (a sanitizer build: ~300 ms), which
# the hook's own 700 ms budget cannot include
startup_ms=$hook_ms
socat "UNIX-LISTEN:$work/hung.sock,fork" SYSTEM:'sleep 10' 2>/dev/null &
hung=$!
i=0
while [ ! -S "$work/hung.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
run_hook "$work/hung.sock"
check "hook, fpbd hung: exit 0" [ $hook_rc = 0 ]
check "hook, fpbd hung: within 1 s after start-up ($hook_ms ms, start-up $startup_ms ms)" \
    [ $((hook_ms - startup_ms)) -lt 1000 ]
check "hook, fpbd hung: says so" grep -q "no answer from fpbd" "$work/hook.err"
"$hook" --socket "$sock" < /dev/null > "$work/hook.out" 2>&1
check "hook, bad arguments: exit 0" [ $? = 0 ]

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "SIGTERM: fpbd exits 0" [ $rc = 0 ]
check "SIGTERM: socket removed" [ ! -e "$sock" ]
echo "1..$n"
[ $failed = 0 ]
