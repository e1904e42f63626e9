# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by record-qmp.sh and record-hints.sh (sourced, not run): QMP
# sessions through socat whose every message is appended to a recording,
# and cleanup of every process started and of the temporary directory.
#
# Before sourcing, set `me` (the script's name, for messages). Provides
# $tmp (a private directory), the array pids (PIDs to kill on exit) and:
#   wait_socket NAME LOG      wait for $tmp/NAME.sock (the QEMU's QMP socket)
#   open_session SOCK FILE    connect, record the greeting into FILE
#   cmd JSON-WITHOUT-ID       send a command, record everything up to its reply
#   drain SECONDS             record what QEMU sends for SECONDS
#   poll_migrate              query-migrate until the migration is over
#   close_session
# The recording format is described in record-qmp.sh.

tmp=$(mktemp -d "/tmp/fpb-$me.XXXXXX")
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_socket NAME LOG: the QEMU started last must create $tmp/NAME.sock.
wait_socket() {
    for _ in $(seq 100); do
        [ -S "$tmp/$1.sock" ] && return 0
        sleep 0.05
    done
    echo "$me: QEMU '$1' did not create its socket" >&2
    cat "$2" >&2
    exit 1
}

# Connection state of the current session: fds to and from socat, its PID,
# the recording file.
serial=0
sess_in="" sess_out="" sess_pid="" rec=""

# open_session SOCK FILE: connects through socat and two FIFOs, records the
# greeting.
open_session() {
    local fifo
    fifo=$tmp/fifo.$RANDOM$RANDOM
    mkfifo "$fifo.in" "$fifo.out"
    socat -t 5 - "UNIX-CONNECT:$1" <"$fifo.in" >"$fifo.out" &
    sess_pid=$!
    pids+=("$sess_pid")
    exec {sess_out}>"$fifo.in" {sess_in}<"$fifo.out"
    rec=$2
    : >"$rec"
    read_message 5
}

close_session() {
    exec {sess_out}>&-
    drain 0.3
    exec {sess_in}<&-
    wait "$sess_pid" 2>/dev/null || true
}

# read_message TIMEOUT: reads one message, records it, leaves it in $line.
read_message() {
    line=""
    IFS= read -r -t "$1" line <&"$sess_in" || return 1
    line=${line%$'\r'}
    printf '{"dir": "s2c", "msg": %s}\n' "$line" >>"$rec"
}

# drain SECONDS: records whatever QEMU sends (events) for SECONDS.
drain() {
    while read_message "$1"; do :; done
}

# cmd JSON-WITHOUT-ID: sends a command, records everything up to its reply.
cmd() {
    local req
    serial=$((serial + 1))
    req="${1%\}}, \"id\": \"rec-$serial\"}"
    printf '{"dir": "c2s", "msg": %s}\n' "$req" >>"$rec"
    printf '%s\n' "$req" >&"$sess_out"
    while read_message 30; do
        # QEMU puts "id" first in error replies and "timestamp" first in
        # events, so tell them apart by what is not an event.
        case $line in
        '{"timestamp"'* | *'"event": "'*'"timestamp"'*) ;;
        *) return 0 ;;
        esac
    done
    echo "$me: no reply to $req" >&2
    exit 1
}

# poll_migrate: query-migrate until the migration is over.
poll_migrate() {
    for _ in $(seq 600); do
        cmd '{"execute": "query-migrate"}'
        case $line in
        *'"completed"'* | *'"failed"'* | *'"cancelled"'*) return 0 ;;
        esac
        sleep 0.1
    done
    echo "$me: migration did not finish" >&2
    exit 1
}
