#!/usr/bin/env bash
# JUnit output validates against tests/fixtures/reports/schemas/junit.xsd (xmllint), and its
# counts agree with its testcases: checks, compared rows, skips, hostile strings.
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

for input in "$FIXTURES/preflight-allreduce-mpi.json" "$FIXTURES/preflight-allreduce-mpi-slower.json" \
             "$WORK/mixed.json"; do
  name=$(basename "$input" .json)
  expect_rc 0 "render junit $name" -- "$R" render "$input" --format junit --baseline "$WORK/own.json" \
    -o "$WORK/$name.xml"
  expect_rc 0 "xmllint --schema $name" -- xmllint --noout --schema "$XSD" "$WORK/$name.xml"
  tests=$(xmllint --xpath 'string(/testsuites/@tests)' "$WORK/$name.xml")
  cases=$(xmllint --xpath 'count(//testcase)' "$WORK/$name.xml")
  skipped=$(xmllint --xpath 'string(/testsuites/@skipped)' "$WORK/$name.xml")
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
finish
