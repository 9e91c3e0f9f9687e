#!/usr/bin/env bash
# accuracy.sh — how often `preflight cluster` names a planted fault, and how often it names
# something healthy, on the virtual cluster (scripts/vcluster.sh; root).
#
#   bench/cluster/accuracy.sh [--trials 20] [--hosts 6] [--base 200mbit]
#                             [--cases healthy,node50,node70,link50,isolated,cpu_healthy]
#                             [--bin build/bin] [--out DIR]
#
# Every host runs at the base rate (so the emulated network, not the two shared CPUs, is the
# bottleneck, as on a real fabric), except in cpu_healthy, where nothing is throttled and the pair
# tests are CPU-bound. The cases: healthy; vc3 at 50% and at 70% of the base (node50, node70); the
# vc2<->vc5 link at 50% (link50); vc4 cut off while the pairs are measured (isolated). Each trial
# is one `preflight cluster` run (pair survey only: --no-collective). Per trial: OUT/trials.jsonl;
# the summary table (detection, false blame, warnings, rounds, time to verdict) on stdout and in
# OUT/summary.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VC=$REPO/scripts/vcluster.sh
trials=20
hosts=6
base=200mbit
cases=healthy,node50,node70,link50,isolated,cpu_healthy
bin=$REPO/build/bin
out=
inside=0
while (($# > 0)); do
    case $1 in
        --trials) trials=$2; shift 2 ;;
        --hosts) hosts=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --inside) inside=1; shift ;;
        -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "accuracy.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=${out:-$(mktemp -d /tmp/preflight-accuracy.XXXXXX)}
mkdir -p "$out"
if ((inside == 0)); then
    [[ $(id -u) -eq 0 ]] || { echo "accuracy.sh: needs root (network namespaces)" >&2; exit 77; }
    exec "$VC" with "$hosts" -- bash "${BASH_SOURCE[0]}" --inside --trials "$trials" \
        --hosts "$hosts" --base "$base" --cases "$cases" --bin "$bin" --out "$out"
fi

bits() { # RATE FRACTION -> rate in kbit
    awk -v r="$1" -v f="$2" 'BEGIN {
        n = r + 0; u = r; sub(/^[0-9.]+/, "", u)
        m = (u == "gbit") ? 1e6 : (u == "mbit") ? 1e3 : (u == "kbit") ? 1 : 0
        printf "%dkbit\n", n * m * f }'
}
all_hosts=()
for ((k = 1; k <= hosts; k++)); do all_hosts+=("vc$k"); done
# What the last trial planted, undone before the next (each vcluster.sh call rebuilds qdiscs).
planted=none
undo_fault() {
    case $planted in
        node*) "$VC" throttle vc3 "$base" ;;
        link*) "$VC" unthrottle-link vc2 vc5 ;;
        isolated) "$VC" unisolate vc4 ;;
    esac >/dev/null
    planted=none
}
set_rates() { # RATE or "none" for every host
    local host
    for host in "${all_hosts[@]}"; do
        if [[ $1 == none ]]; then
            "$VC" unthrottle "$host" >/dev/null
        else
            "$VC" throttle "$host" "$1" >/dev/null
        fi
    done
}

export PF_VCLUSTER_QUIET=1
hostfile=$("$VC" hostfile-path)
launcher_args=$("$VC" mpirun-args)
: >"$out/trials.jsonl"
IFS=, read -r -a case_list <<<"$cases"
for case in "${case_list[@]}"; do
    undo_fault
    if [[ $case == cpu_healthy ]]; then set_rates none; else set_rates "$base"; fi
    for ((trial = 1; trial <= trials; trial++)); do
        undo_fault
        case $case in
            node50) "$VC" throttle vc3 "$(bits "$base" 0.5)" ;;
            node70) "$VC" throttle vc3 "$(bits "$base" 0.7)" ;;
            link50) "$VC" throttle-link vc2 vc5 "$(bits "$base" 0.5)" ;;
            healthy | isolated | cpu_healthy) ;;
            *) echo "accuracy.sh: unknown case $case" >&2; exit 2 ;;
        esac
        planted=$case
        extra=()
        [[ $case != isolated ]] || extra=(--p2p-arg=--timeout --p2p-arg=10)
        report=$out/$case-$trial.json
        start=$(date +%s.%N)
        "$bin/preflight" cluster --hostfile "$hostfile" --launcher mpirun \
            --launcher-args="$launcher_args" --provider tcp --p2p-test bw --p2p-sizes 64K \
            --p2p-arg=--window --p2p-arg=16 "${extra[@]}" --no-collective --reach-timeout 10 \
            --step-timeout 180 --quiet --json "$report" >/dev/null 2>"$out/$case-$trial.err" &
        plan=$!
        if [[ $case == isolated ]]; then
            # Cut vc4 off once its preflight-p2p has measured for a moment.
            for _ in $(seq 600); do
                "$VC" pids vc4 2>/dev/null | xargs -r ps -o comm= -p 2>/dev/null |
                    grep -q '^preflight-p2p' && break
                sleep 0.1
            done
            sleep 1.5
            "$VC" isolate vc4 >/dev/null
        fi
        rc=0
        wait "$plan" || rc=$?
        elapsed=$(echo "$(date +%s.%N) - $start" | bc)
        python3 - "$report" "$case" "$trial" "$rc" "$elapsed" >>"$out/trials.jsonl" <<'PY'
import json, sys
path, case, trial, rc, elapsed = sys.argv[1:]
entry = {"case": case, "trial": int(trial), "exit": int(rc), "seconds": float(elapsed)}
try:
    cluster = json.load(open(path))["details"]["cluster"]
    for key in ("bad_nodes", "bad_links", "suspect_nodes", "suspect_links", "unreachable",
                "rounds", "retest_rounds", "measurements", "judged", "summary"):
        entry[key] = cluster.get(key)
except Exception as error:  # a trial without a report is recorded as such
    entry["error"] = str(error)
print(json.dumps(entry))
PY
        tail -1 "$out/trials.jsonl" | cut -c1-200 >&2
    done
done
undo_fault
python3 "$HERE/summarize.py" "$out/trials.jsonl" | tee "$out/summary.md"
echo "accuracy.sh: trials and reports in $out" >&2
