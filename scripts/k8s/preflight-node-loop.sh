#!/bin/sh
# Runs `preflight node --quick` every PREFLIGHT_INTERVAL_S seconds (default 600) and leaves the
# outcome for node-problem-detector's plugin (preflight-npd-plugin.sh) in
# $PREFLIGHT_RESULT_DIR/result, written atomically (a temporary file renamed over it):
#   line 1: "<exit code> <unix time when the run finished>"
#   line 2: the verdict line of preflight's text output ("verdict: fail: ... (exit 1)")
# The JSON report stays in $PREFLIGHT_RESULT_DIR/node.json; with PREFLIGHT_TEXTFILE_DIR set,
# preflight_node.prom is written there for node_exporter's textfile collector too.
# PREFLIGHT_ONCE=1 runs once and exits with preflight's code (for tests and one-off checks).
result_dir=${PREFLIGHT_RESULT_DIR:-/preflight}
interval_s=${PREFLIGHT_INTERVAL_S:-600}
preflight=${PREFLIGHT_BIN:-preflight}

run_once() {
  set -- node --quick --json "$result_dir/node.json"
  if [ -n "${PREFLIGHT_TEXTFILE_DIR:-}" ]; then
    set -- --textfile-dir "$PREFLIGHT_TEXTFILE_DIR" "$@"
  fi
  "$preflight" "$@" >"$result_dir/node.txt" 2>"$result_dir/node.err"
  code=$?
  verdict=$(grep '^verdict:' "$result_dir/node.txt" | tail -n 1)
  if [ -z "$verdict" ]; then
    verdict=$(tail -n 1 "$result_dir/node.err")
  fi
  printf '%s %s\n%s\n' "$code" "$(date +%s)" "$verdict" >"$result_dir/.result.tmp" &&
    mv -f "$result_dir/.result.tmp" "$result_dir/result"
  cat "$result_dir/node.txt" "$result_dir/node.err"
  return "$code"
}

mkdir -p "$result_dir" || exit 2
if [ "${PREFLIGHT_ONCE:-0}" = 1 ]; then
  run_once
  exit $?
fi
while :; do
  run_once
  sleep "$interval_s"
done
