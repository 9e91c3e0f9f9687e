#!/usr/bin/env bash
# The Prometheus textfile passes `promtool check metrics` (format and lint), for plain reports,
# reports with a comparison, imported nccl-tests runs, hostile label values, and the textfile
# `preflight node --quick --textfile-dir` writes; the example alert rules in scripts/prometheus/
# pass `promtool check rules` and their own `promtool test rules`, and fire on what preflight
# really writes for a failing run with EFA errors (series generated from the rendered file).
source "$(dirname "$0")/lib.sh"
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not installed (Debian package prometheus)"
  exit 77
fi
R=$REPORT
"$R" baseline create --from "$FIXTURES/preflight-allreduce-mpi.json" -o "$WORK/own.json" -q
"$R" import nccl-tests "$FIXTURES/nccl-tests/json-v3.json" --instance-type p5.48xlarge -q \
  --json "$WORK/nt.json"
python3 - "$FIXTURES/preflight-allreduce-mpi.json" "$WORK/hostile.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
report["tool"]["name"] = 'pre"flight\\x\nnew'
report["results"][0]["labels"] = {"src host": "a\"b", "9th": "x\\y", "__reserved": "z", "ranks": "r"}
report["results"].append(dict(report["results"][0]))  # a repeated row
report["checks"].append(dict(report["checks"][0], status="skip"))  # a repeated id
json.dump(report, open(sys.argv[2], "w"))
PY
for case in "$FIXTURES/preflight-allreduce-mpi.json|" "$FIXTURES/preflight-allreduce-mpi-slower.json|$WORK/own.json" \
            "$WORK/nt.json|$BASELINES/p5.48xlarge-2node-all_reduce-nccl.json" "$WORK/hostile.json|"; do
  input=${case%%|*}
  baseline=${case#*|}
  name=$(basename "$input" .json)
  args=(render "$input" --format prometheus -o "$WORK/$name.prom")
  if [[ -n $baseline ]]; then
    args+=(--baseline "$baseline")
  fi
  expect_rc 0 "render prometheus $name" -- "$R" "${args[@]}"
  expect_rc 0 "promtool check metrics $name" -- sh -c "promtool check metrics < '$WORK/$name.prom'"
  expect_in "$WORK/$name.prom" "preflight_check_state{" "$name: check state"
  expect_in "$WORK/$name.prom" "preflight_bus_bandwidth_bytes_per_second{" "$name: busbw"
done
expect_in "$WORK/preflight-allreduce-mpi.prom" "preflight_run_timestamp_seconds{" "run timestamp"
expect_in "$WORK/preflight-allreduce-mpi-slower.prom" "preflight_baseline_state{" "baseline state"
expect_in "$WORK/hostile.prom" 'repeat="2"' "repeated rows get a distinct label set"

# The umbrella's textfile for node_exporter: one file, named by the plan, promtool-clean.
mkdir -p "$WORK/textfile"
expect_rc 0 "preflight node --quick --textfile-dir" -- \
  "$BIN_DIR/preflight" node --quick -q --textfile-dir "$WORK/textfile"
expect_rc 0 "promtool check metrics preflight_node.prom" -- \
  sh -c "promtool check metrics < '$WORK/textfile/preflight_node.prom'"
expect_in "$WORK/textfile/preflight_node.prom" 'preflight_verdict_state{tool="preflight",plan="node",' \
  "node textfile: verdict state set with the plan"
if [[ $(find "$WORK/textfile" -type f | wc -l) != 1 ]]; then
  fail "textfile directory holds more than preflight_node.prom: $(ls -a "$WORK/textfile")"
fi
expect_rc 2 "--textfile-dir that is not a directory" -- \
  "$BIN_DIR/preflight" node --quick -q --textfile-dir "$WORK/textfile/preflight_node.prom"

# The shipped alert rules.
RULES=$REPO/scripts/prometheus
expect_rc 0 "promtool check rules" -- promtool check rules "$RULES/preflight-alerts.yml"
expect_rc 0 "promtool test rules" -- sh -c "cd '$RULES' && promtool test rules preflight-alerts.test.yml"

# ... and on what preflight writes: a run with a wrong result and EFA retransmit timeouts.
python3 - "$FIXTURES/preflight-allreduce-mpi.json" "$WORK/failing.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
report["checks"].append({"id": "RESULT_WRONG", "status": "fail", "severity": "isolate",
                         "message": "3 wrong elements", "remediation": "", "evidence": {}})
report["verdict"] = {"status": "fail", "exit_code": 1, "summary": "fail"}
report["hw_counters_delta"] = {"rdmap16s27": {"retrans_timeout_events": 5, "rx_bytes": 4096}}
json.dump(report, open(sys.argv[2], "w"))
PY
expect_rc 0 "render the failing run" -- \
  "$R" render "$WORK/failing.json" --format prometheus -o "$WORK/failing.prom"
python3 - "$WORK/failing.prom" "$RULES/preflight-alerts.yml" "$WORK/e2e.test.yml" <<'PY'
import re, sys
samples = [l for l in open(sys.argv[1]).read().splitlines() if l and not l.startswith("#")]
series, alerts = [], {"PreflightFailed": [], "PreflightCheckFailed": [], "PreflightEfaErrorsDuringRun": []}
for line in samples:
    head, value = line.rsplit(" ", 1)
    name, labels = head.split("{", 1)
    labels = 'instance="e2e",' + labels
    series.append(f"      - series: '{name}{{{labels}'\n        values: '{value}x10'")
    parsed = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
    if name == "preflight_verdict_state" and parsed["status"] == "fail" and value == "1":
        alerts["PreflightFailed"].append(dict(parsed, severity="critical"))
    if name == "preflight_check_state" and parsed["status"] == "fail" and value == "1":
        alerts["PreflightCheckFailed"].append(dict(parsed, action=parsed["severity"], severity="critical"))
    if name == "preflight_amazonefa_retrans_timeout_events_total" and float(value) > 0:
        alerts["PreflightEfaErrorsDuringRun"].append(dict(parsed, severity="warning"))
assert all(alerts.values()), alerts
with open(sys.argv[3], "w") as out:
    out.write(f"rule_files:\n  - {sys.argv[2]}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
    out.write("\n".join(series) + "\n    alert_rule_test:\n")
    for name, expected in alerts.items():
        # Only the labels are compared with what fired: annotations are tested in the rules' own test.
        out.write(f"      - eval_time: 5m\n        alertname: {name}\n        exp_alerts:\n")
        for labels in expected:
            out.write("          - exp_labels:\n")
            for key, val in labels.items():
                out.write(f"              {key}: {val!r}\n")
PY
# promtool compares annotations too; drop them from the rule copy for this label-only check.
python3 - "$RULES/preflight-alerts.yml" "$WORK/rules-no-annotations.yml" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
for group in rules["groups"]:
    for rule in group["rules"]:
        rule.pop("annotations", None)
yaml.safe_dump(rules, open(sys.argv[2], "w"))
PY
sed -i "s|$RULES/preflight-alerts.yml|$WORK/rules-no-annotations.yml|" "$WORK/e2e.test.yml"
expect_rc 0 "alerts fire on preflight's own textfile" -- promtool test rules "$WORK/e2e.test.yml"
finish
