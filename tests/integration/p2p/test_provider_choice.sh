#!/usr/bin/env bash
# The provider is chosen where the ranks run. mpirun starts two ranks from this machine (no EFA)
# as an MPMD job whose app contexts give each rank its own node (PREFLIGHT_NODE_NAME) and sysfs
# root (PREFLIGHT_ROOT: an EFA fixture tree or none): the launcher double for a head node
# launching onto EFA nodes. --provider auto must pick efa there (never tcp), name a node without
# EFA, refuse an FI_PROVIDER the launch host exported, and --provider tcp must mean tcp. Loopback
# keeps shared memory off whatever the provider, and every report records the API version asked
# for (>= 1.18) next to the library's.
source "$(dirname "$0")/lib.sh"
need_mpi
FIX="$REPO/tests/fixtures/sysfs"
ARGS=(--test latency --sizes 1 "${QUICK[@]}")

# launch NAME PROVIDER ROOT_A ROOT_B [VAR=VALUE for both ranks]: exit code in $WORK/NAME.code
launch() {
  local name="$1" provider="$2" root_a="$3" root_b="$4" extra=()
  [[ $# -ge 5 ]] && extra=(-x "$5")
  set +e
  "$MPIEXEC" --allow-run-as-root --oversubscribe \
    -np 1 -x PREFLIGHT_ROOT="$root_a" -x PREFLIGHT_NODE_NAME=node-a "${extra[@]}" \
      "$BIN" --provider "$provider" "${ARGS[@]}" --json "$WORK/$name.json" : \
    -np 1 -x PREFLIGHT_ROOT="$root_b" -x PREFLIGHT_NODE_NAME=node-b "${extra[@]}" \
      "$BIN" --provider "$provider" "${ARGS[@]}" > "$WORK/$name.txt" 2>&1
  echo $? > "$WORK/$name.code"
  set -e
  sed 's/^/    /' "$WORK/$name.txt"
}

expect() { # expect NAME EXIT PYTHON-ASSERTIONS-ON-report
  local got
  got=$(cat "$WORK/$1.code")
  [[ $got == "$2" ]] || fail "$1: exit $got, expected $2"
  python3 - "$WORK/$1.json" <<PY || fail "$1: report checks"
import json, sys
report = json.load(open(sys.argv[1]))
ids = {c["id"]: c for c in report["checks"]}
choice = report["details"].get("provider_choice", {})
$3
print("    $1: ok", choice.get("chosen") or choice.get("odd_nodes"))
PY
}

# Two p5-shaped nodes (32 and 16 EFA devices): efa, tried on each node. This libfabric has no efa
# provider, so set-up fails naming efa; what matters is that no rank fell back to tcp.
launch efa-nodes auto "$FIX/p5-healthy" "$FIX/p5en-healthy"
expect efa-nodes 4 '
assert choice["chosen"] == "efa", choice
assert choice["nodes"]["node-a"]["efa_devices"] == 32 and choice["nodes"]["node-b"]["efa_devices"] == 16
assert "provider '"'"'efa'"'"'" in ids["HARNESS_ERROR"]["message"], ids
assert not report["results"], "measured something"'

# One EFA node, one without: the one without is named (fail), nothing is measured.
launch mixed auto "$FIX/p5-healthy" "$WORK/no-efa"
expect mixed 1 '
assert ids["P2P_PROVIDER_MISMATCH"]["status"] == "fail", ids
assert choice["odd_nodes"] == ["node-b"], choice
assert "node-b chose none (no EFA device)" in ids["P2P_PROVIDER_MISMATCH"]["message"]
assert not report["results"]'

# The launch host exported FI_PROVIDER=tcp (its own provider): refused on every node.
launch exported auto "$FIX/p5-healthy" "$FIX/p5-healthy" FI_PROVIDER=tcp
expect exported 4 '
assert ids["P2P_PROVIDER_MISMATCH"]["status"] == "error", ids
assert "FI_PROVIDER=tcp" in ids["P2P_PROVIDER_MISMATCH"]["message"]'

# tcp asked for: tcp on EFA nodes too, measured and verified.
launch tcp tcp "$FIX/p5-healthy" "$FIX/p5en-healthy"
expect tcp 0 '
assert choice["chosen"] == "tcp", choice
assert report["results"] and all("tcp" in r["transport"] for r in report["results"])
api = report["details"]["transport"]["api"]
assert api["requested"] == "1.18" and api["library"], api'

# Loopback over tcp: shared memory is off (the efa provider would loop through it otherwise).
"$BIN" --loopback --provider tcp --domain lo "${ARGS[@]}" --json "$WORK/lo.json" > /dev/null
python3 - "$WORK/lo.json" <<'PY' || fail "loopback report"
import json, sys
transport = json.load(open(sys.argv[1]))["details"]["transport"]
assert transport["shared_memory"].startswith("disabled: FI_EFA_ENABLE_SHM_TRANSFER=0"), transport
assert transport["api"]["requested"] == "1.18", transport["api"]
assert transport["api"]["granted"] and transport["api"]["library"], transport["api"]
print("    loopback:", transport["shared_memory"], "| api", transport["api"])
PY
echo "provider choice: all cases ok"
