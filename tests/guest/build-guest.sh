#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the fpb test guest from Debian packages: the guest kernel and its
# virtio modules (from the package linux-image-amd64 depends on), busybox-static
# and the workload, into OUTDIR/vmlinuz and OUTDIR/initrd.img.
# Usage: build-guest.sh OUTDIR KERNEL_PACKAGE WORKLOAD INIT [EXTRA...]
# EXTRA: NAME.ko files (fpb's own guest driver, fpb_balloon.ko) go to
# /lib/modules beside the Debian ones, and OUTDIR/guest-modules lists them so
# tests can tell whether the guest has them; other files are static programs
# for /bin (e.g. fpb-frag).
# The .deb is cached in OUTDIR/cache, so a rebuild only repacks the initramfs.
set -euo pipefail

outdir=$1 kpkg=$2 workload=$3 init=$4
shift 4
extra_modules=("$@")
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || { echo "build-guest: busybox-static is missing (scripts/install-deps installs it)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || { echo "build-guest: $busybox is not static: install busybox-static" >&2; exit 1; }

mkdir -p "$outdir/cache"
deb=$(ls "$outdir/cache/${kpkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
    (cd "$outdir/cache" && apt-get download -q "$kpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
    deb=$(ls "$outdir/cache/${kpkg}"_*.deb 2>/dev/null | head -n1 || true)
    [ -n "$deb" ] || { echo "build-guest: cannot download $kpkg (run 'apt-get update' first?)" >&2; exit 1; }
fi

work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
kver=${kpkg#linux-image-}
cp "$work/pkg/boot/vmlinuz-$kver" "$outdir/vmlinuz.tmp"

root=$work/root
mkdir -p "$root/bin" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
cp "$init" "$root/init"
cp "$workload" "$root/bin/fpb-workload"
chmod 755 "$root/init" "$root/bin/fpb-workload"
# brd and ext4 (+ its dependencies): a block-backed file system for clean,
# reclaimable page cache (fpb.pagecache=, init.sh).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon \
    brd crc16 mbcache jbd2 crc32c_generic ext4; do
    src=$(find "$work/pkg/lib/modules/$kver" -name "$m.ko*" | head -n1)
    if [ -z "$src" ]; then
        # Built into this kernel (6.12 builds the virtio core and virtio_pci
        # in): nothing to load, init.sh skips it.
        grep -q "/$m\.ko\$" "$work/pkg/lib/modules/$kver/modules.builtin" 2>/dev/null && continue
        echo "build-guest: module $m not found in $kpkg" >&2
        exit 1
    fi
    case "$src" in
        *.xz) xz -dc "$src" > "$root/lib/modules/$m.ko" ;;
        *.zst) zstd -qdc "$src" > "$root/lib/modules/$m.ko" ;;
        *) cp "$src" "$root/lib/modules/$m.ko" ;;
    esac
done
: > "$outdir/guest-modules.tmp"
for ko in "${extra_modules[@]}"; do
    case "$ko" in
        *.ko) ;;
        *) install -m 755 "$ko" "$root/bin/$(basename "$ko")"; continue ;;
    esac
    m=$(basename "$ko" .ko)
    vermagic=$(strings "$ko" | awk '/^vermagic=/ && !v { v = substr($0, 10) } END { print v }')
    case "$vermagic" in
        "$kver "*) ;;
        *) echo "build-guest: $ko was built for '$vermagic', not $kver" >&2; exit 1 ;;
    esac
    cp "$ko" "$root/lib/modules/$m.ko"
    echo "$m" >> "$outdir/guest-modules.tmp"
done
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc | gzip -1) > "$outdir/initrd.img.tmp"
echo "$kver" > "$outdir/kernel-version.tmp"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
mv "$outdir/initrd.img.tmp" "$outdir/initrd.img"
mv "$outdir/kernel-version.tmp" "$outdir/kernel-version"
mv "$outdir/guest-modules.tmp" "$outdir/guest-modules"
