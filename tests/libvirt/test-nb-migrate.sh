#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Migrations over a real (virtual) network: the two libvirt hosts of
# lv-hosts.sh, each in its own network namespace, joined by a veth pair
# shaped to 1 Gbit/s (`up --net fast`). From inside host a's namespace
# `virsh migrate` moves the test guest a -> b over qemu+tcp and the
# migration URI tcp://B_ADDR; from inside b's, `fpbctl migrate` moves it
# back. Each time: the migration completed, the destination guest's
# workload verifies its memory through the serial console log, the veth
# carried at least the bytes QEMU reports transferred, and loopback did
# not. Then fpb's cancel rule: a migration over the slow profile with a
# 2 s stall timeout completes, one whose link goes dark mid-migration is
# cancelled after its 5 s stall timeout with the memory given back on the
# source. Then the link is reshaped, cut, blackholed and healed at run time,
# and `down` must leave no namespace, veth or process behind. TAP on
# stdout.
#
# Environment: FPBCTL, FPB_GUEST_DIR (vmlinuz, initrd.img). Needs root,
# socat; nft for the blackhole check.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
lvh=$here/lv-hosts.sh
vm=fpb-nb-test
. "$here/lv-tap.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (network and mount namespaces, libvirtd)"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-nb-test.XXXXXX")
hosts=$work/hosts
sink_pid=
cleanup() {
    [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null
    "$lvh" down "$hosts" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
if ! "$lvh" up --net fast "$hosts" > "$work/uris" 2> "$work/up.err"; then
    echo "Bail out! cannot start the libvirt hosts: $(tail -3 "$work/up.err" | tr '\n' ' ')"
    exit 1
fi
. "$work/uris"
A=$FPB_LV_A
B=$FPB_LV_B
note "bed up in $(($(date +%s) - t_start)) s: a $FPB_LV_A_ADDR ($FPB_LV_A_NETNS), b $FPB_LV_B_ADDR ($FPB_LV_B_NETNS)"
grep -q warning "$work/up.err" && note "$(cat "$work/up.err")"
serial=$work/serial.log
printf '[daemon]\n' > "$work/fpbd.conf"

on() { # on a|b CMD...: run CMD on the host (its network and mount namespaces)
    h=$1
    shift
    "$lvh" exec "$hosts" "$h" "$@"
}
tx_of() { "$lvh" wire-bytes "$hosts" "$@" | sed -n 's/^tx_bytes=\([0-9]*\) .*/\1/p'; }
rx_of() { "$lvh" wire-bytes "$hosts" "$@" | sed -n 's/.* rx_bytes=\([0-9]*\)$/\1/p'; }
netns_ino() { stat -L -c %i "/run/netns/$1"; }
mb() { awk "BEGIN {printf \"%.1f\", $1 / 1e6}"; }

# ---- the bed ----
ino_a=$(netns_ino "$FPB_LV_A_NETNS")
ino_b=$(netns_ino "$FPB_LV_B_NETNS")
ino_root=$(stat -L -c %i /proc/self/ns/net)
idx=$(cat "$hosts/net/index")
libvirtd_ns() { stat -L -c %i "/proc/$(cat "$hosts/$1/libvirtd.pid")/ns/net"; }
own_netns() {
    [ "$(libvirtd_ns a)" = "$ino_a" ] && [ "$(libvirtd_ns b)" = "$ino_b" ] &&
        [ "$ino_a" != "$ino_root" ] && [ "$ino_b" != "$ino_root" ] && [ "$ino_a" != "$ino_b" ]
}
check "each libvirtd runs in its host's network namespace" own_netns
check "the veth pair is not in the root namespace" sh -c "! ip -br link | grep -q 'fpbnb$idx-'"
listens_on_veth_only() {
    on b ss -Hltn > "$work/ss-b"
    grep -q "$FPB_LV_B_ADDR:16509 " "$work/ss-b" && [ "$(grep -c ':16509 ' "$work/ss-b")" = 1 ]
}
check "b's libvirtd listens on its veth address only" listens_on_veth_only
check "nothing of the bed listens in the root namespace" sh -c "! ss -Hltn | grep -q '10\\.77\\.$idx\\.'"
check "b's libvirt reached from a's namespace over qemu+tcp" sh -c \
    "'$lvh' exec '$hosts' a virsh -q -c '$FPB_LV_B_TCP' uri | grep -qx '$FPB_LV_B_TCP'"
check "unix-socket URI still works from the root namespace" sh -c "virsh -q -c '$A' uri >/dev/null"
check "profile fast on both veth ends (tbf 1Gbit)" sh -c \
    "'$lvh' link '$hosts' | grep -c 'tbf 1: root .*rate 1Gbit' | grep -qx 2"

# ---- the guest on a ----
# 512 MiB, writes and frees 200 MiB, holds 128 MiB it verifies forever
"$here/lv-domain.sh" "$vm" "$guest" "$serial" 512 \
    "init_on_alloc=1 fpb.balloon=stock fpbw.free=200 fpbw.hold=128" > "$work/domain.xml"
virsh -q -c "$A" define "$work/domain.xml" >/dev/null
check "domain defined and started on host a" virsh -q -c "$A" start "$vm"

count() { c=$(grep -c "$1" "$serial" 2>/dev/null); echo "${c:-0}"; }
passes() { count 'fpbw: pass [0-9]* ok'; }
bad_passes() { count 'fpbw: pass [0-9]* bad'; }
wait_passes() { # wait_passes MIN TIMEOUT_S
    i=0
    while [ "$(passes)" -lt "$1" ] && [ $i -lt $(($2 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(passes)" -ge "$1" ]
}
check "guest workload ready (first verification pass)" wait_passes 1 90

# wire_check WHAT SRC BYTES: the counters snapshot in $work/w0 (taken
# by wire_snap before the migration) against now
wire_snap() {
    echo "$(tx_of a) $(rx_of b) $(tx_of a lo) $(tx_of b lo) $(tx_of b) $(rx_of a)" > "$work/w0"
}
wire_check() {
    what=$1
    src=$2
    bytes=$3
    read -r a_tx0 b_rx0 a_lo0 b_lo0 b_tx0 a_rx0 < "$work/w0"
    if [ "$src" = a ]; then
        s_tx=$(($(tx_of a) - a_tx0)) d_rx=$(($(rx_of b) - b_rx0))
    else
        s_tx=$(($(tx_of b) - b_tx0)) d_rx=$(($(rx_of a) - a_rx0))
    fi
    a_lo=$(($(tx_of a lo) - a_lo0)) b_lo=$(($(tx_of b lo) - b_lo0))
    note "$what: QEMU transferred $bytes bytes ($(mb "$bytes") MB); source veth tx $s_tx ($(mb $s_tx) MB," \
        "ratio $(awk "BEGIN {printf \"%.4f\", $s_tx / ($bytes + 1)}")), destination veth rx $d_rx;" \
        "loopback tx a $a_lo, b $b_lo"
    check "$what: QEMU reports bytes transferred" [ "${bytes:-0}" -gt 100000000 ]
    # The counters see the stream plus TCP/IP headers and libvirt's RPC:
    # never less than what QEMU wrote into its socket.
    check "$what: the source's veth sent at least QEMU's transferred bytes" [ "$s_tx" -ge "$bytes" ]
    check "$what: the destination's veth received them" [ "$d_rx" -ge "$bytes" ]
    check "$what: not over loopback (a's lo < 1 % of it)" [ $((a_lo * 100)) -lt "$bytes" ]
    check "$what: not over loopback (b's lo < 1 % of it)" [ $((b_lo * 100)) -lt "$bytes" ]
}

verify_on() { # verify_on WHAT HOST_URI BEFORE: the domain runs there, its memory verifies
    check "$1: domain runs on the destination" sh -c "virsh -q -c '$2' domstate '$vm' | grep -q running"
    check "$1: destination guest verifies its memory (3 more passes)" wait_passes $(($3 + 3)) 60
    check "$1: no bad page on the destination" [ "$(bad_passes)" = 0 ]
}

# ---- virsh a -> b, run on host a ----
before=$(passes)
wire_snap
t0=$(date +%s.%N)
on a virsh -q -c "$FPB_LV_A_TCP" migrate --live --p2p --persistent --undefinesource "$vm" \
    "$FPB_LV_B_TCP" --migrateuri "tcp://$FPB_LV_B_ADDR" --listen-address "$FPB_LV_B_ADDR" \
    > "$work/virsh.out" 2>&1
rc=$?
t1=$(date +%s.%N)
check "virsh migrate a -> b over qemu+tcp: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/virsh.out"
on b virsh -q -c qemu:///system domjobinfo "$vm" --completed --keep-completed --rawstats \
    > "$work/jobinfo" 2>&1
check "virsh migrate: the destination's job completed" grep -qx 'Job type: 3' "$work/jobinfo"
check "virsh migrate: domain gone from a" sh -c "! virsh -q -c '$A' domstate '$vm' 2>/dev/null"
verify_on "virsh migrate" "$B" "$before"
jobinfo() { sed -n "s/^$1: //p" "$work/jobinfo"; }
sent=$(jobinfo data_processed)
wire_check "virsh migrate" a "${sent:-0}"
# QEMU's own bandwidth figure (bytes/s over the live iterations)
bps=$(jobinfo memory_bps)
mbit=$(awk "BEGIN {printf \"%.0f\", ${bps:-0} * 8 / 1e6}")
note "virsh migrate: wall $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s, job $(jobinfo time_elapsed) ms," \
    "QEMU's bandwidth $mbit Mbit/s, $(jobinfo memory_iteration) iterations, downtime $(jobinfo downtime) ms"
within_link() { [ "$1" -gt 0 ] && [ "$1" -le 1050 ]; }
check "virsh migrate: QEMU's bandwidth within the 1 Gbit/s link ($mbit Mbit/s)" within_link "$mbit"

# ---- fpbctl b -> a, run on host b ----
before=$(passes)
wire_snap
t0=$(date +%s.%N)
on b "$fpbctl" migrate "$vm" "$FPB_LV_A_TCP" --connect "$FPB_LV_B_TCP" --mode none \
    --migrate-uri "tcp://$FPB_LV_A_ADDR" --listen-address "$FPB_LV_A_ADDR" \
    --config "$work/fpbd.conf" --db "$work/journal.db" --json > "$work/fpbctl.json" 2> "$work/fpbctl.err"
rc=$?
t1=$(date +%s.%N)
check "fpbctl migrate b -> a over qemu+tcp: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/fpbctl.err"
check "fpbctl migrate: journal row done" grep -q '"phase":"done"' "$work/fpbctl.json"
check "fpbctl migrate: libvirt reports completed" grep -q '"status":"completed"' "$work/fpbctl.json"
check "fpbctl migrate: domain gone from b" sh -c \
    "! virsh -q -c '$B' domstate '$vm' 2>/dev/null | grep -q running"
verify_on "fpbctl migrate" "$A" "$before"
sent=$(sed -n 's/.*"transferred_bytes":\([0-9]*\).*/\1/p' "$work/fpbctl.json")
wire_check "fpbctl migrate" b "${sent:-0}"
row() { sed -n "s/.*\"migration\":{[^}]*\"$1\":\([0-9.]*\).*/\1/p" "$work/fpbctl.json"; }
tp=$(row throughput_mbps)
note "fpbctl migrate: wall $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s, migration $(row total_ms) ms," \
    "$(awk "BEGIN {printf \"%.0f\", ${tp:-0}}") Mbit/s, $(row dirty_sync_count) dirty syncs," \
    "downtime $(row downtime_ms) ms"

# ---- when fpb cancels a migration (docs/orchestrator.md) ----
used_kib() { virsh -q -c "$1" dominfo "$vm" | awk '/^Used memory/ {print $3}'; }
max_kib() { virsh -q -c "$1" dominfo "$vm" | awk '/^Max memory/ {print $3}'; }
full_size() { # full_size HOST_URI: Used memory reaches Max memory within 10 s
    i=0
    while [ "$(used_kib "$1")" != "$(max_kib "$1")" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(used_kib "$1")" = "$(max_kib "$1")" ]
}
runs_on() { virsh -q -c "$1" domstate "$vm" 2>/dev/null | grep -q running; }
# slow but moving (the 100 Mbit/s profile, bursts of the tbf bucket) with
# a 2 s stall timeout: not cancelled
"$lvh" link "$hosts" slow 2>/dev/null
before=$(passes)
t0=$(date +%s.%N)
# (on a terminal, as an operator runs it: script(1) gives fpbctl a pty, so
# it shows its progress line)
on a script -qec "'$fpbctl' migrate '$vm' '$FPB_LV_B_TCP' --connect '$FPB_LV_A_TCP' --mode none \
    --stall-timeout 2 --migrate-uri 'tcp://$FPB_LV_B_ADDR' --listen-address '$FPB_LV_B_ADDR' \
    --config '$work/fpbd.conf' --db '$work/journal.db' 2> '$work/slow.err'" "$work/slow.tty" \
    > /dev/null
rc=$?
t1=$(date +%s.%N)
check "slow link, stall timeout 2 s: fpbctl exit 0 (not cancelled)" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/slow.err"
verify_on "slow link" "$B" "$before"
updates=$(grep -o "$(printf '\r\033')\[K" "$work/slow.tty" | wc -l)
check "terminal: the progress line was rewritten in place ($updates times)" [ "$updates" -ge 10 ]
check "terminal: it says how far, how fast and what was predicted" \
    grep -q "VM '$vm' active (none): [0-9]*% of 512 MiB RAM, [0-9]* MB sent, [0-9]* MB/s, .*; predicted" \
    "$work/slow.tty"
note "slow link: $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s; last progress:" \
    "$(tr '\r' '\n' < "$work/slow.tty" | grep -a "active (none)" | tail -n 1 | tr -d '\033')"
"$lvh" link "$hosts" fast 2>/dev/null
# a link that goes dark mid-migration: nothing moves, so after the 5 s
# stall timeout fpb cancels, gives the balloon back on the source and the
# VM runs there, intact, alone
sent_mb() { # sent_mb SRC_URI: what the running migration sent, MB
    b=$(virsh -q -c "$1" domjobinfo "$vm" --rawstats 2>/dev/null | sed -n 's/^memory_processed: //p')
    echo $((${b:-0} / 1000000))
}
if command -v nft >/dev/null; then
    before=$(passes)
    on b "$fpbctl" migrate "$vm" "$FPB_LV_A_TCP" --connect "$FPB_LV_B_TCP" --mode balloon \
        --stall-timeout 5 --max-bandwidth 20000000 --migrate-uri "tcp://$FPB_LV_A_ADDR" \
        --listen-address "$FPB_LV_A_ADDR" --config "$work/fpbd.conf" --db "$work/journal.db" \
        --json > "$work/dark.json" 2> "$work/dark.err" &
    mig=$!
    i=0
    while ! grep -q "migrating to" "$work/dark.err" && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
    # mid-migration: once bytes flow (a link dark during the setup is
    # another rule, test-nb-faults; on a loaded machine the first byte can
    # come seconds after "migrating to")
    i=0
    while [ "$(sent_mb "$B")" -lt 10 ] && kill -0 "$mig" 2>/dev/null && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    note "link dark: cut with $(sent_mb "$B") MB sent"
    "$lvh" link "$hosts" blackhole
    t0=$(date +%s)
    wait "$mig"
    rc=$?
    took=$(($(date +%s) - t0))
    "$lvh" link "$hosts" heal
    check "link dark mid-migration: fpbctl exit 1 after ${took} s" [ $rc = 1 ]
    [ $rc = 1 ] || sed 's/^/#   /' "$work/dark.err"
    check "link dark: cancelled for sending nothing for 5 s" \
        grep -q "sent nothing for 5 s" "$work/dark.json"
    check "link dark: libvirt reports cancelled" grep -q '"status":"cancelled"' "$work/dark.json"
    check "link dark: memory given back on the source" \
        grep -q '"restore":{"status":"done","where":"source"' "$work/dark.json"
    check "link dark: the domain runs on b" runs_on "$B"
    check "link dark: b has all its memory" full_size "$B"
    i=0
    while runs_on "$A" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    check "link dark: not running on a (one host only)" sh -c "! virsh -q -c '$A' domstate '$vm' 2>/dev/null | grep -q running"
    check "link dark: guest still verifies its memory on b" wait_passes $((before + 2)) 60
    check "link dark: no bad page" [ "$(bad_passes)" = 0 ]
    note "link dark: $(grep -o '"error":"[^"]*"' "$work/dark.json")"
else
    not_ok "link dark mid-migration: needs nft"
fi

# ---- the link at run time ----
sink() { # sink: a TCP sink on b's address, port 5201, for one connection
    "$lvh" exec "$hosts" b timeout 60 socat -u "TCP-LISTEN:5201,bind=$FPB_LV_B_ADDR,reuseaddr" - \
        > /dev/null 2>&1 &
    sink_pid=$!
    i=0
    while ! on b ss -Hltn | grep -q "$FPB_LV_B_ADDR:5201" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
"$lvh" link "$hosts" slow 2>/dev/null
check "link slow: tbf 100Mbit on both ends" sh -c \
    "'$lvh' link '$hosts' | grep -c 'tbf 1: root .*rate 100Mbit' | grep -qx 2"
sink
t0=$(date +%s.%N)
head -c 20000000 /dev/zero | on a socat -u - "TCP:$FPB_LV_B_ADDR:5201"
t1=$(date +%s.%N)
wait "$sink_pid"
sink_pid=
mbit=$(awk "BEGIN {printf \"%.0f\", 20000000 * 8 / ($t1 - $t0) / 1e6}")
note "link slow: 20 MB in $(awk "BEGIN {printf \"%.2f\", $t1 - $t0}") s, $mbit Mbit/s"
check "link slow: 20 MB no faster than 100 Mbit/s ($mbit)" [ "$mbit" -le 105 ]
"$lvh" link "$hosts" fast 2>/dev/null
check "link fast again" sh -c "'$lvh' link '$hosts' | grep -c 'rate 1Gbit' | grep -qx 2"

"$lvh" link "$hosts" cut
check "link cut: b's libvirt unreachable from a" sh -c \
    "! '$lvh' exec '$hosts' a virsh -q -c '$FPB_LV_B_TCP' uri >/dev/null 2>&1"
check "link cut: the domain still runs on b" runs_on "$B"
"$lvh" link "$hosts" heal
check "link heal: b's libvirt reachable again" sh -c \
    "'$lvh' exec '$hosts' a virsh -q -c '$FPB_LV_B_TCP' uri >/dev/null"
if command -v nft >/dev/null; then
    "$lvh" link "$hosts" blackhole
    timed_out() { # no answer at all, not "refused" or "unreachable"
        ! on a socat -u /dev/null "TCP:$FPB_LV_B_ADDR:16509,connect-timeout=2" 2> "$work/bh.err" &&
            grep -q "timed out" "$work/bh.err"
    }
    check "link blackhole: a TCP connect to b's libvirtd times out" timed_out
    "$lvh" link "$hosts" heal
    check "link heal after blackhole: b's libvirt reachable again" sh -c \
        "'$lvh' exec '$hosts' a virsh -q -c '$FPB_LV_B_TCP' uri >/dev/null"
else
    ok "link blackhole # SKIP no nft"
fi

# ---- down leaves nothing ----
pids=
for f in "$hosts/a/pids" "$hosts/b/pids" "$hosts"/[ab]/run/qemu/*.pid; do
    [ -f "$f" ] && pids="$pids $(tr '\n' ' ' < "$f")"
done
note "before down: PIDs $pids, namespaces $FPB_LV_A_NETNS $FPB_LV_B_NETNS (inodes $ino_a $ino_b)"
t0=$(date +%s)
"$lvh" down "$hosts"
check "down: exit 0" [ $? = 0 ]
note "down took $(($(date +%s) - t0)) s"
check "down: no network namespace of the bed left" sh -c \
    "! ip netns list | grep -q -e '^$FPB_LV_A_NETNS\\b' -e '^$FPB_LV_B_NETNS\\b'"
none_in_netns() { # no process left in either of the bed's network namespaces
    for f in /proc/[0-9]*/ns/net; do
        i=$(stat -L -c %i "$f" 2>/dev/null) || continue
        if [ "$i" = "$ino_a" ] || [ "$i" = "$ino_b" ]; then
            note "still in a bed namespace: $f"
            return 1
        fi
    done
}
check "down: no process in the bed's network namespaces" none_in_netns
alive=
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
check "down: none of the bed's PIDs alive ($pids)" [ -z "$alive" ]
check "down: no veth of the bed anywhere in the root namespace" sh -c \
    "! ip -br link | grep -q 'fpbnb$idx-'"
check "down: the bed's directories removed" sh -c "[ ! -e '$hosts/a' ] && [ ! -e '$hosts/b' ] && [ ! -e '$hosts/net' ]"

note "total $(($(date +%s) - t_start)) s"
echo "1..$n"
[ $failed = 0 ]
