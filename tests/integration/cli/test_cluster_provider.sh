#!/usr/bin/env bash
# `preflight cluster` from a head node: the provider is chosen on the compute nodes, never
# imposed by the launch host. A stand-in mpirun (stand_in_head_node/mpirun) runs the plan's
# launches with the real mpirun, each rank in a UTS namespace with its host's name and its own
# sysfs tree (an EFA fixture or none), and hands every rank the launch host's environment, as srun
# does. With FI_PROVIDER=tcp exported on the launch host, --provider auto (the default) must reach
# the ranks without it and each must choose efa from its own devices; a node without EFA is named;
# --provider tcp is passed on (-x FI_PROVIDER) and measured. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR is not set}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for binary in preflight preflight-p2p preflight-allreduce; do
    [[ -x $BIN/$binary ]] || { echo "SKIP: $BIN/$binary not built"; exit 77; }
done
REAL_MPIRUN=$(command -v mpirun) || { echo "SKIP: mpirun not installed (no MPI build)"; exit 77; }
unshare --uts -- true 2>/dev/null || { echo "SKIP: unshare --uts needs root"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
mkdir "$OUT/no-efa"
FIX=$REPO/tests/fixtures/sysfs
export REAL_MPIRUN
failures=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# plan NAME EXPECTED_EXIT ROOT_A ROOT_B [ENV=VALUE ...] -- [preflight cluster args]: runs the plan
# on hosts node-a and node-b through the stand-in; report in $OUT/NAME.json, launches in NAME.log.
plan() {
    local name=$1 expected=$2 root_a=$3 root_b=$4 env=()
    shift 4
    while (($# > 0)) && [[ $1 != -- ]]; do env+=("$1"); shift; done
    shift
    env -u FI_PROVIDER "${env[@]}" TMPDIR="$OUT" PATH="$HERE/stand_in_head_node:$PATH" \
        STAND_IN_LOG="$OUT/$name.log" STAND_IN_ROOTS="node-a=$root_a node-b=$root_b" \
        "$BIN/preflight" cluster --launcher mpirun --hosts node-a,node-b --p2p-test latency \
        --p2p-sizes 1 --keep-work-dir --json "$OUT/$name.json" "$@" >"$OUT/$name.out" 2>&1
    local rc=$?
    if [[ $rc != "$expected" ]]; then
        fail "$name: exit $rc, expected $expected"
        sed 's/^/    /' "$OUT/$name.out"
    fi
}

# check NAME PYTHON: assertions on `plan` (the suite report), `p2p` (the pair step's report),
# `launches` (the stand-in's log: per launch, its argv and the FI_PROVIDER it was started with).
check() {
    python3 - "$OUT/$1" <<PY || fail "$1: report checks"
import json, re, sys
base = sys.argv[1]
plan = json.load(open(base + ".json"))
p2p = json.load(open(plan["details"]["work_dir"] + "/p2p-all-pairs.json"))
log = open(base + ".log").read()
launches = re.findall(r"^argv: (.*)\nFI_PROVIDER=(.*)$", log, re.M)
survey = [provider for argv, provider in launches if "preflight-p2p" in argv]
assert survey, launches
checks = {c["id"]: c for c in p2p["checks"]}
choice = p2p["details"].get("provider_choice", {})
$2
print("ok - $1:", choice.get("chosen") or choice.get("odd_nodes"), "| survey launched with FI_PROVIDER", survey)
PY
}

# EFA nodes (32 and 16 devices) launched from a host that exported FI_PROVIDER=tcp: the launcher
# starts without it, each rank chooses efa from its own tree (this libfabric has no efa provider,
# so set-up fails naming efa on both nodes: exit 4, but no rank ran tcp or refused FI_PROVIDER).
plan exported-tcp 4 "$FIX/p5-healthy" "$FIX/p5en-healthy" FI_PROVIDER=tcp -- --no-collective
check exported-tcp '
assert survey == ["<unset>"], survey
assert choice["chosen"] == "efa", choice
assert choice["nodes"]["node-a"]["efa_devices"] == 32 and choice["nodes"]["node-b"]["efa_devices"] == 16
assert "P2P_PROVIDER_MISMATCH" not in checks, checks
message = checks["HARNESS_ERROR"]["message"]
assert "chose efa" in message and "node-a" in message and "node-b" in message, message
assert not p2p["results"]
cluster = plan["details"]["cluster"]
assert cluster["provider"] == "auto" and cluster["launch_host_fi_provider"].startswith("tcp "), cluster'

# A node without EFA among EFA nodes: named, nothing measured, the plan fails.
plan mixed 1 "$FIX/p5-healthy" "$OUT/no-efa" -- --no-collective
check mixed '
assert choice["odd_nodes"] == ["node-b"], choice
assert checks["P2P_PROVIDER_MISMATCH"]["status"] == "fail"
assert "node-b chose none (no EFA device)" in checks["P2P_PROVIDER_MISMATCH"]["message"]
assert "P2P_PROVIDER_MISMATCH" in [c["id"] for c in plan["checks"]]
assert "launch_host_fi_provider" not in plan["details"]["cluster"]
assert not p2p["results"]'

# --provider tcp: passed on to every rank (and the collective), measured, judged.
plan tcp 0 "$FIX/p5-healthy" "$FIX/p5en-healthy" -- --provider tcp --collective-sizes 8
check tcp '
assert survey == ["tcp"] and all("-x FI_PROVIDER" in argv for argv, _ in launches if "preflight-" in argv), launches
assert choice["chosen"] == "tcp", choice
assert p2p["results"] and all("tcp" in r["transport"] for r in p2p["results"])
cluster = plan["details"]["cluster"]
assert cluster["judged"] and cluster["nodes_measured"] == ["node-a", "node-b"], cluster
assert cluster["bad_nodes"] == [] and cluster["bad_links"] == [], cluster'

if ((failures > 0)); then
    echo "$failures failure(s)"
    exit 1
fi
echo "cluster provider: all cases ok"
