#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run through check() and the EXIT trap
# test_vcluster.sh — end-to-end test of scripts/vcluster.sh (network-namespace cluster).
#
# Proves: up/up idempotency and repair of a partial up; name resolution from the root
# namespace and inside hosts; Open MPI launching one rank per namespace through the
# nsexec agent (and, with mpicc, a real MPI exchange over btl tcp); `throttle` brings a
# host's TCP throughput down to about the rate in both directions; `throttle-link A B`
# slows A<->B only; `isolate` makes a host unreachable fast and `unisolate` undoes it;
# `down` removes everything, including leftovers of a partial run; non-root gets 77.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no iproute2/tc/python3).
# Tears the virtual cluster down on exit.  Not safe to run concurrently with anything
# else that uses scripts/vcluster.sh (one cluster per machine).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VC=$ROOT/scripts/vcluster.sh
BENCH=$ROOT/scripts/vcluster/tcpbench.py

skip() { echo "SKIP: $*"; exit 77; }
FAILS=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION CMD... : pass when CMD succeeds
    local d=$1
    shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "iproute2 not installed"
command -v tc >/dev/null 2>&1 || skip "tc not installed"
PY=$(command -v python3) || skip "python3 not installed"
ip netns list >/dev/null 2>&1 || skip "network namespaces unavailable"

# one user of the virtual cluster per machine at a time (see `vcluster.sh with`)
SESSION_LOCK=/run/preflight-vcluster.session
if command -v flock >/dev/null 2>&1; then
    exec 8>"$SESSION_LOCK"
    flock -w "${PF_VCLUSTER_WAIT:-300}" 8 || skip "another session holds $SESSION_LOCK"
fi

TMP=$(mktemp -d)
cleanup() {
    local pids
    pids=$(jobs -p)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill $pids 2>/dev/null
    PF_VCLUSTER_QUIET=1 "$VC" down >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
T0=$SECONDS
export PF_VCLUSTER_QUIET=1

# ------------------------------------------------------------------ lifecycle
"$VC" down >/dev/null 2>&1
check "up 4" "$VC" up 4
check "up 4 again (idempotent)" "$VC" up 4
check "status lists 4 hosts" bash -c "'$VC' status | grep -c '^vc[0-9]' | grep -qx 4"
check "hostfile" bash -c "'$VC' hostfile | paste -sd' ' - | grep -qx 'vc1 slots=1 vc2 slots=1 vc3 slots=1 vc4 slots=1'"
check "vc3 resolves in the root namespace" bash -c "getent hosts vc3 | grep -q '^198\.18\.0\.3 '"
check "vc4 resolves inside vc1" bash -c "'$VC' exec vc1 getent hosts vc4 | grep -q '^198\.18\.0\.4 '"
check "vc2 has its own address and hostname" \
    bash -c "[[ \$('$VC' exec vc2 sh -c 'echo \$(hostname) \$(ip -4 -o addr show dev eth0 | awk \"{print \\\$4}\")') == 'vc2 198.18.0.2/15' ]]"
check "pids lists a process inside its host, not in the others" bash -c "
    '$VC' exec vc2 sleep 30 & sleeper=\$!; sleep 0.5
    inside=\$('$VC' pids vc2 | xargs -r ps -o comm= -p | grep -c '^sleep\$')
    elsewhere=\$('$VC' pids vc3 | xargs -r ps -o comm= -p | grep -c '^sleep\$')
    kill \$sleeper  # exec all the way down: the sleep itself
    [[ \$inside -ge 1 && \$elsewhere == 0 ]]"
check "exec keeps argv intact" bash -c "[[ \$('$VC' exec vc1 printf '%s|' 'a b' 'c;d') == 'a b|c;d|' ]]"
check "agent runs the command through sh -c like ssh" \
    bash -c "[[ \$('$ROOT/scripts/vcluster/nsexec-agent' -x -o BatchMode=yes root@vc3 echo '\"x;y\"' '\$(hostname)') == 'x;y vc3' ]]"
check "agent passes an ssh-like environment plus PF_VCLUSTER_PASSENV" \
    bash -c "[[ \$(PFT_A=1 PFT_B=2 PF_VCLUSTER_PASSENV='PFT_A' '$ROOT/scripts/vcluster/nsexec-agent' vc1 'echo \"\$PFT_A/\$PFT_B\"') == '1/' ]]"
check "agent rejects an unknown host with 255" \
    bash -c "'$ROOT/scripts/vcluster/nsexec-agent' vc31 true 2>/dev/null; [[ \$? == 255 ]]"
check "bad rate is a usage error (2)" bash -c "'$VC' throttle vc1 fast 2>/dev/null; [[ \$? == 2 ]]"

# repair of a partial up: a host that lost its veth comes back with 'up'
ip link del dev pfv-vc2 2>/dev/null
check "up repairs a host whose veth vanished" \
    bash -c "'$VC' up 4 && ip -n pf-vc2 -4 -o addr show dev eth0 | grep -q 198.18.0.2/15"

# ------------------------------------------------------------------ Open MPI across namespaces
# Open MPI's rsh launcher warns when its setpgid on a child loses the race with the child's exec
# (seen under load); the launch itself is fine, so the warning is not part of the output compared.
drop_benign_launcher_warnings() { grep -v 'plm:rsh: Warning: setpgid(' || true; }

if command -v mpirun >/dev/null 2>&1; then
    read -r -a MPIARGS <<<"$("$VC" mpirun-args)"
    HF=$("$VC" hostfile-path)
    # shellcheck disable=SC2016  # expands in the ranks' shells
    out=$(timeout 30 mpirun "${MPIARGS[@]}" --hostfile "$HF" -np 4 \
        sh -c 'echo "$OMPI_COMM_WORLD_RANK $(hostname) $(ip -4 -o addr show dev eth0 | awk "{print \$4}")"' 2>&1 |
        drop_benign_launcher_warnings | sort)
    expect=$'0 vc1 198.18.0.1/15\n1 vc2 198.18.0.2/15\n2 vc3 198.18.0.3/15\n3 vc4 198.18.0.4/15'
    if [[ $out == "$expect" ]]; then
        pass "mpirun places one rank per namespace"
    else
        fail "mpirun places one rank per namespace; got:"$'\n'"$out"
    fi
    if command -v mpicc >/dev/null 2>&1; then
        cat >"$TMP/mpiprobe.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size, sum = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    char host[64] = {0};
    gethostname(host, sizeof host - 1);
    printf("%d %s %d\n", rank, host, sum);
    MPI_Finalize();
    return 0;
}
EOF
        if mpicc -o "$TMP/mpiprobe" "$TMP/mpiprobe.c" 2>"$TMP/mpicc.err"; then
            out=$(timeout 30 mpirun "${MPIARGS[@]}" --hostfile "$HF" -np 4 "$TMP/mpiprobe" 2>&1 |
                drop_benign_launcher_warnings | sort)
            expect=$'0 vc1 6\n1 vc2 6\n2 vc3 6\n3 vc4 6'
            if [[ $out == "$expect" ]]; then
                pass "MPI_Allreduce over btl tcp across namespaces"
            else
                fail "MPI_Allreduce over btl tcp across namespaces; got:"$'\n'"$out"
            fi
        else
            echo "skip - mpicc failed: $(head -3 "$TMP/mpicc.err")"
        fi
    else
        echo "skip - mpicc absent: no MPI program test"
    fi
else
    echo "skip - mpirun absent: no launch test"
fi

# ------------------------------------------------------------------ throughput
PORT=15000
# xfer SRC DST SECONDS -> prints the receiver-side rate in whole Mbit/s (empty on failure)
xfer() {
    local src=$1 dst=$2 secs=$3 port rf
    PORT=$((PORT + 1))
    port=$PORT
    rf=$TMP/ready.$port
    "$VC" exec "$dst" "$PY" "$BENCH" recv --port "$port" --timeout 15 --ready-file "$rf" \
        >"$TMP/recv.$port" 2>"$TMP/recv.$port.err" &
    local rpid=$! i
    for ((i = 0; i < 100; i++)); do [[ -e $rf ]] && break; sleep 0.05; done
    if ! "$VC" exec "$src" "$PY" "$BENCH" send --host "$dst" --port "$port" --seconds "$secs" \
        2>"$TMP/send.$port.err"; then
        kill "$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
        return 0
    fi
    wait "$rpid"
    awk '{ printf "%d\n", $1 }' "$TMP/recv.$port"
}
# in_range VALUE LO HI
in_range() { [[ -n $1 ]] && (($1 >= $2 && $1 <= $3)); }

base=$(xfer vc1 vc2 0.5)
echo "info - unthrottled vc1->vc2: ${base:-?} Mbit/s"
if [[ -z $base ]]; then
    fail "unthrottled TCP transfer vc1->vc2"
elif ((base < 1000)); then
    echo "skip - unthrottled rate ${base} Mbit/s is too low to tell a 200mbit throttle apart"
else
    pass "unthrottled TCP transfer vc1->vc2 (${base} Mbit/s)"

    "$VC" throttle vc3 200mbit
    r_out=$(xfer vc3 vc4 1.5)
    r_in=$(xfer vc4 vc3 1.5)
    r_other=$(xfer vc1 vc2 0.5)
    check "throttle vc3 200mbit: vc3->vc4 ${r_out:-?} Mbit/s in [120,240]" in_range "$r_out" 120 240
    check "throttle vc3 200mbit: vc4->vc3 ${r_in:-?} Mbit/s in [120,240]" in_range "$r_in" 120 240
    check "throttle vc3: vc1->vc2 unaffected (${r_other:-?} Mbit/s > 600)" in_range "$r_other" 600 1000000000
    "$VC" unthrottle vc3
    r_back=$(xfer vc3 vc4 0.5)
    check "unthrottle vc3: vc3->vc4 back to ${r_back:-?} Mbit/s > 600" in_range "$r_back" 600 1000000000

    "$VC" throttle-link vc1 vc2 100mbit
    l12=$(xfer vc1 vc2 1.5)
    l21=$(xfer vc2 vc1 1.5)
    l13=$(xfer vc1 vc3 0.5)
    l31=$(xfer vc3 vc1 0.5)
    check "throttle-link vc1 vc2 100mbit: vc1->vc2 ${l12:-?} Mbit/s in [60,125]" in_range "$l12" 60 125
    check "throttle-link vc1 vc2 100mbit: vc2->vc1 ${l21:-?} Mbit/s in [60,125]" in_range "$l21" 60 125
    check "throttle-link: vc1->vc3 not slowed (${l13:-?} Mbit/s > 600)" in_range "$l13" 600 1000000000
    check "throttle-link: vc3->vc1 not slowed (${l31:-?} Mbit/s > 600)" in_range "$l31" 600 1000000000
    check "status shows the link throttle" bash -c "'$VC' status | grep -q 'link vc1->vc2 limited to 100mbit'"
    "$VC" unthrottle vc1
    check "unthrottle vc1 clears the link qdiscs on both ends" \
        bash -c "! tc -n pf-vc1 qdisc show dev eth0 | grep -q htb && ! tc -n pf-vc2 qdisc show dev eth0 | grep -q htb"
fi

# ------------------------------------------------------------------ isolate
probe() { "$VC" exec "$1" "$PY" "$BENCH" probe --host "$2" --port 9 --timeout 2 2>/dev/null; }
unreachable() { ! probe "$@"; }
check "vc1 reaches vc4 before isolate" probe vc1 vc4
"$VC" isolate vc4
t=$SECONDS
check "isolate vc4: vc1 cannot reach vc4" unreachable vc1 vc4
check "isolate vc4: vc4 cannot reach vc1" unreachable vc4 vc1
check "isolate: failures came fast ($((SECONDS - t)) s <= 6)" test $((SECONDS - t)) -le 6
check "status shows vc4 isolated" bash -c "'$VC' status | grep -q '^vc4 .*isolated'"
"$VC" unisolate vc4
check "unisolate vc4: vc1 reaches vc4 again" probe vc1 vc4

# ------------------------------------------------------------------ down
# leftovers of a partial up: a namespace without a link, a dangling root-side veth
ip netns add pf-vc9 2>/dev/null
ip link add pfv-vc11 type veth peer name pfp-vc11 2>/dev/null
"$VC" throttle vc2 300mbit
check "down" "$VC" down
check "down removed every namespace" bash -c "! ip netns list | grep -q '^pf-vc'"
check "down removed the bridge and veths" \
    bash -c "! ip -o link show | grep -Eq ': (pfbr0|pfv-vc[0-9]+|pfp-vc[0-9]+)[@:]'"
check "down removed the /etc/hosts block" bash -c "! grep -q 'preflight-vcluster' /etc/hosts"
check "down twice is fine" "$VC" down
check "status after down" bash -c "'$VC' status | grep -qx 'vcluster: down'"

# ------------------------------------------------------------------ with N CMD
if command -v flock >/dev/null 2>&1; then
    PF_VCLUSTER_WAIT=1 "$VC" with 2 true 8>&- 2>/dev/null
    rc=$?
    check "'with' refuses (77) while another session holds the lock (got $rc)" test "$rc" -eq 77
    exec 8>&-   # release: 'with' takes the session lock itself
    # shellcheck disable=SC2016  # expands inside the command run by 'with'
    PF_VCLUSTER_WAIT=60 "$VC" with 2 -- bash -c \
        '[[ $("$0" hosts | paste -sd, -) == vc1,vc2 ]] && "$0" exec vc2 hostname | grep -qx vc2 && exit 3' \
        "$VC"
    rc=$?
    check "'with 2 CMD' runs CMD on an up cluster and returns its status (got $rc)" test "$rc" -eq 3
    check "'with' tears the cluster down afterwards" bash -c "! ip netns list | grep -q '^pf-vc'"
fi

# ------------------------------------------------------------------ not root
if command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$VC" up 2 >/dev/null 2>&1
    rc=$?
    check "non-root 'up' exits 77 (got $rc)" test "$rc" -eq 77
fi

echo "# $((SECONDS - T0)) s"
if ((FAILS > 0)); then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
