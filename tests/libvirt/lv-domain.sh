#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the test domain's XML: the test guest (build/tests/guest vmlinuz
# and initrd, -kernel boot), TCG, a virtio balloon with stats every 2 s,
# the serial console into a file (the destination appends to the same
# file, so the workload's verification lines of both sides end up there).
#   lv-domain.sh NAME GUEST_DIR SERIAL_LOG MEMORY_MIB APPEND
# FPB_LV_BALLOON_ALIAS=ua-NAME gives the balloon a user alias (as
# management tools do) instead of libvirt's balloon0. The emulator is the
# test bed's QEMU: $FPB_QEMU, else fpb's package ($FPB_QEMU_PACKAGE_BINARY,
# default /usr/lib/fpb/qemu/bin/qemu-system-x86_64) when installed, else
# Debian's.
set -eu
[ $# = 5 ] || { echo "usage: $0 NAME GUEST_DIR SERIAL_LOG MEMORY_MIB APPEND" >&2; exit 2; }
name=$1 guest=$2 log=$3 mib=$4 append=$5
alias=
emulator=
if [ -n "${FPB_QEMU:-}" ]; then
    emulator=$(command -v "$FPB_QEMU") || { echo "$0: FPB_QEMU '$FPB_QEMU' not found" >&2; exit 1; }
elif [ -x "${FPB_QEMU_PACKAGE_BINARY:-/usr/lib/fpb/qemu/bin/qemu-system-x86_64}" ]; then
    emulator=${FPB_QEMU_PACKAGE_BINARY:-/usr/lib/fpb/qemu/bin/qemu-system-x86_64}
else
    emulator=$(command -v qemu-system-x86_64) || { echo "$0: no qemu-system-x86_64" >&2; exit 1; }
fi
[ -z "${FPB_LV_BALLOON_ALIAS:-}" ] || alias="<alias name='$FPB_LV_BALLOON_ALIAS'/>"
cat <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mib</memory>
  <currentMemory unit='MiB'>$mib</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet $append</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$emulator</emulator>
    <serial type='file'>
      <source path='$log' append='on'/>
    </serial>
    <memballoon model='virtio'>
      <stats period='2'/>
      $alias
    </memballoon>
  </devices>
</domain>
XML
