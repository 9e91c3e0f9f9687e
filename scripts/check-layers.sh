#!/usr/bin/env bash
# The layering rule, checked: every project #include in a layer's sources names a header of that
# layer or of a layer below it (docs/ARCHITECTURE.md, "Layers"). Sideways edges are allowed only
# where this file names the header and says why.
#
#   scripts/check-layers.sh    list every include that breaks the order (exit 1 if any)
#
# tests/ and bench/ may include any layer: they test and measure them. Exit 77 (skip) outside a
# git checkout (the file list comes from git).
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"
[[ -d .git || -f .git ]] || { echo "skip: not a git checkout (the file list comes from git)"; exit 77; }

# What each layer may include, bottom to top.
declare -A allowed=(
  [common]="common"
  [domain]="domain common"
  [reports]="reports domain common"
  [harness]="harness reports domain common"
  [probes]="probes reports domain common"
  [collectives]="collectives harness reports domain common"
  [p2p]="p2p harness reports domain common"
  [cli]="cli reports domain common"
)
# Sideways edges, header by header, each with its reason.
declare -A sideways=(
  # p2p orders its rails (the GPU-local NIC first) by the topology the probes gather and judge.
  [p2p:probes/gather_topology.hpp]=1
  [p2p:probes/judge_topology.hpp]=1
  # p2p names each node's instance type (for its platform's per-NIC rate) as the probes detect it.
  [p2p:probes/instance_type.hpp]=1
  # The cluster plan renders the verdict that p2p judged, from p2p's report details.
  [cli:p2p/judgement_report.hpp]=1
)
layers=("${!allowed[@]}")

violations=()
while IFS= read -r file; do
  layer=${file%%/*}
  [[ -n ${allowed[$layer]:-} ]] || continue
  while IFS=: read -r line header; do
    target=${header%%/*}
    [[ -n ${allowed[$target]:-} ]] || continue  # a system or generated header (preflight/...)
    if [[ " ${allowed[$layer]} " == *" $target "* || -n ${sideways[$layer:$header]:-} ]]; then
      continue
    fi
    violations+=("$file:$line: $layer includes $header ($target is not below $layer)")
  done < <(grep -n -o -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$file" |
    sed -E 's/^([0-9]+):.*"([^"]+)"$/\1:\2/')
done < <(git ls-files "${layers[@]/%//*.cpp}" "${layers[@]/%//*.hpp}" "${layers[@]/%//*.cu}" \
  "${layers[@]/%//*.cuh}" "${layers[@]/%//*.in}")

if ((${#violations[@]} > 0)); then
  echo "FAIL: ${#violations[@]} include(s) against the layer order (docs/ARCHITECTURE.md):"
  printf '  %s\n' "${violations[@]}"
  exit 1
fi
echo "ok: every include follows the layer order (${#layers[@]} layers; sideways edges:" \
  "${#sideways[@]}, each named in scripts/check-layers.sh)"
