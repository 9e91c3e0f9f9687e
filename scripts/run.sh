#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, then checks this machine with
# `preflight node` and writes its reports to reports/out/ (node.json, node.html).
# Until the umbrella exists in a build, runs every probe binary there is instead.
set -uo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${PREFLIGHT_BUILD_DIR:-$repo_dir/build}
out_dir=${PREFLIGHT_OUT_DIR:-$repo_dir/reports/out}

"$repo_dir/scripts/setup.sh" || exit $?
mkdir -p "$out_dir"
bin_dir=$build_dir/bin

if [[ -x $bin_dir/preflight ]]; then
  "$bin_dir/preflight" node --json "$out_dir/node.json" --html "$out_dir/node.html" "$@"
  status=$?
  echo "run.sh: reports in $out_dir (exit $status)"
  exit $status
fi

worst=0
for probe in versions drivers topology env efa; do
  binary=$bin_dir/preflight-$probe
  [[ -x $binary ]] || continue
  echo "== preflight-$probe"
  "$binary" --json "$out_dir/$probe.json" "$@"
  status=$?
  echo "-- exit $status, report $out_dir/$probe.json"
  # Codes by severity: 124 > 4 > 1 > 0 > 3 (skip never hides a result).
  case $status in
    124) worst=124 ;;
    4) [[ $worst == 124 ]] || worst=4 ;;
    1) [[ $worst == 124 || $worst == 4 ]] || worst=1 ;;
    2) worst=2 ;;
  esac
done
exit $worst
