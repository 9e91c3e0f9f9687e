#!/usr/bin/env bash
# All-pairs on 4 ranks declared as 4 nodes (PREFLIGHT_NODE_NAME=node{rank}, '{rank}' replaced by
# each rank): a complete 4 x 4 matrix of latency and bandwidth in 3 rounds of disjoint pairs.
# Four busy-polling ranks on 2 vCPUs are scheduler-bound, so outliers may be flagged (exit 1);
# the test checks the matrix and that any outlier is named, not the timing.
source "$(dirname "$0")/lib.sh"
need_mpi
set +e
PREFLIGHT_NODE_NAME='node{rank}' mpi 4 -x PREFLIGHT_NODE_NAME "$BIN" --pattern all-pairs \
  --provider shm --test latency,bw --sizes 8,64K "${QUICK[@]}" --json "$WORK/ap.json" \
  > "$WORK/ap.txt"
status=$?
set -e
cat "$WORK/ap.txt"
[[ $status -eq 0 || $status -eq 1 ]] || fail "exit $status"
python3 - "$WORK/ap.json" "$status" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
status = int(sys.argv[2])
survey = report["details"]["survey"]
assert survey["nodes"] == ["node0", "node1", "node2", "node3"], survey["nodes"]
assert survey["mode"] == "all-pairs" and survey["initial_rounds"] == 3, survey
for metric in ("latency_s", "bandwidth_Bps"):
    matrix = survey["matrices"][metric]["matrix"]
    assert len(matrix) == 4 and all(len(row) == 4 for row in matrix)
    for i in range(4):
        for j in range(4):
            value = matrix[i][j]
            assert (value is None) == (i == j), (metric, i, j, value)
            assert value is None or value > 0
            assert matrix[i][j] == matrix[j][i]
pairs = {(r["labels"]["src"], r["labels"]["dst"]) for r in report["results"]}
assert len({tuple(sorted(p)) for p in pairs}) == 6, pairs
assert all(r["wrong_elements"] == 0 for r in report["results"])
outliers = [c for c in report["checks"] if c["id"] in ("P2P_NODE_OUTLIER", "P2P_LINK_OUTLIER")]
for check in outliers:
    assert "node" in check["message"], check
assert (status == 0) == (not any(c["status"] == "fail" for c in outliers)), (status, outliers)
print("4x4 matrices complete;", len(outliers), "outlier finding(s)")
PY
