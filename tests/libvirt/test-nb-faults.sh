#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Network faults on the two-host bed (lv-hosts.sh up --net fast; issue 20
# item 4, docs/reliability.md "Faults"), each ending with the guest's
# memory verified by its own workload on the host it runs on and its
# balloon back at full size:
#
#   1. the destination's libvirtd killed (-9) mid-migration: fpbctl ends
#      it (failed, the cause naming the destination), the memory is given
#      back on the source, the VM runs there only;
#   2. the destination's QEMU killed (-9) mid-migration: the same;
#   3. through the source host's fpbd (fpbctl migrate --via-fpbd), the
#      link partitioned (blackhole) for less than the stall timeout, then
#      healed: the migration completes; and the contrary, a partition that
#      outlasts the stall timeout: cancelled, memory back on the source;
#      And a link dark for 3 s while the migration is set up, longer than
#      its 2 s stall timeout: not a stall (nothing was sent yet), completes;
#   4. a lossy link (10 % of the packets each end receives dropped at
#      random): slower than the same migration on the clean link, not
#      cancelled with a 30 s stall timeout (TCP's retransmission backoff
#      leaves silences of seconds at this loss: 5 s would cancel it).
#      Latency is test-nb-latency.sh (this kernel has no sch_netem: the
#      bed's user-space delay line, lv-hosts.sh `link DIR delay MS`).
#
# Times measured (fault to fpbctl's exit, fault to the VM whole again)
# are printed as TAP comments. Everything started is stopped by PID, and
# the bed's `down` removes its namespaces, veth pair and nft tables.
#
# Environment: FPBCTL, FPBD, FPB_GUEST_DIR (vmlinuz, initrd.img). Needs
# root, nft, socat.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
fpbd=${FPBD:?FPBD is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
lvh=$here/lv-hosts.sh
vm=fpb-nb-faults
. "$here/lv-tap.sh"
. "$here/lv-down-check.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (network and mount namespaces, libvirtd)"
    exit 0
fi
for c in nft socat; do
    if ! command -v $c >/dev/null; then
        echo "1..0 # SKIP needs $c"
        exit 0
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-nb-faults.XXXXXX")
hosts=$work/hosts
mig_pid=
fpbd_a=
fpbd_b=
gap_pid=
kill_wait() { # PID: SIGTERM, SIGKILL after 5 s
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
cleanup() {
    trap '' INT TERM
    for p in $gap_pid $mig_pid $fpbd_a $fpbd_b; do kill_wait "$p"; done
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
serial=$work/serial.log
printf '[daemon]\n' > "$work/fpbctl.conf" # nothing from the real host's /etc/fpb

on() { # on a|b CMD...: run CMD on the host (its network and mount namespaces)
    h=$1
    shift
    "$lvh" exec "$hosts" "$h" "$@"
}
secs() { awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $1}"; }

# ---- the guest on a ----
# 512 MiB, writes and frees 200 MiB, holds 128 MiB it verifies forever
"$here/lv-domain.sh" "$vm" "$guest" "$serial" 512 \
    "init_on_alloc=1 fpb.balloon=stock fpbw.free=200 fpbw.hold=128" > "$work/domain.xml"
virsh -q -c "$A" define "$work/domain.xml" >/dev/null
check "domain defined and started on host a" virsh -q -c "$A" start "$vm"

count() { c=$(grep -ac "$1" "$serial" 2>/dev/null); echo "${c:-0}"; }
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
# the balloon's statistics, without which the policy cannot size an
# inflation (libvirt polls them every 2 s)
has_stats() {
    i=0
    while ! virsh -q -c "$A" dommemstat "$vm" 2>/dev/null | grep -q '^usable ' && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    virsh -q -c "$A" dommemstat "$vm" | grep -q '^usable '
}
check "guest's balloon statistics reach libvirt" has_stats
# and fpb's policy finds memory to take (not before the workload freed
# what it wrote at boot)
can_inflate() {
    i=0
    while [ $i -lt 60 ]; do
        "$fpbctl" explain "$vm" --connect "$A" --config "$work/fpbctl.conf" --db "$work/explain.db" \
            --mode balloon > "$work/explain.out" 2>&1 && ! grep -q NOTHING_TO_TAKE "$work/explain.out" &&
            return 0
        sleep 1
        i=$((i + 1))
    done
    sed 's/^/#   /' "$work/explain.out"
    return 1
}
check "fpb's policy can inflate the guest's balloon" can_inflate

used_kib() { virsh -q -c "$1" dominfo "$vm" 2>/dev/null | awk '/^Used memory/ {print $3}'; }
max_kib() { virsh -q -c "$1" dominfo "$vm" 2>/dev/null | awk '/^Max memory/ {print $3}'; }
full_size() { # full_size HOST_URI: Used memory reaches Max memory within 10 s
    i=0
    while [ "$(used_kib "$1")" != "$(max_kib "$1")" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$(max_kib "$1")" ] && [ "$(used_kib "$1")" = "$(max_kib "$1")" ]
}
runs_on() { virsh -q -c "$1" domstate "$vm" 2>/dev/null | grep -q running; }
gone_from() { # gone_from HOST_URI TIMEOUT_S: the domain does not run there (any more)
    i=0
    while runs_on "$1" && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    ! runs_on "$1"
}
sent_mb() { # what the source's job has sent so far, MB (0 before it begins)
    b=$(virsh -q -c "$1" domjobinfo "$vm" --rawstats 2>/dev/null | sed -n 's/^memory_processed: //p')
    echo $((${b:-0} / 1000000))
}
wait_sent() { # wait_sent SRC_URI MB: until the migration sent MB (60 s at most)
    i=0
    while [ "$(sent_mb "$1")" -lt "$2" ] && kill -0 "$mig_pid" 2>/dev/null && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(sent_mb "$1")" -ge "$2" ]
}
wait_exit() { # wait_exit PID TIMEOUT_S: its exit status; 124 (and killed) when it runs longer
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$1" 2>/dev/null; then
        kill_wait "$1"
        return 124
    fi
    wait "$1"
}
names() { case "$1" in *"$2"*) ;; *) return 1 ;; esac; }
field() { sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1; }

# migrate_bg NAME SRC DEST_ADDR DEST_TCP ARGS...: fpbctl migrate, run on
# host SRC against its own libvirt, in the background ($mig_pid); JSON row
# in $work/NAME.json, messages in $work/NAME.err
migrate_bg() {
    name=$1 src=$2 daddr=$3 dtcp=$4
    shift 4
    if [ "$src" = a ]; then stcp=$FPB_LV_A_TCP; else stcp=$FPB_LV_B_TCP; fi
    on "$src" "$fpbctl" migrate "$vm" "$dtcp" --connect "$stcp" --migrate-uri "tcp://$daddr" \
        --listen-address "$daddr" --config "$work/fpbctl.conf" --db "$work/journal.db" --json "$@" \
        > "$work/$name.json" 2> "$work/$name.err" &
    mig_pid=$!
}
# via_fpbd_bg NAME SRC DEST_ADDR DEST_TCP ARGS...: the same through SRC's fpbd
via_fpbd_bg() {
    name=$1 src=$2 daddr=$3 dtcp=$4
    shift 4
    "$fpbctl" migrate "$vm" "$dtcp" --via-fpbd --socket "$work/fpbd-$src.sock" \
        --migrate-uri "tcp://$daddr" --listen-address "$daddr" --json "$@" \
        > "$work/$name.json" 2> "$work/$name.err" < /dev/null &
    mig_pid=$!
}
# the checks after a migration that failed: row, memory back on the source,
# the VM on the source only, its memory verified there
failed_checks() { # failed_checks WHAT NAME RC SRC_URI DEST_URI DEST_ADDR T_FAULT BEFORE
    what=$1 name=$2 rc=$3 src_uri=$4 dst_uri=$5 daddr=$6 t_fault=$7 before=$8
    check "$what: fpbctl exit 1 (failed)" [ "$rc" = 1 ]
    [ "$rc" = 1 ] || sed 's/^/#   /' "$work/$name.err"
    check "$what: journal row failed" grep -q '"phase":"failed"' "$work/$name.json"
    err=$(field "$work/$name.json" error)
    check "$what: the row's cause names the destination ($daddr)" names "$err" "$daddr"
    check "$what: memory given back on the source" \
        grep -q '"restore":{"status":"done","where":"source"' "$work/$name.json"
    check "$what: the domain runs on the source" runs_on "$src_uri"
    check "$what: the source's balloon is back at full size" full_size "$src_uri"
    check "$what: not running on the destination" gone_from "$dst_uri" 60
    check "$what: the guest verifies its memory on the source (a new pass)" \
        wait_passes $((before + 1)) 60
    check "$what: no bad page" [ "$(bad_passes)" = 0 ]
    note "$what: fault to fpbctl's exit $t_exit s, to the VM whole again (balloon full, a new" \
        "pass) $(secs "$t_fault") s; error: $err"
}

# the longest time the source's veth sent nothing, from its counter
# sampled every 0.2 s (retransmissions count: they are bytes moving)
gap_watch() { # gap_watch HOST NAME: appends "SECONDS TX_BYTES" to $work/NAME.gap
    while :; do
        echo "$(date +%s.%N) $("$lvh" wire-bytes "$hosts" "$1" | sed 's/^tx_bytes=\([0-9]*\) .*/\1/')"
        sleep 0.2
    done >> "$work/$2.gap"
}
sent_watch() { # sent_watch SRC_URI NAME: appends "SECONDS BYTES_SENT" to $work/NAME.sent
    while :; do
        b=$(virsh -q -c "$1" domjobinfo "$vm" --rawstats 2>/dev/null | sed -n 's/^memory_processed: //p')
        echo "$(date +%s.%N) ${b:-0}"
        sleep 0.1
    done >> "$work/$2.sent"
}
longest_gap() {
    awk 'NR > 1 && $2 == last { if ($1 - since > g) g = $1 - since; next }
         { since = $1; last = $2 } END { printf "%.1f", g }' "$work/$1.gap"
}

# ---- 1. the destination's libvirtd killed mid-migration ----
before=$(passes)
migrate_bg lvd-killed a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode balloon --max-bandwidth 20000000
check "libvirtd killed: the migration is under way (20 MB sent)" wait_sent "$A" 20
dest_qemu=$(cat "$hosts/b/run/qemu/$vm.pid" 2>/dev/null)
t_fault=$(date +%s.%N)
"$lvh" kill-libvirtd "$hosts" b
check "libvirtd killed: host b's libvirtd killed (-9) mid-migration" [ $? = 0 ]
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_exit=$(secs "$t_fault")
# b's libvirtd back, so that the checks can ask it whether the VM runs there
"$lvh" start-libvirtd "$hosts" b
check "libvirtd killed: host b's libvirtd started again" [ $? = 0 ]
failed_checks "libvirtd killed" lvd-killed "$rc" "$A" "$B" "$FPB_LV_B_ADDR" "$t_fault" "$before"
# the incoming QEMU outlived its libvirtd; the restarted one kills it
pid_gone() { # pid_gone PID TIMEOUT_S
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    ! kill -0 "$1" 2>/dev/null
}
qemu_gone() { [ -n "$dest_qemu" ] && pid_gone "$dest_qemu" 30; }
check "libvirtd killed: b's incoming QEMU (PID ${dest_qemu:-unknown}) gone" qemu_gone
check "libvirtd killed: b has no active domain '$vm'" sh -c \
    "! virsh -q -c '$B' list --name | grep -qx '$vm'"

# ---- 2. the destination's QEMU killed mid-migration ----
before=$(passes)
migrate_bg qemu-killed a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode balloon --max-bandwidth 20000000
check "QEMU killed: the migration is under way (20 MB sent)" wait_sent "$A" 20
qpid=$(cat "$hosts/b/run/qemu/$vm.pid" 2>/dev/null)
t_fault=$(date +%s.%N)
check "QEMU killed: host b's QEMU ($qpid) killed (-9) mid-migration" kill -9 "${qpid:-none}"
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_exit=$(secs "$t_fault")
failed_checks "QEMU killed" qemu-killed "$rc" "$A" "$B" "$FPB_LV_B_ADDR" "$t_fault" "$before"

# ---- 3. partitions through fpbd ----
# one fpbd per host, in the host's namespaces (as scripts/soak does),
# talking to that host's libvirt; its own socket and journal
fpbd_status() { echo '{"op":"status"}' | socat -t 5 - "UNIX-CONNECT:$work/fpbd-$1.sock" 2>/dev/null; }
start_fpbd() { # start_fpbd HOST URI
    cat > "$work/fpbd-$1.conf" <<CONF
[daemon]
uri=$2
socket=$work/fpbd-$1.sock
journal=$work/fpbd-$1.db
allowed-destinations=qemu+tcp
allowed-destination-hosts=$FPB_LV_A_ADDR,$FPB_LV_B_ADDR
CONF
    "$lvh" exec "$hosts" "$1" "$fpbd" --config "$work/fpbd-$1.conf" > "$work/fpbd-$1.log" 2>&1 &
    eval "fpbd_$1=$!"
    i=0
    while ! fpbd_status "$1" | grep -q '"connected":true' && [ $i -lt 150 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    fpbd_status "$1" | grep -q '"connected":true'
}
check "fpbd on a started and connected" start_fpbd a "$FPB_LV_A_TCP"
check "fpbd on b started and connected" start_fpbd b "$FPB_LV_B_TCP"

# healed within the stall timeout (4 s dark, 12 s allowed; TCP's
# retransmission backs off, so the bytes resume up to a few seconds
# after the heal): the migration completes
before=$(passes)
via_fpbd_bg healed a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode none --stall-timeout 12 \
    --max-bandwidth 30000000
t0=$(date +%s.%N)
gap_watch a healed &
gap_pid=$!
check "partition healed: the migration is under way (20 MB sent)" wait_sent "$A" 20
"$lvh" link "$hosts" blackhole
t_fault=$(date +%s.%N)
sleep 4
"$lvh" link "$hosts" heal
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_exit=$(secs "$t_fault")
kill_wait "$gap_pid"
gap_pid=
check "partition healed after 4 s (stall timeout 12 s): fpbctl exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/healed.err"
check "partition healed: fpbd's row done" grep -q '"phase":"done"' "$work/healed.json"
check "partition healed: the domain runs on b" runs_on "$B"
check "partition healed: not on a" gone_from "$A" 30
check "partition healed: b's balloon at full size" full_size "$B"
check "partition healed: the guest verifies its memory on b (2 new passes)" \
    wait_passes $((before + 2)) 60
check "partition healed: no bad page" [ "$(bad_passes)" = 0 ]
note "partition healed: migration $(secs "$t0") s in all, $t_exit s after the link went dark;" \
    "$(sed -n 's/.*"migration":{[^}]*"total_ms":\([0-9]*\).*/\1/p' "$work/healed.json") ms in libvirt;" \
    "the source's veth silent for at most $(longest_gap healed) s"

# not healed within the stall timeout: cancelled, memory back on b
before=$(passes)
via_fpbd_bg dark b "$FPB_LV_A_ADDR" "$FPB_LV_A_TCP" --mode balloon --stall-timeout 5 \
    --max-bandwidth 20000000
check "partition not healed: the migration is under way (20 MB sent)" wait_sent "$B" 20
"$lvh" link "$hosts" blackhole
t_fault=$(date +%s.%N)
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_exit=$(secs "$t_fault")
"$lvh" link "$hosts" heal
check "partition not healed: fpbctl exit 1 after $t_exit s" [ $rc = 1 ]
[ $rc = 1 ] || sed 's/^/#   /' "$work/dark.err"
check "partition not healed: cancelled for sending nothing for 5 s" \
    grep -q "sent nothing for 5 s" "$work/dark.json"
check "partition not healed: fpbd's row failed" grep -q '"phase":"failed"' "$work/dark.json"
check "partition not healed: libvirt reports cancelled" grep -q '"status":"cancelled"' "$work/dark.json"
check "partition not healed: memory given back on the source" \
    grep -q '"restore":{"status":"done","where":"source"' "$work/dark.json"
check "partition not healed: the domain runs on b" runs_on "$B"
check "partition not healed: b's balloon at full size" full_size "$B"
check "partition not healed: not running on a" gone_from "$A" 60
check "partition not healed: the guest verifies its memory on b (a new pass)" \
    wait_passes $((before + 1)) 60
check "partition not healed: no bad page" [ "$(bad_passes)" = 0 ]
note "partition not healed: fpbctl exit $t_exit s after the link went dark," \
    "the VM whole again after $(secs "$t_fault") s"

# dark while the migration is being set up (3 s from fpbctl's "migrating
# to", stall timeout 2 s): libvirt's connection to b waits for its SYN to
# be retransmitted, nothing is sent for longer than the stall timeout,
# yet nothing has stalled: the setup has FPB_MIGRATION_WATCH_SETUP_S
# (60 s), and the migration completes
before=$(passes)
migrate_bg setup-dark b "$FPB_LV_A_ADDR" "$FPB_LV_A_TCP" --mode none --stall-timeout 2
i=0
while ! grep -q "migrating to" "$work/setup-dark.err" && kill -0 "$mig_pid" 2>/dev/null &&
    [ $i -lt 600 ]; do
    sleep 0.05
    i=$((i + 1))
done
"$lvh" link "$hosts" blackhole
t0=$(date +%s.%N)
sent_watch "$B" setup-dark &
gap_pid=$!
sleep 3
"$lvh" link "$hosts" heal
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
kill_wait "$gap_pid"
gap_pid=
first=$(awk -v t0="$t0" '$2 > 0 { printf "%.1f", $1 - t0; found = 1; exit }
    END { if (!found) print "never" }' "$work/setup-dark.sent")
check "dark during the setup: QEMU's first byte $first s after the link went dark (> 2 s)" \
    awk "BEGIN {exit !(\"$first\" != \"never\" && $first + 0 > 2)}"
check "dark during the setup (3 s, stall timeout 2 s): fpbctl exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/setup-dark.err"
check "dark during the setup: row done" grep -q '"phase":"done"' "$work/setup-dark.json"
check "dark during the setup: the domain runs on a" runs_on "$A"
check "dark during the setup: not on b" gone_from "$B" 30
check "dark during the setup: the guest verifies its memory on a (a new pass)" \
    wait_passes $((before + 1)) 60
check "dark during the setup: no bad page" [ "$(bad_passes)" = 0 ]
note "dark during the setup: fpbctl done $(secs "$t0") s after the link went dark;" \
    "$(sed -n 's/.*"migration":{[^}]*"setup_ms":\([0-9]*\).*/\1/p' "$work/setup-dark.json") ms of setup in libvirt"

# ---- 4. a lossy link: slower, not cancelled ----
mbps() { # the row's bytes over its migration time, MB/s
    b=$(sed -n 's/.*"transferred_bytes":\([0-9]*\).*/\1/p' "$1")
    ms=$(sed -n 's/.*"migration":{[^}]*"total_ms":\([0-9]*\).*/\1/p' "$1")
    awk "BEGIN {printf \"%.0f\", ${b:-0} / 1000 / (${ms:-0} + 1)}"
}
# the same migration on the clean link, a -> b, for the comparison
migrate_bg clean a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode none --stall-timeout 20
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
check "clean link: fpbctl exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/clean.err"
clean=$(mbps "$work/clean.json")
before=$(passes)
"$lvh" link "$hosts" loss 10
check "link lossy: 10 % random loss on both ends" sh -c "'$lvh' link '$hosts' | grep -q 'link loss 10'"
gap_watch b lossy &
gap_pid=$!
t0=$(date +%s.%N)
migrate_bg lossy b "$FPB_LV_A_ADDR" "$FPB_LV_A_TCP" --mode none --stall-timeout 30
wait_exit "$mig_pid" 300
rc=$?
mig_pid=
took=$(secs "$t0")
kill_wait "$gap_pid"
gap_pid=
dropped=$(($("$lvh" dropped "$hosts" a) + $("$lvh" dropped "$hosts" b)))
"$lvh" link "$hosts" heal
lossy=$(mbps "$work/lossy.json")
check "link lossy (stall timeout 30 s): fpbctl exit 0, not cancelled" [ $rc = 0 ]
[ $rc = 0 ] || { sed 's/^/#   /' "$work/lossy.err"; note "  error: $(field "$work/lossy.json" error)"; }
check "link lossy: row done" grep -q '"phase":"done"' "$work/lossy.json"
check "link lossy: packets were dropped ($dropped)" [ "$dropped" -gt 100 ]
check "link lossy: slower than on the clean link ($lossy MB/s against $clean)" \
    [ $((lossy * 5)) -lt $((clean * 4)) ]
check "link lossy: the domain runs on a" runs_on "$A"
check "link lossy: not on b" gone_from "$B" 30
check "link lossy: a's balloon at full size" full_size "$A"
check "link lossy: the guest verifies its memory on a (2 new passes)" wait_passes $((before + 2)) 60
check "link lossy: no bad page" [ "$(bad_passes)" = 0 ]
note "link lossy: $took s, $lossy MB/s (clean link $clean MB/s), $dropped packets dropped," \
    "the source's veth silent for at most $(longest_gap lossy) s"

# ---- nothing left ----
for p in $fpbd_a $fpbd_b; do kill_wait "$p"; done
fpbd_a=
fpbd_b=
check_bed_down "$lvh" "$hosts"

note "total $(($(date +%s) - t_start)) s"
echo "1..$n"
[ $failed = 0 ]
