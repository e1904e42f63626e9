#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fpbctl evacuate (docs/evacuate.md) between the two libvirt hosts of
# lv-hosts.sh, each in its own network namespace joined by a veth shaped
# to 1 Gbit/s (`up --net fast`; a bed without --net is used plainly, over
# loopback, and the test says so). Three 512 MiB test guests, each
# verifying its memory through its own serial console log (the
# destination appends to the same file):
#   --dry-run     prints a plan (JSON) and changes nothing;
#   refused       a VM forced to a mode it cannot run (hint): nothing
#                 moves, exit 2, one evacuation row "refused" naming why;
#   a -> b        all three evacuated, each destination's memory verified,
#                 one journal row per VM naming one evacuation row that has
#                 the predicted and the actual makespan;
#   b -> a        one VM cannot land (a domain of its name with another
#                 UUID is defined on a; the VM is forced to balloon so it
#                 has memory to give back): it stays on b with all its
#                 memory and verifies it, the other two complete, exit 11;
#   SIGTERM       mid-run: migrations cancelled, memory given back, exit 1,
#                 the evacuation row "cancelled";
#   kill -9       mid-run, then `fpbctl recover`: every VM runs on exactly
#                 one host with its full balloon, the evacuation row is
#                 closed ("abandoned").
# TAP on stdout.
#
# Environment: FPBCTL, FPB_GUEST_DIR (vmlinuz, initrd.img). Needs root,
# python3 (its sqlite3 module reads the journal).
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
lvh=$here/lv-hosts.sh
vms="fpb-ev-1 fpb-ev-2 fpb-ev-3"
. "$here/lv-tap.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (network and mount namespaces, libvirtd)"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-ev-test.XXXXXX")
hosts=$work/hosts
evac_pid=
cleanup() {
    [ -z "$evac_pid" ] || kill -9 "$evac_pid" 2>/dev/null
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
db=$work/journal.db
printf '[daemon]\n' > "$work/fpbd.conf"
if [ -n "$net" ]; then
    # fpbctl runs "on" the source host, talks to both over qemu+tcp; the
    # migrations' data go over the veth (qemu.conf's migration_host)
    SRC_A=$FPB_LV_A_TCP
    SRC_B=$FPB_LV_B_TCP
    data_opts=
    note "bed up --net fast in $(($(date +%s) - t_start)) s: a $FPB_LV_A_ADDR, b $FPB_LV_B_ADDR"
else
    SRC_A=$A
    SRC_B=$B
    data_opts="--migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1"
    note "lv-hosts.sh has no --net: the plain bed, migrations over loopback"
fi
grep -q warning "$work/up.err" && note "$(cat "$work/up.err")"

on() { # on a|b CMD...: CMD on the host (its namespaces)
    h=$1
    shift
    if [ -n "$net" ]; then "$lvh" exec "$hosts" "$h" "$@"; else "$@"; fi
}
uri_of() { case $1 in a) echo "$SRC_A" ;; *) echo "$SRC_B" ;; esac; }
virsh_uri() { case $1 in a) echo "$A" ;; *) echo "$B" ;; esac; }
# evacuate [--exec] FROM TO [ARGS...]: fpbctl evacuate run on host FROM;
# --exec (in a background job): the job's PID becomes fpbctl's
evacuate() {
    ex=
    if [ "$1" = --exec ]; then
        ex="exec"
        shift
    fi
    from=$1
    to=$2
    shift 2
    # shellcheck disable=SC2086 # $ex and data_opts: words or nothing
    if [ -n "$net" ]; then
        $ex "$lvh" exec "$hosts" "$from" "$fpbctl" evacuate --connect "$(uri_of "$from")" \
            --to "$(uri_of "$to")" --db "$db" --config "$work/fpbd.conf" "$@"
    else
        $ex "$fpbctl" evacuate --connect "$(uri_of "$from")" --to "$(uri_of "$to")" \
            --db "$db" --config "$work/fpbd.conf" $data_opts "$@"
    fi
}
sql() { # sql QUERY: rows of the journal, columns joined by |
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in r))' "$db" "$1"
}

# ---- three guests on a ----
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
json_get() { # json_get FILE DOTTED.PATH: a member of the last line's JSON object
    python3 -c 'import json, sys
v = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1" "$2" 2>/dev/null
}

# ---- --dry-run: a plan, nothing changed ----
evacuate a b --max-bandwidth 125000000 --dry-run --json > "$work/dry.json" 2> "$work/dry.err"
rc=$?
check "dry-run: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/dry.err"
check "dry-run: one JSON plan of the 3 VMs" [ "$(json_get "$work/dry.json" vms.2.name)" = fpb-ev-3 ]
check "dry-run: the plan has a makespan" \
    python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["makespan_s"] > 0)' "$work/dry.json"
check "dry-run: no journal row, no evacuation row" \
    [ "$(sql "SELECT (SELECT count(*) FROM migrations) + (SELECT count(*) FROM evacuations)")" = 0 ]
for vm in $vms; do
    check "dry-run: $vm still runs on a only" [ "$(where "$vm")" = a ]
done

# ---- refused: the plan refuses every VM; nothing moves, the row says why ----
"$fpbctl" policy fpb-ev-1 --connect "$A" mode=hint > /dev/null
evacuate a b fpb-ev-1 --max-bandwidth 125000000 > "$work/refused.out" 2> "$work/refused.err"
rc=$?
"$fpbctl" policy fpb-ev-1 --connect "$A" mode= > /dev/null
check "refused: exit 2" [ $rc = 2 ]
check "refused: says nothing was done" grep -q "no VM can be evacuated, nothing done" "$work/refused.err"
[ $rc = 2 ] || sed 's/^/#   /' "$work/refused.err"
check "refused: one evacuation row, refused, naming the VM and why; no VM row" \
    [ "$(sql "SELECT count(*) FROM evacuations WHERE status = 'refused' AND migrated = 0 AND failed = 1
        AND error LIKE 'no VM could be evacuated: fpb-ev-1 refused: %' AND end_us >= start_us") $(sql \
        "SELECT count(*) FROM migrations")" = "1 0" ]
note "refused: $(sql "SELECT error FROM evacuations WHERE status = 'refused'")"
check "refused: fpb-ev-1 still runs on a only" [ "$(where fpb-ev-1)" = a ]

# ---- a -> b: all three ----
snap_passes
t0=$(date +%s.%N)
evacuate a b --max-bandwidth 125000000 > "$work/a.out" 2> "$work/a.err"
rc=$?
t1=$(date +%s.%N)
check "evacuate a -> b: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/a.err"
sed 's/^/#   /' "$work/a.out"
for vm in $vms; do
    verify "a -> b" "$vm" b "$(before_of "$vm")"
done
ev=$(last_evacuation)
check "a -> b: one evacuation row, done" [ "$(sql "SELECT status FROM evacuations WHERE id = $ev")" = "done" ]
check "a -> b: it has the predicted and the actual makespan" [ "$(sql "SELECT count(*) FROM evacuations
    WHERE id = $ev AND predicted_makespan_seconds > 0 AND actual_makespan_seconds > 0 AND end_us > start_us
    AND vms = 3 AND migrated = 3 AND failed = 0 AND plan LIKE '%makespan_s%'")" = 1 ]
check "a -> b: one journal row per VM, each done and naming the evacuation" [ "$(sql "SELECT
    count(DISTINCT vm) || ' ' || count(*) || ' ' || sum(phase = 'done') FROM migrations
    WHERE evacuation_id = $ev")" = "3 3 3" ]
check "a -> b: the VMs' rows ran the plan's mode" [ "$(sql "SELECT count(*) FROM migrations
    WHERE evacuation_id = $ev AND requested_mode = mode")" = 3 ]
makespans=$(sql "SELECT printf('%.1f s predicted, %.1f s actual', predicted_makespan_seconds,
    actual_makespan_seconds) FROM evacuations WHERE id = $ev")
note "a -> b: makespan $makespans; wall $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s (with the facts)"
note "a -> b: $(sql "SELECT group_concat(vm || ' ' || mode || ' ' || mig_transferred_bytes || ' B', ', ')
    FROM migrations WHERE evacuation_id = $ev")"

# ---- b -> a: one VM cannot land ----
# a domain of fpb-ev-3's name but another UUID on a: libvirt refuses it
# there ("already exists with uuid"); forced to balloon, it inflates first
virsh -q -c "$A" undefine fpb-ev-3 >/dev/null
virsh -q -c "$A" define "$work/fpb-ev-3.xml" >/dev/null
"$fpbctl" policy fpb-ev-3 --connect "$B" mode=balloon > /dev/null
snap_passes
evacuate b a --max-bandwidth 125000000 --json > "$work/b.json" 2> "$work/b.err"
rc=$?
check "evacuate b -> a with one VM that cannot land: exit 11 (one not evacuated)" [ $rc = 11 ]
check "b -> a --json: a plan, then the outcome" [ "$(grep -c '^{' "$work/b.json")" = 2 ]
check "b -> a --json: the outcome says failed, 2 of 3 migrated" \
    [ "$(json_get "$work/b.json" status) $(json_get "$work/b.json" migrated)" = "failed 2" ]
res3=$(json_get "$work/b.json" runs.2.result)
err3=$(json_get "$work/b.json" runs.2.row.error)
check "b -> a --json: fpb-ev-3 failed" [ "$res3" = failed ]
matches() { printf '%s\n' "$1" | grep -q "$2"; }
check "b -> a --json: its row's error says why" matches "$err3" "VM 'fpb-ev-3': migration .* already exists"
note "b -> a: $(tail -1 "$work/b.json" | cut -c1-400)..."
for vm in fpb-ev-1 fpb-ev-2; do
    verify "b -> a" "$vm" a "$(before_of "$vm")"
done
verify "b -> a, the failed VM" fpb-ev-3 b "$(before_of fpb-ev-3)"
ev=$(last_evacuation)
row3=$(sql "SELECT phase || ' ' || mode || ' ' || restore_status || ' ' || coalesce(restore_where, '-')
    FROM migrations WHERE evacuation_id = $ev AND vm = 'fpb-ev-3'")
check "b -> a: the failed VM's row: failed, balloon, memory given back on the source" \
    [ "$row3" = "failed balloon done source" ]
check "b -> a: the evacuation row failed, 2 migrated, 1 failed" [ "$(sql "SELECT status || ' ' ||
    migrated || ' ' || failed FROM evacuations WHERE id = $ev")" = "failed 2 1" ]
"$fpbctl" policy fpb-ev-3 --connect "$B" mode= > /dev/null
virsh -q -c "$A" undefine fpb-ev-3 >/dev/null

# ---- SIGTERM mid-run: cancelled, memory given back ----
# 20 MB/s for the two: each migration takes tens of seconds
snap_passes
rows_before=$(sql "SELECT coalesce(max(id), 0) FROM migrations")
evacuate --exec a b --max-bandwidth 20000000 fpb-ev-1 fpb-ev-2 > "$work/term.out" 2> "$work/term.err" &
evac_pid=$!
i=0
while ! grep -q "migrating to" "$work/term.err" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
kill -TERM "$evac_pid"
wait "$evac_pid"
rc=$?
evac_pid=
check "SIGTERM: exit 1" [ $rc = 1 ]
sed 's/^/#   /' "$work/term.out"
for vm in fpb-ev-1 fpb-ev-2; do
    verify "SIGTERM" "$vm" a "$(before_of "$vm")"
done
ev=$(last_evacuation)
check "SIGTERM: the evacuation row is cancelled" [ "$(sql "SELECT status FROM evacuations WHERE id = $ev")" = cancelled ]
# the plan may run the two one after the other (it did in CI: 20 MB/s is
# one VM's share), and a VM not started yet has no row: it is reported
# "not started"; every row written is failed, none open
rows=$(sql "SELECT count(*) || ' ' || sum(phase = 'failed') || ' ' || sum(evacuation_id = $ev)
    FROM migrations WHERE id > $rows_before")
not_started=$(grep -c "not started" "$work/term.out")
check "SIGTERM: its VM rows failed, none left open; the others not started (rows $rows, $not_started not started)" \
    sh -c "set -- $rows; [ \$1 -ge 1 ] && [ \$1 = \$2 ] && [ \$1 = \$3 ] && [ \$((\$1 + $not_started)) = 2 ]"
check "SIGTERM: a migration on the link was cancelled" [ "$(sql "SELECT count(*) FROM migrations
    WHERE evacuation_id = $ev AND mig_status = 'cancelled'")" -ge 1 ]

# ---- kill -9 mid-run, then fpbctl recover ----
snap_passes
rows_before=$(sql "SELECT coalesce(max(id), 0) FROM migrations")
evacuate --exec a b --max-bandwidth 20000000 fpb-ev-1 fpb-ev-2 > "$work/kill.out" 2> "$work/kill.err" &
evac_pid=$!
i=0
while ! grep -q "migrating to" "$work/kill.err" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
kill -9 "$evac_pid"
wait "$evac_pid" 2>/dev/null
evac_pid=
ev=$(last_evacuation)
check "kill -9: the evacuation row is left running" [ "$(sql "SELECT status FROM evacuations WHERE id = $ev")" = running ]
check "kill -9: a VM row is left open" [ "$(sql "SELECT count(*) FROM migrations
    WHERE phase IN ('intent', 'preparing', 'migrating', 'restoring')")" -ge 1 ]
on a "$fpbctl" recover --db "$db" > "$work/recover.out" 2>&1
rc=$?
check "recover: exit 0" [ $rc = 0 ]
sed 's/^/#   /' "$work/recover.out"
check "recover: says it closed the evacuation" grep -q "evacuation $ev: abandoned" "$work/recover.out"
for vm in $vms; do
    w=$(where "$vm")
    check "after recover: $vm runs on exactly one host ($w)" sh -c "[ '$w' = a ] || [ '$w' = b ]"
    case "$w" in a | b) verify "after recover" "$vm" "$w" "$(before_of "$vm")" ;; esac
done
check "after recover: no open VM row" [ "$(sql "SELECT count(*) FROM migrations
    WHERE phase IN ('intent', 'preparing', 'migrating', 'restoring')")" = 0 ]
check "after recover: the evacuation row is closed (abandoned, with a note)" [ "$(sql "SELECT count(*)
    FROM evacuations WHERE id = $ev AND status = 'abandoned' AND end_us > 0
    AND error LIKE '%died during the evacuation%'")" = 1 ]
# one or two rows, each naming the evacuation: a VM's row is written once
# its pipeline has collected its facts and decided, and the plan may start
# the second only after the first (CI's runs of 838adfc and a900990)
started=$(sql "SELECT count(*) FROM migrations WHERE id > $rows_before")
named=$(sql "SELECT count(*) FROM migrations WHERE id > $rows_before AND evacuation_id = $ev")
check "after recover: its VM rows name it ($named of $started)" sh -c "[ $started -ge 1 ] && [ $named = $started ]"
sed 's/^/#   kill -9 run: /' "$work/kill.err"
on a "$fpbctl" recover --db "$db" > "$work/recover2.out" 2>&1
check "recover again: nothing to recover" grep -q "nothing to recover" "$work/recover2.out"

# a re-plan for a due start that started nothing holds the next one for
# 1 s (a late VM used to make one every 200 ms tick); one in between a
# start or a finish does not count
replan_gaps() { # replan_gaps FILE...: the closest two such re-plans, "none" if fewer
    python3 -c 'import re, sys
best = None
for path in sys.argv[1:]:
    last = None
    for line in open(path, errors="replace"):
        if " starting at " in line or re.search(r"\] [a-z-]+ at [0-9.]+ s \(planned", line):
            last = None
        m = re.search(r"re-planned at ([0-9.]+) s \(a start is due\)", line)
        if m:
            t = float(m.group(1))
            if last is not None and (best is None or t - last < best):
                best = t - last
            last = t
print("none" if best is None else "%.1f" % best)' "$@"
}
gap=$(replan_gaps "$work/a.err" "$work/b.err" "$work/term.err" "$work/kill.err")
check "re-plans for a due start that started nothing: at least 1 s apart (closest: $gap)" \
    sh -c "[ '$gap' = none ] || awk 'BEGIN { exit !($gap >= 0.95) }'"
note "journal: $(sql "SELECT group_concat(id || ' ' || status, ', ') FROM evacuations")"
note "total $(($(date +%s) - t_start)) s"
echo "1..$n"
[ $failed = 0 ]
