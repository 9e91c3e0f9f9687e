#!/usr/bin/env bash
# Issue 8, "never hang": a rank killed (SIGKILL) or stopped (SIGSTOP) in the middle of a sweep.
#
#   test_rank_faults.sh MPIEXEC CASE    CASE: collective-kill | collective-stop | p2p-stop
#
# collective-kill  4-rank preflight-allreduce, rank 2 SIGKILLed: the job ends within
#                  --timeout + 5 s; rank 0's report is schema-valid, says PEER_LOST naming rank 2
#                  (the launcher SIGTERMs the survivors, rank 0 looks up its host's ranks), exit 4,
#                  and keeps every size finished before the kill.
# (Bounds: the final report within --timeout + 5 s of the fault; the job, launcher teardown
#  included, within --timeout + 30 s.)
# collective-stop  rank 2 SIGSTOPped: the watchdog fires, BENCH_TIMEOUT names rank 2 as stopped,
#                  exit 124, within --timeout + 5 s; the sizes finished before are kept.
# p2p-stop         2-rank preflight-p2p, rank 1 SIGSTOPped: exit 124 with a valid partial report.
#
# Every report is checked by `preflight-report validate` (the schema) and by its content.
set -uo pipefail

MPIEXEC=${1:-}
CASE=${2:?case}
BIN_DIR=${PREFLIGHT_BIN_DIR:?}
WORK=$(mktemp -d /tmp/rank-faults.XXXXXX)
VICTIM=""
cleanup() {
  # A stopped rank must never outlive the test.
  [[ -n $VICTIM ]] && kill -CONT "$VICTIM" 2>/dev/null && kill -KILL "$VICTIM" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/run.txt ]] && tail -30 "$WORK/run.txt" >&2; exit 1; }

[[ -n $MPIEXEC && -x $MPIEXEC ]] || skip "no mpiexec (built without MPI)"
[[ -x $BIN_DIR/preflight-report ]] || skip "preflight-report not built"

TIMEOUT=8
case $CASE in
  collective-*)
    binary=$BIN_DIR/preflight-allreduce
    ranks=4
    victim_rank=2
    # Sizes long enough (>= 0.3 s each) for the fault to land mid-sweep on a loaded machine.
    args=(--backend mpi --sizes 4K:16M:x4 --time-per-size 0.3 --min-iters 5 --check 1
          --timeout "$TIMEOUT")
    ;;
  p2p-*)
    binary=$BIN_DIR/preflight-p2p
    ranks=2
    victim_rank=1
    args=(--transport mpi --test latency --sizes 1:16M --time-per-size 0.3 --timeout "$TIMEOUT")
    ;;
  *) echo "unknown case $CASE" >&2; exit 2 ;;
esac
[[ -x $binary ]] || skip "$binary not built"
report=$WORK/report.json

rows_in() {
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$1" 2>/dev/null ||
    echo 0
}

"$MPIEXEC" --allow-run-as-root --oversubscribe -np "$ranks" "$binary" "${args[@]}" \
  --json "$report" >"$WORK/run.txt" 2>&1 &
launcher=$!

# The victim: the process of this job (a descendant of its launcher) with rank $victim_rank.
find_process=$(dirname "${BASH_SOURCE[0]}")/../find_process.py
for _ in $(seq 100); do
  VICTIM=$(python3 "$find_process" "$launcher" "$(basename "$binary")" "$victim_rank")
  [[ -n $VICTIM ]] && break
  sleep 0.1
done
[[ -n $VICTIM ]] || fail "rank $victim_rank of $(basename "$binary") not found"

# Mid-sweep: once the checkpointed report holds two sizes (up to 60 s on a loaded machine).
for _ in $(seq 600); do
  (( $(rows_in "$report") >= 2 )) && break
  kill -0 "$launcher" 2>/dev/null || fail "the run ended before the fault was injected"
  sleep 0.1
done
rows_before=$(rows_in "$report")
(( rows_before >= 2 )) || fail "no partial report with 2 rows after 60 s"

case $CASE in
  *-kill) kill -KILL "$VICTIM" ;;
  *-stop) kill -STOP "$VICTIM" ;;
esac
fault_at=$(date +%s.%N)
wait "$launcher"
launcher_status=$?
elapsed_s=$(python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' \
  "$fault_at" "$(date +%s.%N)")
echo "$CASE: fault on rank $victim_rank (pid $VICTIM) with $rows_before rows in the report;" \
  "mpirun exited $launcher_status after ${elapsed_s} s"
# Two bounds, kept apart: preflight's own (the final report is on disk within --timeout + 5 s of
# the fault, its mtime) and the launcher's teardown after MPI_Abort, which is Open MPI's and, with
# a stopped rank under a sanitizer on a loaded machine, has taken 7 s on its own.
report_s=$(python3 -c 'import os, sys; print(round(os.stat(sys.argv[2]).st_mtime - float(sys.argv[1]), 1))' \
  "$fault_at" "$report" 2>/dev/null) || fail "no report after the fault"
echo "$CASE: final report written ${report_s} s after the fault"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) + 5 else 1)' \
  "$report_s" "$TIMEOUT" || fail "report written ${report_s} s after the fault (timeout $TIMEOUT s + 5 s)"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) + 30 else 1)' \
  "$elapsed_s" "$TIMEOUT" || fail "job ended ${elapsed_s} s after the fault (timeout $TIMEOUT s + 30 s)"

"$BIN_DIR/preflight-report" validate "$report" >"$WORK/validate.txt" 2>&1 ||
  { cat "$WORK/validate.txt"; fail "the partial report is not schema-valid"; }

python3 - "$report" "$CASE" "$victim_rank" "$rows_before" <<'PY' || fail "report content"
import json, sys
path, case, victim, rows_before = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
report = json.load(open(path))
verdict = report["verdict"]
rows = report["results"]
assert len(rows) >= rows_before, f"{len(rows)} rows kept, {rows_before} were finished before"
assert verdict["status"] not in ("pass", "warn", "skip"), verdict
checks = {c["id"]: c for c in report["checks"]}
if case == "collective-kill":
    # PEER_LOST from the SIGTERM the launcher sends; BENCH_TIMEOUT only if the launcher never did.
    check = checks.get("PEER_LOST") or checks.get("BENCH_TIMEOUT")
    assert check, list(checks)
    assert verdict["exit_code"] in (4, 124), verdict
    gone = check["evidence"].get("local_ranks_not_running", [])
    assert any(g["rank"] == victim and g["state"] == "exited" for g in gone), check
    assert f"rank {victim} " in check["message"], check["message"]
elif case == "collective-stop":
    check = checks["BENCH_TIMEOUT"]
    assert verdict["exit_code"] == 124, verdict
    gone = check["evidence"].get("local_ranks_not_running", [])
    assert any(g["rank"] == victim and g["state"] == "stopped" for g in gone), check
    assert f"rank {victim} " in check["message"] and "stopped" in check["message"], check["message"]
else:
    check = checks.get("BENCH_TIMEOUT") or checks.get("PEER_LOST")
    assert check, list(checks)
    assert verdict["exit_code"] in (4, 124), verdict
    assert f"rank {victim}" in check["message"], check["message"]
print(f"{case}: exit {verdict['exit_code']} ({verdict['status']}), {len(rows)} rows kept: "
      f"{check['id']}: {check['message']}")
PY
