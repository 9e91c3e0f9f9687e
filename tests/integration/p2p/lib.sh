# Shared by the preflight-p2p integration tests (sourced). Argument 1 of each test: mpiexec.
set -euo pipefail

BIN="${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR not set}/preflight-p2p"
REPO="${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR not set}"
MPIEXEC="${1:-}"
WORK="$(mktemp -d /tmp/p2p-it.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# Small per-size budgets keep the whole area within a few minutes on a 2-vCPU machine; the window
# is 8 instead of 64 for the same reason (the bench uses the default 64).
QUICK=(--time-per-size 0.02 --min-iters 3 --warmup-iters 2 --window 8 --target-precision 0.05
       --timeout 60)
ALL_SIZES=(--sizes 1:16M)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -x "$BIN" ]] || skip "$BIN not built"

need_mpi() {
  [[ -n "$MPIEXEC" && -x "$MPIEXEC" ]] || skip "no mpiexec (built without MPI)"
}

# mpirun with the flags a root container needs; ranks stay pinned (2 ranks: one per vCPU).
# Open MPI's exit race (../lib/ompi_exit_race.sh) gets one rerun, said on stderr.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ompi_exit_race.sh"
mpi() {
  local ranks="$1"; shift
  local status=0
  "$MPIEXEC" --allow-run-as-root --oversubscribe -np "$ranks" "$@" 2>"$WORK/mpi.stderr" || status=$?
  cat "$WORK/mpi.stderr" >&2
  if [[ $status -ne 0 ]] && ompi_exit_race "$WORK/mpi.stderr"; then
    echo "Open MPI's exit race (a rank reported 'with PID 0 ... exiting improperly'): rerunning once" >&2
    status=0
    "$MPIEXEC" --allow-run-as-root --oversubscribe -np "$ranks" "$@" || status=$?
  fi
  return "$status"
}

# check_report FILE EXPECTED_ROWS PROVIDER_SUBSTRING: a pass whose every row was verified.
check_report() {
  python3 - "$1" "$2" "$3" "$REPO/reports/schema/report.schema.json" <<'PY'
import json, sys
path, expected_rows, provider, schema_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
report = json.load(open(path))
try:
    import jsonschema
    jsonschema.validate(report, json.load(open(schema_path)))
except ImportError:
    pass
assert report["verdict"]["status"] == "pass", report["verdict"]
rows = report["results"]
assert len(rows) == expected_rows, f"{len(rows)} rows, expected {expected_rows}"
sizes = sorted({row["size_bytes"] for row in rows})
for row in rows:
    where = f'{row["benchmark"]} {row["size_bytes"]}'
    assert row["wrong_elements"] == 0, where
    assert row["labels"]["size_check"] == "checked", where
    assert int(row["labels"]["verified_messages"]) > 0, where
    assert row["time_s"]["n"] >= 3 and row["time_s"]["median"] > 0, where
    assert provider in row["transport"], (where, row["transport"])
    if row["benchmark"] != "latency":
        assert row["message_rate_per_s"] > 0 and row["algbw_Bps"] > 0, where
assert any(c["id"] == "RESULT_CORRECT" and c["status"] == "pass" for c in report["checks"])
print(f"{path}: {len(rows)} rows verified, sizes {sizes[0]}..{sizes[-1]}, "
      f"transport {report['details']['transport']}")
PY
}
