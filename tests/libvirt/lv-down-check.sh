# SPDX-License-Identifier: GPL-2.0-or-later
# The network bed's teardown, checked (sourced after lv-tap.sh):
# check_bed_down LVH HOSTS_DIR [PID...] takes the bed of HOSTS_DIR down with
# LVH (lv-hosts.sh) and checks that nothing of it is left: no process of
# its PID files (nor any PID given), none in its network namespaces, and
# the namespaces gone. Needs FPB_LV_A_NETNS and FPB_LV_B_NETNS (lv-hosts.sh
# up prints them).
check_bed_down() {
    cbd_lvh=$1
    cbd_hosts=$2
    shift 2
    cbd_pids="$*"
    for f in "$cbd_hosts/a/pids" "$cbd_hosts/b/pids" "$cbd_hosts"/[ab]/run/qemu/*.pid; do
        [ -f "$f" ] && cbd_pids="$cbd_pids $(tr '\n' ' ' < "$f")"
    done
    cbd_ino_a=$(stat -L -c %i "/run/netns/$FPB_LV_A_NETNS")
    cbd_ino_b=$(stat -L -c %i "/run/netns/$FPB_LV_B_NETNS")
    "$cbd_lvh" down "$cbd_hosts"
    check "down: exit 0" [ $? = 0 ]
    cbd_alive=
    for p in $cbd_pids; do kill -0 "$p" 2>/dev/null && cbd_alive="$cbd_alive $p"; done
    check "down: none of the bed's PIDs alive ($cbd_pids)" [ -z "$cbd_alive" ]
    check "down: no process in the bed's network namespaces" cbd_none_in_netns
    check "down: the bed's namespaces deleted" sh -c \
        "! ip netns list | grep -q -e '^$FPB_LV_A_NETNS\\b' -e '^$FPB_LV_B_NETNS\\b'"
}
cbd_none_in_netns() {
    for f in /proc/[0-9]*/ns/net; do
        i=$(stat -L -c %i "$f" 2>/dev/null) || continue
        [ "$i" != "$cbd_ino_a" ] && [ "$i" != "$cbd_ino_b" ] || return 1
    done
}
