#!/usr/bin/env bash
# Issue 24's end-to-end test: the README's CI plan (example ci-plan), run five times in a fresh
# directory with the README's command (example ci-run), the fifth with a planted slowdown (Open
# MPI's shared-memory transport taken away: OMPI_MCA_btl=self,tcp, 10-25x slower at small sizes).
# Asserts: runs 1-4 exit 0 and the fifth 1; `history list` (example ci-history-list) shows five
# runs; the trend flags the fifth; the JUnit names the regressed rows; the fifth's output has the
# shape the README shows. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR is not set}
EXAMPLES="python3 $REPO/tests/readme/readme_examples.py"
README=$REPO/README.md
[[ -x $BIN/preflight && -x $BIN/preflight-report ]] || { echo "SKIP: preflight not built"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (the plan launches 2 ranks)"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/preflight-readme-ci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
export PATH=$BIN:$PATH XDG_DATA_HOME=$WORK/.local-share

$EXAMPLES get "$README" ci-plan >"$WORK/plan.json" || { echo "FAIL: no example ci-plan"; exit 1; }
run_command=$($EXAMPLES commands "$README" ci-run) || { echo "FAIL: no example ci-run"; exit 1; }
list_command=$($EXAMPLES commands "$README" ci-history-list) || exit 1
$EXAMPLES get "$README" ci-run | sed '1d' >"$WORK/shown-run.txt"
cd "$WORK" || exit 1
[[ ! -e results ]] || exit 1  # a fresh directory: the plan creates results/

for night in 1 2 3 4 5; do
  if [[ $night == 5 ]]; then
    export OMPI_MCA_btl=self,tcp  # the planted regression
  fi
  start=$(date +%s%N)
  bash -c "$run_command" >"night$night.txt" 2>&1
  rc=$?
  echo "night $night: exit $rc in $((($(date +%s%N) - start) / 1000000)) ms"
  want=0
  [[ $night == 5 ]] && want=1
  [[ $rc == "$want" ]] || { fail "night $night exited $rc, expected $want"; cat "night$night.txt"; }
  cp results/suite.json "suite$night.json" 2>/dev/null || fail "night $night wrote no results/suite.json"
done
unset OMPI_MCA_btl

bash -c "$list_command" >list.txt 2>&1 || fail "history list failed: $(cat list.txt)"
runs=$(grep -cE '^ +[0-9]+ +[0-9]{4}-' list.txt)
[[ $runs == 5 ]] || { fail "history list shows $runs runs, expected 5"; cat list.txt; }

python3 - "$WORK" <<'PY' || fail "the trend or the JUnit"
import json, sys, xml.etree.ElementTree as ET
work = sys.argv[1]
suites = [json.load(open(f"{work}/suite{n}.json")) for n in range(1, 6)]
for n, suite in enumerate(suites, 1):
    steps = {s["name"]: s["status"] for s in suite["details"]["steps"]}
    assert steps["history-record"] == "pass", (n, steps)
    assert steps["history-trend"] == ("fail" if n == 5 else "skip"), (n, steps)
trend = suites[4]["details"]["trend"]
assert trend["status"] == "fail" and trend["run"] == 5, trend
regressed = [r for r in trend["rows"] if r["verdict"] == "regression"]
assert regressed, trend
# The JUnit names the regressed rows: every one of them, by series and size.
root = ET.parse(f"{work}/results/junit.xml").getroot()
[case] = [c for c in root.iter("testcase")
          if c.get("classname").endswith(".history-trend") and c.get("name") == "HISTORY_REGRESSION"]
failure = case.find("failure").text
for row in regressed:
    assert f" {row['size_bytes']} B: " in failure, (row, failure)
assert "all_reduce mpi float sum" in failure, failure
properties = {p.get("name"): p.get("value") for p in root.iter("property")}
assert properties["preflight.trend"].startswith("fail: run 5"), properties
print(f"trend flags run 5: {len(regressed)} of {len(trend['rows'])} rows regressed; all named in the JUnit")
PY

# The suite's JUnit (trend properties, the failed trend case) is valid JUnit.
if command -v xmllint >/dev/null; then
  xmllint --noout --schema "$REPO/tests/fixtures/reports/schemas/junit.xsd" results/junit.xml ||
    fail "results/junit.xml does not validate against the JUnit XSD"
else
  echo "skip - xmllint not installed: the JUnit is not validated against the XSD"
fi

# The fifth night's output has the shape the README shows (steps, ids, verdict, exit code).
if ! $EXAMPLES compare "$WORK/shown-run.txt" night5.txt >compare.txt; then
  fail "the fifth night's output differs in shape from the README's: $(cat compare.txt)"
  cat night5.txt
fi
echo "$FAILS failed"
exit $((FAILS > 0))
