#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fpb's Debian packages on this machine, as an operator gets them: builds
# fpb and fpb-guest-dkms (scripts/build-debs: dpkg-buildpackage, lintian
# without errors), installs both with apt, checks what fpb installed and
# enabled, lets DKMS build fpb_balloon for the test guest's kernel (the
# kernel hook a new kernel runs, AUTOINSTALL), boots the test guest on
# fpb's QEMU with that DKMS-built module, inflates and deflates its
# balloon with the guest's memory verified, then purges both and checks
# that nothing is left but the journal, and with FPB_PURGE_JOURNAL=yes not
# even that. TAP output.
#
# Needs root, and fpb not installed from a package already (the test would
# otherwise replace an operator's install): it fails then, naming it.
# Env (meson sets them): FPB_SOURCE_ROOT, FPB_BUILD_ROOT, FPB_GUEST_DIR,
# FPB_QEMU_PACKAGE_BINARY (FPB_QEMU overrides).
set -uo pipefail

src=${FPB_SOURCE_ROOT:?} build=${FPB_BUILD_ROOT:?} guest_dir=${FPB_GUEST_DIR:?}
qemu=${FPB_QEMU:-${FPB_QEMU_PACKAGE_BINARY:?}}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
bail() { echo "Bail out! $*"; exit 1; }

[ "$(id -u)" = 0 ] || bail "installs Debian packages: run as root"
for p in fpb fpb-guest-dkms; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ -z "$st" ] || [ "$st" = not-installed ] || [ "$st" = config-files ] ||
        bail "package $p is installed on this machine ($st); this test installs and purges its own build, so run it where $p is not installed"
done
had_state=false had_etc=false
[ -e /var/lib/fpb ] && had_state=true
[ -e /etc/fpb ] && had_etc=true
kver=$(cat "$guest_dir/kernel-version") || bail "no test guest in $guest_dir (build with -Dguest=enabled)"

work=$(mktemp -d "${TMPDIR:-/tmp}/fpb-test-debs-XXXXXX")
qemu_pid=''
installed=false
cleanup() {
    [ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    if $installed; then
        # A journal that was here before the test is never purged.
        DEBIAN_FRONTEND=noninteractive FPB_PURGE_JOURNAL=$($had_state || echo yes) \
            dpkg --purge fpb-guest-dkms fpb >/dev/null 2>&1 || true
    fi
    $had_state || rm -rf /var/lib/fpb
    $had_etc || rm -rf /etc/fpb
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM


# Build and lint.
if "$src/scripts/build-debs" "$work/debs" --nocheck >"$work/build-debs.log" 2>&1; then
    ok "scripts/build-debs: dpkg-buildpackage and lintian without errors ($(tail -n 1 "$work/build-debs.log"))"
else
    not_ok "scripts/build-debs failed"
    sed 's/^/# /' "$work/build-debs.log"
    bail "no packages to install"
fi
grep '^[EWI]:' "$work/debs/lintian.txt" | sed 's/^/# lintian: /'
fpb_deb=$(ls "$work"/debs/fpb_*.deb) dkms_deb=$(ls "$work"/debs/fpb-guest-dkms_*.deb)
version=$(dpkg-deb -f "$fpb_deb" Version)

# Install, as an operator would: apt resolves the dependencies.
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "$fpb_deb" "$dkms_deb" >"$work/install.log" 2>&1; then
    installed=true
    ok "apt-get install fpb $version and fpb-guest-dkms"
else
    installed=true
    not_ok "apt-get install"
    sed 's/^/# /' "$work/install.log"
    bail "not installed"
fi
grep '^fpb:' "$work/install.log" | sed 's/^/# postinst said: /'

check "fpbctl --version from /usr/bin says $version" sh -c '/usr/bin/fpbctl --version | grep -qx "fpbctl '"${version%%-*}"'"'
check "fpbd --check-config accepts the packaged /etc/fpb/fpbd.conf" sh -c '/usr/sbin/fpbd --check-config >/dev/null'
check "fpb-hook linked into libvirt's /etc/libvirt/hooks/qemu.d/" \
    test -x /etc/libvirt/hooks/qemu.d/fpb -a "$(readlink -f /etc/libvirt/hooks/qemu.d/fpb)" = /usr/libexec/fpb/fpb-hook
check "fpbd.service enabled (multi-user.target wants it)" \
    test -L /etc/systemd/system/multi-user.target.wants/fpbd.service
check "man pages fpbctl(8), fpbd(8), fpb-hook(8), fpbd.conf(5)" \
    sh -c 'for m in fpbctl.8 fpbd.8 fpb-hook.8 fpbd.conf.5; do test -f /usr/share/man/man${m##*.}/$m.gz || exit 1; done'
check "bash completion for fpbctl from the package" \
    bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/fpbctl; complete -p fpbctl >/dev/null'
# What dpkg runs on an upgrade (debhelper wrote it from debian/rules): fpbd
# is stopped on removal only and never restarted by the package.
upgrade_keeps_fpbd() { # $1: where dpkg keeps the maintainer scripts
    [ "$(grep -c 'deb-systemd-invoke stop' "$1/fpb.prerm")" = 1 ] &&
        grep -F '[ "$1" = remove ]' "$1/fpb.prerm" | grep -q 'systemd/system' &&
        ! grep -v '^ *\(echo\|#\)' "$1/fpb.postinst" | grep -q restart
}
check "an upgrade neither stops nor restarts fpbd (prerm stops on remove only)" \
    upgrade_keeps_fpbd /var/lib/dpkg/info
check "/var/lib/fpb is root's alone (0700)" test "$(stat -c %a /var/lib/fpb)" = 700

# DKMS: the guest kernel's module, built the way a new kernel gets it.
dkms_ver=$(dpkg-deb -c "$dkms_deb" | sed -n 's|.*/usr/src/fpb-balloon-\([^/]*\)/$|\1|p' | head -n 1)
check "the package's postinst had DKMS build and install fpb-balloon/$dkms_ver for $kver" \
    sh -c "dkms status 'fpb-balloon/$dkms_ver' -k '$kver' | grep -q installed"
check "dkms.conf asks for AUTOINSTALL (new kernels get the module)" \
    grep -q '^AUTOINSTALL="yes"' "/usr/src/fpb-balloon-$dkms_ver/dkms.conf"
# Undone, then redone by the hook every kernel package runs on install.
dkms unbuild "fpb-balloon/$dkms_ver" -k "$kver" >"$work/dkms.log" 2>&1
if /etc/kernel/postinst.d/dkms "$kver" >>"$work/dkms.log" 2>&1 &&
        dkms status "fpb-balloon/$dkms_ver" -k "$kver" | grep -q installed; then
    ok "the kernel's DKMS hook built and installed fpb_balloon for $kver"
else
    not_ok "DKMS autoinstall for $kver"
    sed 's/^/# /' "$work/dkms.log"
fi
check "fpb-guest-dkms blacklists virtio_balloon (udev binds fpb_balloon)" \
    grep -qx 'blacklist virtio_balloon' /etc/modprobe.d/fpb-guest-dkms.conf
ko=$(find "/lib/modules/$kver/updates/dkms" -name 'fpb_balloon.ko*' 2>/dev/null | head -n 1)
case "$ko" in
    *.xz) xz -dc "$ko" >"$work/fpb_balloon.ko" ;;
    *.zst) zstd -qdc "$ko" >"$work/fpb_balloon.ko" ;;
    ?*) cp "$ko" "$work/fpb_balloon.ko" ;;
esac
check "the DKMS module is in /lib/modules/$kver/updates/dkms" test -s "$work/fpb_balloon.ko"

# The test guest with the DKMS module in place of the build's own.
mkdir -p "$work/guest"
[ -d "$guest_dir/cache" ] && cp -a "$guest_dir/cache" "$work/guest/"
if "$src/tests/guest/build-guest.sh" "$work/guest" "linux-image-$kver" \
        "$build/tests/guest/fpb-workload" "$src/tests/guest/init.sh" "$work/fpb_balloon.ko" \
        >"$work/guest.log" 2>&1; then
    ok "test guest built with the DKMS-built fpb_balloon.ko"
else
    not_ok "test guest with the DKMS module"
    sed 's/^/# /' "$work/guest.log"
    bail "no guest to boot"
fi

qmp_sock=$work/qmp.sock serial=$work/serial.log
"$qemu" -accel tcg -cpu max -m 512 -smp 1 -nodefaults -display none \
    -kernel "$work/guest/vmlinuz" -initrd "$work/guest/initrd.img" \
    -append "console=ttyS0 fpb.balloon=fpb fpbw.hold=64 init_on_alloc=0" \
    -device virtio-balloon-pci,id=balloon0 -serial "file:$serial" \
    -qmp "unix:$qmp_sock,server=on,wait=off" 2>"$work/qemu.err" &
qemu_pid=$!

wait_for() { # wait_for SECONDS PATTERN [AFTER_LINE]: PATTERN in the serial log
    local i
    for ((i = 0; i < $1 * 2; i++)); do
        tail -n "+${3:-1}" "$serial" 2>/dev/null | grep -q -- "$2" && return 0
        case "$(ps -o stat= -p "$qemu_pid" 2>/dev/null)" in ''|Z*) return 1 ;; esac
        sleep 0.5
    done
    return 1
}
check "the guest bound the DKMS module (serial: fpb_balloon ... bound)" wait_for 240 'fpb_balloon .* bound'
check "the guest's workload verified its memory (fpbw: pass 1 ok)" wait_for 240 'fpbw: pass 1 ok'

if /usr/bin/fpbctl explain --qmp "$qmp_sock" --json >"$work/explain.json" 2>"$work/explain.err"; then
    drv=$(python3 -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        if "guest_driver" in o:
            return o["guest_driver"]
        for v in o.values():
            r = find(v)
            if r:
                return r
print("{name} {version}".format(**find(json.load(open(sys.argv[1])))))' "$work/explain.json")
    check "the packaged fpbctl sees fpb's driver in the guest: $drv" sh -c "echo '$drv' | grep -q '^fpb_balloon [0-9]'"
else
    not_ok "fpbctl explain --qmp"
    sed 's/^/# /' "$work/explain.err"
fi

qmp() { # qmp JSON...: runs the commands on the guest's monitor, prints the replies
    { echo '{"execute":"qmp_capabilities"}'; for c in "$@"; do echo "$c"; sleep 0.2; done; sleep 0.5; } |
        socat -t 2 - "UNIX-CONNECT:$qmp_sock" 2>/dev/null
}
actual_mib() { qmp '{"execute":"query-balloon"}' | sed -n 's/.*"actual": *\([0-9]*\).*/\1/p' | tail -n 1 | awk '{print int($1 / 1048576)}'; }
balloon_to() { # balloon_to MIB: asks, waits up to 60 s for the guest to get there
    local i a
    qmp "{\"execute\":\"balloon\",\"arguments\":{\"value\":$(($1 * 1048576))}}" >/dev/null
    for ((i = 0; i < 120; i++)); do
        a=$(actual_mib)
        [ -n "$a" ] && [ $((a - $1)) -le 1 ] && [ $(($1 - a)) -le 1 ] && return 0
        sleep 0.5
    done
    echo "# balloon stuck at ${a:-?} MiB, asked $1" >&2
    return 1
}
check "the DKMS module inflates (512 -> 384 MiB)" balloon_to 384
check "and gives it back (384 -> 512 MiB)" balloon_to 512
mark=$(($(wc -l <"$serial") + 1))
check "memory verified after the balloon (a later pass ok, no bad page)" \
    bash -c "$(declare -f wait_for); serial='$serial' qemu_pid=$qemu_pid; wait_for 120 'fpbw: pass [0-9]* ok' $mark && ! grep -q 'fpbw: pass [0-9]* bad' '$serial'"
kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
qemu_pid=''

# Purge: nothing left but the journal (fpbctl makes one as it runs).
/usr/bin/fpbctl history >/dev/null 2>&1
dpkg -L fpb fpb-guest-dkms >"$work/files" 2>/dev/null
DEBIAN_FRONTEND=noninteractive dpkg --purge fpb-guest-dkms fpb >"$work/purge.log" 2>&1 ||
    { sed 's/^/# /' "$work/purge.log"; }
left=$(while read -r f; do { [ -f "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ] && echo "$f"; done <"$work/files")
check "purge removed every file of both packages${left:+ (left: $left)}" test -z "$left"
check "purge removed /etc/fpb, the unit's enablement, the DKMS module and its tree" \
    sh -c "! test -e /etc/fpb && ! test -e /etc/systemd/system/multi-user.target.wants/fpbd.service &&
           ! ls /lib/modules/$kver/updates/dkms/fpb_balloon.ko* >/dev/null 2>&1 && ! test -e /var/lib/dkms/fpb-balloon"
check "purge kept the journal, and only it (ls /var/lib/fpb: $(ls -A /var/lib/fpb 2>/dev/null | tr '\n' ' '))" \
    sh -c 'test -f /var/lib/fpb/journal.db && ! test -e /var/lib/fpb/locks'

# Asked to, purge takes the journal too (only one the test made).
if $had_state; then
    ok "# SKIP /var/lib/fpb existed before the test: FPB_PURGE_JOURNAL not tried on it"
else
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$fpb_deb" >"$work/install2.log" 2>&1
    DEBIAN_FRONTEND=noninteractive FPB_PURGE_JOURNAL=yes dpkg --purge fpb >>"$work/purge.log" 2>&1
    check "FPB_PURGE_JOURNAL=yes purge leaves no /var/lib/fpb" test ! -e /var/lib/fpb
fi
installed=false

echo "1..$n"
[ "$failed" = 0 ]
