#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, then checks this machine with
# `preflight node` and writes its reports to reports/out/ (node.json, node.html).
# Arguments go to `preflight node` (e.g. --quick, --budget 30).
set -uo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${PREFLIGHT_BUILD_DIR:-$repo_dir/build}
out_dir=${PREFLIGHT_OUT_DIR:-$repo_dir/reports/out}

"$repo_dir/scripts/setup.sh" || exit $?
mkdir -p "$out_dir"
binary=$build_dir/bin/preflight
if [[ ! -x $binary ]]; then
  echo "run.sh: $binary is missing after the build" >&2
  exit 4
fi
"$binary" node --json "$out_dir/node.json" --html "$out_dir/node.html" "$@"
status=$?
echo "run.sh: reports in $out_dir/node.json and $out_dir/node.html (exit $status)"
exit $status
