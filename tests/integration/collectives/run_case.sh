#!/usr/bin/env bash
# One integration case of the collective binaries:
#
#   run_case.sh EXPECTED_EXITS MAX_SECONDS CHECKER [CHECK_ARGS...] -- COMMAND...
#
# Runs COMMAND (each @REPORT@ in it becomes a fresh report path) and asserts that its exit code is
# one of EXPECTED_EXITS ("0", "1|124"), that it took at most MAX_SECONDS of wall time, and, unless
# CHECK_ARGS is the single word "none", that CHECKER (collectives_report_check) accepts the report
# with CHECK_ARGS. Prints the command's output when anything fails.
set -u

expected_exits=$1
max_seconds=$2
checker=$3
shift 3
check_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  check_args+=("$1")
  shift
done
[ $# -gt 0 ] && shift  # the --

# PREFLIGHT_CASE_WHEN=gpu|no-gpu: the case needs (or needs the absence of) an NVIDIA GPU; on the
# other kind of machine it is a skip (77), never a pass.
if [ -n "${PREFLIGHT_CASE_WHEN:-}" ]; then
  has_gpu=no
  if [ -e /dev/nvidiactl ] || nvidia-smi -L >/dev/null 2>&1; then
    has_gpu=yes
  fi
  case "$PREFLIGHT_CASE_WHEN/$has_gpu" in
    gpu/no) echo "skip: no NVIDIA GPU on this machine"; exit 77 ;;
    no-gpu/yes) echo "skip: this machine has an NVIDIA GPU"; exit 77 ;;
  esac
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
report=$workdir/report.json
command=()
for argument in "$@"; do
  command+=("${argument//@REPORT@/$report}")
done

fail() {
  echo "FAIL: $*"
  echo "command: ${command[*]}"
  echo "--- stdout (tail) ---"
  tail -n 40 "$workdir/stdout"
  echo "--- stderr (tail) ---"
  tail -n 40 "$workdir/stderr"
  exit 1
}

source "$(dirname "${BASH_SOURCE[0]}")/../lib/ompi_exit_race.sh"
run_once() {
  start_ns=$(date +%s%N)
  "${command[@]}" >"$workdir/stdout" 2>"$workdir/stderr"
  status=$?
  elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
  echo "exit $status after ${elapsed_ms} ms"
}
run_once
case "|$expected_exits|" in
  *"|$status|"*) ;;
  *)
    if ompi_exit_race "$workdir/stderr"; then
      echo "Open MPI's exit race (a rank reported 'with PID 0 ... exiting improperly'): rerunning once"
      rm -f "$report"
      run_once
    fi
    ;;
esac

case "|$expected_exits|" in
  *"|$status|"*) ;;
  *) fail "exit code $status, expected $expected_exits" ;;
esac
if [ "$elapsed_ms" -gt $((max_seconds * 1000)) ]; then
  fail "took ${elapsed_ms} ms, more than ${max_seconds} s"
fi
if [ "${#check_args[@]}" -eq 1 ] && [ "${check_args[0]}" = "none" ]; then
  exit 0
fi
[ -f "$report" ] || fail "no report written at $report"
"$checker" "$report" "${check_args[@]}" || fail "report check failed"
echo "report ok: $(grep -c '"benchmark"' "$report") rows"
