# Helpers for the preflight-report integration tests (sourced). Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

BIN_DIR=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR must name the bin directory of the build}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR must name the source tree}
SHARED=${PREFLIGHT_SHARED_DIR:-$REPO/../shared}
REPORT=$BIN_DIR/preflight-report
FIXTURES=$REPO/tests/fixtures/reports
BASELINES=$REPO/reports/baselines
CORPUS=$SHARED/corpus

if [[ ! -x $REPORT ]]; then
  echo "FAIL: $REPORT not built" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/preflight-report-it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

FAILURES=0
CHECKS=0
SKIPPED=()

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# expect_rc WANT DESCRIPTION -- COMMAND...: runs COMMAND, output in $WORK/out and $WORK/err.
expect_rc() {
  local want=$1 what=$2
  shift 3
  CHECKS=$((CHECKS + 1))
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [[ $rc -ne $want ]]; then
    fail "$what: exit $rc, expected $want: $*"
    sed 's/^/    stdout: /' "$WORK/out" | head -20 >&2
    sed 's/^/    stderr: /' "$WORK/err" | head -20 >&2
    return 1
  fi
  return 0
}

# expect_in FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string).
expect_in() {
  CHECKS=$((CHECKS + 1))
  if ! grep -qF -- "$2" "$1"; then
    fail "$3: '$2' not found in $(basename "$1")"
    head -20 "$1" | sed 's/^/    /' >&2
  fi
}

expect_not_in() {
  CHECKS=$((CHECKS + 1))
  if grep -qF -- "$2" "$1"; then
    fail "$3: '$2' found in $(basename "$1")"
  fi
}

# skip_part WHAT: a part of the test that cannot run here. The test then ends as a skip (77),
# never as a pass, unless a check failed.
skip_part() {
  echo "skip: $*"
  SKIPPED+=("$*")
}

finish() {
  if [[ $FAILURES -gt 0 ]]; then
    echo "$FAILURES of $CHECKS checks failed"
    exit 1
  fi
  if [[ ${#SKIPPED[@]} -gt 0 ]]; then
    echo "$CHECKS checks passed; skipped: $(printf '%s; ' "${SKIPPED[@]}")"
    exit 77
  fi
  echo "all $CHECKS checks passed"
  exit 0
}
