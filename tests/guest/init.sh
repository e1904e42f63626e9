#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the fpb test guest: load the virtio stack and the chosen balloon
# driver, then run the workload. Kernel command line:
#   fpb.balloon=stock|fpb|none  which balloon driver to load (default stock;
#                            fpb: fpb_balloon.ko, fpb's free-list-walking driver)
#                            faults: fpb_balloon_faults.ko, the same driver
#                            built with fault injection (fpb_balloon.fault=)
#   fpb_balloon.KEY=VALUE    module parameters for fpb_balloon.ko (and the
#                            faults build)
#   fpb.oomwatch=1           print "fpb-guest: oom_kill=N" (/proc/vmstat) at
#                            start and whenever it changes
#   fpb.loglevel=N           console log level after boot (e.g. 7 shows the
#                            driver's per-command hint lines under `quiet`)
#   fpb.frag=MIB[:thp]       before the workload, fpb-frag writes MIB and frees
#                            every other 4 KiB page (fragmented free memory);
#                            :thp leaves the kernel's huge page default
#                            (the freed pages then wait for a deferred split)
#   fpb.trace=hint           print the start and end of every free-page-hint
#                            work item of either driver (kprobes) on the console
#   fpb.alloclat=KIB[:US]    fpb-alloclat maps, touches and unmaps KIB chunks
#                            and prints latency/throughput windows (250 ms);
#                            :US makes one due every US microseconds and
#                            adds response times (fpb-alloclat -p)
#   fpb.pagecache=MIB        MIB of clean, reclaimable page cache (a file on
#                            ext2 on a brd RAM disk), before the workload;
#                            with fpb.alloclat, fpb-alloclat writes it
#   fpb.memsnap=SEC          every SEC seconds a line "fpb-guest: memsnap ..."
#                            (meminfo, per-CPU list pages, THP split counters)
#   fpb.reclaim=WHAT         before the workload, after fpb.frag and
#                            fpb.pagecache: split (vm.drop_caches=2: the
#                            shrinkers, the deferred THP split among them),
#                            cache (vm.drop_caches=1: clean page cache) or
#                            split+cache; memsnap lines before and after
#   fpb.robust=FAULT         a fault for fpb_balloon beside the workload
#                            (tests/driver/test-driver-robust.c); it prints
#                            "fpb-guest: counters at=WHEN ..." lines (the
#                            driver's sysfs counters, MemTotal, MemFree):
#                              rmmod-walk       rmmod fpb_balloon while a hint
#                                               walk runs
#                              rmmod-inflate:P  rmmod once the balloon holds
#                                               >= P pages (while it inflates)
#                              offline-walk     offline every online movable
#                                               memory block while a walk runs
#                              walk             note a walk running, and its
#                                               end
#                              eat:MIB:P        once the balloon holds >= P
#                                               pages, write MIB to a tmpfs
#                                               (no swap: memory pressure)
#   fpbw.*                   the workload's keys (fpb-workload --help)
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

balloon=stock
loglevel=
trace=
frag=
oomwatch=
robust=
alloclat=
pagecache=
memsnap=
reclaim=
fpb_params=
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        fpb.balloon=*) balloon="${arg#fpb.balloon=}" ;;
        fpb.loglevel=*) loglevel="${arg#fpb.loglevel=}" ;;
        fpb.trace=*) trace="${arg#fpb.trace=}" ;;
        fpb.frag=*) frag="${arg#fpb.frag=}" ;;
        fpb.oomwatch=*) oomwatch="${arg#fpb.oomwatch=}" ;;
        fpb.robust=*) robust="${arg#fpb.robust=}" ;;
        fpb.alloclat=*) alloclat="${arg#fpb.alloclat=}" ;;
        fpb.pagecache=*) pagecache="${arg#fpb.pagecache=}" ;;
        fpb.memsnap=*) memsnap="${arg#fpb.memsnap=}" ;;
        fpb.reclaim=*) reclaim="${arg#fpb.reclaim=}" ;;
        fpb_balloon.*=*) fpb_params="$fpb_params ${arg#fpb_balloon.}" ;;
    esac
done
[ -n "$loglevel" ] && echo "$loglevel" > /proc/sys/kernel/printk

load() {
    # absent: built into this kernel (build-guest.sh checked modules.builtin)
    [ -e "/lib/modules/$1.ko" ] || return 0
    insmod "/lib/modules/$1.ko" || echo "fpb-guest: error: insmod $1 failed"
}
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
    load "$m"
done
case "$balloon" in
    stock) load virtio_balloon ;;
    fpb)
        if [ -e /lib/modules/fpb_balloon.ko ]; then
            # shellcheck disable=SC2086 # one word per parameter
            insmod /lib/modules/fpb_balloon.ko $fpb_params || echo "fpb-guest: error: insmod fpb_balloon failed"
        else
            echo "fpb-guest: error: fpb_balloon.ko is not in this guest (no kernel headers when it was built)"
        fi
        ;;
    faults)
        if [ -e /lib/modules/fpb_balloon_faults.ko ]; then
            # shellcheck disable=SC2086 # one word per parameter
            insmod /lib/modules/fpb_balloon_faults.ko $fpb_params || echo "fpb-guest: error: insmod fpb_balloon_faults failed"
        else
            echo "fpb-guest: error: fpb_balloon_faults.ko is not in this guest (no kernel headers when it was built)"
        fi
        ;;
    none) ;;
    *) echo "fpb-guest: error: unknown fpb.balloon '$balloon'" ;;
esac

# Times every hint work item with kprobes (no driver change): lines
# "fpb-trace: ... hint_begin/hint_end" with the trace clock in seconds.
if [ "$trace" = hint ]; then
    case "$balloon" in
        stock) probe=virtio_balloon:report_free_page_func ;;
        fpb) probe=fpb_balloon:fpb_hint_work ;;
        *) probe= ;;
    esac
    t=/sys/kernel/tracing
    if [ -n "$probe" ] && mount -t tracefs tracefs $t 2>/dev/null &&
       echo "p:fpb/hint_begin $probe" >> $t/kprobe_events &&
       echo "r:fpb/hint_end $probe" >> $t/kprobe_events &&
       echo 1 > $t/events/fpb/enable; then
        (cat $t/trace_pipe | while read -r line; do echo "fpb-trace: $line"; done) > /dev/console 2>&1 &
        echo "fpb-guest: tracing $probe"
    else
        echo "fpb-guest: warning: cannot trace hint work ($probe)"
    fi
fi

for dev in /sys/bus/virtio/devices/*; do
    [ -e "$dev/device" ] || continue
    echo "fpb-guest: virtio $(basename "$dev") device=$(cat "$dev/device") features=$(cat "$dev/features" 2>/dev/null)"
done
echo "fpb-guest: balloon=$balloon kernel=$(uname -r)"
# The kernel's own OOM-kill count, for tests that must show none happened.
if [ "$oomwatch" = 1 ]; then
    (last=; while :; do
        n=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
        [ "$n" != "$last" ] && echo "fpb-guest: oom_kill=$n" && last=$n
        sleep 0.5
    done) &
fi
# fpb.robust: the driver's counter directory, a counter line, the faults.
fpbdir() {
    for d in /sys/bus/virtio/devices/*/fpb; do
        [ -d "$d" ] && echo "$d" && return 0
    done
    return 1
}
counters() {
    line="fpb-guest: counters at=$1"
    if d=$(fpbdir); then
        for f in cmds stops walks walks_complete walks_aborted pages last_cmd_id balloon_pages oom_calls oom_pages; do
            line="$line $f=$(cat "$d/$f")"
        done
    fi
    echo "$line $(awk '$1 == "MemTotal:" { t = $2 } $1 == "MemFree:" { f = $2 } END { print "memtotal_kib=" t " memfree_kib=" f }' /proc/meminfo)"
}
walking() {
    d=$(fpbdir) || return 1
    [ "$(cat "$d/walks")" -gt $(($(cat "$d/walks_complete") + $(cat "$d/walks_aborted"))) ]
}
balloon_at_least() {
    d=$(fpbdir) && [ "$(cat "$d/balloon_pages")" -ge "$1" ]
}
offline_movable() {
    n=0 ok=0
    for m in /sys/devices/system/memory/memory*; do
        [ "$(cat "$m/online")" = 1 ] || continue
        grep -q Movable "$m/valid_zones" || continue
        n=$((n + 1))
        if echo 0 > "$m/online"; then ok=$((ok + 1)); else echo "fpb-guest: offline $(basename "$m") failed"; fi
    done
    echo "fpb-guest: offline blocks=$n ok=$ok"
}
robust_fault() {
    counters boot
    case "$robust" in
        rmmod-walk | offline-walk | walk)
            until walking; do sleep 0.05; done
            counters walking
            case "$robust" in
                rmmod-walk) rmmod fpb_balloon; echo "fpb-guest: rmmod rc=$?" ;;
                offline-walk) offline_movable ;;
                walk) while walking; do sleep 0.1; done ;;
            esac ;;
        rmmod-inflate:*)
            until balloon_at_least "${robust#rmmod-inflate:}"; do sleep 0.05; done
            counters inflating
            rmmod fpb_balloon; echo "fpb-guest: rmmod rc=$?" ;;
        eat:*:*)
            mib=${robust#eat:} pages=${robust##*:}
            mib=${mib%%:*}
            until balloon_at_least "$pages"; do sleep 0.2; done
            counters eat
            mkdir -p /eat && mount -t tmpfs -o size=100% tmpfs /eat
            dd if=/dev/zero of=/eat/fill bs=1M count="$mib" 2>/dev/null
            echo "fpb-guest: eat mib=$mib rc=$?" ;;
        *) echo "fpb-guest: error: unknown fpb.robust '$robust'"; return ;;
    esac
    counters after
}
[ -n "$robust" ] && robust_fault &

# What memory looks like to the driver's walk (tests/driver/bench-looks-used.c):
# meminfo, the pages on the per-CPU lists (zoneinfo's pagesets) and the THP
# counters of a deferred split (queued, split).
memsnap() {
    echo "fpb-guest: memsnap at=$1 $(awk '
        FILENAME == "/proc/meminfo" && $1 == "MemFree:" { f = $2 }
        FILENAME == "/proc/meminfo" && $1 == "MemAvailable:" { a = $2 }
        FILENAME == "/proc/meminfo" && $1 == "Cached:" { c = $2 }
        FILENAME == "/proc/meminfo" && $1 == "AnonPages:" { an = $2 }
        FILENAME == "/proc/meminfo" && $1 == "AnonHugePages:" { ah = $2 }
        FILENAME == "/proc/meminfo" && $1 == "SReclaimable:" { sr = $2 }
        FILENAME == "/proc/zoneinfo" && $1 == "count:" { pcp += $2 }
        FILENAME == "/proc/vmstat" && $1 == "thp_deferred_split_page" { dq = $2 }
        FILENAME == "/proc/vmstat" && $1 == "thp_split_page" { sp = $2 }
        END { printf "free_kib=%d avail_kib=%d cached_kib=%d anon_kib=%d anonhuge_kib=%d sreclaim_kib=%d pcp_pages=%d thp_deferred=%d thp_split=%d", f, a, c, an, ah, sr, pcp, dq, sp }
    ' /proc/meminfo /proc/zoneinfo /proc/vmstat)"
}
[ -n "$memsnap" ] && (while :; do memsnap periodic; sleep "$memsnap"; done) &

if [ -n "$frag" ]; then
    case "$frag" in
        *:thp) /bin/fpb-frag "${frag%:thp}" /tmp/fpb-frag.ready thp & ;;
        *) /bin/fpb-frag "$frag" /tmp/fpb-frag.ready & ;;
    esac
    while [ ! -e /tmp/fpb-frag.ready ]; do
        kill -0 $! 2>/dev/null || { echo "fpb-guest: error: fpb-frag failed"; break; }
        sleep 0.1
    done
fi
# Page cache sits on ext2 on a brd RAM disk: the initramfs is tmpfs, whose
# pages are not reclaimable, while a block-backed file's clean pages are.
cache_fs() {
    for m in brd crc16 mbcache jbd2 crc32c_generic ext4; do
        case "$m" in
            brd) insmod /lib/modules/brd.ko rd_nr=1 rd_size=$(( (pagecache + 32) * 1024 )) ;;
            *) insmod "/lib/modules/$m.ko" ;;
        esac || echo "fpb-guest: error: insmod $m failed"
    done
    mkdir -p /mnt/fpb-cache
    mke2fs -F -b 4096 -m 0 /dev/ram0 >/dev/null 2>&1 && mount -t ext2 /dev/ram0 /mnt/fpb-cache && return 0
    echo "fpb-guest: error: no page cache file system (brd + ext2)"
    return 1
}
# The guest's experience of a hint run (tests/driver/bench-guest-experience.c).
if [ -n "$alloclat" ]; then
    set --
    if [ -n "$pagecache" ] && cache_fs; then
        set -- /mnt/fpb-cache/cache "$pagecache"
    fi
    case "$alloclat" in
        *:*) /bin/fpb-alloclat -p "${alloclat#*:}" "${alloclat%%:*}" 250 "$@" & ;;
        *) /bin/fpb-alloclat "$alloclat" 250 "$@" & ;;
    esac
elif [ -n "$pagecache" ] && cache_fs; then
    # written, synced (clean), read back (cached): reclaimable at no cost but a re-read
    yes fpb-page-cache | head -c $((pagecache * 1048576)) > /mnt/fpb-cache/cache && sync &&
        cat /mnt/fpb-cache/cache > /dev/null && echo "fpb-guest: pagecache mib=$pagecache" ||
        echo "fpb-guest: error: page cache file"
fi
if [ -n "$reclaim" ]; then
    memsnap before-reclaim
    t0=$(awk '{ print $1 }' /proc/uptime)
    case "$reclaim" in
        split) echo 2 > /proc/sys/vm/drop_caches ;;
        cache) echo 1 > /proc/sys/vm/drop_caches ;;
        split+cache) echo 3 > /proc/sys/vm/drop_caches ;;
        *) echo "fpb-guest: error: unknown fpb.reclaim '$reclaim'" ;;
    esac
    echo "fpb-guest: reclaim what=$reclaim s=$(awk -v t0="$t0" '{ print $1 - t0 }' /proc/uptime)"
    memsnap after-reclaim
fi
/bin/fpb-workload
echo "fpb-guest: workload exited with status $?"
poweroff -f
