#!/usr/bin/env bash
# Issue 23: outputs users point at devices and pipes are written into, never replaced.
#   test_output_streams.sh device   every binary (and every output flag of preflight and
#                                   preflight-report, --textfile-dir's file too) writes to a
#                                   private character device (1,3) made with mknod, which stays a
#                                   character device; the history
#                                   database refuses it (exit 2 naming it). Needs root (mknod).
#   test_output_streams.sh pipes    a FIFO reader gets exactly one valid report (also from a
#                                   sweep re-written after every size, and from a run the watchdog
#                                   ends); `--json >(cat > FILE)` delivers one; /dev/stdout is `-`.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
mode=${1:?usage: test_output_streams.sh device|pipes}
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:?PREFLIGHT_REPO_DIR is not set}
REPORT=$BIN/preflight-report
[[ -x $REPORT && -x $BIN/preflight-versions ]] || { echo "SKIP: binaries not built"; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/preflight-streams.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok   - $*"; }
# expect DESCRIPTION COMMAND...: ok when COMMAND succeeds, else a failure.
expect() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
FIXTURE=$REPO/tests/fixtures/reports/preflight-allreduce-mpi.json
NCCL_LOG=$REPO/tests/fixtures/reports/nccl-tests/text-plain.txt

cat >"$WORK/plan.json" <<'JSON'
{"schema": "preflight.plan/1", "name": "streams",
 "steps": [{"name": "versions", "tool": "preflight-versions"}]}
JSON

"$REPORT" baseline create --from "$FIXTURE" -o "$WORK/baseline.json" --quiet ||
  { echo "FAIL: cannot make a baseline from $FIXTURE"; exit 1; }

# The command lines that write OUT (replaced by the target), one per binary and output flag. A
# binary of the build without a line here fails the test: every binary must be covered.
cases() {
  local out=$1
  cat <<EOF
preflight-versions --json $out
preflight-drivers --json $out
preflight-topology --json $out
preflight-env --json $out
preflight-efa --json $out
preflight-allreduce --backend mpi --sizes 8,1K --check 1 --time-per-size 0.01 --json $out
preflight-allgather --backend mpi --sizes 8,1K --check 1 --time-per-size 0.01 --json $out
preflight-reducescatter --backend mpi --sizes 8,1K --check 1 --time-per-size 0.01 --json $out
preflight-broadcast --backend mpi --sizes 8,1K --check 1 --time-per-size 0.01 --json $out
preflight-alltoall --backend mpi --sizes 8,1K --check 1 --time-per-size 0.01 --json $out
preflight-p2p --transport libfabric --provider tcp --loopback --test latency --sizes 8,64 --time-per-size 0.02 --json $out
preflight-report compare $FIXTURE --baseline $WORK/baseline.json --json $out
preflight-report diff $FIXTURE $FIXTURE --json $out
preflight-report render $FIXTURE --format html -o $out
preflight-report render $FIXTURE --format junit --output $out
preflight-report baseline create --from $FIXTURE -o $out
preflight-report import nccl-tests $NCCL_LOG --json $out
preflight node --quick --json $out --html $out --junit $out
preflight ci --plan $WORK/plan.json --bin-dir $BIN --json $out --junit $out --html $out
EOF
}

check_every_binary_has_a_case() {
  local binary
  for binary in "$BIN"/preflight*; do
    [[ -x $binary ]] || continue
    cases X | grep -q "^$(basename "$binary") " || fail "no output case for $(basename "$binary")"
  done
}

run_device() {
  [[ $(id -u) == 0 ]] || { echo "SKIP: mknod needs root"; exit 77; }
  local device=$WORK/null
  mknod "$device" c 1 3 || { echo "SKIP: mknod refused (no CAP_MKNOD)"; exit 77; }
  check_every_binary_has_a_case
  local line rc
  while IFS= read -r line; do
    read -r -a argv <<<"$line"
    argv[0]=$BIN/${argv[0]}
    [[ -x ${argv[0]} ]] || { echo "skip - ${line%% *} not built"; continue; }
    "${argv[@]}" --quiet >"$WORK/out" 2>"$WORK/err"
    rc=$?
    # 0, 1 or 3: the run judged this machine; 2 or 4 would mean the output was refused or broke.
    if [[ $rc == 2 || $rc == 4 || $rc -gt 100 ]]; then
      fail "$line: exit $rc: $(tail -2 "$WORK/err")"
    elif [[ ! -c $device ]] || [[ $(stat -c '%t,%T' "$device") != 1,3 ]]; then
      fail "$line: $device is no longer character device 1,3: $(stat -c '%F %t,%T' "$device")"
      rm -f "$device" && mknod "$device" c 1 3
    elif [[ $(find "$WORK" -maxdepth 1 -name '.null.tmp.*' | wc -l) != 0 ]]; then
      fail "$line: left a temporary beside the device"
    else
      ok "exit $rc, still a character device: ${line%% --json*}"
    fi
  done < <(cases "$device")
  # --textfile-dir: preflight_node.prom is written where it stands, here a device.
  mkdir -p "$WORK/textfile" && mknod "$WORK/textfile/preflight_node.prom" c 1 3
  "$BIN/preflight" --textfile-dir "$WORK/textfile" node --quick --quiet >"$WORK/out" 2>"$WORK/err"
  rc=$?
  if [[ $rc == 2 || $rc == 4 || $rc -gt 100 ]]; then
    fail "--textfile-dir with a device as preflight_node.prom: exit $rc: $(tail -2 "$WORK/err")"
  elif [[ ! -c $WORK/textfile/preflight_node.prom ]] ||
    [[ $(find "$WORK/textfile" -mindepth 1 | wc -l) != 1 ]]; then
    fail "--textfile-dir: preflight_node.prom replaced or a temporary left: $(ls -la "$WORK/textfile")"
  else
    ok "exit $rc, still a character device: preflight --textfile-dir DIR node --quick"
  fi
  # The history database must be a file: a device is refused before it is opened.
  "$REPORT" history add --db "$device" "$FIXTURE" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  if [[ $rc == 2 ]] && grep -q "$device: not a regular file (a character device)" "$WORK/err"; then
    ok "history add --db DEVICE: exit 2 naming it"
  else
    fail "history add --db DEVICE: exit $rc: $(cat "$WORK/err")"
  fi
  [[ -c $device ]] || fail "history add replaced the device"
}

# Reads FIFO into FILE in the background; sets READER to the reader's pid.
start_reader() {
  local fifo=$1 file=$2
  rm -f "$fifo" && mkfifo "$fifo"
  cat "$fifo" >"$file" &
  READER=$!
}

# FILE holds exactly one JSON document and it is a valid report.
one_valid_report() {
  local file=$1 what=$2
  if ! python3 - "$file" <<'PY'; then
import json, sys
text = open(sys.argv[1]).read()
document, end = json.JSONDecoder().raw_decode(text)
assert text[end:].strip() == "", f"{len(text) - end} bytes after the first document"
PY
    fail "$what: not exactly one JSON document ($(wc -c <"$file") bytes)"
    return
  fi
  if "$REPORT" validate "$file" >"$WORK/validate" 2>&1; then
    ok "$what: $(cat "$WORK/validate")"
  else
    fail "$what: $(cat "$WORK/validate")"
  fi
}

run_pipes() {
  local fifo=$WORK/report.fifo rc
  # A probe.
  start_reader "$fifo" "$WORK/probe.json"
  "$BIN/preflight-versions" --json "$fifo" --quiet
  wait "$READER"
  one_valid_report "$WORK/probe.json" "FIFO <- preflight-versions"
  [[ -p $fifo ]] || fail "the FIFO is no longer a FIFO"
  # A sweep re-writes its report after every size, but a FIFO gets it once, at the end.
  start_reader "$fifo" "$WORK/sweep.json"
  "$BIN/preflight-allreduce" --backend mpi --sizes 8:64K:x4 --check 1 --time-per-size 0.01 \
    --json "$fifo" --quiet
  wait "$READER"
  one_valid_report "$WORK/sweep.json" "FIFO <- preflight-allreduce (6 sizes)"
  # A run the watchdog ends: the partial report goes into the FIFO, once, with exit 124.
  start_reader "$fifo" "$WORK/timeout.json"
  PREFLIGHT_FAULT_HANG_RANK=0 "$BIN/preflight-allreduce" --backend mpi --sizes 8,1K,4K \
    --check 1 --timeout 2 --json "$fifo" --quiet 2>"$WORK/err"
  rc=$?
  wait "$READER"
  [[ $rc == 124 ]] || fail "hung run into a FIFO exited $rc, expected 124"
  one_valid_report "$WORK/timeout.json" "FIFO <- preflight-allreduce ended by its watchdog"
  python3 -c "
import json, sys; r = json.load(open('$WORK/timeout.json'))
assert r['verdict']['status'] == 'timeout' and r['results'], r['verdict']" ||
    fail "the timeout report lacks its status or the rows finished"
  # The plan's outputs into FIFOs.
  start_reader "$WORK/junit.fifo" "$WORK/junit.xml"
  local junit_reader=$READER
  start_reader "$fifo" "$WORK/suite.json"
  "$BIN/preflight" ci --plan "$WORK/plan.json" --bin-dir "$BIN" --json "$fifo" \
    --junit "$WORK/junit.fifo" --quiet
  wait "$READER" "$junit_reader"
  one_valid_report "$WORK/suite.json" "FIFO <- preflight ci --json"
  python3 -c "import xml.etree.ElementTree as E; E.parse('$WORK/junit.xml')" ||
    fail "FIFO <- preflight ci --junit: not XML"

  # Process substitution: /dev/fd/N.
  "$BIN/preflight-versions" --json >(cat >"$WORK/substituted.json") --quiet
  wait $!
  one_valid_report "$WORK/substituted.json" "--json >(cat > FILE)"
  "$REPORT" render "$FIXTURE" --format markdown -o >(cat >"$WORK/substituted.md")
  wait $!
  expect "render -o >(cat > FILE) delivered the markdown" \
    grep -q "^# preflight report: preflight-allreduce" "$WORK/substituted.md"

  # /dev/stdout works like -: the report is all that goes to stdout, for a pipe and a file.
  "$BIN/preflight-versions" --json /dev/stdout >"$WORK/stdout.json"
  one_valid_report "$WORK/stdout.json" "--json /dev/stdout > FILE"
  "$BIN/preflight-versions" --json /dev/stdout | cat >"$WORK/piped.json"
  one_valid_report "$WORK/piped.json" "--json /dev/stdout | cat"
  "$BIN/preflight" ci --plan "$WORK/plan.json" --bin-dir "$BIN" --json /dev/stdout \
    >"$WORK/suite-stdout.json"
  one_valid_report "$WORK/suite-stdout.json" "preflight ci --json /dev/stdout"
  # A descriptor that is not open is refused before the run, naming it.
  "$BIN/preflight-versions" --json /dev/fd/9 >/dev/null 2>"$WORK/err"
  rc=$?
  expect "--json /dev/fd/9 (closed): exit 2 (got $rc)" test "$rc" = 2
  expect "--json /dev/fd/9 (closed): the message names it" \
    grep -q "/dev/fd/9: descriptor 9 is not open" "$WORK/err"
  # History: a FIFO is refused without blocking on it.
  mkfifo "$WORK/history.fifo"
  timeout 10 "$REPORT" history add --db "$WORK/history.fifo" "$FIXTURE" 2>"$WORK/err" >/dev/null
  rc=$?
  expect "history add --db FIFO: exit 2 (got $rc)" test "$rc" = 2
  expect "history add --db FIFO: the message names it" \
    grep -q "history.fifo: not a regular file (a FIFO)" "$WORK/err"
  # ... also behind a symbolic link: /dev/stdout (a link to the pipe here).
  "$REPORT" history add --db /dev/stdout "$FIXTURE" 2>"$WORK/err" | cat >/dev/null
  rc=${PIPESTATUS[0]}
  expect "history add --db /dev/stdout (a pipe): exit 2 (got $rc)" test "$rc" = 2
  expect "history add --db /dev/stdout: the message names it" \
    grep -q -- "--db /dev/stdout: not a regular file (a FIFO)" "$WORK/err"
  ln -s "$WORK/history.fifo" "$WORK/history.link"
  timeout 10 "$REPORT" history list --db "$WORK/history.link" 2>"$WORK/err" >/dev/null
  rc=$?
  expect "history list --db LINK-TO-FIFO: exit 2 (got $rc)" test "$rc" = 2
}

case $mode in
  device) run_device ;;
  pipes) run_pipes ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
echo "$FAILS failed"
exit $((FAILS > 0))
