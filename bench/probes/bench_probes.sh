#!/usr/bin/env bash
# Wall time of each probe binary: median of repeated runs (hyperfine when installed, else a
# timing loop), live on this machine and on the fixture trees. Prints a Markdown table.
#
#   bench/probes/bench_probes.sh [BIN_DIR] [RUNS]
#
# Every run passes --no-imds (or a fixture root): the instance metadata service is never asked,
# and a machine off EC2 does not measure its 1 s timeout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$repo/build/bin}
runs=${2:-30}
sysfs=$repo/tests/fixtures/sysfs
topology=$repo/tests/fixtures/topology
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/preflight-efa" --root "$sysfs/p5en-counters-before" --save-counters "$work/before.json" \
  --quiet || true

declare -a names commands
add() {
  names+=("$1")
  commands+=("$2")
}
add "preflight-versions (live)" "$bin/preflight-versions --no-imds --quiet"
add "preflight-versions --root old-versions" "$bin/preflight-versions --root $sysfs/old-versions --quiet"
add "preflight-drivers (live)" "$bin/preflight-drivers --no-imds --quiet"
add "preflight-drivers --root p5en-healthy" "$bin/preflight-drivers --root $sysfs/p5en-healthy --quiet"
add "preflight-topology (live, hwloc)" "$bin/preflight-topology --no-imds --quiet"
add "preflight-topology --hwloc-xml p5.xml" "$bin/preflight-topology --hwloc-xml $topology/p5.xml --quiet"
add "preflight-env (live)" "$bin/preflight-env --no-imds --quiet"
add "preflight-efa (live)" "$bin/preflight-efa --no-imds --quiet"
add "preflight-efa --root p5en-counters-after --baseline-counters" \
  "$bin/preflight-efa --root $sysfs/p5en-counters-after --baseline-counters $work/before.json --quiet"
if command -v fi_info >/dev/null; then
  add "reference: fi_info -l (libfabric load + provider init alone)" "fi_info -l"
fi

median_ms_loop() {
  # Median of $runs runs of "$@" (exit codes 0, 1 and 3 are results, not errors).
  local samples=()
  for ((i = 0; i < runs; i++)); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    samples+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f %.1f %.1f", m / 1000, a[1] / 1000, a[NR] / 1000 }'
}

tool="timing loop"
if command -v hyperfine >/dev/null; then
  tool="hyperfine $(hyperfine --version | awk '{print $2}')"
fi
echo "| probe | median (ms) | min (ms) | max (ms) | runs |"
echo "|---|---:|---:|---:|---:|"
for i in "${!names[@]}"; do
  if [[ $tool == hyperfine* ]]; then
    hyperfine --shell=none --warmup 3 --runs "$runs" -i --export-json "$work/h.json" \
      "${commands[$i]}" >/dev/null 2>&1
    read -r median min max < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.1f %.1f %.1f" % (r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))' "$work/h.json")
  else
    # shellcheck disable=SC2086 # the command is a word list on purpose
    read -r median min max < <(median_ms_loop ${commands[$i]})
  fi
  echo "| ${names[$i]} | $median | $min | $max | $runs |"
done
echo
echo "Tool: $tool; $(nproc) CPUs; $(uname -sr); $(date -u +%Y-%m-%d)."
