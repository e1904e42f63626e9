#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fpbctl evacuate --via-fpbd (docs/evacuate.md, "Through fpbd"): fpbd runs
# on host a of lv-hosts.sh (`up --net fast`: two libvirt hosts in network
# namespaces joined by a 1 Gbit/s veth; without --net the plain bed over
# loopback), its control socket open to a socket-group, and the operator
# is not root: uid 65534 with that group as a supplementary one. Two 512
# MiB test guests, each verifying its memory through its own serial
# console log (the destination appends to the same file):
#   --dry-run       a plan (JSON), nothing journaled;
#   refusals        a root-only option (--migrate-uri) and a destination
#                   outside allowed-destinations: exit 2, nothing done;
#   SIGINT          of fpbctl mid-run: fpbd cancels the evacuation, the
#                   memory is given back, fpbctl prints fpbd's outcome and
#                   exits 1, the evacuation row is "cancelled";
#   a -> b          both evacuated through fpbd, each destination's memory
#                   verified, one row per VM naming one evacuation row in
#                   fpbd's journal, with the predicted and actual makespan.
# fpbd's journal is read once fpbd has stopped: another process's SQLite
# reader while fpbd runs may find fpbd's locks gone and remove the -shm
# file under it (fpb-journal.c's tighten() opens and closes the journal's
# files beside live connections; see the evacuation's report).
# TAP on stdout.
#
# Environment: FPBCTL, FPBD, FPB_GUEST_DIR (vmlinuz, initrd.img). Needs
# root, python3 (its sqlite3 module reads the journal), setpriv.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
fpbd=${FPBD:?FPBD is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
lvh=$here/lv-hosts.sh
vms="fpb-evf-1 fpb-evf-2"
operator=65534
. "$here/lv-tap.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (network and mount namespaces, libvirtd)"
    exit 0
fi
group=
for g in users adm staff; do
    if getent group "$g" >/dev/null; then group=$g && break; fi
done
if [ -z "$group" ] || ! command -v setpriv >/dev/null; then
    echo "1..0 # SKIP needs setpriv and an existing group (users, adm, staff)"
    exit 0
fi
gid=$(getent group "$group" | cut -d: -f3)

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-evf-test.XXXXXX")
hosts=$work/hosts
evac_pid=
fpbd_pid=
cleanup() {
    [ -z "$evac_pid" ] || kill -9 "$evac_pid" 2>/dev/null
    if [ -n "$fpbd_pid" ]; then
        kill -TERM "$fpbd_pid" 2>/dev/null
        i=0
        while kill -0 "$fpbd_pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$fpbd_pid" 2>/dev/null
    fi
    "$lvh" down "$hosts" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
net=
if sed -n '1,40p' "$lvh" | grep -q -- '--net PROFILE'; then
    net="--net fast"
fi
# shellcheck disable=SC2086 # two words or none
if ! "$lvh" up $net "$hosts" > "$work/uris" 2> "$work/up.err"; then
    echo "Bail out! cannot start the libvirt hosts: $(tail -3 "$work/up.err" | tr '\n' ' ')"
    exit 1
fi
# shellcheck disable=SC1091 # written by lv-hosts.sh up
. "$work/uris"
A=$FPB_LV_A
B=$FPB_LV_B
if [ -n "$net" ]; then
    # fpbd runs "on" host a and talks to both over qemu+tcp (allowed by
    # default); the migrations' data go over the veth
    SRC_A=$FPB_LV_A_TCP
    SRC_B=$FPB_LV_B_TCP
    note "bed up --net fast in $(($(date +%s) - t_start)) s: a $FPB_LV_A_ADDR, b $FPB_LV_B_ADDR"
else
    # the plain bed: root's local socket is the only way to b, and fpbd
    # accepts it from root alone (the operator's run is then refused)
    SRC_A=$A
    SRC_B=$B
    note "lv-hosts.sh has no --net: the plain bed, b is a local socket"
fi
grep -q warning "$work/up.err" && note "$(cat "$work/up.err")"

# fpbd on a: its socket in a directory the operator can reach
chmod 0711 "$work"
mkdir -m 0755 "$work/run"
# Every directory above the socket must be searchable by the operator
# (a TMPDIR of mode 0700 is not): said here, not as a refused connect.
if ! setpriv --reuid="$operator" --regid="$operator" --groups="$gid" -- test -x "$work/run"; then
    echo "Bail out! uid $operator cannot reach $work/run: a directory above it is not searchable ($(stat -c '%a %n' "$(dirname "$work")"))"
    exit 1
fi
db=$work/fpbd.db
sock=$work/run/fpbd.sock
cat > "$work/fpbd.conf" <<CONF
[daemon]
uri=$SRC_A
socket=$sock
socket-group=$group
journal=$db
reconnect-seconds=1
max-migrations=4
CONF
if [ -n "$net" ]; then
    "$lvh" exec "$hosts" a "$fpbd" --config "$work/fpbd.conf" > "$work/fpbd.log" 2>&1 &
else
    "$fpbd" --config "$work/fpbd.conf" > "$work/fpbd.log" 2>&1 &
fi
fpbd_pid=$!
status_of() { echo '{"op":"status"}' | socat -t 2 - "UNIX-CONNECT:$sock" 2>/dev/null; }
i=0
while ! status_of | grep -q '"connected":true' && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd on host a is connected to its libvirt" sh -c "echo '{\"op\":\"status\"}' |
    socat -t 2 - 'UNIX-CONNECT:$sock' | grep -q '\"connected\":true'"

# via [--exec] ARGS...: fpbctl evacuate --via-fpbd as the operator (not
# root, in fpbd's socket-group); --exec (in a background job): the job's
# PID becomes fpbctl's
via() {
    ex=
    if [ "$1" = --exec ]; then
        ex="exec"
        shift
    fi
    $ex setpriv --reuid="$operator" --regid="$operator" --groups="$gid" -- \
        "$fpbctl" evacuate --via-fpbd --socket "$sock" --to "$SRC_B" "$@"
}
sql() { # sql QUERY: rows of fpbd's journal, columns joined by |
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in r))' "$db" "$1"
}

# ---- two guests on a ----
# 512 MiB each, writes and frees 200 MiB, holds 128 MiB it verifies forever
for vm in $vms; do
    "$here/lv-domain.sh" "$vm" "$guest" "$work/$vm.log" 512 \
        "init_on_alloc=1 fpb.balloon=stock fpbw.free=200 fpbw.hold=128" > "$work/$vm.xml"
    virsh -q -c "$A" define "$work/$vm.xml" >/dev/null
    check "$vm defined and started on host a" virsh -q -c "$A" start "$vm"
done

count() { c=$(grep -c "$2" "$work/$1.log" 2>/dev/null); echo "${c:-0}"; }
passes() { count "$1" 'fpbw: pass [0-9]* ok'; }
bad_passes() { count "$1" 'fpbw: pass [0-9]* bad'; }
wait_passes() { # wait_passes VM MIN TIMEOUT_S
    i=0
    while [ "$(passes "$1")" -lt "$2" ] && [ $i -lt $(($3 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(passes "$1")" -ge "$2" ]
}
for vm in $vms; do
    check "$vm: workload ready (first verification pass)" wait_passes "$vm" 1 90
done

running_on() { virsh -q -c "$(virsh_uri "$1")" domstate "$2" 2>/dev/null | grep -q '^running'; }
virsh_uri() { case $1 in a) echo "$A" ;; *) echo "$B" ;; esac; }
where() { # where VM: the hosts it runs on (a, b, a b or nothing)
    w=
    for h in a b; do running_on $h "$1" && w="${w:+$w }$h"; done
    echo "$w"
}
used_kib() { virsh -q -c "$(virsh_uri "$1")" dominfo "$2" | awk '/^Used memory/ {print $3}'; }
max_kib() { virsh -q -c "$(virsh_uri "$1")" dominfo "$2" | awk '/^Max memory/ {print $3}'; }
full_size() { # full_size HOST VM: Used memory reaches Max memory within 5 s
    i=0
    while [ "$(used_kib "$1" "$2")" != "$(max_kib "$1" "$2")" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(used_kib "$1" "$2")" = "$(max_kib "$1" "$2")" ] ||
        { note "$2 on $1: used $(used_kib "$1" "$2") KiB of $(max_kib "$1" "$2") KiB"; false; }
}
# verify WHAT VM HOST BEFORE: runs on HOST only, all its memory, 3 more good passes
verify() {
    check "$1: $2 runs on host $3 only" [ "$(where "$2")" = "$3" ]
    check "$1: $2 has all its memory on $3" full_size "$3" "$2"
    check "$1: $2 verifies its memory on $3 (3 more passes)" wait_passes "$2" $(($4 + 3)) 60
    check "$1: $2 has no bad page" [ "$(bad_passes "$2")" = 0 ]
}
snap_passes() { for vm in $vms; do echo "$vm $(passes "$vm")"; done > "$work/passes"; }
before_of() { sed -n "s/^$1 //p" "$work/passes"; }
last_evacuation() { sql "SELECT max(id) FROM evacuations"; }
rows() { sql "SELECT (SELECT count(*) FROM migrations) || ' ' || (SELECT count(*) FROM evacuations)"; }

if [ -z "$net" ]; then
    # nothing the operator may do here: b is only reachable as root
    via $vms --dry-run > /dev/null 2> "$work/plain.err"
    check "plain bed: a local destination is refused to the operator (exit 2)" [ $? = 2 ]
    note "$(cat "$work/plain.err")"
    echo "1..$n"
    [ $failed = 0 ]
    exit
fi

# ---- --dry-run: a plan, nothing changed ----
via $vms --max-bandwidth 125000000 --dry-run --json > "$work/dry.json" 2> "$work/dry.err"
rc=$?
check "dry-run via fpbd as uid $operator: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/dry.err"
check "dry-run: one JSON plan of the 2 VMs" python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
sys.exit(not (p["makespan_s"] > 0 and [v["name"] for v in p["vms"]] == ["fpb-evf-1", "fpb-evf-2"]))' \
    "$work/dry.json"

# ---- refusals: what fpbd refuses to the operator for every VM ----
via $vms --migrate-uri tcp://192.0.2.1 > /dev/null 2> "$work/root-only.err"
rc=$?
check "refused: --migrate-uri from a non-root operator (exit 2)" [ $rc = 2 ]
check "refused: names the VMs, the option and that nothing was done" grep -q \
    "fpbd refused: VMs 'fpb-evf-1', 'fpb-evf-2': evacuate: option 'migrate-uri' is accepted from root only.*nothing was done" \
    "$work/root-only.err"
setpriv --reuid="$operator" --regid="$operator" --groups="$gid" -- "$fpbctl" evacuate \
    --via-fpbd --socket "$sock" --to "qemu+ssh://$FPB_LV_B_ADDR/system" $vms \
    > /dev/null 2> "$work/dest.err"
rc=$?
check "refused: a destination outside allowed-destinations (exit 2)" [ $rc = 2 ]
check "refused: says why" grep -q "evacuate to 'qemu+ssh://.*' refused: transport 'qemu+ssh' is not in allowed-destinations" "$work/dest.err"
check "refused: nothing held" sh -c "echo '{\"op\":\"status\"}' |
    socat -t 2 - 'UNIX-CONNECT:$sock' | grep -q '\"migrating\":\[\],\"migrations\":0,\"evacuated\":0,\"evacuations\":0'"
for vm in $vms; do
    check "refused: $vm still runs on a only" [ "$(where "$vm")" = a ]
done

# ---- SIGINT of fpbctl mid-run: fpbd cancels, memory given back ----
# 20 MB/s for the two: each migration takes tens of seconds
snap_passes
via --exec $vms --max-bandwidth 20000000 > "$work/int.out" 2> "$work/int.err" &
evac_pid=$!
i=0
while ! grep -q "migrating to" "$work/int.err" && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
t_int=$(date +%s.%N)
kill -INT "$evac_pid"
wait "$evac_pid"
rc=$?
evac_pid=
t_back=$(date +%s.%N)
check "SIGINT: fpbctl exits 1 (fpbd's exit status of a cancelled evacuation)" [ $rc = 1 ]
[ $rc = 1 ] || sed 's/^/#   /' "$work/int.err"
sed 's/^/#   /' "$work/int.out"
check "SIGINT: fpbd said it cancelled the evacuation" grep -q \
    "evacuation to .* cancelled (the client ended its request)" "$work/fpbd.log"
check "SIGINT: fpbctl printed fpbd's outcome" grep -q "evacuation cancelled (journal evacuation" "$work/int.out"
note "SIGINT: fpbctl returned $(awk "BEGIN {printf \"%.1f\", $t_back - $t_int}") s after the signal"
for vm in $vms; do
    verify "SIGINT" "$vm" a "$(before_of "$vm")"
done
check "SIGINT: fpbd holds no VM any more" sh -c "echo '{\"op\":\"status\"}' |
    socat -t 2 - 'UNIX-CONNECT:$sock' | grep -q '\"migrating\":\[\],.*\"evacuations\":0'"

# ---- a -> b: both, through fpbd ----
snap_passes
t0=$(date +%s.%N)
via $vms --max-bandwidth 125000000 > "$work/a.out" 2> "$work/a.err"
rc=$?
t1=$(date +%s.%N)
check "evacuate a -> b via fpbd as uid $operator: exit 0" [ $rc = 0 ]
if [ $rc != 0 ]; then
    sed 's/^/#   /' "$work/a.err"
    tail -20 "$work/fpbd.log" | sed 's/^/#   fpbd: /'
    ls -la "$work" | sed 's/^/#   /'
    ls -la "/proc/$fpbd_pid/fd" | wc -l | sed 's/^/#   fpbd fds: /'
fi
sed 's/^/#   /' "$work/a.out"
check "a -> b: the direct form's output (plan, outcome)" sh -c "grep -q '^Plan (predicted' '$work/a.out' &&
    grep -q '^Outcome:' '$work/a.out' && grep -q '^makespan predicted' '$work/a.out'"
check "a -> b: fpbd's progress on fpbctl's stderr" grep -q "fpbctl evacuate: \[fpb-evf-1\] starting at" "$work/a.err"
for vm in $vms; do
    verify "a -> b" "$vm" b "$(before_of "$vm")"
done
# SIGINT's run started one or both, this one both
int_started=$((2 - $(grep -c ' not started$' "$work/int.out")))
check "fpbd's status counts the VMs its evacuations ran ($((int_started + 2))), not as migrations" sh -c "echo '{\"op\":\"status\"}' |
    socat -t 2 - 'UNIX-CONNECT:$sock' | grep -q '\"migrations\":0,\"evacuated\":$((int_started + 2)),'"
kill -TERM "$fpbd_pid"
i=0
while kill -0 "$fpbd_pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd stops on SIGTERM" sh -c "! kill -0 $fpbd_pid 2>/dev/null"
fpbd_pid_was=$fpbd_pid
fpbd_pid=

# ---- fpbd's journal ----
# the plan decides whether SIGINT's run had started one VM or both
int_started=$((2 - $(grep -c ' not started$' "$work/int.out")))
note "SIGINT: $int_started of the 2 VMs had started"
check "journal: the two evacuations that ran and nothing else (dry-run, refusals: no row)" \
    [ "$(sql "SELECT group_concat(id || ' ' || status, ', ') FROM evacuations") $(rows)" = \
    "1 cancelled, 2 done $((int_started + 2)) 2" ]
ev=1
check "SIGINT: the evacuation row is cancelled" \
    [ "$(sql "SELECT status FROM evacuations WHERE id = $ev")" = cancelled ]
check "SIGINT: a row for each VM that started, each failed, none left open" [ "$(sql "SELECT count(*) || ' ' ||
    sum(phase = 'failed') FROM migrations WHERE evacuation_id = $ev")" = "$int_started $int_started" ]
check "SIGINT: a migration on the link was cancelled" [ "$(sql "SELECT count(*) FROM migrations
    WHERE evacuation_id = $ev AND mig_status = 'cancelled'")" -ge 1 ]
ev=2
check "a -> b: one evacuation row, done, run by fpbd" [ "$(sql "SELECT count(*)
    FROM evacuations WHERE id = $ev AND status = 'done' AND owner_pid = $fpbd_pid_was")" = 1 ]
check "a -> b: it has the predicted and the actual makespan" [ "$(sql "SELECT count(*) FROM evacuations
    WHERE id = $ev AND predicted_makespan_seconds > 0 AND actual_makespan_seconds > 0 AND end_us > start_us
    AND vms = 2 AND migrated = 2 AND failed = 0 AND plan LIKE '%makespan_s%'")" = 1 ]
check "a -> b: one journal row per VM, each done and naming the evacuation" [ "$(sql "SELECT
    count(DISTINCT vm) || ' ' || count(*) || ' ' || sum(phase = 'done') FROM migrations
    WHERE evacuation_id = $ev")" = "2 2 2" ]
check "a -> b: the VMs' rows ran the plan's mode" [ "$(sql "SELECT count(*) FROM migrations
    WHERE evacuation_id = $ev AND requested_mode = mode")" = 2 ]
makespans=$(sql "SELECT printf('%.1f s predicted, %.1f s actual', predicted_makespan_seconds,
    actual_makespan_seconds) FROM evacuations WHERE id = $ev")
note "a -> b via fpbd: makespan $makespans; wall $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s (with the facts)"
note "a -> b via fpbd: $(sql "SELECT group_concat(vm || ' ' || mode || ' ' || mig_transferred_bytes || ' B', ', ')
    FROM migrations WHERE evacuation_id = $ev")"

note "journal: $(sql "SELECT group_concat(id || ' ' || status, ', ') FROM evacuations")"
note "total $(($(date +%s) - t_start)) s"
echo "1..$n"
[ $failed = 0 ]
