#!/usr/bin/env bash
# A rank whose peer disappears exits 4 naming the peer (rank and host), or 124 on a hang, within
# the timeout; its partial report is valid and keeps the sizes finished.
source "$(dirname "$0")/lib.sh"
TIMEOUT=15
RUN=(--provider shm --test latency --sizes 1:16M --time-per-size 0.3 --timeout "$TIMEOUT")

# Kill mid-sweep: once the first sizes are in the partial report (a loaded machine may take a
# while to get there).
wait_for_partial_report() {
  for _ in $(seq 300); do
    [[ -s "$1" ]] && { sleep 0.5; return; }
    sleep 0.1
  done
  fail "no partial report at $1 after 30 s"
}

# 1. No MPI: kill the --connect side mid-sweep.
port=$((20000 + RANDOM % 12000))  # below the ephemeral range
"$BIN" --listen "127.0.0.1:$port" "${RUN[@]}" --json "$WORK/rv.json" > "$WORK/rv.txt" 2>&1 &
listener=$!
"$BIN" --connect "127.0.0.1:$port" "${RUN[@]}" --quiet &
connector=$!
wait_for_partial_report "$WORK/rv.json"
kill -9 "$connector"
start=$(date +%s.%N)
set +e
wait "$listener"
status=$?
set -e
elapsed=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
cat "$WORK/rv.txt"
[[ $status -eq 4 || $status -eq 124 ]] || fail "listener exited $status, expected 4 or 124"
python3 -c "import sys; assert float(sys.argv[1]) < float(sys.argv[2]) + 5, sys.argv" "$elapsed" "$TIMEOUT"
grep -q "rank 1 ($(hostname))" "$WORK/rv.txt" || fail "the lost peer is not named"
python3 - "$WORK/rv.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["verdict"]["exit_code"] in (4, 124), report["verdict"]
lost = [c for c in report["checks"] if c["id"] in ("PEER_LOST", "BENCH_TIMEOUT")]
assert lost and "rank 1" in lost[0]["message"], report["checks"]
assert len(report["results"]) >= 1
print("rendezvous: exit", report["verdict"]["exit_code"], "-", lost[0]["message"])
PY

# 2. MPI: kill rank 1. Open MPI then tears the job down (SIGTERM to rank 0), which rank 0 turns
#    into PEER_LOST naming rank 1 in its report.
if [[ -n "$MPIEXEC" && -x "$MPIEXEC" ]]; then
  set +e
  mpi 2 "$BIN" "${RUN[@]}" --json "$WORK/mpi.json" > "$WORK/mpi.txt" 2>&1 &
  launcher=$!
  set -e
  victim=""
  for _ in $(seq 50); do
    sleep 0.2
    # Rank 1 of this job only: other tests' ranks share the process table.
    victim=$(python3 "$(dirname "${BASH_SOURCE[0]}")/../find_process.py" "$launcher" preflight-p2p 1)
    [[ -n "$victim" ]] && break
  done
  [[ -n "$victim" ]] || fail "rank 1 not found"
  wait_for_partial_report "$WORK/mpi.json"
  kill -9 "$victim"
  start=$(date +%s)
  set +e
  wait "$launcher"
  set -e
  (( $(date +%s) - start <= TIMEOUT + 5 )) || fail "rank 0 took too long to go"
  cat "$WORK/mpi.txt"
  python3 - "$WORK/mpi.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["verdict"]["exit_code"] in (4, 124), report["verdict"]
named = [c for c in report["checks"] if c["id"] in ("PEER_LOST", "BENCH_TIMEOUT")]
assert named and "rank 1" in named[0]["message"], report["checks"]
print("mpi: exit", report["verdict"]["exit_code"], "-", named[0]["message"])
PY
fi
