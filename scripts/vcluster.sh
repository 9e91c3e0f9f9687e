#!/usr/bin/env bash
# vcluster.sh — a virtual cluster of network namespaces on one Linux machine.
#
# Hosts vc1..vcN are network namespaces pf-vc1..pf-vcN, each joined to the bridge
# pfbr0 (198.18.0.254/15, root namespace) by a veth pair and addressed 198.18.0.K/15.
# Open MPI launches across them through scripts/vcluster/nsexec-agent (an
# rsh-compatible agent), so `preflight cluster` and the MPI benchmarks can be
# exercised end to end without a cluster; `throttle`/`throttle-link`/`isolate`
# plant a slow host, a slow link or a dead host.
#
# Name resolution: a marked block in /etc/hosts (removed by `down`).  `ip netns exec`
# shares the root mount namespace's /etc, so one block serves the root namespace
# (where mpirun runs) and every host namespace alike, including processes entered
# with nsenter or setns that never see /etc/netns/<ns>/hosts.  The file is rewritten
# in place (never renamed over) so a bind-mounted /etc/hosts keeps working.
#
# Rails (`up N --rails R`): rail 0 is the network above (eth0 on pfbr0); rail r >= 1 gives every
# host a second, third, ... interface ethR on a bridge of its own, pfbrR, addressed
# 100.96.R.K/24 (rail r is bridge r, with its own subnet), so libfabric's tcp provider sees one
# domain per rail, as efa sees one per EFA device. `throttle-rail HOST RAIL RATE` and
# `isolate-rail HOST RAIL` plant a slow or dead NIC; `throttle HOST RATE` limits every rail.
#
# Every command runs in its namespace inside a private UTS namespace whose
# hostname is vcK, so `hostname`, Open MPI's node names and session directories
# (/tmp/ompi.<host>.<uid>) differ per virtual host, as on a real cluster.
#
# Exit codes: 0 ok, 1 failure, 2 usage, 77 cannot run here (not root, no iproute2).
set -euo pipefail

readonly PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly AGENT="$SCRIPT_DIR/vcluster/nsexec-agent"

readonly BRIDGE=pfbr0
readonly NET_PREFIX=198.18.0
readonly NET_CIDR=198.18.0.0/15
readonly PREFIX_LEN=15
readonly BRIDGE_ADDR=$NET_PREFIX.254
readonly NS_PREFIX=pf-vc          # namespace of host vcK: pf-vcK
readonly VETH_PREFIX=pfv-vc       # root-side veth of host vcK: pfv-vcK
readonly MAX_HOSTS=32
readonly MAX_RAILS=8
readonly RAIL_NET_PREFIX=100.96   # rail r >= 1: 100.96.r.K/24 on bridge pfbrR
readonly RAIL_VETH_PREFIX=pfr     # root-side veth of host vcK on rail r: pfrR-vcK
readonly STATE_DIR=${PF_VCLUSTER_STATE_DIR:-/run/preflight-vcluster}
readonly HOSTS_FILE=${PF_VCLUSTER_HOSTS_FILE:-/etc/hosts}
readonly BEGIN_MARK='# BEGIN preflight-vcluster (managed by scripts/vcluster.sh; removed by "vcluster.sh down")'
readonly END_MARK='# END preflight-vcluster'

die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $*" >&2; echo "run '$PROG help' for usage" >&2; exit 2; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }
log() { [[ -n ${PF_VCLUSTER_QUIET:-} ]] || echo "$PROG: $*" >&2; }

usage() {
    cat <<EOF
usage: $PROG COMMAND [ARGS]

  up N [--rails R]            create hosts vc1..vcN (N <= $MAX_HOSTS); converges to exactly N;
                              --rails R (1..$MAX_RAILS, default 1): R interfaces eth0..eth(R-1)
                              per host, rail r on bridge pfbr<r> (r >= 1: $RAIL_NET_PREFIX.r.K/24)
  down                        remove everything: namespaces, bridge, qdiscs, /etc/hosts block
  status                      show hosts, addresses, link state, qdiscs
  throttle HOST RATE          limit HOST's link to RATE in both directions (tbf, or an htb
                              parent class when link throttles also apply); RATE like 200mbit
  throttle-link A B RATE      limit only traffic between A and B, both directions
                              (htb class + u32 filter on the destination, in both namespaces)
  unthrottle HOST             remove HOST's throttle and every link throttle involving HOST
  unthrottle-link A B         remove the A<->B link throttle
  throttle-rail HOST RAIL RATE  limit one NIC of HOST (rail RAIL, from 0) to RATE, both directions
  isolate-rail HOST RAIL      take one NIC of HOST down (rail 0 carries MPI's own traffic too)
  unisolate-rail HOST RAIL    bring it back up
  rails                       print the number of rails per host
  isolate HOST                take HOST's link down so peers cannot reach it
  unisolate HOST              bring HOST's link back up
  hostfile                    print an Open MPI hostfile (vc1 slots=1 ...)
  hostfile-path               print the path of that hostfile (kept up to date by 'up')
  mpirun-args                 print the mpirun flags that launch across the namespaces
  exec HOST CMD [ARG...]      run CMD inside HOST (argv kept as is, hostname is HOST)
  with N [--rails R] [--] CMD [ARG...]
                              take the session lock, 'up N [--rails R]', run CMD in the root
                              namespace, then 'down' (also on failure); exits with
                              CMD's status; waits PF_VCLUSTER_WAIT (300) s for the
                              lock, then exits 77 (lock: $SESSION_LOCK)
  hosts                       print the names of the hosts that are up
  pids HOST                   print the ids of the processes running inside HOST

RATE units: bit kbit mbit gbit tbit (bits/s) or bps kbps mbps gbps (bytes/s).
Addresses: $NET_CIDR only; host vcK is $NET_PREFIX.K, the bridge $BRIDGE_ADDR.
Needs root and iproute2 (exit 77 otherwise).
EOF
}

# ----------------------------------------------------------------------------- helpers

require_root_and_tools() {
    command -v ip >/dev/null 2>&1 || skip "iproute2 ('ip') not found"
    [[ $(id -u) -eq 0 ]] || skip "root is required (network namespaces, bridge, tc, /etc/hosts)"
    [[ -d /proc/sys/net ]] || skip "no /proc/sys/net: network namespaces unavailable"
}

# The start of a command that changes traffic control: one argument for each word of SYNOPSIS
# (a usage error otherwise), then root, iproute2 and tc (exit 77 without them).
begin_tc_command() {  # COMMAND SYNOPSIS ARG...
    local command=$1 synopsis=$2
    local -a words
    shift 2
    read -r -a words <<<"$synopsis"
    (($# == ${#words[@]})) || usage_error "$command takes $synopsis"
    require_root_and_tools
    command -v tc >/dev/null 2>&1 || skip "tc (iproute2) not found"
}

# serialise every mutating command; the lock lives beside the state directory
with_lock() {
    mkdir -p "$STATE_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE_DIR.lock"
        flock -w 60 9 || die "could not take the lock $STATE_DIR.lock"
    fi
}

# The session lock: held for a whole use of the cluster (up ... tests ... down) by
# `with` and by tests/scripts/test_vcluster.sh, so two test runs on one machine never
# tear down each other's cluster.  Anything else that drives up/down itself should hold
# it too:  flock -w 300 /run/preflight-vcluster.session CMD
readonly SESSION_LOCK=$STATE_DIR.session

ns_of() { echo "$NS_PREFIX$1"; }           # K -> pf-vcK
veth_of() { echo "$VETH_PREFIX$1"; }       # K -> pfv-vcK

# HOST (vcK, pf-vcK, 198.18.0.K, vcK.domain) -> K ; dies when not a valid host name
host_index() {
    local h=$1 k
    h=${h%%.*}
    [[ $1 =~ ^${NET_PREFIX//./\\.}\.([0-9]+)$ ]] && h=vc${BASH_REMATCH[1]}
    h=${h#pf-}
    [[ $h =~ ^vc([0-9]+)$ ]] || usage_error "not a virtual host name: '$1' (expected vc1..vc$MAX_HOSTS)"
    k=$((10#${BASH_REMATCH[1]}))
    ((k >= 1 && k <= MAX_HOSTS)) || usage_error "host index out of range: '$1' (1..$MAX_HOSTS)"
    echo "$k"
}

ns_exists() { [[ -e /run/netns/$(ns_of "$1") ]]; }

require_host() {
    local k
    k=$(host_index "$1")
    ns_exists "$k" || die "host vc$k is not up (run '$PROG up N')"
    echo "$k"
}

# indices of the hosts that exist, ascending
existing_indices() {
    local f k
    for f in /run/netns/"$NS_PREFIX"*; do
        [[ -e $f ]] || continue
        k=${f##*/"$NS_PREFIX"}
        [[ $k =~ ^[0-9]+$ ]] && echo "$k"
    done | sort -n
}

# RATE -> integer bits per second; dies on a malformed rate
rate_bits() {
    local r=${1,,} num unit mult
    [[ $r =~ ^([0-9]+(\.[0-9]+)?)([a-z]+)$ ]] ||
        usage_error "bad rate '$1' (e.g. 200mbit, 1gbit, 50mbps)"
    num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]}
    case $unit in
        bit) mult=1 ;;
        kbit) mult=1000 ;;
        mbit) mult=1000000 ;;
        gbit) mult=1000000000 ;;
        tbit) mult=1000000000000 ;;
        bps) mult=8 ;;
        kbps) mult=8000 ;;
        mbps) mult=8000000 ;;
        gbps) mult=8000000000 ;;
        *) usage_error "bad rate unit in '$1' (bit kbit mbit gbit tbit bps kbps mbps gbps)" ;;
    esac
    awk -v n="$num" -v m="$mult" 'BEGIN { v = n * m; if (v < 8000) v = 8000; printf "%.0f\n", v }'
}

# integer bits/s -> short human form (200mbit, 1.5gbit)
fmt_rate() {
    awk -v b="$1" 'BEGIN {
        if (b >= 1e9) printf "%ggbit\n", b / 1e9
        else if (b >= 1e6) printf "%gmbit\n", b / 1e6
        else if (b >= 1e3) printf "%gkbit\n", b / 1e3
        else printf "%gbit\n", b }'
}

# bucket size in bytes for a rate in bits/s: 20 ms of traffic, at least 128 KiB
# (larger than a 64 KiB GSO segment so tbf/htb never stall on one big skb)
burst_bytes() {
    awk -v b="$1" 'BEGIN { v = b / 8 / 50; if (v < 131072) v = 131072; printf "%.0f\n", v }'
}

# ----------------------------------------------------------------------------- /etc/hosts

# $HOSTS_FILE without the managed block, on stdout
hosts_without_block() {
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" '
        $0 == b { skip = 1; next }
        skip && $0 == e { skip = 0; next }
        !skip { print }' "$HOSTS_FILE"
}

hosts_block_remove() {
    [[ -f $HOSTS_FILE ]] || return 0
    grep -qxF "$BEGIN_MARK" "$HOSTS_FILE" || return 0
    local tmp
    tmp=$(mktemp)
    hosts_without_block >"$tmp"
    cat "$tmp" >"$HOSTS_FILE"   # in place: keeps a bind-mounted /etc/hosts valid
    rm -f "$tmp"
}

hosts_block_write() {
    local tmp k
    tmp=$(mktemp)
    if [[ -f $HOSTS_FILE ]]; then hosts_without_block >"$tmp"; fi
    {
        echo "$BEGIN_MARK"
        echo "$BRIDGE_ADDR vchead"
        for k in "$@"; do echo "$NET_PREFIX.$k vc$k"; done
        echo "$END_MARK"
    } >>"$tmp"
    cat "$tmp" >"$HOSTS_FILE"
    rm -f "$tmp"
}

# ----------------------------------------------------------------------------- rails

rail_count() { [[ -f $STATE_DIR/rails ]] && cat "$STATE_DIR/rails" || echo 1; }
rail_bridge() { echo "pfbr$1"; }                  # r >= 1
rail_veth() { echo "$RAIL_VETH_PREFIX$1-vc$2"; }  # r k -> pfrR-vcK (root side)
rail_peer() { echo "pfq$1-vc$2"; }                # r k -> the namespace side before its rename

rail_index() {  # RAIL -> r; dies when out of range
    [[ $1 =~ ^[0-9]+$ ]] || usage_error "not a rail index: '$1' (rails are numbered from 0)"
    local r=$((10#$1)) n
    n=$(rail_count)
    ((r < n)) || usage_error "rail $r does not exist: the cluster has $n rail(s) (up N --rails R)"
    echo "$r"
}

rail_up() {  # r k: interface ethR of host vcK on bridge pfbrR
    local r=$1 k=$2 ns br veth peer
    ns=$(ns_of "$k") br=$(rail_bridge "$r") veth=$(rail_veth "$r" "$k") peer=$(rail_peer "$r" "$k")
    if ! ip link show dev "$br" >/dev/null 2>&1; then
        ip link add name "$br" type bridge stp_state 0 forward_delay 0
        ip link set dev "$br" type bridge nf_call_iptables 0 nf_call_ip6tables 0 \
            nf_call_arptables 0 2>/dev/null || true
    fi
    ip link set dev "$br" up
    veth_join "$ns" "eth$r" "$veth" "$peer" "$br"
    ip -n "$ns" addr replace "$RAIL_NET_PREFIX.$r.$k/24" dev "eth$r"
    ip -n "$ns" link set dev "eth$r" up
    rm -f "$STATE_DIR/isolated.vc$k.rail$r"
}

# delete every link of the root namespace whose name matches the extended regex ERE
links_delete_matching() {
    local l
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | sed 's/@.*//' |
        grep -E "$1" || true); do
        ip link del dev "$l" 2>/dev/null || true
    done
}

rails_down() {  # every rail bridge and rail veth (r >= 1)
    links_delete_matching "^(${RAIL_VETH_PREFIX}[0-9]+-vc[0-9]+|pfq[0-9]+-vc[0-9]+|pfbr[1-9][0-9]*)$"
}

# The rate of host K's rail r: the lower of the host's rate and the rail's own (bits/s; empty
# when neither is set).
rail_rate() {
    local r=$1 k=$2 host="" own=""
    [[ -f $STATE_DIR/rate.vc$k ]] && host=$(<"$STATE_DIR/rate.vc$k")
    [[ -f $STATE_DIR/rate.vc$k.rail$r ]] && own=$(<"$STATE_DIR/rate.vc$k.rail$r")
    if [[ -n $host && -n $own ]]; then
        ((own < host)) && echo "$own" || echo "$host"
    else
        echo "${own:-$host}"
    fi
}

apply_rail_tc() {  # r k (r >= 1): tbf on ethR in the namespace and on the root-side veth
    local r=$1 k=$2 ns veth rate burst
    ns=$(ns_of "$k") veth=$(rail_veth "$r" "$k")
    ns_exists "$k" || return 0
    tc -n "$ns" qdisc del dev "eth$r" root 2>/dev/null || true
    tc qdisc del dev "$veth" root 2>/dev/null || true
    rate=$(rail_rate "$r" "$k")
    [[ -n $rate ]] || return 0
    burst=$(burst_bytes "$rate")
    tc -n "$ns" qdisc add dev "eth$r" root tbf rate "${rate}bit" burst "$burst" latency 100ms
    tc qdisc add dev "$veth" root tbf rate "${rate}bit" burst "$burst" latency 100ms
}

apply_all_tc() {  # k: rail 0 (with link throttles) and every other rail
    local k=$1 r n
    apply_tc "$k"
    n=$(rail_count)
    for ((r = 1; r < n; r++)); do apply_rail_tc "$r" "$k"; done
}

cmd_throttle_rail() {
    begin_tc_command throttle-rail "HOST RAIL RATE" "$@"
    local k r bits
    k=$(require_host "$1")
    r=$(rail_index "$2")
    bits=$(rate_bits "$3")
    with_lock
    echo "$bits" >"$STATE_DIR/rate.vc$k.rail$r"
    if ((r == 0)); then apply_tc "$k"; else apply_rail_tc "$r" "$k"; fi
    log "throttle-rail: vc$k rail $r limited to $(fmt_rate "$bits") both directions"
}

# ----------------------------------------------------------------------------- up / down

# Interface IFACE of namespace NS, joined to bridge BR by the veth pair VETH (root side) / PEER
# (the namespace side before its rename to IFACE). A complete pair is VETH present and IFACE
# present inside NS; anything less (an interrupted 'up') is removed and made again.
veth_join() {  # ns iface veth peer br
    local ns=$1 iface=$2 veth=$3 peer=$4 br=$5
    if ! ip link show dev "$veth" >/dev/null 2>&1 || ! ip -n "$ns" link show dev "$iface" >/dev/null 2>&1; then
        ip link del dev "$veth" 2>/dev/null || true
        ip link del dev "$peer" 2>/dev/null || true
        ip -n "$ns" link del dev "$iface" 2>/dev/null || true
        ip link add name "$veth" type veth peer name "$peer"
        ip link set dev "$peer" netns "$ns"
        ip -n "$ns" link set dev "$peer" name "$iface"
    fi
    ip link set dev "$veth" master "$br"
    ip link set dev "$veth" up
}

bridge_up() {
    if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
        ip link add name "$BRIDGE" type bridge stp_state 0 forward_delay 0
    fi
    # keep bridged traffic out of iptables (a FORWARD DROP policy would break the cluster)
    ip link set dev "$BRIDGE" type bridge nf_call_iptables 0 nf_call_ip6tables 0 \
        nf_call_arptables 0 2>/dev/null || true
    ip addr replace "$BRIDGE_ADDR/$PREFIX_LEN" dev "$BRIDGE"
    ip link set dev "$BRIDGE" up
}

host_up() {
    local k=$1 ns veth peer
    ns=$(ns_of "$k") veth=$(veth_of "$k") peer="pfp-vc$k"
    ns_exists "$k" || ip netns add "$ns"
    veth_join "$ns" eth0 "$veth" "$peer" "$BRIDGE"
    ip -n "$ns" link set dev lo up
    ip -n "$ns" addr replace "$NET_PREFIX.$k/$PREFIX_LEN" dev eth0
    ip -n "$ns" link set dev eth0 up
    # IPv4 only: no IPv6 DAD delays or link-local addresses confusing MPI interface choice
    # shellcheck disable=SC2016  # $f belongs to the inner shell
    ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
        /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w "$f" ] && echo 1 >"$f"; done; true'
    rm -f "$STATE_DIR/isolated.vc$k"
}

host_down() {
    local k=$1 ns pids
    ns=$(ns_of "$k")
    if ns_exists "$k"; then
        # processes started in the namespace (exec, mpirun daemons) would keep it alive
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
            sleep 0.2
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            # shellcheck disable=SC2086
            [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    fi
    ip link del dev "$(veth_of "$k")" 2>/dev/null || true
    ip link del dev "pfp-vc$k" 2>/dev/null || true
    rm -f "$STATE_DIR"/rate.vc"$k" "$STATE_DIR"/isolated.vc"$k" \
        "$STATE_DIR"/rate.vc"$k".rail* "$STATE_DIR"/isolated.vc"$k".rail* \
        "$STATE_DIR"/link.vc"$k".* "$STATE_DIR"/link.*.vc"$k"
}

write_hostfile() {
    local k
    mkdir -p "$STATE_DIR"
    : >"$STATE_DIR/hostfile.tmp"
    for k in "$@"; do echo "vc$k slots=1" >>"$STATE_DIR/hostfile.tmp"; done
    mv -f "$STATE_DIR/hostfile.tmp" "$STATE_DIR/hostfile"
}

cmd_up() {
    local rails=1
    if [[ $# -eq 3 && $2 == --rails ]]; then
        [[ $3 =~ ^[0-9]+$ ]] || usage_error "--rails R must be a number: '$3'"
        rails=$((10#$3))
        ((rails >= 1 && rails <= MAX_RAILS)) || usage_error "--rails R must be 1..$MAX_RAILS"
        set -- "$1"
    fi
    [[ $# -eq 1 ]] || usage_error "up takes N [--rails R]"
    [[ $1 =~ ^[0-9]+$ ]] || usage_error "N must be a number: '$1'"
    local n=$((10#$1)) k r
    ((n >= 1 && n <= MAX_HOSTS)) || usage_error "N must be 1..$MAX_HOSTS"
    require_root_and_tools
    with_lock
    bridge_up
    for k in $(existing_indices); do
        ((k > n)) && host_down "$k"
    done
    # fewer rails than before: the extra interfaces and bridges go
    rails_down
    echo "$rails" >"$STATE_DIR/rails"
    local -a all=()
    for ((k = 1; k <= n; k++)); do
        host_up "$k"
        for ((r = 1; r < rails; r++)); do rail_up "$r" "$k"; done
        all+=("$k")
    done
    for k in "${all[@]}"; do apply_all_tc "$k"; done
    hosts_block_write "${all[@]}"
    write_hostfile "${all[@]}"
    echo "$n" >"$STATE_DIR/count"
    log "up: vc1..vc$n on $BRIDGE ($BRIDGE_ADDR/$PREFIX_LEN), $rails rail(s)"
}

cmd_down() {
    [[ $# -eq 0 ]] || usage_error "down takes no arguments"
    require_root_and_tools
    with_lock
    local k
    for k in $(existing_indices); do host_down "$k"; done
    # stray root-side ends from a partial 'up'
    links_delete_matching "^(${VETH_PREFIX}|pfp-vc)[0-9]+$"
    ip link del dev "$BRIDGE" 2>/dev/null || true
    rails_down
    hosts_block_remove
    rm -rf "$STATE_DIR"
    # the lock files stay (tiny, in /run): removing one while another process waits on
    # it would let two processes hold "the" lock at once
    log "down: virtual cluster removed"
}

# ----------------------------------------------------------------------------- traffic control

# Rebuild the qdiscs of host K from the state files:
#   rate.vcK            -> HOST rate: limits eth0 egress (in the namespace) and the root-side
#                          veth egress (= traffic towards the host), so both directions
#   link.vcA.vcB        -> rate for traffic A->B, applied in A's namespace (stored both ways)
apply_tc() {
    local k=$1 ns veth host_rate="" f peer r eff burst
    ns=$(ns_of "$k") veth=$(veth_of "$k")
    ns_exists "$k" || return 0
    host_rate=$(rail_rate 0 "$k")   # the host's rate, or its rail 0 NIC's when lower
    local -a links=()
    for f in "$STATE_DIR"/link.vc"$k".vc*; do
        [[ -e $f ]] && links+=("$f")
    done

    tc -n "$ns" qdisc del dev eth0 root 2>/dev/null || true
    tc qdisc del dev "$veth" root 2>/dev/null || true

    if [[ -n $host_rate ]]; then
        burst=$(burst_bytes "$host_rate")
        tc qdisc add dev "$veth" root tbf rate "${host_rate}bit" burst "$burst" latency 100ms
    fi

    if ((${#links[@]} == 0)); then
        if [[ -n $host_rate ]]; then
            tc -n "$ns" qdisc add dev eth0 root tbf rate "${host_rate}bit" burst "$burst" latency 100ms
        fi
        return 0
    fi

    local parent=1:
    if [[ -n $host_rate ]]; then
        burst=$(burst_bytes "$host_rate")
        tc -n "$ns" qdisc add dev eth0 root handle 1: htb default 2
        tc -n "$ns" class add dev eth0 parent 1: classid 1:1 htb rate "${host_rate}bit" \
            ceil "${host_rate}bit" burst "$burst" cburst "$burst" quantum 60000
        tc -n "$ns" class add dev eth0 parent 1:1 classid 1:2 htb rate "${host_rate}bit" \
            ceil "${host_rate}bit" burst "$burst" cburst "$burst" quantum 60000
        parent=1:1
    else
        # no default class: unclassified traffic takes htb's direct queue, unlimited
        tc -n "$ns" qdisc add dev eth0 root handle 1: htb
    fi
    for f in "${links[@]}"; do
        peer=${f##*.vc}
        r=$(<"$f")
        eff=$r
        if [[ -n $host_rate ]] && ((host_rate < r)); then eff=$host_rate; fi
        burst=$(burst_bytes "$eff")
        tc -n "$ns" class add dev eth0 parent "$parent" classid "1:$((100 + peer))" htb \
            rate "${eff}bit" ceil "${eff}bit" burst "$burst" cburst "$burst" quantum 60000
        tc -n "$ns" filter add dev eth0 parent 1: protocol ip prio 1 u32 \
            match ip dst "$NET_PREFIX.$peer/32" flowid "1:$((100 + peer))"
    done
}

cmd_throttle() {
    begin_tc_command throttle "HOST RATE" "$@"
    local k bits
    k=$(require_host "$1")
    bits=$(rate_bits "$2")
    with_lock
    echo "$bits" >"$STATE_DIR/rate.vc$k"
    apply_all_tc "$k"
    log "throttle: vc$k limited to $(fmt_rate "$bits") both directions"
}

# The A<->B link limit, kept both ways round (link.vcA.vcB, link.vcB.vcA) and applied in both
# namespaces; without BITS the link is unlimited.
set_link_rate() {  # a b [bits]
    local a=$1 b=$2
    if (($# == 3)); then
        echo "$3" >"$STATE_DIR/link.vc$a.vc$b"
        echo "$3" >"$STATE_DIR/link.vc$b.vc$a"
    else
        rm -f "$STATE_DIR/link.vc$a.vc$b" "$STATE_DIR/link.vc$b.vc$a"
    fi
    apply_tc "$a"
    apply_tc "$b"
}

cmd_throttle_link() {
    begin_tc_command throttle-link "HOST_A HOST_B RATE" "$@"
    local a b bits
    a=$(require_host "$1")
    b=$(require_host "$2")
    ((a != b)) || usage_error "throttle-link needs two different hosts"
    bits=$(rate_bits "$3")
    with_lock
    set_link_rate "$a" "$b" "$bits"
    log "throttle-link: vc$a<->vc$b limited to $(fmt_rate "$bits")"
}

cmd_unthrottle() {
    begin_tc_command unthrottle "HOST" "$@"
    local k f peer
    k=$(require_host "$1")
    with_lock
    local -a peers=()
    for f in "$STATE_DIR"/link.vc"$k".vc*; do
        [[ -e $f ]] || continue
        peer=${f##*.vc}
        peers+=("$peer")
        rm -f "$f" "$STATE_DIR/link.vc$peer.vc$k"
    done
    rm -f "$STATE_DIR/rate.vc$k" "$STATE_DIR"/rate.vc"$k".rail*
    apply_all_tc "$k"
    for peer in "${peers[@]}"; do apply_tc "$peer"; done
    log "unthrottle: vc$k unlimited"
}

cmd_unthrottle_link() {
    begin_tc_command unthrottle-link "HOST_A HOST_B" "$@"
    local a b
    a=$(require_host "$1")
    b=$(require_host "$2")
    with_lock
    set_link_rate "$a" "$b"
    log "unthrottle-link: vc$a<->vc$b unlimited"
}

# ----------------------------------------------------------------------------- isolate

# Take NIC r of host vcK down, or bring it back up (r 0: eth0, the host's own link; r >= 1: a
# rail), at both ends of its veth. Its MAC is forgotten everywhere either way: cut off, peers fail
# on ARP instead of sending into the void; back, they drop the FAILED entries from the isolation
# and resolve it again.
set_nic_link() {  # up|down r k
    local state=$1 r=$2 k=$3 ns veth addr mark j
    ns=$(ns_of "$k")
    if ((r == 0)); then
        veth=$(veth_of "$k") addr=$NET_PREFIX.$k/$PREFIX_LEN mark=$STATE_DIR/isolated.vc$k
    else
        veth=$(rail_veth "$r" "$k") addr=$RAIL_NET_PREFIX.$r.$k/24 mark=$STATE_DIR/isolated.vc$k.rail$r
    fi
    ip link set dev "$veth" "$state"
    ip -n "$ns" link set dev "eth$r" "$state"
    [[ $state == down ]] || ip -n "$ns" addr replace "$addr" dev "eth$r"
    # the root namespace has an address on rail 0's bridge only
    ((r > 0)) || ip neigh flush to "${addr%/*}" 2>/dev/null || true
    for j in $(existing_indices); do
        ((j == k)) || ip -n "$(ns_of "$j")" neigh flush to "${addr%/*}" 2>/dev/null || true
    done
    if [[ $state == down ]]; then
        : >"$mark"
    else
        ((r > 0)) || ip -n "$ns" neigh flush dev eth0 2>/dev/null || true
        rm -f "$mark"
    fi
}

# isolate HOST, unisolate HOST, isolate-rail HOST RAIL, unisolate-rail HOST RAIL (rail 0 is the
# host's own link: isolate-rail HOST 0 is isolate HOST)
cmd_isolation() {  # COMMAND ARG...
    local command=$1 state=down outcome="cut off" k r=0
    shift
    [[ $command == un* ]] && state=up outcome=reconnected
    if [[ $command == *-rail ]]; then
        [[ $# -eq 2 ]] || usage_error "$command takes HOST RAIL"
    else
        [[ $# -eq 1 ]] || usage_error "$command takes HOST"
    fi
    require_root_and_tools
    k=$(require_host "$1")
    [[ $command == *-rail ]] && r=$(rail_index "$2")
    with_lock
    set_nic_link "$state" "$r" "$k"
    if ((r > 0)); then log "$command: vc$k rail $r $outcome"; else log "${command%-rail}: vc$k $outcome"; fi
}

# ----------------------------------------------------------------------------- queries

cmd_status() {
    require_root_and_tools
    local -a idx
    mapfile -t idx < <(existing_indices)
    if ((${#idx[@]} == 0)) && ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
        echo "vcluster: down"
        return 0
    fi
    echo "vcluster: ${#idx[@]} host(s); bridge $BRIDGE $(ip -4 -o addr show dev "$BRIDGE" 2>/dev/null |
        awk '{ print $4 }') $(ip -o link show dev "$BRIDGE" 2>/dev/null | grep -q 'state UP' && echo up || echo down)"
    if grep -qxF "$BEGIN_MARK" "$HOSTS_FILE" 2>/dev/null; then
        echo "names: $HOSTS_FILE block present"
    else
        echo "names: $HOSTS_FILE block MISSING"
    fi
    printf '%-6s %-8s %-18s %-5s %-9s %s\n' HOST NETNS ADDRESS LINK THROTTLE QDISC
    local k ns addr link thr qd f
    for k in "${idx[@]}"; do
        ns=$(ns_of "$k")
        addr=$(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | awk '{ print $4 }' | head -1)
        if ip -n "$ns" -o link show dev eth0 2>/dev/null | grep -q 'state UP'; then link=up; else link=down; fi
        [[ -e $STATE_DIR/isolated.vc$k ]] && link=isolated
        thr=-
        [[ -f $STATE_DIR/rate.vc$k ]] && thr=$(fmt_rate "$(<"$STATE_DIR/rate.vc$k")")
        qd=$(tc -n "$ns" qdisc show dev eth0 2>/dev/null | awk '$2 != "noqueue" { print $2 }' |
            sort -u | paste -sd, -)
        printf '%-6s %-8s %-18s %-5s %-9s %s\n' "vc$k" "$ns" "${addr:--}" "$link" "$thr" "${qd:--}"
        for f in "$STATE_DIR"/link.vc"$k".vc*; do
            [[ -e $f ]] || continue
            printf '       link vc%s->vc%s limited to %s\n' "$k" "${f##*.vc}" "$(fmt_rate "$(<"$f")")"
        done
        local r rate nrails
        nrails=$(rail_count)
        for ((r = 0; r < nrails && nrails > 1; r++)); do
            addr=$(ip -n "$ns" -4 -o addr show dev "eth$r" 2>/dev/null | awk '{ print $4 }' | head -1)
            if ip -n "$ns" -o link show dev "eth$r" 2>/dev/null | grep -q 'state UP'; then link=up; else link=down; fi
            [[ -e $STATE_DIR/isolated.vc$k.rail$r ]] && link=isolated
            rate=$(rail_rate "$r" "$k")
            printf '       rail %s eth%s %-18s %-8s %s\n' "$r" "$r" "${addr:--}" "$link" \
                "$([[ -n $rate ]] && fmt_rate "$rate" || echo -)"
        done
    done
}

cmd_hosts() {
    local k
    for k in $(existing_indices); do echo "vc$k"; done
}

cmd_hostfile() {
    local k any=0
    for k in $(existing_indices); do echo "vc$k slots=1"; any=1; done
    ((any)) || die "no hosts are up (run '$PROG up N')"
}

cmd_hostfile_path() {
    [[ -f $STATE_DIR/hostfile ]] || die "no hostfile: the cluster is not up (run '$PROG up N')"
    echo "$STATE_DIR/hostfile"
}

cmd_mpirun_args() {
    [[ -x $AGENT ]] || die "agent not found or not executable: $AGENT"
    [[ $AGENT != *[[:space:]]* ]] ||
        echo "$PROG: warning: the agent path contains spaces; quote it yourself" >&2
    # ob1 + tcp btl so traffic really crosses the veths (no UCX, no ofi mtl, no shared memory);
    # no tree spawn: every daemon is started from mpirun through the agent. TCP keepalive on the
    # daemons' connections makes mpirun notice a host cut off ('isolate') within about 5 s and end
    # the job, as a site sets it in openmpi-mca-params.conf; by default Open MPI waits 8 minutes.
    echo "--allow-run-as-root" \
        "--mca plm_rsh_agent $AGENT" \
        "--mca plm_rsh_no_tree_spawn 1" \
        "--mca oob_tcp_if_include $NET_CIDR" \
        "--mca oob_tcp_keepalive_time 2" \
        "--mca oob_tcp_keepalive_intvl 1" \
        "--mca oob_tcp_keepalive_probes 3" \
        "--mca pml ob1" \
        "--mca btl self,tcp" \
        "--mca btl_tcp_if_include $NET_CIDR"
}

cmd_pids() {
    [[ $# -eq 1 ]] || usage_error "pids takes HOST"
    require_root_and_tools
    local k
    k=$(require_host "$1")
    ip netns pids "$(ns_of "$k")"
}

cmd_exec() {
    [[ $# -ge 2 ]] || usage_error "exec takes HOST CMD [ARG...]"
    require_root_and_tools
    local k
    k=$(require_host "$1")
    shift
    if [[ ${PF_VCLUSTER_UTS:-1} != 0 ]] && command -v unshare >/dev/null 2>&1; then
        # shellcheck disable=SC2016  # $0/$@ expand in the inner shell
        exec ip netns exec "$(ns_of "$k")" unshare --uts -- \
            sh -c 'hostname "$0" 2>/dev/null; exec "$@"' "vc$k" "$@"
    fi
    exec ip netns exec "$(ns_of "$k")" "$@"
}

cmd_with() {
    [[ $# -ge 2 ]] || usage_error "with takes N [--rails R] CMD [ARG...]"
    local n=$1
    shift
    local -a up_args=("$n")
    if [[ ${1:-} == --rails ]]; then
        [[ $# -ge 2 ]] || usage_error "with N --rails R: R is missing"
        up_args+=(--rails "$2")
        shift 2
    fi
    [[ ${1:-} == -- ]] && shift
    [[ $# -ge 1 ]] || usage_error "with takes N CMD [ARG...]"
    require_root_and_tools
    command -v flock >/dev/null 2>&1 || skip "flock (util-linux) not found"
    mkdir -p "$(dirname "$SESSION_LOCK")"
    exec 8>"$SESSION_LOCK"
    flock -w "${PF_VCLUSTER_WAIT:-300}" 8 ||
        skip "the virtual cluster is busy (another session holds $SESSION_LOCK)"
    trap '( cmd_down ) >/dev/null 2>&1' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ( cmd_up "${up_args[@]}" ) || exit 1
    local rc=0
    "$@" 8>&- || rc=$?
    return "$rc"
}

# ----------------------------------------------------------------------------- main

main() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local cmd=$1
    shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        throttle) cmd_throttle "$@" ;;
        throttle-link) cmd_throttle_link "$@" ;;
        unthrottle) cmd_unthrottle "$@" ;;
        unthrottle-link) cmd_unthrottle_link "$@" ;;
        throttle-rail) cmd_throttle_rail "$@" ;;
        isolate | unisolate | isolate-rail | unisolate-rail) cmd_isolation "$cmd" "$@" ;;
        rails) rail_count ;;
        hostfile) cmd_hostfile "$@" ;;
        hostfile-path) cmd_hostfile_path "$@" ;;
        hosts) cmd_hosts "$@" ;;
        mpirun-args) cmd_mpirun_args "$@" ;;
        pids) cmd_pids "$@" ;;
        exec) cmd_exec "$@" ;;
        with) cmd_with "$@" ;;
        help | -h | --help) usage ;;
        *) usage_error "unknown command '$cmd'" ;;
    esac
}

main "$@"
