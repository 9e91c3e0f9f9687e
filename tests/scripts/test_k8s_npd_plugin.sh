#!/usr/bin/env bash
# The node-problem-detector plugin (scripts/k8s/preflight-npd-plugin.sh) maps preflight's exit
# codes onto NPD's contract (0 OK, 1 NonOK, 2 Unknown): only a failed check (exit 1) marks the
# node; usage, skip, error, timeout, a missing or stale result are Unknown. And the loop script
# (preflight-node-loop.sh), run once with the real `preflight node --quick`, leaves a result the
# plugin reads as this machine's verdict. Run under sh (the NPD image's shell), as NPD runs it.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K8S=$ROOT/scripts/k8s
BIN_DIR=${PREFLIGHT_BIN_DIR:-$ROOT/build/bin}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0

# plugin_case NAME EXPECTED_EXIT EXPECTED_MESSAGE_PART [RESULT_CONTENT | missing]
plugin_case() {
  local name=$1 want=$2 part=$3 content=$4
  rm -f "$WORK/result"
  if [[ $content != missing ]]; then
    printf '%s' "$content" >"$WORK/result"
  fi
  local out rc
  out=$(PREFLIGHT_RESULT_DIR=$WORK PREFLIGHT_RESULT_MAX_AGE_S=1800 sh "$K8S/preflight-npd-plugin.sh")
  rc=$?
  if [[ $rc == "$want" && $out == *"$part"* && $(printf '%s\n' "$out" | wc -l) == 1 ]]; then
    echo "ok   - $name: exit $rc, '$out'"
  else
    echo "FAIL - $name: exit $rc (want $want), '$out' (want one line with '$part')"
    FAILS=$((FAILS + 1))
  fi
}

now=$(date +%s)
plugin_case "pass" 0 "verdict: pass" "0 $now
verdict: pass: 10 pass (exit 0)
"
plugin_case "fail marks the node" 1 "EFA_COUNT_MISMATCH" "1 $now
verdict: fail: 9 pass, 1 fail (EFA_COUNT_MISMATCH) (exit 1)
"
plugin_case "usage error is Unknown" 2 "usage error, exit 2" "2 $now
preflight: usage error: unknown option '--quik'
"
plugin_case "skip is Unknown" 2 "skipped the node (exit 3)" "3 $now
verdict: skip: 5 skip (exit 3)
"
plugin_case "harness error is Unknown" 2 "harness error (exit 4)" "4 $now
verdict: error: 1 error (exit 4)
"
plugin_case "timeout is Unknown" 2 "timed out (exit 124)" "124 $now
verdict: timeout
"
plugin_case "killed by a signal is Unknown" 2 "exit 137" "137 $now
"
plugin_case "no result yet is Unknown" 2 "has not reported yet" missing
plugin_case "stale result is Unknown" 2 "stale" "1 $((now - 7200))
verdict: fail: 1 fail (X) (exit 1)
"
plugin_case "garbage is Unknown" 2 "exit unparsable" "oops
"

if [[ -x $BIN_DIR/preflight ]]; then
  mkdir -p "$WORK/loop"
  PREFLIGHT_ONCE=1 PREFLIGHT_RESULT_DIR=$WORK/loop PREFLIGHT_BIN=$BIN_DIR/preflight \
    PREFLIGHT_TEXTFILE_DIR=$WORK/loop sh "$K8S/preflight-node-loop.sh" >"$WORK/loop.out" 2>&1
  loop_rc=$?
  out=$(PREFLIGHT_RESULT_DIR=$WORK/loop sh "$K8S/preflight-npd-plugin.sh")
  plugin_rc=$?
  want=2
  case $loop_rc in 0) want=0 ;; 1) want=1 ;; esac
  if [[ $plugin_rc == "$want" && -s $WORK/loop/node.json && -s $WORK/loop/preflight_node.prom &&
        $out == *"verdict:"* ]]; then
    echo "ok   - loop + plugin on this machine: preflight exit $loop_rc -> NPD exit $plugin_rc: $out"
  else
    echo "FAIL - loop + plugin on this machine: preflight exit $loop_rc, NPD exit $plugin_rc: $out"
    cat "$WORK/loop.out"
    FAILS=$((FAILS + 1))
  fi
else
  echo "FAIL - $BIN_DIR/preflight not built"
  FAILS=$((FAILS + 1))
fi

if ((FAILS > 0)); then
  echo "FAILED: $FAILS"
  exit 1
fi
echo "all checks passed"
