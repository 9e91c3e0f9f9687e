#!/usr/bin/env bash
# test_slurm_sbatch.sh — runs the two sbatch scripts outside Slurm with fake `srun`,
# `scontrol`, `hostname` and `preflight`, as sbatch would run the batch script on the
# first node: checks the #SBATCH header, the report layout keyed by job id, the
# commands run, and the exit code (the worse of the steps).
# Exit: 0 pass, 1 fail.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODE_JOB=$ROOT/scripts/slurm/sbatch-node-acceptance.sbatch
CLUSTER_JOB=$ROOT/scripts/slurm/sbatch-cluster-acceptance.sbatch

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$TMP/bin
mkdir -p "$BIN"

cat >"$BIN/scontrol" <<'EOF'
#!/usr/bin/env bash
# fake: `scontrol show hostnames LIST` prints $FAKE_NODES, one per line
[[ $1 == show && $2 == hostnames ]] && printf '%s\n' $FAKE_NODES
exit 0
EOF
cat >"$BIN/srun" <<'EOF'
#!/usr/bin/env bash
# fake: run the command once per node of $FAKE_NODES (first only with --nodes=1), each
# with a `hostname` that answers the node's name; exit with the highest task exit code
echo "srun $*" >>"$FAKE_LOG"
one=0
while [[ $# -gt 0 && $1 == -* ]]; do
    [[ $1 == --nodes=1 ]] && one=1
    shift
done
worst=0
for n in $FAKE_NODES; do
    d=$(mktemp -d)
    printf '#!/bin/sh\necho %s\n' "$n" >"$d/hostname"
    chmod +x "$d/hostname"
    PATH="$d:$PATH" "$@"
    rc=$?
    rm -rf "$d"
    ((rc > worst)) && worst=$rc
    ((one)) && break
done
exit "$worst"
EOF
cat >"$BIN/preflight" <<'EOF'
#!/usr/bin/env bash
# fake: report which plan ran on which host; exit $FAKE_RC_<plan> (default 0)
echo "preflight $* @$(hostname -s)" >>"$FAKE_LOG"
plan=$1 json=""
while (($# > 0)); do
    if [[ $1 == --json ]]; then json=$2; shift; fi
    shift
done
[[ -n $json ]] && echo "{\"plan\":\"$plan\",\"host\":\"$(hostname -s)\"}" >"$json"
v=FAKE_RC_$plan
exit "${!v:-0}"
EOF
chmod +x "$BIN"/*

export PATH="$BIN:$PATH" FAKE_LOG=$TMP/log FAKE_NODES="p5-1 p5-2 p5-3"
unset PREFLIGHT_BIN PREFLIGHT_NODE_ARGS PREFLIGHT_CLUSTER_ARGS PREFLIGHT_SKIP_NODE_STEP
unset SLURM_ARRAY_JOB_ID

FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# ---- headers
check "node job asks for one node" grep -q '^#SBATCH --nodes=1$' "$NODE_JOB"
check "cluster job asks for one task per node" grep -q '^#SBATCH --ntasks-per-node=1$' "$CLUSTER_JOB"
check "node job: #SBATCH lines precede the first command" \
    bash -c "awk '/^[^#]/ { code = 1 } code && /^#SBATCH/ { bad = 1 } END { exit bad }' '$NODE_JOB'"
check "cluster job: #SBATCH lines precede the first command" \
    bash -c "awk '/^[^#]/ { code = 1 } code && /^#SBATCH/ { bad = 1 } END { exit bad }' '$CLUSTER_JOB'"

# ---- node acceptance
: >"$FAKE_LOG"
(cd "$TMP" && SLURM_JOB_ID=700 SLURM_SUBMIT_DIR=$TMP FAKE_NODES=p5-9 \
    bash "$NODE_JOB" >"$TMP/node.out" 2>&1)
rc=$?
check "node job passes when preflight passes (exit $rc)" test "$rc" -eq 0
check "node job runs the full node plan through srun" grep -q '^preflight node --json .*/preflight-reports/700/node-p5-9.json @p5-9$' "$FAKE_LOG"
check "node job writes reports keyed by job id" test -s "$TMP/preflight-reports/700/node-p5-9.json"
(cd "$TMP" && SLURM_JOB_ID=701 SLURM_ARRAY_JOB_ID=690 SLURM_SUBMIT_DIR=$TMP FAKE_NODES=p5-9 \
    FAKE_RC_node=1 bash "$NODE_JOB" >"$TMP/node.out" 2>&1)
rc=$?
check "node job exits with preflight's fail code (exit $rc)" test "$rc" -eq 1
check "array tasks share the array job id directory" test -s "$TMP/preflight-reports/690/node-p5-9.json"

# ---- cluster acceptance
: >"$FAKE_LOG"
(cd "$TMP" && SLURM_JOB_ID=800 SLURM_JOB_NODELIST='p5-[1-3]' SLURM_SUBMIT_DIR=$TMP \
    bash "$CLUSTER_JOB" >"$TMP/cluster.out" 2>&1)
rc=$?
R=$TMP/preflight-reports/800
check "cluster job passes when both steps pass (exit $rc)" test "$rc" -eq 0
check "cluster job lists the allocation" test "$(paste -sd, "$R/nodes.txt")" = "p5-1,p5-2,p5-3"
check "cluster job writes a hostfile" test "$(paste -sd, "$R/hostfile")" = "p5-1 slots=1,p5-2 slots=1,p5-3 slots=1"
check "cluster job runs node --quick on every node" \
    test "$(grep -c '^preflight node --quick --quiet --json' "$FAKE_LOG")" -eq 3
check "cluster job writes one node report per host" \
    test -s "$R/node-p5-1.json" -a -s "$R/node-p5-2.json" -a -s "$R/node-p5-3.json"
check "cluster job runs preflight cluster once" \
    test "$(grep -c "^preflight cluster --json $R/cluster.json" "$FAKE_LOG")" -eq 1
check "cluster job writes cluster.json" test -s "$R/cluster.json"

(cd "$TMP" && SLURM_JOB_ID=801 SLURM_SUBMIT_DIR=$TMP FAKE_RC_node=3 FAKE_RC_cluster=1 \
    bash "$CLUSTER_JOB" >"$TMP/cluster.out" 2>&1)
rc=$?
check "cluster job: fail in step 2 outranks skip in step 1 (exit $rc)" test "$rc" -eq 1
(cd "$TMP" && SLURM_JOB_ID=802 SLURM_SUBMIT_DIR=$TMP FAKE_RC_node=4 FAKE_RC_cluster=0 \
    bash "$CLUSTER_JOB" >"$TMP/cluster.out" 2>&1)
rc=$?
check "cluster job: error in step 1 is reported (exit $rc)" test "$rc" -eq 4
: >"$FAKE_LOG"
(cd "$TMP" && SLURM_JOB_ID=803 SLURM_SUBMIT_DIR=$TMP PREFLIGHT_SKIP_NODE_STEP=1 \
    PREFLIGHT_CLUSTER_ARGS="--max-rounds 4" bash "$CLUSTER_JOB" >"$TMP/cluster.out" 2>&1)
check "PREFLIGHT_SKIP_NODE_STEP=1 skips step 1" bash -c "! grep -q '^srun' '$FAKE_LOG'"
check "PREFLIGHT_CLUSTER_ARGS are passed on" grep -q -- '--max-rounds 4 @' "$FAKE_LOG"
(cd "$TMP" && env -u SLURM_JOB_ID bash "$CLUSTER_JOB" >"$TMP/cluster.out" 2>&1)
rc=$?
check "cluster job outside an allocation is a usage error (exit $rc)" test "$rc" -eq 2

if ((FAILS > 0)); then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
