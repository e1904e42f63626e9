#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Records what fpb's QEMU patch set adds to QMP (free-page-hint switch, hint
# statistics, the balloon's guest-driver property) into recordings/hints-*.jsonl,
# for test-qmp-hints (the format is record-qmp.sh's):
#
#   hints-fpb.jsonl          fpb's QEMU, a test-bed guest with fpb_balloon: the
#                            schema, the capability, guest-driver before the
#                            driver loaded and after, a migration with hints
#                            and its statistics, then the switch off
#   hints-fpb-stock.jsonl    fpb's QEMU, a guest with Linux's virtio_balloon
#   hints-debian.jsonl       Debian's QEMU (no guest): what it answers instead
#
# query-qmp-schema replies are cut down to the entities reachable from the
# commands fpb looks at (migrate-set-capabilities, x-fpb-query-hint-stats):
# the full reply is ~200 KB. Everything else is as QEMU sent it.
#
# Usage: tests/qmp/record-hints.sh BUILD_DIR [OUTPUT_DIR]
#   BUILD_DIR: a build configured with -Dguest=enabled (its tests/guest has
#   the kernel, the initramfs and fpb_balloon.ko).
# Needs fpb's QEMU (FPB_QEMU, default /usr/lib/fpb/qemu/bin/qemu-system-x86_64),
# Debian's (DEBIAN_QEMU, default /usr/bin/qemu-system-x86_64), socat and
# python3. Kills every QEMU it started by PID and removes its directory on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: record-hints.sh BUILD_DIR [OUTPUT_DIR]}
out=${2:-$here/recordings}
guest=$build/tests/guest
fpb_qemu=${FPB_QEMU:-/usr/lib/fpb/qemu/bin/qemu-system-x86_64}
debian_qemu=${DEBIAN_QEMU:-/usr/bin/qemu-system-x86_64}
me=record-hints
# shellcheck source=record-lib.sh
. "$here/record-lib.sh"

grep -qx fpb_balloon "$guest/guest-modules" ||
    { echo "$me: $guest has no fpb_balloon.ko" >&2; exit 1; }

guest_pids=()

# start_guest NAME QEMU DRIVER [EXTRA ARGS...]: a 512 MiB test-bed guest
# (TCG) that wrote and freed 256 MiB and holds 32 MiB.
start_guest() {
    local name=$1 qemu=$2 driver=$3
    shift 3
    "$qemu" -name "fpb-$name" -accel tcg -cpu max -machine q35 -smp 1 -nodefaults \
        -display none -no-reboot -m 512 -object iothread,id=io0 \
        -kernel "$guest/vmlinuz" -initrd "$guest/initrd.img" \
        -append "console=ttyS0 quiet fpb.balloon=$driver fpbw.free=256 fpbw.hold=32" \
        -chardev "file,id=ser0,path=$tmp/$name.serial" -serial chardev:ser0 \
        -qmp "unix:$tmp/$name.sock,server=on,wait=off" \
        -device virtio-balloon-pci,id=balloon0,free-page-hint=on,iothread=io0 \
        "$@" >"$tmp/$name.log" 2>&1 &
    pids+=("$!")
    guest_pids+=("$!")
    wait_socket "$name" "$tmp/$name.log"
}

# stop_guests: kills the guests started so far (the 2 cores are shared).
stop_guests() {
    local pid
    for pid in "${guest_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    guest_pids=()
}

# wait_ready NAME: the workload is set up (and the balloon driver loaded).
wait_ready() {
    for _ in $(seq 600); do
        grep -q '^fpbw: ready' "$tmp/$1.serial" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "$me: guest '$1' not ready in 300 s" >&2
    tail -n 20 "$tmp/$1.serial" >&2
    exit 1
}

# trim_schema FILE: keeps, of each query-qmp-schema reply, the entities
# reachable from the commands fpb follows.
trim_schema() {
    python3 - "$1" <<'PY'
import json, sys
path = sys.argv[1]
roots = ["migrate-set-capabilities", "x-fpb-query-hint-stats"]
lines = open(path).read().splitlines()
def trim(schema):
    by_name = {e["name"]: e for e in schema}
    keep, todo = set(), [r for r in roots if r in by_name]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        def walk(v):
            if isinstance(v, str) and v in by_name and v not in keep:
                todo.append(v)
            elif isinstance(v, list):
                for x in v: walk(x)
            elif isinstance(v, dict):
                for k, x in v.items():
                    if k != "name": walk(x)
        walk(by_name[name])
    return [e for e in schema if e["name"] in keep]
with open(path, "w") as f:
    for line in lines:
        rec = json.loads(line)
        msg = rec["msg"]
        if rec["dir"] == "s2c" and isinstance(msg.get("return"), list) and \
                msg["return"] and isinstance(msg["return"][0], dict) and \
                "meta-type" in msg["return"][0]:
            msg["return"] = trim(msg["return"])
        f.write(json.dumps(rec) + "\n")
PY
}

bal=/machine/peripheral/balloon0
caps='{"execute": "qmp_capabilities"}'
get_driver="{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"guest-driver\"}}"
hints_off='{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "x-fpb-free-page-hints", "state": false}]}}'
mkdir -p "$out"

# fpb's QEMU and fpb's driver: guest-driver is "none" until the driver binds.
# Every QEMU starts before the session that needs it opens: a QEMU started
# later would inherit the session's pipe and keep socat from ever ending.
start_guest src "$fpb_qemu" fpb
start_guest dst "$fpb_qemu" fpb -incoming "unix:$tmp/migrate.sock"
open_session "$tmp/src.sock" "$out/hints-fpb.jsonl"
cmd "$caps"
cmd "$get_driver"
cmd '{"execute": "query-qmp-schema"}'
cmd '{"execute": "query-migrate-capabilities"}'
cmd '{"execute": "x-fpb-query-hint-stats"}'
wait_ready src
cmd "$get_driver"
wait_socket migrate "$tmp/dst.log"
cmd "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$tmp/migrate.sock\"}}"
poll_migrate
cmd '{"execute": "x-fpb-query-hint-stats"}'
cmd "$hints_off"
cmd '{"execute": "query-migrate-capabilities"}'
close_session
stop_guests
trim_schema "$out/hints-fpb.jsonl"

# fpb's QEMU, Linux's driver.
start_guest stock "$fpb_qemu" stock
wait_ready stock
open_session "$tmp/stock.sock" "$out/hints-fpb-stock.jsonl"
cmd "$caps"
cmd "$get_driver"
close_session
stop_guests

# Debian's QEMU: no such capability, command or property.
"$debian_qemu" -accel tcg -machine q35 -nodefaults -display none -m 128 -name fpb-debian \
    -qmp "unix:$tmp/debian.sock,server=on,wait=off" -object iothread,id=io0 \
    -device virtio-balloon-pci,id=balloon0,free-page-hint=on,iothread=io0 \
    >"$tmp/debian.log" 2>&1 &
pids+=("$!")
wait_socket debian "$tmp/debian.log"
open_session "$tmp/debian.sock" "$out/hints-debian.jsonl"
cmd "$caps"
cmd '{"execute": "query-qmp-schema"}'
cmd '{"execute": "query-migrate-capabilities"}'
cmd '{"execute": "x-fpb-query-hint-stats"}'
cmd "$get_driver"
cmd "$hints_off"
close_session
trim_schema "$out/hints-debian.jsonl"

echo "$me: wrote hints-fpb.jsonl, hints-fpb-stock.jsonl, hints-debian.jsonl to $out"
