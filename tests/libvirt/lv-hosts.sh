#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two libvirt "hosts" on one machine, for tests (docs/libvirt.md, FACTS.md
# "Two libvirt hosts on one machine"):
#
#   lv-hosts.sh up [--net PROFILE] DIR
#                           start hosts a and b under DIR (must be empty or
#                           missing); prints the URIs as shell assignments.
#                           --net (or FPB_LV_NET=PROFILE): each host also in
#                           a network namespace of its own, the two joined
#                           by a veth pair shaped by PROFILE (fast, slow or
#                           none; see "Network" below)
#   lv-hosts.sh down DIR    stop everything started under DIR, by PID, and
#                           delete the bed's network namespaces, by name
#   lv-hosts.sh uri DIR a|b the host's libvirt URI (UNIX socket, usable
#                           from the root namespace)
#   lv-hosts.sh kill-libvirtd DIR a|b
#                           SIGKILL the host's libvirtd (its QEMUs and
#                           virtlogd keep running), as a crash would
#   lv-hosts.sh start-libvirtd DIR a|b
#                           start it again in the host's namespaces
#   lv-hosts.sh exec DIR a|b CMD...
#                           run CMD "on the host": in its mount namespace
#                           (qemu:///system there is the host's libvirtd)
#                           and, with --net, its network namespace
#
# With --net only:
#   lv-hosts.sh addr DIR a|b      the host's address on the veth
#   lv-hosts.sh tcp-uri DIR a|b   qemu+tcp://ADDR/system (from the other
#                                 host's namespace, or the host's own)
#   lv-hosts.sh link DIR [PROFILE|cut|blackhole|loss PCT|heal]
#                                 reshape the link at run time; without an
#                                 argument print its state and qdiscs
#   lv-hosts.sh link DIR delay MS [RATE [JITTER_MS]]
#                                 route the two hosts' traffic through the
#                                 user-space delay line (FPB_DELAY_LINE,
#                                 fpb-delay-line.c): MS one way, RATE
#                                 bytes/s per direction (k/M/G, 0: none)
#   lv-hosts.sh link DIR freeze|thaw
#                                 the delay line drops everything / forwards
#                                 again (the routes stay: a dead path)
#   lv-hosts.sh link DIR direct   back on the veth, the delay line stopped
#   lv-hosts.sh delay-stats DIR   the delay line's counters, a line per
#                                 direction (after `direct`: its last ones)
#   lv-hosts.sh dropped DIR a|b   packets the loss rule dropped on the
#                                 host's veth end
#   lv-hosts.sh wire-bytes DIR a|b [IF]
#                                 "tx_bytes=N rx_bytes=N" of the host's veth
#                                 end (or of IF in its namespace, e.g. lo)
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
# Network (--net): network namespaces fpb-nb-N-a and fpb-nb-N-b (N the
# first free index in 1..254, claimed by `ip netns add`, which fails on an
# existing name), loopback up in each, a veth pair created directly inside
# them (fpbnbN-a in a, fpbnbN-b in b; never in the root namespace), a =
# 10.77.N.1/24, b = 10.77.N.2/24. Each libvirtd listens on TCP on its own
# address only, without authentication (only because nothing outside the
# bed's namespaces can reach it), and qemu.conf's migration_host and
# migration_address are the host's address, so migration data goes over
# the veth even without a migration URI. Both veth ends are shaped with
# tc (egress, so each direction): fast = tbf 1 Gbit/s + netem delay
# 0.5 ms, slow = tbf 100 Mbit/s + netem delay 5 ms, none = no qdisc. A
# kernel without sch_netem gets the rate only (a warning says so, and
# `link DIR` shows it). cut = both veth ends down (a pulled cable: the
# kernel answers "Network is unreachable" at once), blackhole = nftables
# drops everything on both ends (packets vanish, as with 100 % loss);
# loss PCT = nftables drops PCT % of the packets each end receives, at
# random (netdev ingress, numgen random: the sender's TCP sees a real
# loss, of data and of ACKs; a kernel without sch_netem has no other way,
# and none in the kernel to delay packets: no netem, no fq or etf for
# timestamped departures, no nft queue, hence "Latency" below); heal
# undoes any of these, the profile stays.
#
# Latency (delay): fpb-delay-line creates a TUN device in each namespace
# (fpbdlN-a in a, fpbdlN-b in b, no address) and forwards what one
# receives to the other after the delay, through a token bucket of RATE
# and a bounded queue (16 MB a direction, drop tail). MTU 9000
# (FPB_LV_DELAY_MTU): fewer packets than 1500 for the delay line to
# carry, while at 65000 a 30 MB transfer at 150 ms stayed limited by the
# receiver's window (80 KB, ss: rwnd_limited) for its first 6 s, 1.5 MB/s
# instead of 5 (probably the receive buffer's accounting of 64 KB
# packets; not investigated further). `delay` then
# routes each host's peer address onto its TUN (ip route replace
# PEER/32 dev fpbdlN-H src OWN): the addresses, URIs and migration
# addresses stay those of the veth, only the path changes; each host's
# route back to the peer is the same TUN, so rp_filter passes. The veth
# then carries nothing between the hosts, which is why cut, blackhole and
# loss refuse a delayed link (freeze is its blackhole) and wire-bytes
# counts the veth only (give IF fpbdlN-H for the TUN). `direct` deletes
# the routes and stops the delay line by its PID (DIR/net/delay.pid,
# killed by `down` as well); its devices, and any route left on them, go
# with it.
#
# Every PID started is recorded in DIR/H/pids, every network namespace in
# DIR/H/netns right after it was created; `down` kills exactly those PIDs
# (and the QEMUs whose pidfiles the host wrote, and whatever still runs in
# the bed's network namespaces), deletes those namespaces (the veth pair
# goes with them), then removes DIR/H/* and DIR/net.
set -eu

die() {
    echo "lv-hosts: error: $*" >&2
    exit 1
}

uri_of() {
    echo "qemu+unix:///system?socket=$1/$2/run/libvirt-sock"
}

check_host() {
    case "$1" in a | b) ;; *) die "host must be a or b, not '$1'" ;; esac
}

# ---- network (--net) ----

# The bed's index N (10.77.N.0/24), or an error if it has no network.
net_index() {
    [ -s "$1/net/index" ] || die "'$1' is not a bed with a network (up --net PROFILE)"
    cat "$1/net/index"
}

addr_of() {
    case "$2" in a) echo "10.77.$(net_index "$1").1" ;; *) echo "10.77.$(net_index "$1").2" ;; esac
}

tcp_uri_of() {
    echo "qemu+tcp://$(addr_of "$1" "$2")/system"
}

veth_of() {
    echo "fpbnb$(net_index "$1")-$2"
}

netns_of() {
    [ -s "$1/$2/netns" ] || die "host $2: no network namespace recorded in '$1/$2/netns'"
    cat "$1/$2/netns"
}

# tc parameters of a profile: RATE BURST LATENCY DELAY (tbf; netem delay)
profile_params() {
    case "$1" in
    fast) echo "1gbit 256kb 10ms 0.5ms" ;;
    slow) echo "100mbit 64kb 50ms 5ms" ;;
    none) echo "" ;;
    *) die "unknown network profile '$1' (fast, slow or none)" ;;
    esac
}

# Shapes the egress of both veth ends with profile $2 and records it.
net_shape() {
    sdir=$1
    profile=$2
    params=$(profile_params "$profile")
    note=
    for sh_h in a b; do
        ns=$(netns_of "$sdir" $sh_h)
        dev=$(veth_of "$sdir" $sh_h)
        if [ -z "$params" ]; then
            tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
            note="no qdisc"
            continue
        fi
        # shellcheck disable=SC2086 # four words
        set -- $params
        # replace: changes a running tbf in place, keeps its child
        tc -n "$ns" qdisc replace dev "$dev" root handle 1: tbf rate "$1" burst "$2" latency "$3" ||
            die "host $sh_h: tc tbf on $dev failed"
        note="tbf rate $1 burst $2 latency $3"
        if tc -n "$ns" qdisc replace dev "$dev" parent 1:1 handle 10: netem delay "$4" 2>/dev/null; then
            note="$note, netem delay $4"
        else
            note="$note, no delay (no sch_netem in this kernel)"
        fi
    done
    case "$note" in *"no delay"*)
        echo "lv-hosts: warning: profile '$profile' without its delay: the kernel has no sch_netem, ignoring" >&2
        ;;
    esac
    echo "$profile" > "$sdir/net/profile"
    echo "$note" > "$sdir/net/shaping"
}

# Claims an index, creates both namespaces and the veth pair, addresses,
# shaping; appends the TCP listener and migration address to both hosts'
# configuration (DIR/H exists: prepare_host ran).
net_up() {
    ndir=$1
    profile=$2
    mkdir -p "$ndir/net"
    i=1
    while ! ip netns add "fpb-nb-$i-a" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 254 ] || die "no free network index (fpb-nb-1-a .. fpb-nb-254-a all exist)"
    done
    # recorded at once: from here on `down` deletes it
    echo "fpb-nb-$i-a" > "$ndir/a/netns"
    echo "$i" > "$ndir/net/index"
    ip netns add "fpb-nb-$i-b" || die "cannot create network namespace 'fpb-nb-$i-b'"
    echo "fpb-nb-$i-b" > "$ndir/b/netns"
    # both ends created inside the namespaces: the root namespace never
    # has them
    ip link add "fpbnb$i-a" netns "fpb-nb-$i-a" type veth peer name "fpbnb$i-b" netns "fpb-nb-$i-b" ||
        die "cannot create the veth pair"
    for nh in a b; do
        ns=$(netns_of "$ndir" $nh)
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(addr_of "$ndir" $nh)/24" dev "$(veth_of "$ndir" $nh)"
        ip -n "$ns" link set "$(veth_of "$ndir" $nh)" up
        net_config "$ndir" $nh
    done
    echo up > "$ndir/net/state"
    net_shape "$ndir" "$profile"
}

net_config() {
    addr=$(addr_of "$1" "$2")
    cat >> "$1/$2/etc/libvirtd.conf" <<EOF

# lv-hosts.sh --net: TCP WITHOUT AUTHENTICATION OR ENCRYPTION. Acceptable
# only here: this libvirtd runs in the test bed's own network namespace
# and listens on the bed's veth address, which nothing outside the bed's
# two namespaces can reach. Never configure a real host like this.
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
EOF
    cat >> "$1/$2/etc/qemu.conf" <<EOF

# lv-hosts.sh --net: incoming migrations listen on, and are announced as,
# the veth address (never loopback)
migration_address = "$addr"
migration_host = "$addr"
EOF
}

# Changes the link at run time: a profile, cut, blackhole or heal.
cmd_link() {
    ldir=$1
    net_index "$ldir" >/dev/null
    case "$2" in
    cut | blackhole | loss)
        [ -z "$(delay_pid "$ldir")" ] ||
            die "$2: the link goes through the delay line (freeze is its blackhole): 'direct' first"
        ;;
    esac
    case "$2" in
    delay) net_delay "$ldir" "$3" "${4:-0}" "${5:-0}" ;;
    direct) net_direct "$ldir" ;;
    freeze | thaw) net_freeze "$ldir" "$2" ;;
    cut)
        for lh in a b; do
            ip -n "$(netns_of "$ldir" $lh)" link set "$(veth_of "$ldir" $lh)" down
        done
        echo cut > "$ldir/net/state"
        ;;
    blackhole)
        for lh in a b; do
            dev=$(veth_of "$ldir" $lh)
            ip netns exec "$(netns_of "$ldir" $lh)" nft -f - <<EOF || die "host $lh: nft failed"
table inet fpb_bed_blackhole {
    chain in { type filter hook input priority 0; iifname "$dev" drop; }
    chain out { type filter hook output priority 0; oifname "$dev" drop; }
}
EOF
        done
        echo blackhole > "$ldir/net/state"
        ;;
    loss) net_loss "$ldir" "$3" ;;
    heal)
        for lh in a b; do
            ns=$(netns_of "$ldir" $lh)
            ip -n "$ns" link set "$(veth_of "$ldir" $lh)" up
            case "$(cat "$ldir/net/state")" in
            blackhole) ip netns exec "$ns" nft delete table inet fpb_bed_blackhole ;;
            loss*) ip netns exec "$ns" nft delete table netdev fpb_bed_loss ;;
            esac
        done
        echo up > "$ldir/net/state"
        ;;
    *) net_shape "$ldir" "$2" ;;
    esac
}

# Random loss of PCT % (1..99) of what each veth end receives.
net_loss() {
    case "$2" in
    [1-9] | [1-9][0-9]) ;;
    *) die "loss: a percentage 1..99, not '$2'" ;;
    esac
    [ "$(cat "$1/net/state")" = up ] || die "loss: the link is $(cat "$1/net/state"): heal it first"
    for lh in a b; do
        dev=$(veth_of "$1" $lh)
        ip netns exec "$(netns_of "$1" $lh)" nft -f - <<EOF || die "host $lh: nft failed"
table netdev fpb_bed_loss {
    chain in { type filter hook ingress device "$dev" priority 0; numgen random mod 100 < $2 counter drop; }
}
EOF
    done
    echo "loss $2" > "$1/net/state"
}

dl_dev_of() {
    echo "fpbdl$(net_index "$1")-$2"
}

# The delay line's PID if it runs (and is the delay line), else nothing.
delay_pid() {
    dpid=$(cat "$1/net/delay.pid" 2>/dev/null || true)
    case "$dpid" in '' | *[!0-9]*) return 0 ;; esac
    [ "$(cat "/proc/$dpid/comm" 2>/dev/null)" != fpb-delay-line ] || echo "$dpid"
}

# Starts the delay line ($2 ms one way, rate $3 B/s, jitter $4 ms) and
# routes each host's peer address onto its TUN.
net_delay() {
    case "$2" in '' | *[!0-9]*) die "delay: milliseconds, not '$2'" ;; esac
    dl=${FPB_DELAY_LINE:-}
    [ -n "$dl" ] && [ -x "$dl" ] || die "delay: FPB_DELAY_LINE must name fpb-delay-line (built in tests/libvirt)"
    [ "$(cat "$1/net/state")" = up ] || die "delay: the link is $(cat "$1/net/state"): heal it first"
    mtu=${FPB_LV_DELAY_MTU:-9000}
    # a delay line already running is replaced
    net_direct "$1"
    : > "$1/net/delay.log"
    "$dl" --ns-a "$(netns_of "$1" a)" --ns-b "$(netns_of "$1" b)" --dev-a "$(dl_dev_of "$1" a)" \
        --dev-b "$(dl_dev_of "$1" b)" --delay "$2" --rate "$3" --jitter "$4" --mtu "$mtu" \
        < /dev/null > "$1/net/delay.log" 2>&1 &
    # recorded at once: from here on `direct` and `down` kill it
    echo $! > "$1/net/delay.pid"
    i=0
    while ! grep -q ': ready:' "$1/net/delay.log" && kill -0 "$(cat "$1/net/delay.pid")" 2>/dev/null &&
        [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    grep -q ': ready:' "$1/net/delay.log" || {
        msg=$(tr '\n' ' ' < "$1/net/delay.log")
        net_direct "$1"
        die "delay: fpb-delay-line did not start: $msg"
    }
    for dh in a b; do
        case $dh in a) peer=b ;; *) peer=a ;; esac
        ip -n "$(netns_of "$1" $dh)" route replace "$(addr_of "$1" $peer)/32" \
            dev "$(dl_dev_of "$1" $dh)" src "$(addr_of "$1" $dh)" ||
            { net_direct "$1"; die "delay: host $dh: ip route replace failed"; }
    done
    echo "$2 ms one way, rate $3 B/s, jitter $4 ms" > "$1/net/delay"
}

# Back on the veth: routes deleted, the delay line stopped by its PID
# (its last counters kept in DIR/net/delay.last).
net_direct() {
    for dh in a b; do
        case $dh in a) peer=b ;; *) peer=a ;; esac
        ip -n "$(netns_of "$1" $dh)" route del "$(addr_of "$1" $peer)/32" \
            dev "$(dl_dev_of "$1" $dh)" 2>/dev/null || true
    done
    dpid=$(delay_pid "$1")
    if [ -n "$dpid" ]; then
        kill_wait "$dpid"
        grep -e '->' "$1/net/delay.log" | tail -n 2 > "$1/net/delay.last" || true
    fi
    rm -f "$1/net/delay.pid" "$1/net/delay" "$1/net/delay.frozen"
}

# freeze: the delay line drops every packet (SIGUSR2 toggles); thaw.
net_freeze() {
    dpid=$(delay_pid "$1")
    [ -n "$dpid" ] || die "$2: no delay line runs ('link DIR delay MS' first)"
    if [ "$2" = freeze ] && [ ! -e "$1/net/delay.frozen" ]; then
        kill -USR2 "$dpid"
        : > "$1/net/delay.frozen"
    elif [ "$2" = thaw ] && [ -e "$1/net/delay.frozen" ]; then
        kill -USR2 "$dpid"
        rm -f "$1/net/delay.frozen"
    fi
}

# The delay line's counters: fresh ones (SIGUSR1) while it runs.
cmd_delay_stats() {
    net_index "$1" >/dev/null
    dpid=$(delay_pid "$1")
    if [ -z "$dpid" ]; then
        [ -s "$1/net/delay.last" ] || die "no delay line ran on '$1'"
        cat "$1/net/delay.last"
        return 0
    fi
    nl=$(grep -c -e '->' "$1/net/delay.log" || true)
    kill -USR1 "$dpid"
    i=0
    while [ "$(grep -c -e '->' "$1/net/delay.log" || true)" -lt $((nl + 2)) ] && [ $i -lt 100 ]; do
        sleep 0.02
        i=$((i + 1))
    done
    grep -e '->' "$1/net/delay.log" | tail -n 2
}

# Packets the loss rule dropped on the host's veth end (0 without one).
cmd_dropped() {
    ip netns exec "$(netns_of "$1" "$2")" nft list table netdev fpb_bed_loss 2>/dev/null |
        sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | grep . || echo 0
}

cmd_link_show() {
    echo "profile $(cat "$1/net/profile") ($(cat "$1/net/shaping")), link $(cat "$1/net/state")"
    dpid=$(delay_pid "$1")
    if [ -n "$dpid" ]; then
        frozen=
        [ ! -e "$1/net/delay.frozen" ] || frozen=", frozen"
        echo "delay line (PID $dpid): $(cat "$1/net/delay")$frozen"
    fi
    for lh in a b; do
        ns=$(netns_of "$1" $lh)
        dev=$(veth_of "$1" $lh)
        echo "host $lh: $ns $dev $(addr_of "$1" $lh)"
        ip -n "$ns" -br link show dev "$dev" | sed 's/^/  /'
        tc -n "$ns" -s qdisc show dev "$dev" | sed 's/^/  /'
    done
}

cmd_wire_bytes() {
    ns=$(netns_of "$1" "$2")
    dev=${3:-$(veth_of "$1" "$2")}
    # ip netns exec mounts the namespace's own /sys
    ip netns exec "$ns" sh -c 'cd "/sys/class/net/$1/statistics" &&
        echo "tx_bytes=$(cat tx_bytes) rx_bytes=$(cat rx_bytes)"' wire-bytes "$dev" ||
        die "host $2: no interface '$dev' in '$ns'"
}

# Runs a command in the host's mount namespace and, with --net, its
# network namespace; its virtlogd holds both (libvirtd may be down).
cmd_exec() {
    xdir=$1
    xh=$2
    shift 2
    logd=$(cat "$xdir/$xh/virtlogd.pid" 2>/dev/null || true)
    [ -n "$logd" ] && kill -0 "$logd" 2>/dev/null || die "host $xh: virtlogd is gone"
    if [ -s "$xdir/$xh/netns" ]; then
        exec nsenter --target "$logd" --mount --net -- "$@"
    fi
    exec nsenter --target "$logd" --mount -- "$@"
}

# Deletes the host's network namespace after killing what still runs in
# it (processes started there by `exec`, or not in any pidfile).
net_down() {
    hd=$1/$2
    [ -s "$hd/netns" ] || return 0
    ns=$(cat "$hd/netns")
    case "$ns" in
    fpb-nb-[0-9]*-[ab]) ;;
    *)
        echo "lv-hosts: warning: '$hd/netns' names '$ns', not a bed's namespace: not deleting it" >&2
        return 0
        ;;
    esac
    [ -e "/run/netns/$ns" ] || return 0
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        echo "lv-hosts: killing PID $pid, still in '$ns'" >&2
        kill_wait "$pid"
    done
    # on failure DIR/H stays, so that another `down` can try again
    ip netns delete "$ns" || {
        echo "lv-hosts: warning: cannot delete network namespace '$ns', keeping '$hd'" >&2
        return 1
    }
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
    # --net: inside the host's network namespace (ip netns exec also
    # mounts that namespace's /sys), libvirtd listening on TCP
    set --
    listen=
    if [ -s "$hd/netns" ]; then
        set -- ip netns exec "$(cat "$hd/netns")"
        listen=--listen
    fi
    "$@" unshare --mount --propagation private sh -eu -c '
        hd=$1
        mount --bind "$hd/etc" /etc/libvirt
        mount --bind "$hd/run" /run/libvirt
        mount --bind "$hd/lib" /var/lib/libvirt
        mount --bind "$hd/log" /var/log/libvirt
        mount --bind "$hd/cache" /var/cache/libvirt
        if [ -e /dev/kvm ]; then mount --bind "$hd/kvm" /dev/kvm; fi
        virtlogd -d -p "$hd/virtlogd.pid"
        libvirtd -d $2 -p "$hd/libvirtd.pid"
    ' lv-host "$hd" "$listen" || die "host $h: virtlogd or libvirtd did not start"
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
    if [ -s "$hd/netns" ]; then
        nsenter --target "$logd" --mount --net libvirtd -d --listen -p "$hd/libvirtd.pid"
    else
        nsenter --target "$logd" --mount libvirtd -d -p "$hd/libvirtd.pid"
    fi
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
    net=$2
    [ "$(id -u)" = 0 ] || die "needs root (mount namespaces, libvirtd)"
    if [ -n "$net" ]; then
        profile_params "$net" >/dev/null
    fi
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "'$dir' is not empty"
    [ -n "${FPB_LV_KEEP:-}" ] || trap 'cmd_down "$dir" >/dev/null 2>&1 || true' EXIT
    prepare_host "$dir" a "$(cat /proc/sys/kernel/random/uuid)"
    prepare_host "$dir" b "$(cat /proc/sys/kernel/random/uuid)"
    if [ -n "$net" ]; then
        net_up "$dir" "$net"
    fi
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
    [ -n "$net" ] || return 0
    for h in a b; do
        case $h in a) H=A ;; *) H=B ;; esac
        echo "FPB_LV_${H}_TCP=$(tcp_uri_of "$dir" $h)"
        echo "FPB_LV_${H}_ADDR=$(addr_of "$dir" $h)"
        echo "FPB_LV_${H}_NETNS=$(netns_of "$dir" $h)"
    done
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
    # the delay line first (it holds the TUNs in both namespaces)
    if [ -s "$dir/net/index" ] && [ -s "$dir/a/netns" ] && [ -s "$dir/b/netns" ]; then
        net_direct "$dir"
    elif [ -n "$(delay_pid "$dir")" ]; then
        kill_wait "$(delay_pid "$dir")"
    fi
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
        net_down "$dir" $h || continue
        rm -rf "$hd"
    done
    rm -rf "$dir/net"
}

usage_up="usage: $0 up [--net fast|slow|none] DIR"
case "${1:-}" in
up)
    shift
    net=${FPB_LV_NET:-}
    if [ "${1:-}" = --net ]; then
        [ $# -ge 2 ] || die "$usage_up"
        net=$2
        shift 2
    fi
    [ $# = 1 ] || die "$usage_up"
    cmd_up "$1" "$net"
    ;;
down) [ $# = 2 ] || die "usage: $0 down DIR"; cmd_down "$2" ;;
uri) [ $# = 3 ] || die "usage: $0 uri DIR a|b"; uri_of "$2" "$3" ;;
kill-libvirtd) [ $# = 3 ] || die "usage: $0 kill-libvirtd DIR a|b"; cmd_kill_libvirtd "$2" "$3" ;;
start-libvirtd) [ $# = 3 ] || die "usage: $0 start-libvirtd DIR a|b"; cmd_start_libvirtd "$2" "$3" ;;
addr) [ $# = 3 ] || die "usage: $0 addr DIR a|b"; check_host "$3"; addr_of "$2" "$3" ;;
tcp-uri) [ $# = 3 ] || die "usage: $0 tcp-uri DIR a|b"; check_host "$3"; tcp_uri_of "$2" "$3" ;;
exec) [ $# -ge 4 ] || die "usage: $0 exec DIR a|b CMD..."; check_host "$3"; d=$2 h=$3; shift 3; cmd_exec "$d" "$h" "$@" ;;
link)
    usage_link="usage: $0 link DIR [fast|slow|none|cut|blackhole|loss PCT|heal|delay MS [RATE [JITTER_MS]]|freeze|thaw|direct]"
    case "$#:${3:-}" in 2:* | 3:* | 4:loss | [456]:delay) ;; *) die "$usage_link" ;; esac
    case "$#:${3:-}" in 3:loss | 3:delay) die "$usage_link" ;; esac
    if [ $# = 2 ]; then cmd_link_show "$2"; else cmd_link "$2" "$3" "${4:-}" "${5:-}" "${6:-}"; fi
    ;;
delay-stats) [ $# = 2 ] || die "usage: $0 delay-stats DIR"; cmd_delay_stats "$2" ;;
dropped) [ $# = 3 ] || die "usage: $0 dropped DIR a|b"; check_host "$3"; cmd_dropped "$2" "$3" ;;
wire-bytes) [ $# = 3 ] || [ $# = 4 ] || die "usage: $0 wire-bytes DIR a|b [IF]"; check_host "$3"; cmd_wire_bytes "$2" "$3" ${4:+"$4"} ;;
*) die "usage: $0 up|down|uri|kill-libvirtd|start-libvirtd|addr|tcp-uri|exec|link|delay-stats|dropped|wire-bytes DIR ..." ;;
esac
