#!/usr/bin/env bash
# Issue 8, bounds: absurd sizes, counts and iteration numbers, a file larger than the documented
# input limit (256 MiB, reports/report_io.hpp) and deeply nested JSON are clean usage errors
# (exit 2, a message naming the flag or file), decided before anything is measured, in bounded
# memory (peak RSS checked with /usr/bin/time when it is installed).
set -uo pipefail

BIN_DIR=${PREFLIGHT_BIN_DIR:?}
WORK=$(mktemp -d /tmp/bounds.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0
ran=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# expect_usage "MESSAGE REGEX" BINARY ARGS...: exit 2, stderr matching, peak RSS under 256 MiB.
expect_usage() {
  local pattern=$1 binary=$2
  shift 2
  [[ -x $BIN_DIR/$binary ]] || { echo "skip - $binary not built"; return; }
  ran=$((ran + 1))
  local timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f "%M" -o "$WORK/rss")
  timeout 60 "${timer[@]}" "$BIN_DIR/$binary" "$@" --quiet >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  local what="$binary $*"
  [[ $rc == 2 ]] || { fail "$what: exit $rc, expected 2"; cat "$WORK/err"; return; }
  # The message: on stderr, or on stdout for preflight-report validate (its findings listing).
  cat "$WORK/err" "$WORK/out" >"$WORK/message"
  grep -Eq -- "$pattern" "$WORK/message" ||
    { fail "$what: message does not match /$pattern/"; cat "$WORK/message"; return; }
  if [[ -s $WORK/rss ]]; then
    local rss_kib
    rss_kib=$(tail -1 "$WORK/rss")
    ((rss_kib < 262144)) || fail "$what: peak RSS ${rss_kib} KiB"
    echo "ok   - $what: exit 2, peak RSS ${rss_kib} KiB: $(head -1 "$WORK/message" | cut -c1-150)"
  else
    echo "ok   - $what: exit 2: $(head -1 "$WORK/message" | cut -c1-150)"
  fi
}

# Sizes and counts.
expect_usage "MemAvailable" preflight-allreduce --backend mpi --sizes 8,1T
expect_usage "MemAvailable" preflight-alltoall --backend mpi --sizes 16T
expect_usage "bad token '1P'" preflight-allreduce --sizes 8:1P
expect_usage "overflows 64 bits" preflight-allgather --sizes 99999999999999999999
expect_usage "at most" preflight-allreduce --sizes 8 --max-iters 1000000000000
expect_usage "--check" preflight-allreduce --sizes 8 --check 1000000000
expect_usage "--timeout" preflight-broadcast --sizes 8 --timeout 1e12
expect_usage "MemAvailable" preflight-p2p --loopback --provider shm --sizes 16T
expect_usage "--sizes|size" preflight-p2p --loopback --provider shm --sizes 1:99999999999999999999

# Input files: larger than the limit (a sparse file: no disk used), deeply nested, not JSON.
truncate -s 257M "$WORK/huge.json"
expect_usage "larger than the 268435456 byte limit" preflight-report validate "$WORK/huge.json"
expect_usage "larger than the 268435456 byte limit" preflight-report import nccl-tests "$WORK/huge.json"
python3 -c 'print("[" * 200000 + "]" * 200000)' >"$WORK/deep.json"
expect_usage "deep.json" preflight-report validate "$WORK/deep.json"
expect_usage "deep.json" preflight ci --plan "$WORK/deep.json"
printf '{"schema": "preflight.report/1", "tool": ' >"$WORK/truncated.json"
expect_usage "truncated.json:1" preflight-report validate "$WORK/truncated.json"

((ran > 0)) || { echo "SKIP: no binary built"; exit 77; }
echo "$failures failed of $ran"
exit $((failures > 0))
