#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the fpb test guest: load the virtio stack and the chosen balloon
# driver, then run the workload. Kernel command line:
#   fpb.balloon=stock|none   which balloon driver to load (default stock)
#   fpbw.*                   the workload's keys (fpb-workload --help)
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

balloon=stock
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        fpb.balloon=*) balloon="${arg#fpb.balloon=}" ;;
    esac
done

load() {
    insmod "/lib/modules/$1.ko" || echo "fpb-guest: error: insmod $1 failed"
}
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
    load "$m"
done
case "$balloon" in
    stock) load virtio_balloon ;;
    none) ;;
    *) echo "fpb-guest: error: unknown fpb.balloon '$balloon'" ;;
esac

for dev in /sys/bus/virtio/devices/*; do
    [ -e "$dev/device" ] || continue
    echo "fpb-guest: virtio $(basename "$dev") device=$(cat "$dev/device") features=$(cat "$dev/features" 2>/dev/null)"
done
echo "fpb-guest: balloon=$balloon kernel=$(uname -r)"
/bin/fpb-workload
echo "fpb-guest: workload exited with status $?"
poweroff -f
