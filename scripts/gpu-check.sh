#!/usr/bin/env bash
# gpu-check.sh: every GPU path of preflight on this machine's GPUs, in one run, with one summary.
#
#   scripts/gpu-check.sh [--build-dir DIR] [--out DIR] [--nccl-lib PATH] [--quick]
#
# Without a GPU it says so and exits 3 at once (nothing is built). With GPUs it takes DIR (a
# configured and built tree with bin/), or builds build/ with scripts/setup.sh, then runs:
#   collectives   the five collectives, --backend nccl --check 1 on every local GPU (mpirun when
#                 there are several): float/half/bfloat16 sums, FP8 where the GPUs have it, one
#                 run in CUDA graphs, one per-iteration run, NCCL's INFO/TUNING log captured;
#   nccl-lib      all_reduce with --nccl-lib pointed at the system NCCL (or --nccl-lib PATH), and
#                 the path and version the report records checked against it;
#   p2p           preflight-p2p --transport nccl (two GPUs or more) and --mem cuda (libfabric
#                 shm and tcp loopback with FI_HMEM);
#   probes        preflight-drivers, -topology and -versions live (NVML, the driver, NCCL found);
#   node          `preflight node`;
#   unit          the unit tests labelled gpu (ctest -L gpu), when DIR has them.
# Every step has a timeout; on one GPU the whole run takes under 8 minutes. Reports, logs and
# summary.txt / summary.json (one line per path: pass, fail or skip, exit code, seconds) go to
# the output directory (default gpu-check-<UTC time>/).
# Exit: 0 every path passed or was skipped, 1 a path failed, 2 usage, 3 no GPU here.
set -uo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=""
out_dir=""
nccl_lib=""
quick=0

usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while (($# > 0)); do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
    --out) out_dir=${2:?--out needs a directory}; shift ;;
    --nccl-lib) nccl_lib=${2:?--nccl-lib needs a path}; shift ;;
    --quick) quick=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# ---- a GPU? (cheap: no build, no CUDA call) ----
gpu_count=0
if [[ -d /proc/driver/nvidia/gpus ]]; then
  for _gpu in /proc/driver/nvidia/gpus/*; do
    [[ -e $_gpu ]] && gpu_count=$((gpu_count + 1))
  done
fi
if ((gpu_count == 0)) && command -v nvidia-smi >/dev/null 2>&1; then
  gpu_count=$(timeout 3 nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
if ((gpu_count == 0)); then
  echo "gpu-check.sh: skip: no NVIDIA GPU on this machine (no /proc/driver/nvidia/gpus entry," \
    "no GPU in nvidia-smi -L); nothing was built or run"
  exit 3
fi

# ---- the build ----
if [[ -z $build_dir ]]; then
  build_dir=$repo_dir/build
  if [[ ! -x $build_dir/bin/preflight ]]; then
    echo "gpu-check.sh: building $build_dir with scripts/setup.sh"
    PREFLIGHT_BUILD_DIR=$build_dir "$repo_dir/scripts/setup.sh" || {
      echo "gpu-check.sh: the build failed" >&2
      exit 1
    }
  fi
fi
bin=$build_dir/bin
if [[ ! -x $bin/preflight-allreduce ]]; then
  echo "gpu-check.sh: $bin has no preflight binaries (--build-dir must be a built tree)" >&2
  exit 2
fi
out_dir=${out_dir:-$PWD/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out_dir" || exit 2
summary_txt=$out_dir/summary.txt
summary_json=$out_dir/summary.json
: >"$summary_txt"
json_rows=()
failures=0
started=$SECONDS

# Launcher for the collectives: one rank per GPU.
launch=()
if ((gpu_count > 1)); then
  if ! command -v mpirun >/dev/null 2>&1; then
    echo "gpu-check.sh: $gpu_count GPUs but no mpirun: the collectives run on one GPU" >&2
  else
    launch=(mpirun -np "$gpu_count" --bind-to none)
    if [[ $(id -u) == 0 ]]; then
      launch+=(--allow-run-as-root)
    fi
  fi
fi
ranks=$((${#launch[@]} > 0 ? gpu_count : 1))  # of each collective run

# record NAME CODE SECONDS NOTE: one summary line.
record() {
  local name=$1 code=$2 seconds=$3 note=$4 status
  case $code in
    0) status=pass ;;
    3) status=skip ;;
    *) status=fail; failures=$((failures + 1)) ;;
  esac
  printf '%-5s %-28s exit %3s %6ss  %s\n' "${status^^}" "$name" "$code" "$seconds" "$note" |
    tee -a "$summary_txt"
  json_rows+=("$(printf '{"path": "%s", "status": "%s", "exit": %s, "seconds": %s, "note": "%s"}' \
    "$name" "$status" "$code" "$seconds" "${note//\"/\'}")")
}

# step NAME TIMEOUT COMMAND...: runs COMMAND with its output in NAME.log, records its exit code.
step() {
  local name=$1 limit=$2
  shift 2
  local begin=$SECONDS code
  timeout --kill-after=10 "$limit" "$@" >"$out_dir/$name.log" 2>&1
  code=$?
  local log=$out_dir/$name.log note
  # The line that says why: the first failure, else (a skip) the first skip, else the verdict.
  note=$(grep -m1 -E '^(FAIL|ERROR|TIMEOUT) ' "$log")
  ((code == 3)) && [[ -z $note ]] && note=$(grep -m1 -E '^SKIP ' "$log")
  [[ -z $note ]] && note=$(grep -E '^verdict|tests passed|usage error|error:' "$log" | tail -1)
  note=$(printf '%s' "$note" | tr -s ' ' | cut -c1-140)
  ((code == 124)) && note="timeout after ${limit} s; $note"
  # ctest exits 0 when every test was skipped: that is a skip, never a pass.
  if [[ $name == unit-* ]] && ((code == 0)) &&
    ! grep -q ' Passed ' "$log" && grep -q 'Skipped' "$log"; then
    code=3
    note="every GPU unit test skipped: $note"
  fi
  record "$name" "$code" $((SECONDS - begin)) "$note"
  return 0
}

sizes=8:256M:x8
((quick)) && sizes=8:16M:x16
common=(--check 1 --time-per-size 0.2 --timeout 60)

echo "gpu-check.sh: $gpu_count GPU(s), binaries from $bin, reports in $out_dir"

# ---- collectives on every GPU ----
for collective in allreduce allgather reducescatter broadcast alltoall; do
  step "nccl-$collective" 120 "${launch[@]}" "$bin/preflight-$collective" --backend nccl \
    --sizes "$sizes" --dtype float,half,bfloat16 "${common[@]}" \
    --nccl-log "$out_dir/nccl-$collective.nccl.log" --json "$out_dir/nccl-$collective.json"
done
step nccl-allreduce-fp8 90 "${launch[@]}" "$bin/preflight-allreduce" --backend nccl \
  --sizes 8:16M:x16 --dtype f8e4m3,f8e5m2 --op sum,max "${common[@]}" \
  --json "$out_dir/nccl-allreduce-fp8.json"
step nccl-allreduce-graph 90 "${launch[@]}" "$bin/preflight-allreduce" --backend nccl \
  --sizes 8:16M:x16 --cuda-graph "${common[@]}" --json "$out_dir/nccl-allreduce-graph.json"
step nccl-allreduce-per-iteration 90 "${launch[@]}" "$bin/preflight-allreduce" --backend nccl \
  --sizes 8:16M:x16 --timing per-iteration "${common[@]}" \
  --json "$out_dir/nccl-allreduce-per-iteration.json"

# ---- --nccl-lib at the system NCCL ----
if [[ -z $nccl_lib ]]; then
  nccl_lib=$(ldconfig -p 2>/dev/null | awk '/libnccl\.so\.2 / { print $NF; exit }')
fi
if [[ -z $nccl_lib ]]; then
  for candidate in /usr/local/cuda/lib64/libnccl.so.2 /usr/local/cuda/lib/libnccl.so.2 \
    /opt/nccl/build/lib/libnccl.so.2; do
    [[ -e $candidate ]] && { nccl_lib=$candidate; break; }
  done
fi
if [[ -n $nccl_lib ]]; then
  step nccl-lib 90 "${launch[@]}" "$bin/preflight-allreduce" --backend nccl --nccl-lib "$nccl_lib" \
    --sizes 8:16M:x16 "${common[@]}" --json "$out_dir/nccl-lib.json"
  recorded=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["inventory"]["versions"].get("nccl_library", ""))' \
    "$out_dir/nccl-lib.json" 2>/dev/null)
  if [[ $(readlink -f "${recorded%% -> *}") == "$(readlink -f "$nccl_lib")" ]]; then
    record nccl-lib-recorded 0 0 "the report names $recorded"
  else
    record nccl-lib-recorded 1 0 "asked for $nccl_lib, the report names '${recorded}'"
  fi
else
  record nccl-lib 3 0 "no system libnccl.so.2 found (give --nccl-lib PATH)"
fi

# ---- point to point ----
if ((gpu_count >= 2)) && command -v mpirun >/dev/null 2>&1; then
  p2p_launch=(mpirun -np 2 --bind-to none)
  [[ $(id -u) == 0 ]] && p2p_launch+=(--allow-run-as-root)
  step p2p-nccl 120 "${p2p_launch[@]}" "$bin/preflight-p2p" --transport nccl --test latency,bw,bibw \
    --sizes 1:64M:x16 --time-per-size 0.2 --json "$out_dir/p2p-nccl.json"
else
  record p2p-nccl 3 0 "needs two GPUs (NCCL refuses two ranks on one GPU) and mpirun"
fi
for provider in shm tcp; do
  step "p2p-cuda-$provider" 90 "$bin/preflight-p2p" --mem cuda --provider "$provider" --loopback \
    --test latency,bw --sizes 1:16M:x16 --time-per-size 0.2 --json "$out_dir/p2p-cuda-$provider.json"
done

# ---- probes, live ----
for probe in drivers topology versions; do
  step "probe-$probe" 60 "$bin/preflight-$probe" --json "$out_dir/probe-$probe.json"
done

# ---- the node plan ----
node_args=(node --json "$out_dir/node.json" --keep-work-dir)
[[ -n $nccl_lib ]] && node_args+=(--nccl-lib "$nccl_lib")
step node 120 "$bin/preflight" "${node_args[@]}"

# ---- GPU unit tests ----
if [[ -f $build_dir/CTestTestfile.cmake ]] && command -v ctest >/dev/null 2>&1; then
  step unit-gpu 120 ctest --test-dir "$build_dir" -L gpu --output-on-failure
fi

# ---- summary ----
{
  printf '{"gpus": %s, "collective_ranks": %s, "seconds": %s, "failures": %s, "paths": [' \
    "$gpu_count" "$ranks" $((SECONDS - started)) "$failures"
  (IFS=,; printf '%s' "${json_rows[*]}")
  printf ']}\n'
} >"$summary_json"
echo "gpu-check.sh: $((SECONDS - started)) s, $failures failure(s); summary in $summary_txt"
((failures == 0)) || exit 1
exit 0
