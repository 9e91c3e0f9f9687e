#!/usr/bin/env bash
# `preflight ci --plan FILE` with a stand-in tool: one exit code for the plan, outputs named by
# the plan, hostile arguments passed as data, invalid plans refused with exit 2 naming the
# JSON pointer. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR is not set}
FAKE=${1:?usage: test_ci_plan.sh FAKE_TOOL}
[[ -x $BIN/preflight && -x $FAKE ]] || { echo "SKIP: preflight or the fake tool not built"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
mkdir -p "$OUT/bin" "$OUT/results"
ln -s "$FAKE" "$OUT/bin/preflight-fake"
ln -s "$BIN/preflight-report" "$OUT/bin/preflight-report"
MARKER=$OUT/pwned

cat >"$OUT/plan.json" <<JSON
{
  "schema": "preflight.plan/1",
  "name": "ci-test",
  "steps": [
    {"name": "first", "tool": "preflight-fake",
     "args": ["--mode", "pass", "--note", "; touch $MARKER", "\$(touch $MARKER)", "\`touch $MARKER\`"]},
    {"name": "second", "tool": "preflight-fake", "args": ["--mode", "pass"], "timeout_s": 30,
     "env": {"PREFLIGHT_TEST_VALUE": "\$(touch $MARKER)"}}
  ],
  "outputs": {"json": "results/suite.json", "junit": "results/junit.xml"}
}
JSON
"$BIN/preflight" ci --plan "$OUT/plan.json" --bin-dir "$OUT/bin" --quiet
rc=$?
[[ $rc == 0 ]] || fail "passing plan exited $rc"
[[ ! -e $MARKER ]] || fail "a plan argument was executed by a shell"
python3 - "$OUT/results/suite.json" "$OUT/results/junit.xml" <<'PY' || fail "outputs"
import json, sys, xml.etree.ElementTree as ET
report = json.load(open(sys.argv[1]))
steps = report["details"]["steps"]
assert [s["name"] for s in steps] == ["first", "second"], steps
assert steps[0]["argv"][3:6] == ["--note", steps[0]["argv"][4], steps[0]["argv"][5]]
assert steps[0]["argv"][4].startswith("; touch "), steps[0]["argv"]
assert all(s["report"]["tool"]["name"] == "preflight-fake" for s in steps)
assert report["verdict"]["status"] == "pass"
root = ET.parse(sys.argv[2]).getroot()
assert root.get("tests") == "2" and root.get("failures") == "0", ET.tostring(root)
PY

# A failing step makes the plan fail (exit 1), and its report is still kept.
sed 's/"--mode", "pass"]/"--mode", "fail"]/' "$OUT/plan.json" >"$OUT/failing.json"
"$BIN/preflight" ci --plan "$OUT/failing.json" --bin-dir "$OUT/bin" --quiet --json "$OUT/failing-suite.json"
rc=$?
[[ $rc == 1 ]] || fail "failing plan exited $rc, expected 1"
python3 -c "
import json; r = json.load(open('$OUT/failing-suite.json'))
s = [x for x in r['details']['steps'] if x['name'] == 'second'][0]
assert s['exit_code'] == 1 and s['report']['verdict']['status'] == 'fail', s
assert any(c['id'] == 'STEP_FAILED' for c in r['checks'])" || fail "failed step's report"

# Invalid plans: exit 2 naming the pointer; nothing runs.
echo '{"schema": "preflight.plan/1", "steps": [{"name": "x", "tool": "/bin/sh", "args": ["-c", "touch '"$MARKER"'"]}]}' >"$OUT/bad.json"
"$BIN/preflight" ci --plan "$OUT/bad.json" --bin-dir "$OUT/bin" 2>"$OUT/bad.err" >/dev/null
rc=$?
[[ $rc == 2 ]] || fail "invalid plan exited $rc, expected 2"
grep -q "/steps/0/tool" "$OUT/bad.err" || { fail "message does not name /steps/0/tool"; cat "$OUT/bad.err"; }
printf '{"schema": "preflight.plan/1",\n  "steps": [}\n' >"$OUT/broken.json"
"$BIN/preflight" ci --plan "$OUT/broken.json" 2>"$OUT/broken.err" >/dev/null
rc=$?
[[ $rc == 2 ]] || fail "malformed plan exited $rc, expected 2"
grep -q "broken.json:2" "$OUT/broken.err" || { fail "message does not name the line"; cat "$OUT/broken.err"; }
[[ ! -e $MARKER ]] || fail "something was executed"

# History: in a fresh directory (no results/ yet), the plan records each run with `history add`
# and judges it with `history trend` once there are enough comparable runs; the fifth run's
# planted slowdown fails the plan, and the trend is in the suite report and the JUnit.
mkdir "$OUT/fresh"
cat >"$OUT/fresh/plan.json" <<JSON
{"schema": "preflight.plan/1", "name": "history-test",
 "steps": [{"name": "bw", "tool": "preflight-fake", "args": ["--mode", "pass"]}],
 "history": {"db": "state/history.sqlite", "trend": {"min_runs": 3}},
 "outputs": {"json": "results/suite.json", "junit": "results/junit.xml"}}
JSON
for run in 1 2 3 4 5; do
  algbw=1e9
  [[ $run == 5 ]] && algbw=5e8
  (cd "$OUT/fresh" && PREFLIGHT_FAKE_ALGBW=$algbw "$BIN/preflight" ci --plan plan.json \
    --bin-dir "$OUT/bin" >"$OUT/fresh/run$run.txt" 2>&1)
  rc=$?
  want=0
  [[ $run == 5 ]] && want=1
  [[ $rc == "$want" ]] || { fail "history run $run exited $rc, expected $want"; cat "$OUT/fresh/run$run.txt"; }
  cp "$OUT/fresh/results/suite.json" "$OUT/fresh/suite$run.json"
done
"$BIN/preflight-report" history list --db "$OUT/fresh/state/history.sqlite" --json "$OUT/list.json"
python3 - "$OUT/list.json" "$OUT/fresh" <<'PY' || fail "history and trend"
import json, sys, xml.etree.ElementTree as ET
runs = json.load(open(sys.argv[1]))
assert len(runs) == 5 and all(r["source"] == "preflight ci plan history-test" for r in runs), runs
def suite(n):
    return json.load(open(f"{sys.argv[2]}/suite{n}.json"))
steps = lambda n: {s["name"]: s for s in suite(n)["details"]["steps"]}
# Runs 1-3: too few previous runs for a verdict (skip); run 4: judged, pass; run 5: regression.
assert steps(1)["history-trend"]["status"] == "skip", steps(1)["history-trend"]
assert steps(4)["history-trend"]["status"] == "pass", steps(4)["history-trend"]
assert suite(4)["details"]["trend"]["status"] == "pass"
last = suite(5)
assert steps(5)["history-record"]["status"] == "pass"
assert steps(5)["history-trend"]["status"] == "fail"
assert last["details"]["trend"]["status"] == "fail", last["details"]["trend"]
assert [c["id"] for c in last["checks"] if c["id"].startswith("HISTORY_")] == \
    ["HISTORY_RECORDED", "HISTORY_REGRESSION"], [c["id"] for c in last["checks"]]
# The trend step's report repeats the recorded suite: its rows are not added twice.
assert len(last["results"]) == 1, len(last["results"])
root = ET.parse(f"{sys.argv[2]}/results/junit.xml").getroot()
props = {p.get("name"): p.get("value") for p in root.iter("property")}
assert props["preflight.trend"].startswith("fail: run 5"), props
[case] = [c for c in root.iter("testcase")
          if c.get("classname").endswith(".history-trend") and c.get("name") == "HISTORY_REGRESSION"]
text = case.find("failure").text
assert "bw libfabric" in text and "1048576 B: algbw 0.5 GB/s, outside the band" in text, text
PY
grep -q "^  regression: bw libfabric .* 1048576 B: algbw 0.5 GB/s" "$OUT/fresh/run5.txt" ||
  { fail "the terminal does not name the regressed row"; cat "$OUT/fresh/run5.txt"; }

# A launch that fails before any rank runs (more ranks than slots, no oversubscription) is an
# error (exit 4), and the launcher's message is on the terminal.
if command -v mpirun >/dev/null; then
  cat >"$OUT/slots.json" <<'JSON'
{"schema": "preflight.plan/1", "name": "slots",
 "steps": [{"name": "wide", "tool": "preflight-fake", "args": ["--mode", "pass"], "ranks": 512}]}
JSON
  "$BIN/preflight" ci --plan "$OUT/slots.json" --bin-dir "$OUT/bin" --launcher mpirun \
    --json "$OUT/slots-suite.json" --junit "$OUT/slots.xml" >"$OUT/slots.txt" 2>&1
  rc=$?
  [[ $rc == 4 ]] || fail "a failed launch exited $rc, expected 4"
  grep -Eq "^  ERROR +wide .*launch failed \(mpirun exit [0-9]+\): There are not enough slots" \
    "$OUT/slots.txt" || { fail "the launcher's message is not shown"; cat "$OUT/slots.txt"; }
  grep -q "STEP_ERROR .*not enough slots" "$OUT/slots.txt" ||
    fail "STEP_ERROR does not carry the launcher's message"
  # In the JUnit: the step that never launched is an <error> under its step, with the launcher's
  # message and its stderr tail.
  python3 - "$OUT/slots.xml" <<'PY' || fail "the failed launch is not an <error> case in the JUnit"
import sys, xml.etree.ElementTree as ET
[case] = [c for c in ET.parse(sys.argv[1]).getroot().iter("testcase")
          if c.get("classname").endswith(".wide") and c.get("name") == "STEP_ERROR"]
error = case.find("error")
assert error is not None and error.get("type") == "error", ET.tostring(case)
assert "not enough slots" in error.get("message"), error.get("message")
assert "last lines of its stderr:" in error.text, error.text
PY
else
  echo "skip - mpirun not installed: launch failure not tried"
fi
# The same with srun: Slurm refuses the allocation (a stand-in srun prints Slurm's message and
# exits 1, as srun does).
mkdir -p "$OUT/slurm-bin"
cat >"$OUT/slurm-bin/srun" <<'SH'
#!/bin/sh
echo "srun: error: Unable to allocate resources: Invalid partition name specified" >&2
exit 1
SH
chmod +x "$OUT/slurm-bin/srun"
cat >"$OUT/srun.json" <<'JSON'
{"schema": "preflight.plan/1", "name": "srun",
 "steps": [{"name": "wide", "tool": "preflight-fake", "args": ["--mode", "pass"], "ranks": 4}]}
JSON
PATH=$OUT/slurm-bin:$PATH "$BIN/preflight" ci --plan "$OUT/srun.json" --bin-dir "$OUT/bin" \
  --launcher srun --json "$OUT/srun-suite.json" >"$OUT/srun.txt" 2>&1
rc=$?
[[ $rc == 4 ]] || fail "a failed srun launch exited $rc, expected 4"
grep -Eq "^  ERROR +wide .*launch failed \(srun exit 1\): srun: error: Unable to allocate resources" \
  "$OUT/srun.txt" || { fail "srun's message is not shown"; cat "$OUT/srun.txt"; }

# A baseline the plan names but no step matches is an error of the plan, never a silent pass.
cat >"$OUT/named.json" <<JSON
{"schema": "preflight.plan/1", "name": "named",
 "steps": [{"name": "bw", "tool": "preflight-fake", "args": ["--mode", "pass"]}],
 "baseline": {"path": "$REPO/reports/baselines/p5.48xlarge-1node-all_reduce-nccl.json"}}
JSON
"$BIN/preflight" ci --plan "$OUT/named.json" --bin-dir "$OUT/bin" >"$OUT/named.txt" 2>&1
rc=$?
[[ $rc == 4 ]] || fail "an unmatched named baseline exited $rc, expected 4"
grep -q "HARNESS_ERROR .*baseline .*p5.48xlarge-1node-all_reduce-nccl.json was compared with no step" \
  "$OUT/named.txt" || { fail "the unmatched baseline is not named"; cat "$OUT/named.txt"; }
exit $((FAILS > 0))
