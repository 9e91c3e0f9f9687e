#!/usr/bin/env bash
# The Prometheus textfile passes `promtool check metrics` (format and lint), for plain reports,
# reports with a comparison, imported nccl-tests runs, and hostile label values.
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
  expect_in "$WORK/$name.prom" "preflight_check_status{" "$name: check status"
  expect_in "$WORK/$name.prom" "preflight_busbw_gbps{" "$name: busbw"
done
expect_in "$WORK/preflight-allreduce-mpi.prom" "preflight_run_timestamp_seconds{" "run timestamp"
expect_in "$WORK/preflight-allreduce-mpi-slower.prom" "preflight_baseline_status{" "baseline status"
expect_in "$WORK/hostile.prom" 'repeat="2"' "repeated rows get a distinct label set"
finish
