#!/usr/bin/env bash
# A launch that gives MPI no process-management interface never passes. A stand-in `srun`
# (stand_in/srun: N processes with SLURM_PROCID / SLURM_NTASKS, no PMIx or PMI-2, as srun does
# with MpiDefault=none) starts every MPI binary and `preflight cluster --launcher srun`: each must
# exit 4 and name the fix (srun --mpi=pmix), with LAUNCH_WORLD_MISMATCH in its report. The world
# check after MPI_Init is shown with the plan's PREFLIGHT_EXPECT_RANKS, and a proper mpirun launch
# with the plan's variables still passes. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for binary in preflight preflight-p2p preflight-allreduce; do
    [[ -x $BIN/$binary ]] || { echo "SKIP: $BIN/$binary not built"; exit 77; }
done
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not installed (no MPI build)"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
failures=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# expect_refused NAME EXIT OUTPUT REPORT: exit 4, the fix named on the output and in the report.
expect_refused() {
    local name=$1 rc=$2 output=$3 report=$4
    [[ $rc == 4 ]] || fail "$name: exit $rc, expected 4 (error: the launch is broken)"
    grep -q -- "--mpi=pmix" "$output" || fail "$name: the output does not name srun --mpi=pmix"
    python3 - "$report" "$name" <<'PY' || fail "$name: report"
import json, sys
report = json.load(open(sys.argv[1]))
ids = [c["id"] for c in report["checks"]]
assert "LAUNCH_WORLD_MISMATCH" in ids, ids
assert report["verdict"]["status"] == "error", report["verdict"]
assert not report.get("results"), "measured nothing"
PY
    echo "ok - $name refused (exit $rc)"
}

# Every MPI binary under the stand-in srun, 2 tasks.
for tool in allreduce allgather reducescatter broadcast alltoall; do
    [[ -x $BIN/preflight-$tool ]] || continue
    PATH="$HERE/stand_in:$PATH" srun -n 2 "$BIN/preflight-$tool" --backend mpi --sizes 8:64 \
        --json "$OUT/$tool.json" >"$OUT/$tool.out" 2>&1
    expect_refused "preflight-$tool" $? "$OUT/$tool.out" "$OUT/$tool.json"
done
PATH="$HERE/stand_in:$PATH" srun -n 2 "$BIN/preflight-p2p" --provider tcp --test bw --sizes 8 \
    --json "$OUT/p2p.json" >"$OUT/p2p.out" 2>&1
expect_refused preflight-p2p $? "$OUT/p2p.out" "$OUT/p2p.json"
# One report line per job, not one per task: only the launcher's rank 0 speaks.
[[ $(grep -c '^verdict' "$OUT/p2p.out") == 1 ]] || fail "preflight-p2p: every task printed a report"

# The plan, with its collective: exit 4, the fix named, nothing judged.
PATH="$HERE/stand_in:$PATH" "$BIN/preflight" cluster --launcher srun --hosts node-a,node-b \
    --provider tcp --p2p-sizes 8 --collective-sizes 8 --reach-timeout 10 \
    --json "$OUT/cluster.json" >"$OUT/cluster.out" 2>&1
rc=$?
expect_refused "preflight cluster" "$rc" "$OUT/cluster.out" "$OUT/cluster.json"
python3 - "$OUT/cluster.json" <<'PY' || fail "preflight cluster: details.cluster"
import json, sys
cluster = json.load(open(sys.argv[1]))["details"]["cluster"]
assert not cluster["judged"] and cluster["summary"].startswith("not judged"), cluster["summary"]
assert cluster["bad_nodes"] == [] and cluster["unreachable"] == [], cluster
PY
grep -q "^cluster: not judged" "$OUT/cluster.out" || fail "preflight cluster: summary line"

# After MPI_Init: a world of one where the plan asked for two.
PREFLIGHT_EXPECT_RANKS=2 "$BIN/preflight-allreduce" --backend mpi --sizes 8 \
    --json "$OUT/world.json" >"$OUT/world.out" 2>&1
rc=$?
[[ $rc == 4 ]] || fail "world of 1 for 2 asked: exit $rc, expected 4"
grep -q "PREFLIGHT_EXPECT_RANKS=2" "$OUT/world.out" || fail "world of 1: the variable is not named"

# A proper launch with the plan's variables passes.
PREFLIGHT_EXPECT_RANKS=2 PREFLIGHT_EXPECT_NODES=1 mpirun --allow-run-as-root --oversubscribe \
    -np 2 -x PREFLIGHT_EXPECT_RANKS -x PREFLIGHT_EXPECT_NODES "$BIN/preflight-allreduce" \
    --backend mpi --sizes 8:64 --json "$OUT/ok.json" >"$OUT/ok.out" 2>&1
rc=$?
[[ $rc == 0 ]] || { fail "mpirun -np 2 with the plan's variables: exit $rc"; tail -5 "$OUT/ok.out"; }

if ((failures > 0)); then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
