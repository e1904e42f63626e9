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
#   fpb.frag=MIB             before the workload, fpb-frag writes MIB and frees
#                            every other 4 KiB page (fragmented free memory)
#   fpb.trace=hint           print the start and end of every free-page-hint
#                            work item of either driver (kprobes) on the console
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
fpb_params=
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        fpb.balloon=*) balloon="${arg#fpb.balloon=}" ;;
        fpb.loglevel=*) loglevel="${arg#fpb.loglevel=}" ;;
        fpb.trace=*) trace="${arg#fpb.trace=}" ;;
        fpb.frag=*) frag="${arg#fpb.frag=}" ;;
        fpb.oomwatch=*) oomwatch="${arg#fpb.oomwatch=}" ;;
        fpb_balloon.*=*) fpb_params="$fpb_params ${arg#fpb_balloon.}" ;;
    esac
done
[ -n "$loglevel" ] && echo "$loglevel" > /proc/sys/kernel/printk

load() {
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
if [ -n "$frag" ]; then
    /bin/fpb-frag "$frag" /tmp/fpb-frag.ready &
    while [ ! -e /tmp/fpb-frag.ready ]; do
        kill -0 $! 2>/dev/null || { echo "fpb-guest: error: fpb-frag failed"; break; }
        sleep 0.1
    done
fi
/bin/fpb-workload
echo "fpb-guest: workload exited with status $?"
poweroff -f
