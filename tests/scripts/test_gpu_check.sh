#!/usr/bin/env bash
# test_gpu_check.sh: scripts/gpu-check.sh
#   1. on a machine without a GPU: says so and exits 3 within 5 s, before building anything;
#   2. with one GPU made to appear (a private mount namespace with a /proc/driver/nvidia/gpus
#      entry; the CUDA runtime still finds no device): runs every path against the build, writes
#      one summary line per path (pass, fail or skip, never a skipped path as a pass) and a
#      summary.json that parses, and exits 0.
# Exit: 0 pass, 1 fail, 77 skip (a real GPU here: part 1 cannot run; no mount namespace: part 2).
set -u
REPO=${PREFLIGHT_REPO_DIR:?}
BIN=${PREFLIGHT_BIN_DIR:?}
BUILD=$(cd "$BIN/.." && pwd)
script=$REPO/scripts/gpu-check.sh
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if compgen -G '/proc/driver/nvidia/gpus/*' >/dev/null; then
  echo "SKIP: this machine has a GPU; run scripts/gpu-check.sh itself"
  exit 77
fi

# ---- 1. no GPU ----
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
begin=$(date +%s%N)
output=$("$script" --build-dir "$work/never-built" --out "$work/out" 2>&1)
status=$?
elapsed_ms=$((($(date +%s%N) - begin) / 1000000))
[[ $status == 3 ]] || fail "exit $status without a GPU (wanted 3): $output"
[[ $output == *"no NVIDIA GPU on this machine"* ]] || fail "no reason given: $output"
((elapsed_ms < 5000)) || fail "took $elapsed_ms ms without a GPU (limit 5000)"
[[ ! -e $work/never-built && ! -e $work/out ]] || fail "built or wrote something without a GPU"
echo "ok   no GPU: exit 3 in $elapsed_ms ms: $output"

# ---- 2. one GPU as far as the script can tell ----
# shellcheck disable=SC2016  # the inner script expands its own arguments
unshare --mount --propagation private bash -c '
  mount -t tmpfs none /proc/driver 2>/dev/null || exit 77
  mkdir -p /proc/driver/nvidia/gpus/0000:10:00.0
  "$1" --build-dir "$2" --out "$3" --quick' _ "$script" "$BUILD" "$work/run" >"$work/run.log" 2>&1
status=$?
if ((status == 77)); then
  echo "part 2 not run: no mount namespace here"
  ((failures == 0)) && exit 77
  exit 1
fi
[[ $status == 0 ]] || { fail "exit $status with a GPU that has no device behind it"; cat "$work/run.log"; }
summary=$work/run/summary.txt
for path in nccl-allreduce nccl-allgather nccl-reducescatter nccl-broadcast nccl-alltoall \
  nccl-allreduce-fp8 nccl-allreduce-graph nccl-allreduce-per-iteration nccl-lib \
  nccl-lib-recorded p2p-nccl p2p-cuda-shm p2p-cuda-tcp probe-drivers probe-topology \
  probe-versions node unit-gpu; do
  line=$(grep -E "^(PASS|FAIL|SKIP) +$path " "$summary" || true)
  [[ -n $line ]] || fail "no summary line for $path"
done
# Without a CUDA device every NCCL and CUDA path is a skip, and the GPU unit tests too.
for path in nccl-allreduce nccl-allreduce-fp8 nccl-lib p2p-cuda-shm unit-gpu; do
  grep -qE "^SKIP +$path " "$summary" || fail "$path is not a skip: $(grep " $path " "$summary")"
done
grep -qE "^PASS +nccl-lib-recorded " "$summary" || fail "the report did not name the NCCL asked for"
python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
assert s["gpus"] == 1 and len(s["paths"]) == 18, s
assert all(p["status"] in ("pass", "fail", "skip") for p in s["paths"])' \
  "$work/run/summary.json" || fail "summary.json"
cat "$summary"
((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
