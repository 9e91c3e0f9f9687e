#!/usr/bin/env bash
# test_check_layers.sh: scripts/check-layers.sh on a scratch repository
#   1. includes down the layer order, within a layer, of system and generated headers, from
#      tests/ and bench/ to anything, and the sideways edges the script names pass (exit 0);
#   2. one include up the order (domain -> collectives), one between siblings that is not a named
#      edge (p2p -> probes/judge_efa.hpp) and one from a layer to one above it through a header
#      (common/bad.hpp -> reports/) are each listed with file and line, and the exit is 1.
# Exit: 0 pass, 1 fail.
set -u
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for dir in scripts common domain reports harness probes collectives p2p cli tests bench; do
  mkdir -p "$work/$dir"
done
cp "$REPO/scripts/check-layers.sh" "$work/scripts/"
printf '#include <vector>\n#include "common/text.hpp"\n' >"$work/common/text.cpp"
printf '#include "common/text.hpp"\n#include "domain/dtype.hpp"\n' >"$work/domain/dtype.cpp"
printf '#include "domain/dtype.hpp"\n#include "preflight/build_config.hpp"\n' >"$work/reports/report.cpp"
printf '#include "reports/report.hpp"\n' >"$work/harness/guard.cpp"
printf '#include "harness/guard.hpp"\n#include "probes/gather_topology.hpp"\n' >"$work/p2p/rail_order.cpp"
printf '#include "p2p/judgement_report.hpp"\n#include "reports/report.hpp"\n' >"$work/cli/cluster.cpp"
printf '#include "cli/plans.hpp"\n#include "p2p/runner.hpp"\n' >"$work/tests/test_all.cpp"
printf '#include "collectives/runner.hpp"\n' >"$work/bench/bench.cpp"
git -C "$work" init -q && git -C "$work" add -A

output=$(cd "$work" && bash scripts/check-layers.sh 2>&1)
status=$?
[[ $status == 0 && $output == ok:* ]] || fail "a tree that follows the order: exit $status: $output"

printf '#include "domain/dtype.hpp"\n#include "collectives/runner.hpp"\n' >"$work/domain/bad.cpp"
printf '#include "p2p/pair_test.hpp"\n#include "probes/judge_efa.hpp"\n' >"$work/p2p/bad.cpp"
printf '#pragma once\n#include "reports/report.hpp"\n' >"$work/common/bad.hpp"
git -C "$work" add -A
output=$(cd "$work" && bash scripts/check-layers.sh 2>&1)
status=$?
echo "$output"
[[ $status == 1 ]] || fail "three includes against the order: exit $status, expected 1"
for expected in "domain/bad.cpp:2: domain includes collectives/runner.hpp" \
  "p2p/bad.cpp:2: p2p includes probes/judge_efa.hpp" \
  "common/bad.hpp:2: common includes reports/report.hpp"; do
  grep -qF "  $expected" <<<"$output" || fail "not listed: $expected"
done
[[ $(grep -c '^  ' <<<"$output") == 3 ]] || fail "expected exactly 3 listed includes"

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: check-layers.sh lists the includes against the layer order and only those"
