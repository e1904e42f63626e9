#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fpbctl through libvirt between two libvirt hosts on this machine
# (lv-hosts.sh): policy metadata, enable-hints, explain, and migrations in
# modes none, balloon and auto, each with the guest's memory verified on
# the destination through its serial console log. On fpb's QEMU (the
# default where installed) the guest then runs fpb's driver and migrates in
# mode hint and auto (which picks hint); on an unfixed QEMU 7.2 a forced
# hint mode is refused by the hint guard and auto runs with hints switched
# off (libvirt's postcopy flag). TAP on stdout.
#
# Then fpbd on one host records a `virsh migrate` passively (JOB_COMPLETED)
# and both hosts' fpb-hook report to it; fpbd on the other runs a migration
# for fpbctl --via-fpbd; while fpbctl migrates the VM, a second fpbctl
# (by UUID) and fpbd are refused; the source's libvirtd is killed mid-migration
# (fpbctl gives the memory back once it returns, fpbd reconnects and
# records the next migration); fpbctl is killed during inflation and
# `fpbctl recover DOMAIN` gives the memory back. fpbd's metrics
# (docs/metrics.md) are scraped over HTTP during and after its migration,
# and its node_exporter textfile read. Last, a guest whose balloon
# acknowledges and takes nothing (fpb's fault build): the host's count of
# its resident RAM says so (not-given), it is not migrated and keeps all its
# memory.
#
# Environment: FPBCTL, FPBD, FPB_HOOK (the binaries), FPB_GUEST_DIR
# (vmlinuz, initrd.img), FPB_SOURCE_ROOT. Needs root.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fpbctl=${FPBCTL:?FPBCTL is not set}
fpbd=${FPBD:?FPBD is not set}
hook=${FPB_HOOK:?FPB_HOOK is not set}
guest=${FPB_GUEST_DIR:?FPB_GUEST_DIR is not set}
vm=fpb-lv-test
. "$here/lv-tap.sh"

if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root (mount namespaces, libvirtd)"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-lv-test.XXXXXX")
fpbd_pid=
fpbd_a_pid=
mig_pid=
cleanup() {
    for p in $fpbd_pid $fpbd_a_pid $mig_pid; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    "$here/lv-hosts.sh" down "$work/hosts" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# both hosts' qemu.d/fpb hook talk to the fpbd started below
export FPB_LV_HOOK="$hook --socket $work/fpbd.sock"
if ! "$here/lv-hosts.sh" up "$work/hosts" > "$work/uris" 2> "$work/up.err"; then
    echo "Bail out! cannot start the libvirt hosts: $(tail -3 "$work/up.err" | tr '\n' ' ')"
    exit 1
fi
. "$work/uris"
A=$FPB_LV_A
B=$FPB_LV_B
db=$work/journal.db
serial=$work/serial.log
# no fpbd.conf from the real host
printf '[daemon]\n' > "$work/fpbd.conf"
fpbctl_() { "$fpbctl" "$@" --config "$work/fpbd.conf"; }

# 1 GiB, writes and frees 600 MiB, holds 128 MiB it verifies forever; the
# balloon has a user alias (fpb must not assume libvirt's balloon0).
FPB_LV_BALLOON_ALIAS=ua-fpb-balloon "$here/lv-domain.sh" "$vm" "$guest" "$serial" 1024 \
    "init_on_alloc=1 fpb.balloon=stock fpbw.free=600 fpbw.hold=128" > "$work/domain.xml"
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
check "guest workload ready (first verification pass)" wait_passes 1 60

# The size libvirt reports on HOST for the domain, in KiB.
used_kib() { virsh -q -c "$1" dominfo "$vm" | awk '/^Used memory/ {print $3}'; }
max_kib() { virsh -q -c "$1" dominfo "$vm" | awk '/^Max memory/ {print $3}'; }
full_size() { # full_size HOST: Used memory reaches Max memory within 5 s
    i=0
    while [ "$(used_kib "$1")" != "$(max_kib "$1")" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(used_kib "$1")" = "$(max_kib "$1")" ] ||
        { note "used $(used_kib "$1") KiB of $(max_kib "$1") KiB"; false; }
}
json_get() { # json_get FILE DOTTED.PATH: a member of the last line's JSON object
    python3 -c 'import json, sys
v = json.loads(open(sys.argv[1]).read().splitlines()[-1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1" "$2" 2>/dev/null
}
json_field() { # json_field FILE KEY: first "KEY":VALUE
    sed -n "s/.*\"$2\":\\(\"[^\"]*\"\\|[0-9.-]*\\|null\\).*/\\1/p" "$1" | head -1 | tr -d '"'
}

# migrate MODE FROM TO: fpbctl migrate, then checks on the destination
migrate() {
    mode=$1
    from=$2
    to=$3
    before=$(passes)
    out=$work/migrate-$mode.json
    t0=$(date +%s.%N)
    fpbctl_ migrate "$vm" "$to" --connect "$from" --mode "$mode" --db "$db" --json \
        --migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1 \
        > "$out" 2> "$work/migrate-$mode.err"
    rc=$?
    t1=$(date +%s.%N)
    check "migrate --mode $mode: exit 0" [ $rc = 0 ]
    [ $rc = 0 ] || sed 's/^/#   /' "$work/migrate-$mode.err"
    check "migrate --mode $mode: journal row done" grep -q '"phase":"done"' "$out"
    check "migrate --mode $mode: libvirt reports completed" grep -q '"status":"completed"' "$out"
    check "migrate --mode $mode: domain runs on the destination" \
        sh -c "virsh -q -c '$to' domstate '$vm' | grep -q running"
    check "migrate --mode $mode: domain gone from the source" \
        sh -c "! virsh -q -c '$from' domstate '$vm' 2>/dev/null | grep -q running"
    # libvirt's "Used memory" follows QEMU's BALLOON_CHANGE events, which
    # QEMU rate-limits to one a second: allow it to catch up.
    check "migrate --mode $mode: destination has all its memory back" full_size "$to"
    check "migrate --mode $mode: destination's persistent definition has its full size" sh -c \
        "virsh -q -c '$to' dumpxml --inactive '$vm' | grep -q \"<currentMemory unit='KiB'>$(max_kib "$to")</currentMemory>\""
    check "migrate --mode $mode: destination guest verifies its memory (3 more passes)" \
        wait_passes $((before + 3)) 60
    check "migrate --mode $mode: no bad page on the destination" [ "$(bad_passes)" = 0 ]
    note "mode $mode: wall $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s, journal row: $(cat "$out")"
}

# ---- policy metadata ----
"$fpbctl" policy "$vm" --connect "$A" mode=balloon floor=256MiB max-prep-seconds=5 \
    > "$work/policy.out" 2>&1
check "policy set: exit 0" [ $? = 0 ] || sed 's/^/#   /' "$work/policy.out"
check "policy readable with virsh metadata (live)" sh -c \
    "virsh -q -c '$A' metadata '$vm' https://fpb.example/xmlns/policy/1 --live | grep -q '<floor unit=\"bytes\">268435456</floor>'"
check "policy persistent too" sh -c \
    "virsh -q -c '$A' metadata '$vm' https://fpb.example/xmlns/policy/1 --config | grep -q '<mode>balloon</mode>'"
"$fpbctl" policy "$vm" --connect "$A" --json > "$work/policy.json"
check "policy shown" grep -q '"mode":"balloon","objective":null,"floor":"268435456"' "$work/policy.json"
"$fpbctl" policy "$vm" --connect "$A" floor=-1 > /dev/null 2> "$work/policy-bad.err"
check "policy: bad value is exit 2" [ $? = 2 ]
check "policy: bad value names VM and key" grep -q "VM '$vm': floor: '-1' is not a size" "$work/policy-bad.err"
"$fpbctl" policy nosuchvm --connect "$A" > /dev/null 2> "$work/policy-nodom.err"
check "policy: unknown domain is exit 2" [ $? = 2 ]
fpbctl_ explain "$vm" --connect "$A" --db "$db" --json > "$work/explain.json" 2> "$work/explain.err"
# a forced balloon the guest cannot give is refused; either way the
# decision says where the mode came from
check "explain: the policy metadata is used" \
    grep -q "\"mode\": \"balloon\"\\|policy mode 'balloon' cannot run" "$work/explain.json" "$work/explain.err"
[ -s "$work/explain.err" ] && sed 's/^/#   /' "$work/explain.err"
"$fpbctl" policy "$vm" --connect "$A" mode= max-prep-seconds= > /dev/null
check "policy: KEY= removes a key" sh -c \
    "! virsh -q -c '$A' metadata '$vm' https://fpb.example/xmlns/policy/1 | grep -q mode"

# ---- migrations without hints ----
migrate none "$A" "$B"
migrate balloon "$B" "$A"

# ---- enable-hints; then on fpb's QEMU hinted migrations through fpb's
# guest driver, on an unfixed QEMU the guard and auto with hints off ----
emulator=$(virsh -q -c "$A" dumpxml "$vm" | sed -n 's|.*<emulator>\(.*\)</emulator>.*|\1|p')
fixed_qemu=false
"$emulator" --version | grep -q fpb-patched && fixed_qemu=true
note "emulator $emulator ($("$emulator" --version | head -1)); TCG dirty-tracking fix: $fixed_qemu"
"$fpbctl" enable-hints "$vm" --connect "$A" > "$work/eh.out" 2>&1
check "enable-hints: exit 0" [ $? = 0 ]
check "enable-hints: says next boot" grep -q "next boot" "$work/eh.out"
"$fpbctl" enable-hints "$vm" --connect "$A" > "$work/eh2.out" 2>&1
check "enable-hints: idempotent" grep -q "already enabled" "$work/eh2.out"
check "enable-hints: override in the persistent XML" sh -c \
    "virsh -q -c '$A' dumpxml --inactive '$vm' | grep -q \"name='free-page-hint' type='bool' value='true'\""
virsh -q -c "$A" destroy "$vm" >/dev/null
if $fixed_qemu; then
    # From here on the guest runs fpb's driver (fpb_balloon.ko).
    check "the test guest has fpb's driver" grep -qx fpb_balloon "$guest/guest-modules"
    virsh -q -c "$A" dumpxml --inactive "$vm" | sed 's/fpb\.balloon=stock/fpb.balloon=fpb/' \
        > "$work/domain-fpb.xml"
    virsh -q -c "$A" define "$work/domain-fpb.xml" >/dev/null
fi
: > "$serial"
check "domain restarts with free-page-hint" virsh -q -c "$A" start "$vm"
check "guest workload ready again" wait_passes 1 60
fpbctl_ explain "$vm" --connect "$A" --db "$db" --json > "$work/explain2.json" 2>/dev/null
check "explain: the guest negotiated hints" grep -q '"free_page_hint": true' "$work/explain2.json"
check "explain: names the emulator" grep -q "\"qemu_binary\": \"$emulator\"" "$work/explain2.json"
check "explain: the host's count of its resident RAM (its QEMU runs here)" \
    grep -Eq '"guest_resident_bytes": [1-9]' "$work/explain2.json"
if $fixed_qemu; then
    check "explain: fpb's QEMU recognised" grep -q '"qemu_is_fpb": true' "$work/explain2.json"
    # its schema read through libvirt's pass-through (an array: once refused)
    check "explain: fpb's hint switch seen through libvirt" \
        grep -q '"qemu_hint_switch": true' "$work/explain2.json"
    check "fpb's driver loaded in the guest" sh -c \
        "grep -q 'fpb-guest: balloon=fpb' '$serial' && ! grep -q 'fpb-guest: error' '$serial'"
    migrate hint "$A" "$B"
    check "migrate --mode hint: hints on" grep -q '"hints":"on"' "$work/migrate-hint.json"
    sent=$(json_get "$work/migrate-hint.json" migration.normal_bytes)
    note "hint: $sent normal bytes"
    check "migrate --mode hint: the freed 600 MiB stayed home (< 450 MiB sent)" \
        [ "${sent:-999999999999}" -lt $((450 * 1024 * 1024)) ]
    migrate auto "$B" "$A"
    check "auto: picked hint (fpb's QEMU and driver)" \
        [ "$(json_get "$work/migrate-auto.json" decision.mode)" = hint ]
    migrate none "$A" "$B"
else
    check "explain: not fpb's QEMU" grep -q '"qemu_is_fpb": false' "$work/explain2.json"
    fpbctl_ migrate "$vm" "$B" --connect "$A" --mode hint --db "$db" --json \
        > "$work/hint.json" 2> "$work/hint.err"
    check "migrate --mode hint: refused (exit 2)" [ $? = 2 ]
    check "migrate --mode hint: the hint guard says why" grep -q HINT_UNSAFE_TCG_DIRTY_TRACKING "$work/hint.err"
    check "migrate --mode hint: journal row refused" grep -q '"phase":"refused"' "$work/hint.json"
    check "migrate --mode hint: domain still runs on the source" sh -c \
        "virsh -q -c '$A' domstate '$vm' | grep -q running"
    migrate auto "$A" "$B"
    check "auto: hints switched off (libvirt postcopy flag)" grep -q '"hints":"off"' "$work/migrate-auto.json"
fi

# ---- bad input ----
fpbctl_ migrate "$vm" "qemu+unix:///system?socket=$work/nowhere" --connect "$B" --db "$db" \
    > /dev/null 2> "$work/nodest.err"
check "unreachable destination: exit 2" [ $? = 2 ]
check "unreachable destination: domain still runs" sh -c \
    "virsh -q -c '$B' domstate '$vm' | grep -q running"
"$fpbctl" enable-hints nosuchvm --connect "$A" > /dev/null 2>&1
check "enable-hints: unknown domain is exit 2" [ $? = 2 ]

# ---- enable-hints on a TCG domain defined on Debian's QEMU (never started) ----
FPB_QEMU=qemu-system-x86_64 "$here/lv-domain.sh" fpb-lv-debian "$guest" "$work/debian.log" 512 "" \
    > "$work/debian.xml"
virsh -q -c "$A" define "$work/debian.xml" >/dev/null
"$fpbctl" enable-hints fpb-lv-debian --connect "$A" > "$work/eh3.out" 2>&1
check "enable-hints on Debian's QEMU under TCG: says hints would be refused, and how to switch" \
    grep -q "fpb refuses hints on a QEMU without the TCG dirty-tracking fix.*--fpb-qemu" "$work/eh3.out"
"$fpbctl" enable-hints fpb-lv-debian --connect "$A" --fpb-qemu > "$work/eh4.out" 2>&1
rc=$?
pkg_qemu=${FPB_QEMU_PACKAGE_BINARY:-/usr/lib/fpb/qemu/bin/qemu-system-x86_64}
if [ -x "$pkg_qemu" ]; then
    check "enable-hints --fpb-qemu: exit 0" [ $rc = 0 ]
    check "enable-hints --fpb-qemu: the persistent XML's emulator is fpb's QEMU" sh -c \
        "virsh -q -c '$A' dumpxml --inactive fpb-lv-debian | grep -q '<emulator>$pkg_qemu</emulator>'"
else
    check "enable-hints --fpb-qemu without fpb's QEMU: exit 2" [ $rc = 2 ]
fi
virsh -q -c "$A" undefine fpb-lv-debian >/dev/null

# ---- fpbd: passive record of a migration fpb did not start, hooks ----
cat > "$work/fpbd-b.conf" <<CONF
[daemon]
uri=$B
socket=$work/fpbd.sock
journal=$work/observed.db
reconnect-seconds=1
CONF
"$fpbd" --config "$work/fpbd-b.conf" > "$work/fpbd.log" 2>&1 &
fpbd_pid=$!
connected() {
    echo '{"op":"status"}' | socat -t 2 - "UNIX-CONNECT:$work/fpbd.sock" 2>/dev/null |
        grep -q '"connected":true'
}
i=0
while ! connected && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd connected to host b" connected
before=$(passes)
# --postcopy (never started) switches free-page hints off, as fpb does: with
# hints on, Debian's QEMU under TCG may lose writes (docs/hint-safety.md),
# and the stock guest driver keeps the hinted free pages allocated after
# the migration (a CI run: 53 MB free, 0 available on the destination),
# so fpb's next decision would see nothing to take.
check "virsh migrate b -> a" virsh -q -c "$B" migrate --live --p2p --postcopy --persistent --undefinesource \
    "$vm" "$A" --migrateuri tcp://127.0.0.1 --listen-address 127.0.0.1
observed() {
    "$fpbctl" history --db "$work/observed.db" --json 2>/dev/null | grep -q '"requested_mode":"observed"'
}
i=0
while ! observed && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd recorded the migration as observed" observed
"$fpbctl" history --db "$work/observed.db" --json > "$work/observed.json" 2>&1
check "observed row has libvirt's statistics" grep -q '"transferred_bytes":[1-9]' "$work/observed.json"
check "after virsh migrate: guest verifies its memory on a" wait_passes $((before + 3)) 60
check "after virsh migrate: no bad page" [ "$(bad_passes)" = 0 ]
check "hook on a (destination) reached fpbd: migrate begin" grep -q "hook migrate begin" "$work/fpbd.log"
i=0
while ! grep -q "hook release end" "$work/fpbd.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "hook on b (source) reached fpbd: release end" grep -q "hook release end" "$work/fpbd.log"
note "observed row: $(head -1 "$work/observed.json")"

# ---- a migration run by fpbd (fpbctl --via-fpbd), from host a ----
# with its metrics on a free loopback port and in a textfile
mkdir -p "$work/textfile"
cat > "$work/fpbd-a.conf" <<CONF
[daemon]
uri=$A
socket=$work/fpbd-a.sock
journal=$work/fpbd-a.db
reconnect-seconds=1
metrics-listen=127.0.0.1:0
metrics-textfile=$work/textfile/fpb.prom
CONF
"$fpbd" --config "$work/fpbd-a.conf" > "$work/fpbd-a.log" 2>&1 &
fpbd_a_pid=$!
status_of() { echo '{"op":"status"}' | socat -t 2 - "UNIX-CONNECT:$1" 2>/dev/null; }
i=0
while ! status_of "$work/fpbd-a.sock" | grep -q '"connected":true' && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
metrics_port=$(sed -n 's|.*metrics: serving http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$work/fpbd-a.log")
scrape() { curl -sSf --max-time 5 "http://127.0.0.1:$metrics_port/metrics"; }
check "metrics: fpbd serves them (port ${metrics_port:-none})" sh -c "[ -n '$metrics_port' ] && curl -sSf --max-time 5 http://127.0.0.1:$metrics_port/metrics > '$work/metrics-0.txt'"
check "metrics: textfile written at start" grep -q '^fpb_journal_rows 0$' "$work/textfile/fpb.prom"
before=$(passes)
"$fpbctl" migrate "$vm" "$B" --via-fpbd --socket "$work/fpbd-a.sock" --mode balloon --json \
    --migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1 \
    > "$work/via.json" 2> "$work/via.err" &
mig_pid=$!
# scraped while fpbd runs the migration: the open row shows as a gauge
scrapes=0
open_seen=false
while kill -0 "$mig_pid" 2>/dev/null; do
    if scrape > "$work/metrics-during.txt" 2>/dev/null; then
        scrapes=$((scrapes + 1))
        grep -q "^fpb_balloon_taken_bytes{vm=\"$vm\"} [0-9]" "$work/metrics-during.txt" && open_seen=true
    fi
    sleep 0.2
done
wait "$mig_pid"
rc=$?
mig_pid=
check "metrics: scraped during the migration ($scrapes scrapes)" [ $scrapes -gt 0 ]
check "metrics: the migration in progress shows in fpb_balloon_taken_bytes" $open_seen
check "migrate --via-fpbd: exit 0" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/#   /' "$work/via.err"
check "migrate --via-fpbd: fpbd's progress shown" grep -q "fpbctl migrate (fpbd): VM '$vm': decided 'balloon'" "$work/via.err"
check "migrate --via-fpbd: row done" grep -q '"phase":"done"' "$work/via.json"
check "migrate --via-fpbd: the row is in fpbd's journal" sh -c \
    "'$fpbctl' history --db '$work/fpbd-a.db' --json | grep -q '\"requested_mode\":\"balloon\",\"phase\":\"done\"'"
status_of "$work/fpbd-a.sock" > "$work/fpbd-a-status.json"
check "fpbd counts its migration and did not record it as observed" \
    grep -q '"observed":0,"migrating":\[\],"migrations":1' "$work/fpbd-a-status.json"
check "migrate --via-fpbd: domain runs on b" sh -c "virsh -q -c '$B' domstate '$vm' | grep -q running"
check "migrate --via-fpbd: b has all the memory back" full_size "$B"
check "migrate --via-fpbd: guest verifies its memory on b" wait_passes $((before + 3)) 60
note "via fpbd: $(cat "$work/via.json")"
scrape > "$work/metrics.txt" 2> "$work/metrics.err"
check "metrics: scrape after the migration" [ $? = 0 ]
check "metrics: fpb_migrations_total counts it with vm, mode and outcome" \
    grep -qx "fpb_migrations_total{vm=\"$vm\",mode=\"balloon\",outcome=\"done\"} 1" "$work/metrics.txt"
check "metrics: bytes sent" grep -q "^fpb_migration_sent_bytes_total{vm=\"$vm\",mode=\"balloon\"} [1-9]" "$work/metrics.txt"
check "metrics: duration histogram" grep -qx "fpb_migration_duration_seconds_count{mode=\"balloon\"} 1" "$work/metrics.txt"
check "metrics: no balloon memory held any more" sh -c "! grep -q '^fpb_balloon_taken_bytes' '$work/metrics.txt'"
check "metrics: promtool accepts the scrape" sh -c "promtool check metrics < '$work/metrics.txt'"
i=0
while ! grep -q "^fpb_migrations_total{vm=\"$vm\",mode=\"balloon\",outcome=\"done\"} 1$" \
    "$work/textfile/fpb.prom" && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
check "metrics: textfile rewritten after the migration" \
    grep -qx "fpb_migrations_total{vm=\"$vm\",mode=\"balloon\",outcome=\"done\"} 1" "$work/textfile/fpb.prom"
check "metrics: textfile has no temporary file beside it" [ "$(ls "$work/textfile")" = fpb.prom ]
check "metrics: 404 for another path" sh -c \
    "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$metrics_port/ | grep -qx 404"
note "metrics: $(grep -c . "$work/metrics.txt") lines, $(grep "^fpb_migration_sent_bytes_total" "$work/metrics.txt")"

# ---- libvirtd of the source dies mid-migration ----
# fpbctl waits for it to come back and gives the memory back; fpbd (on b)
# reconnects. 20 MB/s keeps the migration running long enough to be hit.
"$fpbctl" migrate "$vm" "$A" --config "$work/fpbd.conf" --connect "$B" --mode balloon \
    --db "$db" --json --max-bandwidth 20000000 --migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1 \
    > "$work/crash.json" 2> "$work/crash.err" &
mig_pid=$!
i=0
while ! grep -q "migrating to" "$work/crash.err" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
# two more callers on the VM while it migrates: fpbctl by UUID, fpbd on b
# (the locks beside the journals in $work): refused, nothing done
uuid=$(virsh -q -c "$B" domuuid "$vm")
"$fpbctl" migrate "$uuid" "$A" --config "$work/fpbd.conf" --connect "$B" --mode balloon \
    --db "$db" > /dev/null 2> "$work/second.err"
rc=$?
check "second fpbctl on the VM (by UUID): exit 2" [ $rc = 2 ]
check "second fpbctl on the VM: names the holder" \
    grep -q "is busy: pid $mig_pid (fpbctl migrate, since" "$work/second.err"
"$fpbctl" migrate "$vm" "$A" --via-fpbd --socket "$work/fpbd.sock" --mode none \
    > /dev/null 2> "$work/second-fpbd.err"
rc=$?
check "fpbd on the VM fpbctl migrates: exit 2" [ $rc = 2 ]
check "fpbd on the VM fpbctl migrates: names the holder" \
    grep -q "is busy: pid $mig_pid (fpbctl migrate" "$work/second-fpbd.err"
[ $rc = 2 ] || sed 's/^/#   /' "$work/second-fpbd.err"
sleep 1
"$here/lv-hosts.sh" kill-libvirtd "$work/hosts" b
check "host b's libvirtd killed mid-migration" [ $? = 0 ]
sleep 2
i=0
while status_of "$work/fpbd.sock" | grep -q '"connected":true' && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd on b: not connected while libvirtd is down" sh -c \
    "echo '{\"op\":\"status\"}' | socat -t 2 - UNIX-CONNECT:$work/fpbd.sock | grep -q '\"connected\":false'"
"$here/lv-hosts.sh" start-libvirtd "$work/hosts" b
check "host b's libvirtd started again" [ $? = 0 ]
wait "$mig_pid"
rc=$?
check "libvirtd died: fpbctl exit 1 (failed)" [ $rc = 1 ]
check "libvirtd died: row failed, not left open" grep -q '"phase":"failed"' "$work/crash.json"
check "libvirtd died: memory given back on the source" \
    grep -q '"restore":{"status":"done","where":"source"' "$work/crash.json"
check "libvirtd died: fpbctl said it waited for libvirt" grep -q "lost the connection to libvirt" "$work/crash.err"
check "libvirtd died: domain still runs on b" sh -c "virsh -q -c '$B' domstate '$vm' | grep -q running"
check "libvirtd died: b has all its memory" full_size "$B"
before=$(passes)
check "libvirtd died: guest still verifies its memory" wait_passes $((before + 2)) 60
check "libvirtd died: no bad page" [ "$(bad_passes)" = 0 ]
i=0
while ! status_of "$work/fpbd.sock" | grep -q '"connected":true' && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd on b reconnected after libvirtd's restart" sh -c \
    "echo '{\"op\":\"status\"}' | socat -t 2 - UNIX-CONNECT:$work/fpbd.sock | grep -q '\"connected\":true'"
note "crash row: $(cat "$work/crash.json")"

# ---- fpbctl killed during inflation; fpbctl recover DOMAIN ----
"$fpbctl" migrate "$vm" "$A" --config "$work/fpbd.conf" --connect "$B" --mode balloon \
    --max-prep-seconds 60 --db "$db" \
    --migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1 > /dev/null 2> "$work/killed.err" &
mig_pid=$!
i=0
while ! grep -q "inflating the balloon" "$work/killed.err" && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
kill -9 "$mig_pid"
wait "$mig_pid" 2>/dev/null
check "fpbctl killed during inflation: its row is left open" sh -c \
    "'$fpbctl' history --db '$db' --json | grep -q '\"phase\":\"preparing\"'"
"$fpbctl" recover "$vm" --connect "$B" --db "$db" > "$work/recover.out" 2>&1
check "recover DOMAIN: exit 0" [ $? = 0 ]
check "recover DOMAIN: gave the memory back on the source" \
    grep -q "source memory back to 1024 MiB (done)" "$work/recover.out"
check "recover DOMAIN: no open row left" sh -c \
    "! '$fpbctl' history --db '$db' --json | grep -q '\"phase\":\"preparing\"'"
check "recover DOMAIN: b has all its memory" full_size "$B"
"$fpbctl" recover "$vm" --connect "$B" --db "$db" > "$work/recover2.out" 2>&1
check "recover again: nothing to recover" grep -q "nothing to recover" "$work/recover2.out"
note "recover: $(cat "$work/recover.out")"

# ---- after the restart, fpbd still records what others do ----
before=$(passes)
check "virsh migrate b -> a after libvirtd's restart" virsh -q -c "$B" migrate --live --p2p --postcopy \
    --persistent --undefinesource "$vm" "$A" --migrateuri tcp://127.0.0.1 --listen-address 127.0.0.1
i=0
while ! status_of "$work/fpbd.sock" | grep -q '"observed":2' && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "fpbd recorded it too (no row lost to the restart)" sh -c \
    "echo '{\"op\":\"status\"}' | socat -t 2 - UNIX-CONNECT:$work/fpbd.sock | grep -q '\"observed\":2'"
check "guest verifies its memory on a" wait_passes $((before + 3)) 60

for p in "$fpbd_pid" "$fpbd_a_pid"; do
    kill -TERM "$p"
    wait "$p"
    check "fpbd stops on SIGTERM" [ $? = 0 ]
done
fpbd_pid=
fpbd_a_pid=

# ---- a balloon that acknowledges and takes nothing, through libvirt ----
# fpb's fault build (a guest that lies): the host's count of its resident
# RAM, read through the vCPU thread QMP names, says it gave nothing.
liar=fpb-lv-liar
"$here/lv-domain.sh" "$liar" "$guest" "$work/liar.log" 1024 \
    "init_on_alloc=0 fpb.balloon=faults fpb_balloon.fault=ack_no_pages fpbw.free=600 fpbw.hold=128" \
    > "$work/liar.xml"
virsh -q -c "$A" define "$work/liar.xml" >/dev/null
check "liar: defined and started on host a" virsh -q -c "$A" start "$liar"
i=0
while ! grep -q 'fpbw: pass [0-9]* ok' "$work/liar.log" 2>/dev/null && [ $i -lt 900 ]; do
    sleep 0.1
    i=$((i + 1))
done
liar_passes() { c=$(grep -c 'fpbw: pass [0-9]* ok' "$work/liar.log" 2>/dev/null); echo "${c:-0}"; }
# The lie shows only where the balloon's target lies below what the host
# holds: wait until the guest's stats (every 2 s) show the 600 MiB it
# wrote as free, or the policy sizes the balloon from a sample taken while
# the workload still held it (a small target, nothing to see).
liar_unused() { virsh -q -c "$A" dommemstat "$liar" | awk '$1 == "unused" {v = $2} END {print v + 0}'; }
i=0
while [ "$(liar_unused)" -lt 600000 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "liar: its stats show the freed memory ($(liar_unused) KiB unused)" [ "$(liar_unused)" -ge 600000 ]
liar_before=$(liar_passes)
fpbctl_ migrate "$liar" "$B" --connect "$A" --mode balloon --db "$db" --json \
    --migrate-uri tcp://127.0.0.1 --listen-address 127.0.0.1 > "$work/liar.json" 2> "$work/liar.err"
rc=$?
check "liar: not migrated (exit 1)" [ $rc = 1 ]
check "liar: the balloon stopped not-given" grep -q '"stopped":"not-given"' "$work/liar.json"
[ $rc = 1 ] || { sed 's/^/#   /' "$work/liar.err"; note "liar row: $(cat "$work/liar.json")"; }
liar_used() { virsh -q -c "$A" dominfo "$liar" | awk '/^Used memory/ {print $3}'; }
i=0
while [ "$(liar_used)" != 1048576 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
liar_whole() { virsh -q -c "$A" domstate "$liar" | grep -q running && [ "$(liar_used)" = 1048576 ]; }
check "liar: still runs on a, with all its memory" liar_whole
i=0
while [ "$(liar_passes)" -lt $((liar_before + 2)) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
liar_verifies() { [ "$(liar_passes)" -ge $((liar_before + 2)) ] && ! grep -q 'fpbw: pass [0-9]* bad' "$work/liar.log"; }
check "liar: its workload still verifies (2 more passes, none bad)" liar_verifies
virsh -q -c "$A" destroy "$liar" >/dev/null 2>&1
virsh -q -c "$A" undefine "$liar" >/dev/null 2>&1

"$fpbctl" history --db "$db" > "$work/history.out" 2>&1
note "journal: $(grep -c . "$work/history.out") lines of history"
echo "1..$n"
[ $failed = 0 ]
