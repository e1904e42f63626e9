#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Latency on the two-host bed (issue 20 item 4, docs/reliability.md
# "Faults", docs/orchestrator.md "When fpb cancels"). This kernel has no
# sch_netem, so the delay comes from fpb-delay-line, a user-space delay
# line between a TUN device in each host's namespace (lv-hosts.sh `link
# DIR delay MS`). Through each source host's fpbd (fpbctl migrate
# --via-fpbd), balloon mode, the guest's memory verified by its own
# workload where it runs and its balloon back at full size every time:
#
#   0. the delay line itself: ping RTT about twice the delay, a TCP
#      transfer's throughput about min(rate, window / RTT);
#   1. the same migration on the direct link (veth), for the comparison;
#   2. the link delayed (100 ms one way, RTT 200 ms): the migration takes
#      several times its 3 s stall timeout (a rule "cancel what has not
#      completed within T" would have cancelled it) yet moves all the
#      time: not cancelled, completes; memory verified on the destination;
#   3. the delay line frozen (drops everything) once the migration sent
#      20 MB: nothing moves, cancelled after its 3 s stall timeout, memory
#      given back on the source, the VM running there only.
#
# Migration times, MB sent (libvirt's transferred bytes) and the bytes
# the delay line forwarded (on the wire) are printed as TAP comments.
# Everything started is stopped by PID; the bed's `down` stops the delay
# line and removes its namespaces, veth pair and TUN devices.
#
# Environment: FPBCTL, FPBD, FPB_DELAY_LINE, FPB_GUEST_DIR (vmlinuz,
# initrd.img). Needs root, socat, busybox (ping).
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
fpbd=${FPBD:?FPBD is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
: "${FPB_DELAY_LINE:?FPB_DELAY_LINE is not set}"
export FPB_DELAY_LINE
lvh=$here/lv-hosts.sh
vm=fpb-nb-latency
delay_ms=100
stall=3
. "$here/lv-tap.sh"
. "$here/lv-down-check.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (network and mount namespaces, libvirtd)"
    exit 0
fi
for c in socat busybox; do
    if ! command -v $c >/dev/null; then
        echo "1..0 # SKIP needs $c"
        exit 0
    fi
done
if [ ! -c /dev/net/tun ]; then
    echo "1..0 # SKIP needs /dev/net/tun"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-nb-latency.XXXXXX")
hosts=$work/hosts
mig_pid=
fpbd_a=
fpbd_b=
watch_pid=
sink_pid=
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
    for p in $watch_pid $sink_pid $mig_pid $fpbd_a $fpbd_b; do kill_wait "$p"; done
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

on() { # on a|b CMD...: run CMD on the host (its network and mount namespaces)
    h=$1
    shift
    "$lvh" exec "$hosts" "$h" "$@"
}
secs() { awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $1}"; }

# ---- the guest on a, booting while the delay line is measured ----
# 512 MiB, writes and frees 200 MiB, holds 128 MiB it verifies forever
"$here/lv-domain.sh" "$vm" "$guest" "$serial" 512 \
    "init_on_alloc=1 fpb.balloon=stock fpbw.free=200 fpbw.hold=128" > "$work/domain.xml"
virsh -q -c "$A" define "$work/domain.xml" >/dev/null
check "domain defined and started on host a" virsh -q -c "$A" start "$vm"

# ---- 0. the delay line: RTT and throughput ----
rtt() { # avg ping RTT a -> b, ms
    on a busybox ping -c "$1" -i 0.2 "$FPB_LV_B_ADDR" 2>/dev/null |
        sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p'
}
# tput MB: seconds to push MB megabytes a -> b over one TCP connection, and MB/s
tput() {
    on b socat -u "TCP-LISTEN:5901,bind=$FPB_LV_B_ADDR,reuseaddr" OPEN:/dev/null &
    sink_pid=$!
    i=0
    while ! on b sh -c "grep -q ':170D ' /proc/net/tcp" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    t0=$(date +%s.%N)
    on a sh -c "head -c ${1}000000 /dev/zero | socat -u - TCP:$FPB_LV_B_ADDR:5901"
    # until the receiver has it all (the sender is done when its socket
    # buffer holds the rest)
    wait "$sink_pid"
    sink_pid=
    t=$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $t0}")
    awk "BEGIN {printf \"%.1f s, %.1f MB/s\", $t, $1 / $t}"
}
rtt_direct=$(rtt 5)
"$lvh" link "$hosts" delay "$delay_ms"
check "link delayed: delay line started ($delay_ms ms one way)" [ $? = 0 ]
rtt_delayed=$(rtt 5)
check "link delayed: ping RTT $rtt_delayed ms (direct $rtt_direct ms), about 2 x $delay_ms" \
    awk "BEGIN {r = \"$rtt_delayed\" + 0; exit !(r >= 2 * $delay_ms && r < 2 * $delay_ms + 100)}"
tp_delayed=$(tput 20)
note "link delayed, unlimited rate: 20 MB over one TCP connection in $tp_delayed" \
    "(window-limited: tcp_wmem max $(on a cat /proc/sys/net/ipv4/tcp_wmem | awk '{print $3}') B" \
    "/ RTT $rtt_delayed ms)"
"$lvh" link "$hosts" delay "$delay_ms" 2M
tp_rate=$(tput 10)
note "link delayed, rate 2 MB/s: 10 MB in $tp_rate (bandwidth-delay product 2 MB/s x $rtt_delayed ms)"
check "link delayed, rate 2 MB/s: throughput 1.2-2.1 MB/s" \
    awk "BEGIN {split(\"$tp_rate\", f, \", \"); r = f[2] + 0; exit !(r >= 1.2 && r <= 2.1)}"
"$lvh" link "$hosts" direct
check "link direct again: ping RTT back under 20 ms" \
    awk "BEGIN {r = \"$(rtt 3)\" + 0; exit !(r > 0 && r < 20)}"

# ---- the guest's workload and balloon ----
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
has_stats() {
    i=0
    while ! virsh -q -c "$A" dommemstat "$vm" 2>/dev/null | grep -q '^usable ' && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    virsh -q -c "$A" dommemstat "$vm" | grep -q '^usable '
}
check "guest's balloon statistics reach libvirt" has_stats

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
sent_bytes() {
    b=$(virsh -q -c "$1" domjobinfo "$vm" --rawstats 2>/dev/null | sed -n 's/^memory_processed: //p')
    echo "${b:-0}"
}
wait_sent() { # wait_sent SRC_URI MB: until the migration sent MB (90 s at most)
    i=0
    while [ "$(($(sent_bytes "$1") / 1000000))" -lt "$2" ] && kill -0 "$mig_pid" 2>/dev/null &&
        [ $i -lt 900 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(($(sent_bytes "$1") / 1000000))" -ge "$2" ]
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
field() { sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1; }
num() { sed -n "s/.*\"$2\":\\([0-9]*\\).*/\\1/p" "$1" | head -n 1; }
mig_ms() { sed -n 's/.*"migration":{[^}]*"total_ms":\([0-9]*\).*/\1/p' "$1"; }
# what the source's job has sent, sampled every 0.1 s: "SECONDS BYTES"
sent_watch() { # sent_watch SRC_URI NAME
    while :; do
        echo "$(date +%s.%N) $(sent_bytes "$1")"
        sleep 0.1
    done >> "$work/$2.sent"
}
# the longest time memory_processed stood still once it had begun
longest_still() {
    awk '$2 == 0 { next } NR > 1 && $2 == last { if ($1 - since > g) g = $1 - since; next }
         { since = $1; last = $2 } END { printf "%.1f", g }' "$work/$1.sent"
}
# the delay line's bytes forwarded in both directions, MB
dl_mb() {
    "$lvh" delay-stats "$hosts" | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' |
        awk '{ s += $1 } END { printf "%.1f", s / 1000000 }'
}

# ---- fpbd on each host ----
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

# via_fpbd NAME SRC DEST_ADDR DEST_TCP ARGS...: through SRC's fpbd, in the
# background ($mig_pid); JSON row in $work/NAME.json, messages in NAME.err
via_fpbd_bg() {
    name=$1 src=$2 daddr=$3 dtcp=$4
    shift 4
    "$fpbctl" migrate "$vm" "$dtcp" --via-fpbd --socket "$work/fpbd-$src.sock" \
        --migrate-uri "tcp://$daddr" --listen-address "$daddr" --json "$@" \
        > "$work/$name.json" 2> "$work/$name.err" < /dev/null &
    mig_pid=$!
}
# done_checks WHAT NAME RC DEST_URI SRC_URI BEFORE: a completed migration
done_checks() {
    what=$1 name=$2 rc=$3 dst_uri=$4 src_uri=$5 before=$6
    check "$what: fpbctl exit 0 (not cancelled)" [ "$rc" = 0 ]
    [ "$rc" = 0 ] || { sed 's/^/#   /' "$work/$name.err"; note "  error: $(field "$work/$name.json" error)"; }
    check "$what: fpbd's row done" grep -q '"phase":"done"' "$work/$name.json"
    check "$what: the domain runs on the destination" runs_on "$dst_uri"
    check "$what: not on the source" gone_from "$src_uri" 30
    check "$what: the destination's balloon at full size" full_size "$dst_uri"
    check "$what: the guest verifies its memory on the destination (2 new passes)" \
        wait_passes $((before + 2)) 90
    check "$what: no bad page" [ "$(bad_passes)" = 0 ]
}
# can_inflate SRC_URI: fpb's policy finds memory to take
printf '[daemon]\n' > "$work/fpbctl.conf"
can_inflate() {
    i=0
    while [ $i -lt 60 ]; do
        "$fpbctl" explain "$vm" --connect "$1" --config "$work/fpbctl.conf" --db "$work/explain.db" \
            --mode balloon > "$work/explain.out" 2>&1 && ! grep -q NOTHING_TO_TAKE "$work/explain.out" &&
            return 0
        sleep 1
        i=$((i + 1))
    done
    sed 's/^/#   /' "$work/explain.out"
    return 1
}

# ---- 1. the direct link, a -> b ----
check "direct: fpb's policy can inflate the guest's balloon on a" can_inflate "$A"
before=$(passes)
t0=$(date +%s.%N)
via_fpbd_bg direct a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode balloon --stall-timeout "$stall"
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_direct=$(secs "$t0")
done_checks "direct link" direct "$rc" "$B" "$A" "$before"
ms_direct=$(mig_ms "$work/direct.json")
mb_direct=$(($(num "$work/direct.json" transferred_bytes) / 1000000))
note "direct link: fpbctl $t_direct s in all, migration ${ms_direct:-?} ms in libvirt, $mb_direct MB sent"

# ---- 2. the delayed link, b -> a: slow, moving, not cancelled ----
"$lvh" link "$hosts" delay "$delay_ms"
check "delayed: delay line started again ($delay_ms ms one way, no rate limit)" [ $? = 0 ]
check "delayed: fpb's policy can inflate the guest's balloon on b" can_inflate "$B"
before=$(passes)
sent_watch "$B" delayed &
watch_pid=$!
t0=$(date +%s.%N)
via_fpbd_bg delayed b "$FPB_LV_A_ADDR" "$FPB_LV_A_TCP" --mode balloon --stall-timeout "$stall"
wait_exit "$mig_pid" 240
rc=$?
mig_pid=
t_delayed=$(secs "$t0")
kill_wait "$watch_pid"
watch_pid=
done_checks "delayed link ($delay_ms ms, stall timeout $stall s)" delayed "$rc" "$A" "$B" "$before"
ms_delayed=$(mig_ms "$work/delayed.json")
mb_delayed=$(($(num "$work/delayed.json" transferred_bytes) / 1000000))
wire_delayed=$(dl_mb)
check "delayed: the migration took ${ms_delayed:-?} ms, over 3 x the stall timeout" \
    [ "${ms_delayed:-0}" -gt $((3 * stall * 1000)) ]
check "delayed: slower than on the direct link (${ms_delayed:-?} ms against ${ms_direct:-?})" \
    [ "${ms_delayed:-0}" -gt $((${ms_direct:-0} * 3 / 2)) ]
still=$(longest_still delayed)
check "delayed: memory_processed never still for the stall timeout (longest $still s)" \
    awk "BEGIN {exit !($still < $stall)}"
check "delayed: the migration went through the delay line ($wire_delayed MB forwarded)" \
    awk "BEGIN {exit !($wire_delayed >= $mb_delayed)}"
note "delayed link: fpbctl $t_delayed s in all, migration ${ms_delayed:-?} ms in libvirt" \
    "(direct ${ms_direct:-?} ms), $mb_delayed MB sent (direct $mb_direct MB), delay line" \
    "forwarded $wire_delayed MB; memory_processed still for at most $still s"
note "delay line counters: $("$lvh" delay-stats "$hosts" | tr '\n' ';')"

# ---- 3. the delay line frozen mid-migration, a -> b: cancelled ----
check "frozen: fpb's policy can inflate the guest's balloon on a" can_inflate "$A"
before=$(passes)
sent_watch "$A" frozen &
watch_pid=$!
via_fpbd_bg frozen a "$FPB_LV_B_ADDR" "$FPB_LV_B_TCP" --mode balloon --stall-timeout "$stall"
check "frozen: the migration is under way (20 MB sent)" wait_sent "$A" 20
"$lvh" link "$hosts" freeze
t_fault=$(date +%s.%N)
check "frozen: the delay line drops everything" sh -c "'$lvh' link '$hosts' | grep -q frozen"
wait_exit "$mig_pid" 180
rc=$?
mig_pid=
t_exit=$(secs "$t_fault")
kill_wait "$watch_pid"
watch_pid=
wire_frozen=$("$lvh" delay-stats "$hosts" | tr '\n' ';')
"$lvh" link "$hosts" thaw
check "frozen: fpbctl exit 1 after $t_exit s" [ $rc = 1 ]
[ $rc = 1 ] || sed 's/^/#   /' "$work/frozen.err"
check "frozen: cancelled for sending nothing for $stall s" \
    grep -q "sent nothing for $stall s" "$work/frozen.json"
check "frozen: fpbd's row failed" grep -q '"phase":"failed"' "$work/frozen.json"
check "frozen: libvirt reports cancelled" grep -q '"status":"cancelled"' "$work/frozen.json"
check "frozen: memory given back on the source" \
    grep -q '"restore":{"status":"done","where":"source"' "$work/frozen.json"
check "frozen: the domain runs on a" runs_on "$A"
check "frozen: a's balloon at full size" full_size "$A"
check "frozen: not running on b" gone_from "$B" 60
check "frozen: the guest verifies its memory on a (a new pass)" wait_passes $((before + 1)) 60
check "frozen: no bad page" [ "$(bad_passes)" = 0 ]
note "frozen: fpbctl exit $t_exit s after the line froze, the VM whole again after" \
    "$(secs "$t_fault") s; error: $(field "$work/frozen.json" error)"
note "delay line at exit: $wire_frozen"
note "frozen: a's memory_processed, sampled: at most" \
    "$(awk '$2 > m { m = $2 } END { printf "%.1f", m / 1e6 }' "$work/frozen.sent") MB; the last non-zero" \
    "$(awk -v t="$t_fault" '$2 > 0 { last = $1 - t; z = 0; next } { z++ }
        END { printf "%.1f s after the freeze, then %d samples of 0", last, z }' "$work/frozen.sent")"
note "frozen: the row's migration: $(sed -n 's/.*"migration":\({[^}]*}\).*/\1/p' "$work/frozen.json")"
# libvirt reads 0 for every figure once the job is aborted: the row keeps
# what the migration had sent (at least the 20 MB waited for above)
row_sent=$(sed -n 's/.*"migration":{[^}]*"transferred_bytes":\([0-9]*\).*/\1/p' "$work/frozen.json")
check "frozen: the row keeps what was sent before the cancel ($row_sent bytes)" \
    [ "${row_sent:-0}" -ge 20000000 ]

# ---- nothing left ----
for p in $fpbd_a $fpbd_b; do kill_wait "$p"; done
fpbd_a=
fpbd_b=
dl_pid=$(cat "$hosts/net/delay.pid" 2>/dev/null)
# the delay line's PID too
check_bed_down "$lvh" "$hosts" $dl_pid

note "total $(($(date +%s) - t_start)) s"
echo "1..$n"
[ $failed = 0 ]
