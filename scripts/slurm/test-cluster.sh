#!/usr/bin/env bash
# test-cluster.sh — a real one-node Slurm cluster (Debian's slurmctld, slurmd and munge) started
# in a private directory, for tests and for trying the scripts here without a cluster:
#
#   test-cluster.sh up DIR [slurm.conf lines...]   start munged, slurmctld and slurmd; wait until
#                                                  the node answers; DIR/env exports SLURM_CONF
#   test-cluster.sh down DIR                       stop them (only the ones started here)
#   test-cluster.sh with DIR [lines...] -- CMD     up, run CMD with SLURM_CONF set, down (always);
#                                                  exits with CMD's status
#   test-cluster.sh reconfigure DIR [lines...]     rewrite slurm.conf with other extra lines and
#                                                  restart the daemons
#
# The cluster: one node (this host, at 127.0.0.1), partition "test", MpiDefault=none (srun gives
# MPI nothing unless --mpi= says), ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no
# cgroups or systemd needed; cgroup.conf IgnoreSystemd=yes), its own munge key and socket, and
# ports of its own (PF_SLURM_PORT, default 16817 and 16818), so a site's Slurm is not touched.
# Extra arguments are slurm.conf lines (e.g. "HealthCheckProgram=/path" "Prolog=/path").
#
# Needs root and the packages (scripts/setup.sh --test-tools installs them). Exit codes: 0 ok,
# 1 failure, 2 usage, 77 cannot run here.
set -euo pipefail

readonly PROG=${0##*/}
die() { echo "$PROG: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

require_tools() {
    [[ $(id -u) -eq 0 ]] || skip "root is required (slurmd runs jobs as their users)"
    local tool
    for tool in munged slurmctld slurmd srun scontrol sinfo; do
        command -v "$tool" >/dev/null 2>&1 ||
            skip "$tool not found (install with: scripts/setup.sh --test-tools --no-build)"
    done
}

node_name() { hostname -s; }

write_config() {
    local dir=$1
    shift
    local port=${PF_SLURM_PORT:-16817} node
    node=$(node_name)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=preflight-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=$dir/plugstack.conf
NodeName=$node NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    local line
    for line in "$@"; do
        echo "$line" >>"$dir/slurm.conf"
    done
    echo "IgnoreSystemd=yes" >"$dir/cgroup.conf"
    : >"$dir/plugstack.conf"
    echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
}

start_daemons() {
    local dir=$1
    export SLURM_CONF=$dir/slurm.conf
    # --force: the socket lives in a private directory of a root-owned test tree.
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed"
    slurmctld -f "$SLURM_CONF" -i
    slurmd -f "$SLURM_CONF" -N "$(node_name)"
    # Up when the node answers: idle, or drained (a health check may drain it on purpose).
    local _ state
    for _ in $(seq 150); do
        state=$(sinfo -h -N -o '%t' 2>/dev/null || true)
        case $state in
            idle | drain | drng | mix | alloc) return 0 ;;
        esac
        sleep 0.2
    done
    echo "$PROG: the node did not come up within 30 s:" >&2
    sinfo -N -l >&2 || true
    tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    return 1
}

stop_daemons() {
    local dir=$1 pidfile pid _
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
        [[ -s $pidfile ]] || continue
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

cmd_up() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local dir=$1
    shift
    require_tools
    mkdir -p "$dir"/{state,spool,log,munge}
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir/munge"
    if [[ ! -s $dir/munge/munge.key ]]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge/munge.key"
    fi
    write_config "$dir" "$@"
    start_daemons "$dir" || { stop_daemons "$dir"; exit 1; }
    echo "$PROG: up: node $(node_name), SLURM_CONF=$dir/slurm.conf" >&2
}

cmd_down() {
    [[ $# -eq 1 ]] || { usage >&2; exit 2; }
    stop_daemons "$1"
}

cmd_reconfigure() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local dir=$1
    shift
    stop_daemons "$dir"
    write_config "$dir" "$@"
    start_daemons "$dir"
}

cmd_with() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local dir=$1
    shift
    local -a lines=()
    while (($# > 0)) && [[ $1 != -- ]]; do
        lines+=("$1")
        shift
    done
    [[ ${1:-} == -- ]] && shift
    (($# > 0)) || { usage >&2; exit 2; }
    require_tools
    trap 'stop_daemons "'"$dir"'"' EXIT
    cmd_up "$dir" "${lines[@]}"
    export SLURM_CONF=$dir/slurm.conf
    local rc=0
    "$@" || rc=$?
    return "$rc"
}

main() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local command=$1
    shift
    case $command in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        reconfigure) cmd_reconfigure "$@" ;;
        with) cmd_with "$@" ;;
        help | -h | --help) usage ;;
        *) echo "$PROG: unknown command '$command'" >&2; usage >&2; exit 2 ;;
    esac
}

main "$@"
