#!/usr/bin/env bash
# preflight under a real Slurm: Debian's slurmctld, slurmd and munge as a one-node cluster
# (scripts/slurm/test-cluster.sh, MpiDefault=none). Installs them through scripts/setup.sh when
# missing (root).
#   - srun --mpi=pmix runs of preflight-allreduce and preflight-p2p pass over 2 ranks;
#   - srun without PMI (MpiDefault=none) and srun --mpi=pmi2 (Debian's Open MPI has no PMI-2) are
#     launcher errors (exit 4, LAUNCH_WORLD_MISMATCH) that name srun --mpi=pmix;
#   - `preflight --launcher srun ci` finds MpiDefault=none through scontrol and gives its ranks
#     --mpi=pmix;
#   - the prolog (preflight-prolog.sh) runs before a job, and the HealthCheckProgram
#     (preflight-healthcheck.sh) drains the node with reason "preflight: <id>" through scontrol
#     when preflight fails, and resumes it when preflight passes again.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CLUSTER=$REPO/scripts/slurm/test-cluster.sh
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (slurmd)"; exit 77; }
for binary in preflight preflight-allreduce preflight-p2p; do
    [[ -x $BIN/$binary ]] || { echo "SKIP: $BIN/$binary not built"; exit 77; }
done
if ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    "$REPO/scripts/setup.sh" --test-tools --no-build ||
        { echo "SKIP: could not install Slurm (scripts/setup.sh --test-tools)"; exit 77; }
fi

if [[ ${1:-} != --inside ]]; then
    DIR=$(mktemp -d /tmp/preflight-slurm.XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
    mkdir -p "$DIR/reports" "$DIR/scripts"
    # The scripts as a site installs them: with a preflight.env beside them, since slurmd gives
    # them an environment of its own.
    cp "$REPO"/scripts/slurm/preflight-{prolog,healthcheck,settings}.sh "$DIR/scripts/"
    printf 'PREFLIGHT_BIN=%s\nPREFLIGHT_REPORT_DIR=%s\nSLURM_CONF=%s\n' "$BIN/preflight" "$DIR/reports" "$DIR/cluster/slurm.conf" \
        >"$DIR/scripts/preflight.env"
    # The whole run stays within CTest's limit, so the cluster is always taken down.
    PF_SLURM_DIR=$DIR timeout -s TERM 240 "$CLUSTER" with "$DIR/cluster" \
        "Prolog=$DIR/scripts/preflight-prolog.sh" -- bash "${BASH_SOURCE[0]}" --inside
    exit $?
fi

DIR=$PF_SLURM_DIR
PREFLIGHT_REPORT_DIR=$DIR/reports
OUT=$DIR/out
mkdir -p "$OUT"
cd "$OUT" || exit 1
failures=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
ok() { echo "ok - $*"; }
report_has() { # report_has FILE PYTHON-EXPRESSION over `report`
    python3 -c "import json, sys; report = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}

# ---- srun with PMIx: 2 ranks, one world
timeout 60 srun --mpi=pmix -n 2 "$BIN/preflight-allreduce" --backend mpi --sizes 8:4K --quiet \
    --json "$OUT/allreduce.json" >"$OUT/allreduce.out" 2>&1
rc=$?
if [[ $rc == 0 ]] && report_has "$OUT/allreduce.json" 'report["run"]["ranks"] == 2'; then
    ok "srun --mpi=pmix preflight-allreduce: pass over 2 ranks"
else
    fail "srun --mpi=pmix preflight-allreduce: exit $rc"; tail -5 "$OUT/allreduce.out"
fi
timeout 60 srun --mpi=pmix -n 2 "$BIN/preflight-p2p" --provider tcp --test latency,bw --sizes 8,64K --quiet \
    --json "$OUT/p2p.json" >"$OUT/p2p.out" 2>&1
rc=$?
if [[ $rc == 0 ]]; then
    ok "srun --mpi=pmix preflight-p2p: pass"
else
    fail "srun --mpi=pmix preflight-p2p: exit $rc"
    tail -5 "$OUT/p2p.out"
fi

# ---- srun without PMI (MpiDefault=none), and with PMI-2 this Open MPI cannot use
for mpi in "" --mpi=pmi2; do
    name="srun ${mpi:-(MpiDefault=none)}"
    timeout 60 srun ${mpi:+"$mpi"} -n 2 "$BIN/preflight-allreduce" --backend mpi --sizes 8 \
        --json "$OUT/nopmi.json" >"$OUT/nopmi.out" 2>&1
    rc=$?
    if [[ $rc == 4 ]] && grep -q -- "--mpi=pmix" "$OUT/nopmi.out" &&
        report_has "$OUT/nopmi.json" \
            '[c["id"] for c in report["checks"]] == ["LAUNCH_WORLD_MISMATCH"]'; then
        ok "$name: launcher error (exit 4) naming srun --mpi=pmix"
    else
        fail "$name: exit $rc"; tail -5 "$OUT/nopmi.out"
    fi
done

# ---- a plan with --launcher srun: scontrol says MpiDefault=none, so its ranks get --mpi=pmix
cat >"$OUT/plan.json" <<PLAN
{"schema": "preflight.plan/1", "name": "slurm",
 "steps": [{"name": "allreduce", "tool": "preflight-allreduce",
            "args": ["--backend", "mpi", "--sizes", "8:1K"], "ranks": 2, "timeout_s": 120}]}
PLAN
timeout 90 "$BIN/preflight" --launcher srun --json "$OUT/ci.json" ci --plan "$OUT/plan.json" \
    >"$OUT/ci.out" 2>&1
rc=$?
if [[ $rc == 0 ]] && report_has "$OUT/ci.json" \
    '"--mpi=pmix" in report["details"]["steps"][0]["argv"]'; then
    ok "preflight --launcher srun ci: --mpi=pmix added (MpiDefault=none), pass"
else
    fail "preflight --launcher srun ci: exit $rc"; tail -8 "$OUT/ci.out"
fi

# ---- the prolog ran before those jobs (Prolog= in slurm.conf) and wrote its report
if compgen -G "$PREFLIGHT_REPORT_DIR/prolog-*.json" >/dev/null; then
    ok "prolog: $(find "$PREFLIGHT_REPORT_DIR" -name 'prolog-*.json' | wc -l) report(s) written"
else
    fail "prolog: no report in $PREFLIGHT_REPORT_DIR"
fi

# ---- HealthCheckProgram: a failing preflight drains the node through scontrol, a passing one
# resumes it. slurmd runs the program when it starts and every HealthCheckInterval seconds.
node=$(hostname -s)
node_field() { # the value of FIELD (Reason runs to the end of its line)
    if [[ $1 == Reason ]]; then
        scontrol show node "$node" | sed -n 's/^ *Reason=//p' | head -1
    else
        scontrol show node "$node" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
    fi
}
wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
cat >"$OUT/failing-preflight" <<'FAKE'
#!/bin/sh
# A preflight whose node check fails with EFA_PORT_DOWN.
while [ $# -gt 0 ]; do [ "$1" = --json ] && json=$2; shift; done
printf '{"checks":[{"id":"EFA_PORT_DOWN","status":"fail"}],"verdict":{"status":"fail","exit_code":1}}\n' >"$json"
exit 1
FAKE
chmod +x "$OUT/failing-preflight"
healthcheck=("HealthCheckProgram=$DIR/scripts/preflight-healthcheck.sh" "HealthCheckInterval=5")
drained() { [[ $(node_field State) == *DRAIN* && $(node_field Reason) == "preflight: EFA_PORT_DOWN"* ]]; }
settings=$(cat "$DIR/scripts/preflight.env")
printf 'PREFLIGHT_BIN=%s\nPREFLIGHT_REPORT_DIR=%s\nSLURM_CONF=%s\n' "$OUT/failing-preflight" "$DIR/reports" "$SLURM_CONF" \
    >"$DIR/scripts/preflight.env"
"$REPO/scripts/slurm/test-cluster.sh" reconfigure "$DIR/cluster" "${healthcheck[@]}" \
    >/dev/null 2>&1 || true
if wait_for 30 drained; then
    ok "health check: failing preflight drained $node (Reason=$(node_field Reason))"
else
    fail "health check: node not drained (State=$(node_field State) Reason=$(node_field Reason))"
fi
idle() { [[ $(node_field State) == IDLE ]]; }
echo "$settings" >"$DIR/scripts/preflight.env"
"$REPO/scripts/slurm/test-cluster.sh" reconfigure "$DIR/cluster" "${healthcheck[@]}" \
    >/dev/null 2>&1 || true
if wait_for 30 idle; then
    ok "health check: passing preflight resumed $node"
else
    fail "health check: node not resumed (State=$(node_field State) Reason=$(node_field Reason))"
fi

if ((failures > 0)); then
    echo "$failures failure(s); logs in $DIR/cluster/log"
    tail -20 "$DIR/cluster/log/slurmd.log"
    exit 1
fi
echo PASS
