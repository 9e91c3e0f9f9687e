#!/usr/bin/env bash
# preflight-report end to end: import -> validate -> baseline create -> compare -> diff -> render
# -> history, on fixtures shaped like the other binaries' reports, synthetic nccl-tests output, and
# the real-world corpus when shared/ is present; malformed inputs exit 2 naming file/line/pointer.
source "$(dirname "$0")/lib.sh"

R=$REPORT

# ---- conventions ----------------------------------------------------------------------------
expect_rc 0 "--help" -- "$R" --help && expect_in "$WORK/out" "compare" "--help lists subcommands"
expect_rc 0 "--version" -- "$R" --version && expect_in "$WORK/out" "preflight-report" "--version"
expect_rc 2 "no subcommand" -- "$R"
expect_rc 2 "unknown flag" -- "$R" compare --no-such-flag x.json

# ---- reports the other binaries write (fixtures of their shape) -------------------------------
A=$FIXTURES/preflight-allreduce-mpi.json
A2=$FIXTURES/preflight-allreduce-mpi-rerun.json
SLOW=$FIXTURES/preflight-allreduce-mpi-slower.json
NOISY=$FIXTURES/preflight-allreduce-mpi-noisy.json
expect_rc 0 "validate fixtures" -- "$R" validate "$A" "$A2" "$SLOW" "$NOISY" "$BASELINES"/*.json
expect_in "$WORK/out" "valid preflight.report/1" "validate names the schema"
expect_in "$WORK/out" "valid preflight.baseline/1" "validate recognises baselines"

expect_rc 0 "baseline create" -- "$R" baseline create --from "$A" "$A2" --band 10% --budget 0 \
  --name own-cluster -o "$WORK/own.json" --deterministic
expect_rc 0 "created baseline validates" -- "$R" validate "$WORK/own.json"
expect_rc 0 "compare own run" -- "$R" compare "$A" --baseline "$WORK/own.json" --json "$WORK/cmp.json"
expect_in "$WORK/out" "comparison: pass" "own run passes its baseline"
expect_rc 0 "compare output validates" -- "$R" validate "$WORK/cmp.json"
expect_rc 1 "regression fails" -- "$R" compare "$SLOW" --baseline "$WORK/own.json"
expect_in "$WORK/out" "fail" "regression named"
expect_in "$WORK/out" "BASELINE_REGRESSION" "regression check id"
expect_rc 0 "noisy run is inconclusive, not failed" -- "$R" compare "$NOISY" --baseline "$WORK/own.json"
expect_in "$WORK/out" "inconclusive" "inconclusive rows"
expect_rc 1 "inconclusive with --warn-as-fail" -- "$R" compare "$NOISY" --baseline "$WORK/own.json" --warn-as-fail

expect_rc 1 "diff A slower" -- "$R" diff "$A" "$SLOW"
expect_in "$WORK/out" "geometric mean of B/A" "diff one-screen summary"
expect_rc 0 "diff A rerun" -- "$R" diff "$A" "$A2" --json "$WORK/diff.json"
expect_rc 0 "diff output validates" -- "$R" validate "$WORK/diff.json"

# ---- malformed inputs: exit 2 naming the file and line, or the JSON pointer -------------------
head -c 700 "$A" > "$WORK/truncated.json"
expect_rc 2 "truncated report" -- "$R" compare "$WORK/truncated.json" --baseline "$WORK/own.json"
expect_in "$WORK/err" "truncated.json:" "truncated: file named"
expect_in "$WORK/err" "malformed JSON" "truncated: says malformed"
sed 's#preflight.report/1#preflight.report/9#' "$A" > "$WORK/v9.json"
expect_rc 2 "wrong report schema version" -- "$R" compare "$WORK/v9.json" --baseline "$WORK/own.json"
expect_in "$WORK/err" "/schema" "wrong version: pointer named"
sed 's#preflight.baseline/1#preflight.baseline/2#' "$WORK/own.json" > "$WORK/b2.json"
expect_rc 2 "wrong baseline schema version" -- "$R" compare "$A" --baseline "$WORK/b2.json"
expect_in "$WORK/err" "b2.json: not a valid preflight.baseline/1" "baseline version: file named"
expect_in "$WORK/err" "/schema" "baseline version: pointer named"
sed 's/"benchmark": "all_reduce"/"benchmark": "all_gather"/' "$WORK/own.json" > "$WORK/gather.json"
expect_rc 2 "baseline for another benchmark" -- "$R" compare "$A" --baseline "$WORK/gather.json"
expect_in "$WORK/err" "not comparable" "other benchmark: says not comparable"
expect_in "$WORK/err" "benchmark=all_gather" "other benchmark: says what differs"
sed 's/"median": [0-9.e-]*/"median": "fast"/' "$A" > "$WORK/badfield.json"
expect_rc 2 "validate bad field" -- "$R" validate "$WORK/badfield.json"
expect_in "$WORK/out" "/results/0/time_s/median" "validate names the pointer"
expect_rc 2 "missing file" -- "$R" render "$WORK/nope.json" --format text
expect_in "$WORK/err" "nope.json: no such file" "missing file named"
expect_rc 2 "bad --band" -- "$R" diff "$A" "$A2" --band 10
expect_in "$WORK/err" "--band" "bad flag named"
expect_rc 2 "bad --format" -- "$R" render "$A" --format pdf
expect_in "$WORK/err" "--format" "bad format named"

# ---- renderers ------------------------------------------------------------------------------
for format in text markdown html junit prometheus; do
  expect_rc 0 "render $format" -- "$R" render "$SLOW" --format "$format" --baseline "$WORK/own.json" \
    -o "$WORK/r.$format"
done
expect_in "$WORK/r.text" "#       size         count" "text keeps the nccl-tests header"
expect_in "$WORK/r.markdown" "## Checks" "markdown checks"
expect_not_in "$WORK/r.html" "<script" "html has no scripts"
expect_in "$WORK/r.junit" "<failure" "junit carries the regression"
expect_in "$WORK/r.prometheus" "preflight_bus_bandwidth_bytes_per_second{" "prometheus busbw"
expect_rc 0 "render the stored comparison" -- "$R" render "$WORK/cmp.json" --format junit
expect_in "$WORK/out" "testsuite name=\"preflight-allreduce.baseline.own-cluster\"" "stored comparison rendered"

# ---- nccl-tests import (synthetic fixtures) ---------------------------------------------------
NT=$FIXTURES/nccl-tests
expect_rc 0 "import text" -- "$R" import nccl-tests "$NT/text-per-iter-timestamps.txt" \
  --instance-type p5.48xlarge --json "$WORK/nt.json"
expect_rc 0 "imported report validates" -- "$R" validate "$WORK/nt.json"
expect_rc 0 "import json v3 to stdout" -- "$R" import nccl-tests "$NT/json-v3.json" -q
expect_in "$WORK/out" "\"schema\": \"preflight.report/1\"" "import writes JSON to stdout"
expect_not_in "$WORK/out" "hunter2" "secrets in the nccl-tests env are not recorded"
expect_rc 2 "import truncated JSON" -- "$R" import nccl-tests "$NT/json-v3-truncated.json"
expect_in "$WORK/err" "json-v3-truncated.json:1:" "truncated nccl-tests JSON names line:column"
expect_rc 2 "import unknown JSON version" -- "$R" import nccl-tests "$NT/json-v9.json"
expect_in "$WORK/err" "/version" "JSON version pointer named"
expect_rc 1 "import wrong data" -- "$R" import nccl-tests "$NT/text-wrong.txt" --json "$WORK/w.json"
expect_in "$WORK/err" "RESULT_WRONG" "wrong data named"

# ---- the real-world corpus -------------------------------------------------------------------
if [[ -d $CORPUS/nccl-tests-text ]]; then
  T=$CORPUS/nccl-tests-text
  expect_rc 0 "import p5 srun -l" -- "$R" import nccl-tests "$T/p5-2node-allreduce-srun-l-prefix.txt" \
    --instance-type p5.48xlarge --nodes 2 --json "$WORK/p5.json"
  expect_rc 0 "p5 passes the shipped baseline" -- "$R" compare "$WORK/p5.json" \
    --baseline "$BASELINES/p5.48xlarge-2node-all_reduce-nccl.json"
  expect_in "$WORK/out" "comparison: pass: 8 pass of 8 sizes" "p5 all sizes pass"
  expect_rc 0 "import p5 indented mpirun" -- "$R" import nccl-tests \
    "$T/p5-48xl-2node-allreduce-mpirun-tag-indented.txt" --instance-type p5.48xlarge --nodes 2 \
    --json "$WORK/p5i.json"
  expect_rc 0 "indented p5 passes" -- "$R" compare "$WORK/p5i.json" \
    --baseline "$BASELINES/p5.48xlarge-2node-all_reduce-nccl.json"
  expect_rc 0 "import p4de" -- "$R" import nccl-tests "$T/p4de-2node-allreduce-srun-l-prefix.txt" \
    --instance-type p4de.24xlarge --nodes 2 --json "$WORK/p4de.json"
  expect_rc 0 "p4de passes" -- "$R" compare "$WORK/p4de.json" \
    --baseline "$BASELINES/p4de.24xlarge-2node-all_reduce-nccl.json"
  expect_rc 2 "p4de against the p5 baseline" -- "$R" compare "$WORK/p4de.json" \
    --baseline "$BASELINES/p5.48xlarge-2node-all_reduce-nccl.json"
  expect_in "$WORK/err" "instance type: report p4de.24xlarge, baseline p5.48xlarge" "says what differs"
  expect_rc 0 "import 1x p5" -- "$R" import nccl-tests "$T/p5-aws-batch-allreduce-mpirun-tag-wide-header.txt" \
    --instance-type p5.48xlarge --nodes 1 --json "$WORK/p5one.json"
  expect_rc 0 "1x p5 passes" -- "$R" compare "$WORK/p5one.json" \
    --baseline "$BASELINES/p5.48xlarge-1node-all_reduce-nccl.json"
  expect_rc 4 "a hang is an error naming why" -- "$R" import nccl-tests \
    "$T/h200-efa-1node-net-only-all_reduce-hang-head.txt" --json "$WORK/hang.json"
  expect_in "$WORK/hang.json" "NCCL_TESTS_INCOMPLETE" "hang check id"
  expect_rc 4 "a failure is an error naming why" -- "$R" import nccl-tests \
    "$T/h200-efa-2node-all_reduce-failure-tail-ofi-invalid-comm.txt" --json "$WORK/fail.json"
  expect_in "$WORK/fail.json" "Test failure common.cu:893" "failure line quoted"
  # A valid log that does not say its rank count: imported as stated, ranks unknown, a warning.
  expect_rc 0 "ranks unknowable: imported with a warning" -- "$R" import nccl-tests \
    "$T/p6-b200-2node-all_reduce-wide-wrong-col-partial.txt" --json "$WORK/p6.json"
  expect_in "$WORK/err" "does not say how many ranks ran" "warns on stderr"
  expect_in "$WORK/err" "--ranks" "says which option resolves it"
  expect_in "$WORK/p6.json" '"NCCL_TESTS_RANKS_UNKNOWN"' "the warning is a check of the report"
  expect_rc 0 "the report with ranks unknown validates" -- "$R" validate "$WORK/p6.json"
  expect_rc 0 "ranks given" -- "$R" import nccl-tests "$T/p6-b200-2node-all_reduce-wide-wrong-col-partial.txt" \
    --ranks 16 -q
  # Repeated tables fold into one row per size and placement.
  { sed 1d "$T/p5-2node-allreduce-srun-l-prefix.txt"; sed 1,3d "$T/p5-2node-allreduce-srun-l-prefix.txt"; } \
    > "$WORK/p5-twice.txt"
  expect_rc 0 "import a log of two sweeps" -- "$R" import nccl-tests "$WORK/p5-twice.txt" \
    --instance-type p5.48xlarge --nodes 2 --json "$WORK/twice.json"
  expect_in "$WORK/err" "imported 64 rows" "two sweeps folded into 64 rows"
  expect_rc 0 "--keep-repeats keeps them" -- "$R" import nccl-tests "$WORK/p5-twice.txt" \
    --keep-repeats --json "$WORK/kept.json"
  expect_in "$WORK/err" "imported 128 rows" "every printed row kept"
  # An expected curve for a node count no published run has, and a published run against the
  # model's curve of its own node count.
  expect_rc 0 "baseline model for 16 nodes" -- "$R" baseline model --instance-type p5.48xlarge \
    --nodes 16 -o "$WORK/model16.json"
  expect_in "$WORK/err" "held out of the fit" "reports its error on held-out points"
  expect_rc 0 "the model baseline validates" -- "$R" validate "$WORK/model16.json"
  expect_rc 0 "baseline model for 2 nodes" -- "$R" baseline model --instance-type p5.48xlarge \
    --nodes 2 -o "$WORK/model2.json" -q
  expect_rc 0 "a published 2x p5 run passes the 2-node model" -- "$R" compare "$WORK/p5i.json" \
    --baseline "$WORK/model2.json"
  expect_rc 0 "the folded two sweeps pass it (README example)" -- "$R" compare "$WORK/twice.json" \
    --baseline "$WORK/model2.json"
  expect_in "$WORK/out" "comparison: pass: 32 pass of 32 sizes" "every size passes"
  expect_rc 2 "the 16-node model does not apply to 2 nodes" -- "$R" compare "$WORK/p5.json" \
    --baseline "$WORK/model16.json"
  expect_in "$WORK/err" "nodes: report 2, baseline 16" "says what differs"
  # NCCL debug logs: alone (import nccl-log), and a log with no table named as one.
  D=$CORPUS/nccl-debug-logs
  expect_rc 1 "a socket-fallback log fails (README example)" -- "$R" import nccl-log \
    "$D/p4d-1node-ofi-1.17.1-init-failed-socket-fallback.txt" --json "$WORK/socket.json"
  expect_in "$WORK/err" "FAIL: NCCL_FALLBACK_SOCKET" "names the socket fallback"
  expect_in "$WORK/err" "never train on NET/Socket on EFA instances" "and its fix"
  expect_rc 0 "the nccl-log report validates" -- "$R" validate "$WORK/socket.json"
  expect_rc 0 "EFA with GPUDirect RDMA passes" -- "$R" import nccl-log \
    "$D/p4d-4pods-1gpu-each-ofi-1.16.2-nccl-2.27.3-gdrdma.txt" -q
  expect_rc 2 "a debug log given to import nccl-tests" -- "$R" import nccl-tests \
    "$D/p5en-h200-ofi-found-16-nics-nic-groups-excerpt.txt"
  expect_in "$WORK/err" "import nccl-log" "points to the right importer"
else
  skip_part "no corpus at $CORPUS (the corpus steps)"
fi
expect_rc 2 "import nccl-log of a file without NCCL lines" -- "$R" import nccl-log "$A"
expect_in "$WORK/err" "no NCCL debug lines" "says what is missing"

expect_rc 2 "no model for an unmodelled type" -- "$R" baseline model --instance-type p6-b200.48xlarge \
  --nodes 2 -o "$WORK/none.json"
expect_in "$WORK/err" "no collective model (modelled: p4d.24xlarge" "names the modelled types"
expect_rc 2 "the model is all_reduce only" -- "$R" baseline model --instance-type p5.48xlarge \
  --nodes 2 --benchmark all_gather -o "$WORK/none.json"

# ---- history ----------------------------------------------------------------------------------
DB=$WORK/h/history.db
expect_rc 0 "history add" -- "$R" history --db "$DB" add "$A" "$A2"
expect_in "$WORK/out" "recorded as run 2" "two runs recorded"
expect_rc 0 "history add again" -- "$R" history add --db "$DB" "$A"
expect_in "$WORK/out" "already recorded as run 1" "duplicates recognised"
CHECKS=$((CHECKS + 1))
[[ $(stat -c %a "$DB") == 600 ]] || fail "history database mode is $(stat -c %a "$DB"), not 600"
expect_rc 0 "history list" -- "$R" history list --db "$DB"
expect_in "$WORK/out" "preflight-allreduce" "list shows the tool"
expect_rc 0 "history show" -- "$R" history show 1 --db "$DB"
expect_in "$WORK/out" "#       size" "show renders the report"
expect_rc 3 "trend without enough history is a skip" -- "$R" history trend --db "$DB"
for i in 1 2 3; do
  sed "s/\"id\": \"a1\"/\"id\": \"h$i\"/" "$A" > "$WORK/h$i.json"
  expect_rc 0 "history add h$i" -- "$R" history add --db "$DB" "$WORK/h$i.json" -q
done
# The slow run also moved to another libfabric: the trend names it.
sed 's/"libfabric": "1.17.0"/"libfabric": "1.22.0"/' "$SLOW" > "$WORK/slow-libfabric.json"
expect_rc 0 "history add the slow run" -- "$R" history add --db "$DB" \
  "$WORK/slow-libfabric.json" -q
expect_rc 1 "trend flags the regression" -- "$R" history trend --db "$DB" --json "$WORK/trend.json"
expect_in "$WORK/out" "regression" "trend rows"
expect_in "$WORK/out" "(first outside): changed libfabric 1.17.0 -> 1.22.0" "names what changed"
expect_in "$WORK/trend.json" '"first_out_of_band_run"' "the change in the trend report"
expect_in "$WORK/trend.json" "HISTORY_REGRESSION" "trend report check"
expect_rc 0 "trend report validates" -- "$R" validate "$WORK/trend.json"
expect_rc 2 "history of a missing db" -- "$R" history list --db "$WORK/none/history.db"
expect_in "$WORK/err" "history add" "says how to create it"
ln -s "$WORK/victim" "$WORK/link.db"
expect_rc 2 "history refuses a symlink" -- "$R" history add --db "$WORK/link.db" "$A"
CHECKS=$((CHECKS + 1))
[[ ! -e $WORK/victim ]] || fail "the symlink target was created"
# Defaults: PREFLIGHT_DB, then $XDG_DATA_HOME/preflight/history.db.
expect_rc 0 "PREFLIGHT_DB fallback" -- env PREFLIGHT_DB="$WORK/env.db" "$R" history add "$A" -q
CHECKS=$((CHECKS + 1))
[[ -f $WORK/env.db ]] || fail "PREFLIGHT_DB was not used"
expect_rc 0 "XDG default" -- env -u PREFLIGHT_DB XDG_DATA_HOME="$WORK/xdg" "$R" history add "$A" -q
CHECKS=$((CHECKS + 1))
[[ -f $WORK/xdg/preflight/history.db ]] || fail "XDG_DATA_HOME default not used"

# ---- a report written by a sibling binary, when it was built ----------------------------------
if [[ -x $BIN_DIR/preflight-allreduce ]] && command -v mpirun >/dev/null; then
  expect_rc 0 "a live preflight-allreduce run" -- timeout 120 mpirun --allow-run-as-root \
    --oversubscribe -np 2 "$BIN_DIR/preflight-allreduce" --backend mpi --sizes 8:64K:x8 \
    --json "$WORK/live.json"
  expect_rc 0 "validate a live preflight-allreduce report" -- "$R" validate "$WORK/live.json"
  expect_rc 0 "render a live report" -- "$R" render "$WORK/live.json" --format html -o "$WORK/live.html"
else
  skip_part "preflight-allreduce or mpirun missing (the live report)"
fi

finish
