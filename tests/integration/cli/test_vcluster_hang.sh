#!/usr/bin/env bash
# Hangs and lost hosts named on any host, and the job ended: a 4-host all-reduce launched by mpirun
# from the root namespace across the virtual cluster (scripts/vcluster.sh), --timeout 8.
#   stop     SIGSTOP the rank inside vc3 mid-run: the report names vc3, that rank and its pid as
#            stopped within the timeout + 5 s of the stop, and mpirun exits;
#   isolate  cut vc3 off mid-run: mpirun itself exits within the timeout + 15 s of the cut, and the
#            report names vc3's rank as unreachable.
# Needs root, iproute2, mpirun and preflight-allreduce. Exit: 0 pass, 1 fail, 77 skip.
set -u
CASE=${1:?usage: test_vcluster_hang.sh stop|isolate}
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
VC=$REPO/scripts/vcluster.sh
readonly TIMEOUT_S=8

if [[ ${2:-} != --inside ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
    [[ -x $BIN/preflight-allreduce ]] || { echo "SKIP: preflight-allreduce not built"; exit 77; }
    command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not installed"; exit 77; }
    exec "$VC" with 4 -- bash "${BASH_SOURCE[0]}" "$CASE" --inside
fi

OUT=$(mktemp -d)
victim=""
trap '[[ -n $victim ]] && kill -CONT "$victim" 2>/dev/null; rm -rf "$OUT"' EXIT
now() { date +%s.%N; }
start=$(now)
# A launcher still running long after the limit is killed (and the test fails).
# shellcheck disable=SC2046  # the launcher flags are words
timeout -s KILL 90 mpirun $("$VC" mpirun-args) --hostfile "$("$VC" hostfile-path)" -np 4 --map-by node \
    "$BIN/preflight-allreduce" --backend mpi --sizes 8:4M:x2 --timeout "$TIMEOUT_S" \
    --json "$OUT/report.json" --quiet >"$OUT/mpirun.out" 2>&1 &
launcher=$!

# The rank inside vc3, once it is measuring.
for _ in $(seq 300); do
    victim=$("$VC" pids vc3 2>/dev/null | xargs -r ps -o pid=,comm= -p 2>/dev/null |
        awk '$2 ~ /^preflight-allre/ { print $1; exit }')
    [[ -n $victim ]] && break
    sleep 0.1
done
[[ -n $victim ]] || { echo "FAIL - no preflight-allreduce inside vc3"; cat "$OUT/mpirun.out"; exit 1; }
sleep 2
fault_at=$(now)
case $CASE in
    stop) kill -STOP "$victim" ;;
    isolate) "$VC" isolate vc3 ;;
    *) echo "unknown case $CASE"; exit 2 ;;
esac || { echo "FAIL - could not plant the fault"; exit 1; }
echo "$CASE: rank pid $victim in vc3, $(echo "$fault_at - $start" | bc) s after the start"
wait "$launcher"
rc=$?
ended_at=$(now)
echo "mpirun exit $rc, $(echo "$ended_at - $fault_at" | bc) s after the fault"
tail -5 "$OUT/mpirun.out"

python3 - "$OUT/report.json" "$CASE" "$victim" "$fault_at" "$ended_at" "$TIMEOUT_S" <<'PY'
import json, os, sys
path, case, victim, fault_at, ended_at, timeout_s = sys.argv[1:]
fault_at, ended_at, timeout_s, victim = float(fault_at), float(ended_at), float(timeout_s), int(victim)
problems = []
if not os.path.exists(path):
    print("FAIL - no report"); sys.exit(1)
report = json.load(open(path))
written_after = os.path.getmtime(path) - fault_at
checks = [c for c in report["checks"] if c["id"] in ("BENCH_TIMEOUT", "PEER_LOST")]
for check in checks:
    print(f"{check['id']}: {check['message']}")
named = [entry for check in checks
         for entry in check.get("evidence", {}).get("local_ranks_not_running", [])]
expected_state = "stopped" if case == "stop" else "unreachable"
matches = [e for e in named if e.get("host") == "vc3" and e.get("state") == expected_state]
if not matches:
    problems.append(f"no rank on vc3 named {expected_state}: {named}")
elif case == "stop" and matches[0].get("pid") != victim:
    problems.append(f"named pid {matches[0].get('pid')}, the stopped rank is {victim}")
elif not any(f"rank {m['rank']} (vc3" in c["message"] for m in matches for c in checks):
    problems.append("the finding's message does not name vc3's rank")
if case == "stop" and written_after > timeout_s + 5:
    problems.append(f"report written {written_after:.1f} s after the stop (limit {timeout_s + 5})")
if case == "isolate" and ended_at - fault_at > timeout_s + 15:
    problems.append(f"mpirun ended {ended_at - fault_at:.1f} s after the cut (limit {timeout_s + 15})")
if report["verdict"]["status"] not in ("timeout", "error"):
    problems.append(f"verdict {report['verdict']}")
print(f"report written {written_after:.1f} s after the fault; mpirun ended "
      f"{ended_at - fault_at:.1f} s after it")
for p in problems:
    print("FAIL -", p)
sys.exit(1 if problems else 0)
PY
result=$?
[[ $rc -ne 0 ]] || { echo "FAIL - mpirun exited 0"; result=1; }
[[ $rc -ne 137 ]] || { echo "FAIL - mpirun had to be killed"; result=1; }
exit "$result"
