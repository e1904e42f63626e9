#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Records QMP exchanges with a real QEMU into recordings/*.jsonl, the
# transcripts the fake QMP server of the unit tests replays.
#
# Usage: tests/qmp/record-qmp.sh [OUTPUT_DIR]   (default: next to this script)
#
# Each line of a recording is one message: {"dir": "c2s", "msg": REQUEST} for
# what the client sent, {"dir": "s2c", "msg": MESSAGE} for what QEMU sent
# (greeting, replies, events), in the order they crossed the socket. Requests
# carry ids "rec-N"; the replayer substitutes the client's own ids.
#
# Needs qemu-system-x86_64 and socat. Starts at most two QEMUs (source and
# migration destination, 128 MiB each, no guest kernel: the firmware runs),
# kills them by PID and removes its temporary directory on every exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/recordings}
qemu=${QEMU:-qemu-system-x86_64}
me=record-qmp
# shellcheck source=record-lib.sh
. "$here/record-lib.sh"

# start_qemu NAME [EXTRA ARGS...]: a QEMU with a free-page-hint balloon whose
# QMP socket is $tmp/NAME.sock.
start_qemu() {
    local name=$1
    shift
    "$qemu" -accel tcg -machine q35 -nodefaults -display none -m 128 -name "fpb-$name" \
        -qmp "unix:$tmp/$name.sock,server=on,wait=off" \
        -object iothread,id=io0 \
        -device virtio-balloon-pci,id=balloon0,free-page-hint=on,iothread=io0 \
        "$@" >"$tmp/$name.log" 2>&1 &
    pids+=("$!")
    wait_socket "$name" "$tmp/$name.log"
}

bal=/machine/peripheral/balloon0
caps='{"execute": "qmp_capabilities"}'

mkdir -p "$out"
start_qemu src

# Every query fpb makes, on a VM without a guest kernel.
open_session "$tmp/src.sock" "$out/queries.jsonl"
cmd "$caps"
cmd '{"execute": "query-status"}'
cmd '{"execute": "query-version"}'
cmd '{"execute": "query-name"}'
cmd '{"execute": "query-balloon"}'
cmd '{"execute": "x-query-virtio"}'
cmd "{\"execute\": \"x-query-virtio-status\", \"arguments\": {\"path\": \"$bal/virtio-backend\"}}"
cmd "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"guest-stats\"}}"
cmd "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"$bal\", \"property\": \"guest-stats-polling-interval\", \"value\": 2}}"
cmd "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"guest-stats-polling-interval\"}}"
cmd "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"free-page-hint\"}}"
cmd "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"free-page-reporting\"}}"
cmd '{"execute": "query-migrate-parameters"}'
cmd '{"execute": "query-migrate"}'
cmd '{"execute": "query-dirty-rate"}'
close_session

# Error replies.
open_session "$tmp/src.sock" "$out/errors.jsonl"
cmd "$caps"
cmd '{"execute": "no-such-command"}'
cmd '{"execute": "qom-get", "arguments": {"path": "/machine/peripheral/nope", "property": "guest-stats"}}'
cmd "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"$bal\", \"property\": \"no-such-property\"}}"
cmd "{\"execute\": \"qom-set\", \"arguments\": {\"path\": \"$bal\", \"property\": \"guest-stats-polling-interval\", \"value\": \"often\"}}"
cmd '{"execute": "x-query-virtio-status", "arguments": {"path": "/machine/peripheral/nope"}}'
cmd '{"execute": "balloon", "arguments": {"value": 0}}'
cmd '{"execute": "calc-dirty-rate", "arguments": {"calc-time": 0}}'
cmd '{"execute": "migrate-incoming", "arguments": {"uri": "unix:/nonexistent"}}'
cmd '{"execute": "migrate-set-parameters", "arguments": {"downtime-limit": 99999999}}'
cmd '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "no-such-cap", "state": true}]}}'
cmd '{"execute": "query-status", "arguments": {"unexpected": 1}}'
close_session

# Events between commands and replies: stop/cont, a balloon request and a
# dirty-rate measurement (1 s).
open_session "$tmp/src.sock" "$out/events.jsonl"
cmd "$caps"
cmd '{"execute": "stop"}'
cmd '{"execute": "query-status"}'
cmd '{"execute": "cont"}'
cmd '{"execute": "balloon", "arguments": {"value": 67108864}}'
cmd '{"execute": "query-balloon"}'
cmd '{"execute": "calc-dirty-rate", "arguments": {"calc-time": 1}}'
cmd '{"execute": "query-dirty-rate"}'
sleep 1.5
cmd '{"execute": "query-dirty-rate"}'
close_session

# A migration into a second QEMU, recorded on both sides.
start_qemu dst -incoming defer
open_session "$tmp/dst.sock" "$out/incoming.jsonl"
cmd "$caps"
cmd '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}'
cmd "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"unix:$tmp/migrate.sock\"}}"
dst=("$sess_in" "$sess_out" "$sess_pid" "$rec")

open_session "$tmp/src.sock" "$out/migration.jsonl"
cmd "$caps"
cmd '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}'
cmd '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 1073741824, "downtime-limit": 500}}'
cmd '{"execute": "query-migrate-parameters"}'
cmd "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$tmp/migrate.sock\"}}"
poll_migrate
cmd '{"execute": "query-status"}'
cmd '{"execute": "migrate_cancel"}'
close_session

# Back to the destination: its events, then its view of the migration.
sess_in=${dst[0]} sess_out=${dst[1]} sess_pid=${dst[2]} rec=${dst[3]}
drain 1
cmd '{"execute": "query-migrate"}'
cmd '{"execute": "query-status"}'
# quit: the reply, a SHUTDOWN event, then EOF.
cmd '{"execute": "quit"}'
drain 1
close_session

echo "record-qmp: wrote $(ls "$out"/*.jsonl | wc -l) recordings to $out"
