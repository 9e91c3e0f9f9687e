#!/usr/bin/env bash
# JUnit output validates against tests/fixtures/reports/schemas/junit.xsd (xmllint; at least as
# strict as Jenkins' junit-10.xsd), and its counts agree with its testcases: checks, compared rows,
# skips, hostile strings; a suite report (the umbrella's) gets one case per check under
# preflight.<host>.<step>, the steps' time, and its warnings as properties.
source "$(dirname "$0")/lib.sh"
if ! command -v xmllint >/dev/null; then
  echo "SKIP: xmllint not installed (apt-get install libxml2-utils)"
  exit 77
fi
XSD=$FIXTURES/schemas/junit.xsd
R=$REPORT

"$R" baseline create --from "$FIXTURES/preflight-allreduce-mpi.json" -o "$WORK/own.json" -q
# A report with every outcome: pass, fail (regression), inconclusive (noise), skip, error, and
# hostile text (markup, quotes, control and invalid UTF-8 bytes) in a check message.
python3 - "$FIXTURES/preflight-allreduce-mpi-noisy.json" "$WORK/mixed.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
report["checks"] += [
    {"id": "STEP_SKIPPED", "status": "skip", "severity": "info", "message": "no GPU here",
     "remediation": "", "evidence": {}},
    {"id": "HARNESS_ERROR", "status": "error", "severity": "isolate",
     "message": "rank 3 lost <![CDATA[ ]]> & \"quoted\" \u0001 \u00e9", "remediation": "check it",
     "evidence": {"host": "</testcase>"}},
]
report["run"]["hosts"] = ["node-<1>&"]
json.dump(report, open(sys.argv[2], "w"))
PY

# A suite report as `preflight node` writes it: two steps with checks (evidence.step), a failed
# step with its stderr tail, a skipped step, a warning, a check of the plan itself; two hosts.
python3 - "$FIXTURES/preflight-allreduce-mpi.json" "$WORK/suite.json" <<'PY'
import json, sys
step_report = json.load(open(sys.argv[1]))
suite = json.loads(json.dumps(step_report))
suite["tool"]["name"] = "preflight"
suite["run"]["hosts"] = ["node-1.ec2.internal", "node-2.ec2.internal"]
def step(name, status, exit_code, duration_s, **extra):
    return dict(name=name, argv=[name], status=status, exit_code=exit_code, duration_s=duration_s,
                timeout_s=60, timed_out=False, report=extra.pop("report", None), **extra)
suite["details"] = {"plan": "node", "steps": [
    step("probe-env", "warn", 0, 0.25),
    step("allreduce", "fail", 1, 4.5, report=step_report,
         stderr_tail="rank 1: </failure> & <![CDATA[ broken \u0007"),
    step("probe-gpu", "skip", 3, 0.125)]}
def check(id, status, message, step=None, **evidence):
    if step:
        evidence["step"] = step
    return dict(id=id, status=status, severity="info", message=message, remediation="",
                evidence=evidence)
suite["checks"] = [
    check("MEMLOCK_LIMITED", "warn", "memlock 64 KiB", "probe-env"),
    check("RESULT_CORRECT", "pass", "8 sizes bit-exact", "allreduce"),
    check("STEP_FAILED", "fail", "step allreduce failed", "allreduce"),
    check("STEP_SKIPPED", "skip", "no GPU", "probe-gpu"),
    check("NODE_UNREACHABLE", "fail", "node-3 did not answer", host="node-3")]
suite["verdict"] = {"status": "fail", "exit_code": 1, "summary": "fail: 1 pass, 1 warn, 2 fail, 1 skip"}
json.dump(suite, open(sys.argv[2], "w"))
PY
expect_rc 0 "render junit of a suite" -- "$R" render "$WORK/suite.json" --format junit -o "$WORK/suite.xml"

for input in "$FIXTURES/preflight-allreduce-mpi.json" "$FIXTURES/preflight-allreduce-mpi-slower.json" \
             "$WORK/mixed.json" "$WORK/suite.json"; do
  name=$(basename "$input" .json)
  if [[ $name != suite ]]; then
    expect_rc 0 "render junit $name" -- "$R" render "$input" --format junit \
      --baseline "$WORK/own.json" -o "$WORK/$name.xml"
  fi
  expect_rc 0 "xmllint --schema $name" -- xmllint --noout --schema "$XSD" "$WORK/$name.xml"
  tests=$(xmllint --xpath 'string(/testsuites/@tests)' "$WORK/$name.xml")
  cases=$(xmllint --xpath 'count(//testcase)' "$WORK/$name.xml")
  skipped=$(xmllint --xpath 'sum(/testsuites/testsuite/@skipped)' "$WORK/$name.xml")
  skip_elements=$(xmllint --xpath 'count(//testcase/skipped)' "$WORK/$name.xml")
  failures=$(xmllint --xpath 'string(/testsuites/@failures)' "$WORK/$name.xml")
  failure_elements=$(xmllint --xpath 'count(//testcase/failure)' "$WORK/$name.xml")
  CHECKS=$((CHECKS + 3))
  [[ $tests == "$cases" ]] || fail "$name: tests=$tests but $cases testcases"
  [[ $skipped == "$skip_elements" ]] || fail "$name: skipped=$skipped but $skip_elements <skipped>"
  [[ $failures == "$failure_elements" ]] || fail "$name: failures=$failures but $failure_elements <failure>"
done
# One testcase per check and per compared row (8 sizes).
CHECKS=$((CHECKS + 4))
[[ $(xmllint --xpath 'count(//testsuite[1]/testcase)' "$WORK/mixed.xml") == 4 ]] || fail "mixed: 4 check testcases expected"
[[ $(xmllint --xpath 'count(//testsuite[2]/testcase)' "$WORK/mixed.xml") == 8 ]] || fail "mixed: 8 row testcases expected"
[[ $(xmllint --xpath 'count(//testcase[@name="STEP_SKIPPED"]/skipped)' "$WORK/mixed.xml") == 1 ]] || fail "skip is <skipped>"
[[ $(xmllint --xpath 'count(//testcase[@name="HARNESS_ERROR"]/error)' "$WORK/mixed.xml") == 1 ]] || fail "error is <error>"
expect_in "$WORK/mixed.xml" "inconclusive" "noisy rows are inconclusive"
[[ $(xmllint --xpath 'count(//testcase/failure)' "$WORK/preflight-allreduce-mpi-slower.xml") -ge 3 ]] || fail "slower: 3 failing rows expected"
# The suite: one case per check under preflight.<host>.<step> (two hosts: "cluster"; a check
# naming its host keeps it), the steps' 4.875 s as the total, the warning as a property.
CHECKS=$((CHECKS + 7))
[[ $(xmllint --xpath 'count(//testcase)' "$WORK/suite.xml") == 5 ]] || fail "suite: 5 check testcases expected"
[[ $(xmllint --xpath 'string(/testsuites/@time)' "$WORK/suite.xml") == 4.875 ]] || fail "suite: time is not the steps' 4.875 s"
[[ $(xmllint --xpath 'count(//testcase[@classname="preflight.cluster.allreduce" and @name="STEP_FAILED" and @time="0.000"]/failure)' "$WORK/suite.xml") == 1 ]] ||
  fail "suite: STEP_FAILED under preflight.cluster.allreduce, its step's time on the first case only"
[[ $(xmllint --xpath 'string(//testcase[@name="RESULT_CORRECT"]/@time)' "$WORK/suite.xml") == 4.500 ]] || fail "suite: the step's time on its first case"
[[ $(xmllint --xpath 'count(//testcase[@classname="preflight.node-3.node" and @name="NODE_UNREACHABLE"]/failure)' "$WORK/suite.xml") == 1 ]] || fail "suite: the unreachable node's case names it"
[[ $(xmllint --xpath 'string(//property[@name="preflight.status.preflight.cluster.probe-env.MEMLOCK_LIMITED"]/@value)' "$WORK/suite.xml") == warn ]] || fail "suite: the warning's property"
xmllint --xpath 'string(//testcase[@name="STEP_FAILED"]/failure)' "$WORK/suite.xml" | grep -qF 'rank 1: </failure> & <![CDATA[ broken' ||
  fail "suite: the failed step's stderr tail is not in its failure"
finish
