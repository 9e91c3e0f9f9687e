#!/usr/bin/env bash
# Issue 8, "never lose a report": a read-only or full output directory is refused before anything
# is measured (exit 2, message naming the path), and an existing report there is never truncated.
# Uses private tmpfs mounts in a mount namespace: needs root and unshare; skips (77) otherwise.
set -uo pipefail

bin_dir=${PREFLIGHT_BIN_DIR:?}
probe=$bin_dir/preflight-versions
[[ -x $probe ]] || { echo "skip: $probe not built"; exit 77; }
[[ $(id -u) == 0 ]] || { echo "skip: needs root for mounts"; exit 77; }
command -v unshare >/dev/null || { echo "skip: unshare missing"; exit 77; }

# shellcheck disable=SC2016 # expanded inside the namespace
exec unshare --mount --propagation private bash -c '
  set -u
  probe=$1
  failures=0
  check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; failures=$((failures + 1)); fi; }

  dir=$(mktemp -d)
  mount -t tmpfs -o size=8m tmpfs "$dir"
  echo "precious old report" >"$dir/report.json"
  mount -o remount,ro "$dir"
  "$probe" --json "$dir/report.json" >"$dir.out" 2>"$dir.err"; rc=$?
  check "read-only directory exits 2 (got $rc)" "[[ $rc == 2 ]]"
  check "message names the path" "grep -q \"$dir/report.json\" \"$dir.err\""
  check "message says read-only" "grep -qi \"read-only\" \"$dir.err\""
  check "old report intact" "[[ \$(cat \"$dir/report.json\") == \"precious old report\" ]]"
  umount "$dir"

  mount -t tmpfs -o size=1m tmpfs "$dir"
  echo "precious old report" >"$dir/report.json"
  head -c 900k /dev/zero >"$dir/filler" 2>/dev/null
  "$probe" --json "$dir/report.json" >"$dir.out" 2>"$dir.err"; rc=$?
  check "full disk exits 2 (got $rc)" "[[ $rc == 2 ]]"
  check "message says how much is free" "grep -q \"bytes free\" \"$dir.err\""
  check "old report intact" "[[ \$(cat \"$dir/report.json\") == \"precious old report\" ]]"
  umount "$dir"
  rm -rf "$dir" "$dir.out" "$dir.err"
  echo "$failures failed"
  [[ $failures == 0 ]]
' test_output_dir "$probe"
