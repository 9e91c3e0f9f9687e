#!/usr/bin/env bash
# `preflight ci --plan FILE` with a stand-in tool: one exit code for the plan, outputs named by
# the plan, hostile arguments passed as data, invalid plans refused with exit 2 naming the
# JSON pointer. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
FAKE=${1:?usage: test_ci_plan.sh FAKE_TOOL}
[[ -x $BIN/preflight && -x $FAKE ]] || { echo "SKIP: preflight or the fake tool not built"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
mkdir -p "$OUT/bin" "$OUT/results"
ln -s "$FAKE" "$OUT/bin/preflight-fake"
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
exit $((FAILS > 0))
