#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two libvirt "hosts" on one machine, for tests (docs/libvirt.md, FACTS.md
# "Two libvirt hosts on one machine"):
#
#   lv-hosts.sh up DIR      start hosts a and b under DIR (must be empty or
#                           missing); prints the URIs as shell assignments
#   lv-hosts.sh down DIR    stop everything started under DIR, by PID
#   lv-hosts.sh uri DIR a|b the host's libvirt URI
#   lv-hosts.sh kill-libvirtd DIR a|b
#                           SIGKILL the host's libvirtd (its QEMUs and
#                           virtlogd keep running), as a crash would
#   lv-hosts.sh start-libvirtd DIR a|b
#                           start it again in the host's mount namespace
#
# FPB_LV_HOOK="CMD ARGS" installs CMD as /etc/libvirt/hooks/qemu.d/fpb of
# both hosts.
#
# Each host: its own mount namespace (unshare --mount --propagation
# private) with DIR/H/{etc,run,lib,log,cache} bind-mounted over
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt; a distinct host_uuid (libvirt refuses to migrate to
# a host with its own UUID); cgroup_controllers = [ ] (both hosts share the
# real cgroup tree); QEMU as root without a security driver; a private
# /dev/kvm node (0660 root:kvm, so libvirt does not re-probe QEMU on every
# start); its own virtlogd and libvirtd pidfiles. The real /etc/libvirt
# and any system libvirtd are never touched.
#
# Every PID started is recorded in DIR/H/pids; `down` kills exactly those
# (and the QEMUs whose pidfiles the host wrote), then removes DIR/H/*.
set -eu

die() {
    echo "lv-hosts: error: $*" >&2
    exit 1
}

uri_of() {
    echo "qemu+unix:///system?socket=$1/$2/run/libvirt-sock"
}

# Writes the host's private copies of libvirt's directories.
prepare_host() {
    dir=$1
    h=$2
    uuid=$3
    mkdir -p "$dir/$h/run" "$dir/$h/lib/qemu" "$dir/$h/log/qemu" "$dir/$h/cache"
    cp -a /etc/libvirt "$dir/$h/etc"
    # hooks: fpb's tests install their own; nothing from the real host
    rm -rf "$dir/$h/etc/hooks"
    mkdir -p "$dir/$h/etc/hooks/qemu.d"
    # FPB_LV_HOOK: a command installed as the host's qemu.d/fpb hook
    # (hooks must exist when libvirtd starts)
    if [ -n "${FPB_LV_HOOK:-}" ]; then
        printf '#!/bin/sh\nexec %s "$@"\n' "$FPB_LV_HOOK" > "$dir/$h/etc/hooks/qemu.d/fpb"
        chmod 755 "$dir/$h/etc/hooks/qemu.d/fpb"
    fi
    rm -f "$dir/$h/etc/qemu/"*.xml 2>/dev/null || true
    rm -rf "$dir/$h/etc/qemu/autostart" "$dir/$h/etc/qemu/networks"
    cat >> "$dir/$h/etc/libvirtd.conf" <<EOF

# lv-hosts.sh: host $h
host_uuid = "$uuid"
unix_sock_dir = "/run/libvirt"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >> "$dir/$h/etc/qemu.conf" <<EOF

# lv-hosts.sh: host $h
cgroup_controllers = [ ]
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
EOF
    mknod -m 660 "$dir/$h/kvm" c 10 232
    chgrp kvm "$dir/$h/kvm" 2>/dev/null || true
}

# Starts virtlogd and libvirtd of host $2 in a new mount namespace.
start_host() {
    dir=$1
    h=$2
    hd=$dir/$h
    # Mount points must exist; without a system libvirtd /run/libvirt
    # does not (an empty directory, as the libvirt package would create).
    for d in /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
        [ -d "$d" ] || mkdir -p "$d"
    done
    unshare --mount --propagation private sh -eu -c '
        hd=$1
        mount --bind "$hd/etc" /etc/libvirt
        mount --bind "$hd/run" /run/libvirt
        mount --bind "$hd/lib" /var/lib/libvirt
        mount --bind "$hd/log" /var/log/libvirt
        mount --bind "$hd/cache" /var/cache/libvirt
        if [ -e /dev/kvm ]; then mount --bind "$hd/kvm" /dev/kvm; fi
        virtlogd -d -p "$hd/virtlogd.pid"
        libvirtd -d -p "$hd/libvirtd.pid"
    ' lv-host "$hd"
    # one PID a line, recorded before anything can fail
    for d in virtlogd libvirtd; do
        if [ -s "$hd/$d.pid" ]; then
            echo "$(cat "$hd/$d.pid")" >> "$hd/pids"
        fi
    done
    wait_socket "$hd" "$h"
}

# The host's libvirtd PID, from the pidfile it wrote.
libvirtd_pid() {
    cat "$1/$2/libvirtd.pid" 2>/dev/null || true
}

cmd_kill_libvirtd() {
    pid=$(libvirtd_pid "$1" "$2")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "host $2: libvirtd is not running"
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    # a crashed libvirtd leaves its pidfile and socket behind
    rm -f "$1/$2/libvirtd.pid"
}

# libvirtd again, inside the mount namespace that virtlogd still holds.
cmd_start_libvirtd() {
    hd=$1/$2
    logd=$(cat "$hd/virtlogd.pid" 2>/dev/null || true)
    [ -n "$logd" ] && kill -0 "$logd" 2>/dev/null || die "host $2: virtlogd is gone"
    pid=$(libvirtd_pid "$1" "$2")
    [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || die "host $2: libvirtd already runs"
    rm -f "$hd/run/libvirt-sock"
    nsenter --target "$logd" --mount libvirtd -d -p "$hd/libvirtd.pid"
    i=0
    while [ ! -s "$hd/libvirtd.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$hd/libvirtd.pid" ] || die "host $2: libvirtd did not start"
    cat "$hd/libvirtd.pid" >> "$hd/pids"
    wait_socket "$hd" "$2"
}

wait_socket() {
    hd=$1
    i=0
    while [ ! -S "$hd/run/libvirt-sock" ]; do
        i=$((i + 1))
        if [ $i -ge 100 ] || ! kill -0 "$(cat "$hd/libvirtd.pid" 2>/dev/null)" 2>/dev/null; then
            tail -5 "$hd/log/libvirtd.log" >&2 || true
            die "host $2: libvirtd did not create its socket (log: $hd/log/libvirtd.log)"
        fi
        sleep 0.1
    done
}

cmd_up() {
    dir=$1
    [ "$(id -u)" = 0 ] || die "needs root (mount namespaces, libvirtd)"
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "'$dir' is not empty"
    [ -n "${FPB_LV_KEEP:-}" ] || trap 'cmd_down "$dir" >/dev/null 2>&1 || true' EXIT
    prepare_host "$dir" a "$(cat /proc/sys/kernel/random/uuid)"
    prepare_host "$dir" b "$(cat /proc/sys/kernel/random/uuid)"
    start_host "$dir" a
    start_host "$dir" b
    # The first domcapabilities probes QEMU (seconds); do it now, not
    # during the first migration.
    for h in a b; do
        virsh -q -c "$(uri_of "$dir" $h)" domcapabilities --virttype qemu >/dev/null ||
            die "host $h: virsh domcapabilities failed"
    done
    trap - EXIT
    echo "FPB_LV_A=$(uri_of "$dir" a)"
    echo "FPB_LV_B=$(uri_of "$dir" b)"
}

kill_wait() {
    pid=$1
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    kill "$pid" 2>/dev/null || return 0
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -ge 50 ]; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        [ $i -lt 100 ] || return 0
        sleep 0.1
    done
}

cmd_down() {
    dir=$1
    for h in a b; do
        hd=$dir/$h
        [ -d "$hd" ] || continue
        # QEMUs first (libvirtd would otherwise keep them running)
        for pf in "$hd"/run/qemu/*.pid; do
            [ -f "$pf" ] && kill_wait "$(cat "$pf")"
        done
        if [ -f "$hd/pids" ]; then
            # libvirtd before virtlogd: reverse order of start
            for pid in $(tac "$hd/pids"); do
                kill_wait "$pid"
            done
        fi
        rm -rf "$hd"
    done
}

case "${1:-}" in
up) [ $# = 2 ] || die "usage: $0 up DIR"; cmd_up "$2" ;;
down) [ $# = 2 ] || die "usage: $0 down DIR"; cmd_down "$2" ;;
uri) [ $# = 3 ] || die "usage: $0 uri DIR a|b"; uri_of "$2" "$3" ;;
kill-libvirtd) [ $# = 3 ] || die "usage: $0 kill-libvirtd DIR a|b"; cmd_kill_libvirtd "$2" "$3" ;;
start-libvirtd) [ $# = 3 ] || die "usage: $0 start-libvirtd DIR a|b"; cmd_start_libvirtd "$2" "$3" ;;
*) die "usage: $0 up|down|uri|kill-libvirtd|start-libvirtd DIR ..." ;;
esac
