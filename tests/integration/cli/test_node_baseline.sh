#!/usr/bin/env bash
# `PREFLIGHT_INSTANCE_TYPE=p5.48xlarge preflight node --baseline-dir reports/baselines` finds the
# shipped baseline by what it matches (p5.48xlarge, 1 node, all_reduce, nccl), not by file name,
# and its comparison is in the suite report, the text and the JUnit. The all-reduce step is a
# fixture step (tests/integration/cli/fixture_step.sh): the real one needs 8 GPUs. The other steps
# are the stand-in tool. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR is not set}
FAKE=${1:?usage: test_node_baseline.sh FAKE_TOOL}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $BIN/preflight && -x $FAKE ]] || { echo "SKIP: preflight or the fake tool not built"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (the node plan launches its collectives)"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
BASELINE=$REPO/reports/baselines/p5.48xlarge-1node-all_reduce-nccl.json

mkdir -p "$OUT/bin"
for tool in versions drivers topology env efa allgather p2p; do
  ln -s "$FAKE" "$OUT/bin/preflight-$tool"
done
ln -s "$HERE/fixture_step.sh" "$OUT/bin/preflight-allreduce"
template=$REPO/tests/fixtures/reports/preflight-allreduce-mpi.json
python3 "$HERE/make_fixture_report.py" "$template" "$BASELINE" 1.0 "$OUT/at-baseline.json"
python3 "$HERE/make_fixture_report.py" "$template" "$BASELINE" 0.6 "$OUT/slower.json"

run_node() {  # FIXTURE NAME [ENV...]: preflight node with the fixture step; sets rc
  local fixture=$1 name=$2
  shift 2
  env "$@" PREFLIGHT_FIXTURE_REPORT="$fixture" "$BIN/preflight" node --bin-dir "$OUT/bin" \
    --baseline-dir "$REPO/reports/baselines" --json "$OUT/$name.json" --junit "$OUT/$name.xml" \
    >"$OUT/$name.txt" 2>"$OUT/$name.err"
  rc=$?
}

# At the baseline: compared, pass, and said so.
run_node "$OUT/at-baseline.json" pass PREFLIGHT_INSTANCE_TYPE=p5.48xlarge
[[ $rc == 0 ]] || { fail "at the baseline: exit $rc"; cat "$OUT/pass.txt" "$OUT/pass.err"; }
python3 - "$OUT/pass.json" <<'PY' || fail "the suite report lacks the comparison"
import json, sys
suite = json.load(open(sys.argv[1]))
baseline = suite["details"]["baseline"]
assert baseline["status"] == "compared", baseline
[comparison] = baseline["comparisons"]
assert comparison["step"] == "mpi-allreduce", comparison
assert comparison["baseline"] == "p5.48xlarge-1node-all_reduce-nccl", comparison
assert comparison["path"].endswith("reports/baselines/p5.48xlarge-1node-all_reduce-nccl.json")
assert comparison["status"] == "pass", comparison
checks = [c for c in suite["checks"] if c["id"].startswith("BASELINE_")]
assert [(c["id"], c["status"], c["evidence"]["step"]) for c in checks] == \
    [("BASELINE_PASS", "pass", "mpi-allreduce")], checks
step = [s for s in suite["details"]["steps"] if s["name"] == "mpi-allreduce"][0]
assert len(step["comparison"]["rows"]) == 8, step["comparison"]
PY
grep -q "^baseline: step mpi-allreduce against p5.48xlarge-1node-all_reduce-nccl (.*): pass" \
  "$OUT/pass.txt" || { fail "the text does not show the comparison"; cat "$OUT/pass.txt"; }

# 40% below the baseline: the comparison fails the plan, and the JUnit names the failed sizes.
run_node "$OUT/slower.json" slower PREFLIGHT_INSTANCE_TYPE=p5.48xlarge
[[ $rc == 1 ]] || fail "40% below the baseline: exit $rc, expected 1"
python3 - "$OUT/slower.json" "$OUT/slower.xml" <<'PY' || fail "the regression is not reported"
import json, sys, xml.etree.ElementTree as ET
suite = json.load(open(sys.argv[1]))
assert any(c["id"] == "BASELINE_REGRESSION" and c["status"] == "fail" for c in suite["checks"])
# The comparison's check is its case, under the step it compared, failing with the missed rows.
case = [c for c in ET.parse(sys.argv[2]).getroot().iter("testcase")
        if c.get("name") == "BASELINE_REGRESSION" and c.get("classname").endswith(".mpi-allreduce")]
assert case, "no JUnit case for the comparison"
failure = case[0].find("failure")
assert failure is not None and "rows that missed the baseline" in failure.text, failure.text
missed = failure.text.split("rows that missed the baseline ")[1]
assert missed.startswith(suite["details"]["baseline"]["comparisons"][0]["path"] + ":\n"), missed
assert "\n1073741824 B: fail: " in missed, missed
PY

# The README shows this run's output (example node-baseline): the same shape (checks, verdict,
# the 'baseline:' line's word).
if ! python3 "$REPO/tests/readme/readme_examples.py" get "$REPO/README.md" node-baseline |
  sed '1d' >"$OUT/shown.txt" ||
  ! python3 "$REPO/tests/readme/readme_examples.py" compare "$OUT/shown.txt" "$OUT/slower.txt" \
    >"$OUT/compare.txt"; then
  fail "the README's node-baseline example differs in shape from this run: $(cat "$OUT/compare.txt")"
  cat "$OUT/slower.txt"
fi

if command -v xmllint >/dev/null; then
  xmllint --noout --schema "$REPO/tests/fixtures/reports/schemas/junit.xsd" "$OUT/slower.xml" ||
    fail "the JUnit with a baseline case does not validate against the JUnit XSD"
fi

# No instance type known: no platform baseline applies, and the report says why.
run_node "$OUT/at-baseline.json" unknown -u PREFLIGHT_INSTANCE_TYPE
python3 - "$OUT/unknown.json" <<'PY' || fail "no instance type: the reason is not stated"
import json, sys
baseline = json.load(open(sys.argv[1]))["details"]["baseline"]
assert baseline["status"] == "none", baseline
assert "mpi-allreduce: all_reduce/nccl on 1x an unknown instance type: no baseline matches" in \
    baseline["reason"], baseline["reason"]
PY
grep -q "^baseline: none: " "$OUT/unknown.txt" || fail "the text does not say that none matched"
echo "$FAILS failed"
exit $((FAILS > 0))
