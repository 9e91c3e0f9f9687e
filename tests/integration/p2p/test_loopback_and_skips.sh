#!/usr/bin/env bash
# --loopback through one device (tcp on lo here; on EFA: shm disabled); --all-devices without EFA
# is a skip with its reason; --mem cuda and --transport nccl without a GPU skip (exit 3) cleanly;
# one process without a peer skips; bad flags exit 2 naming the flag.
source "$(dirname "$0")/lib.sh"
"$BIN" --loopback --provider tcp --domain lo --test latency,bw --sizes 1,64K "${QUICK[@]}" \
  --json "$WORK/lo.json" > "$WORK/lo.txt"
cat "$WORK/lo.txt"
check_report "$WORK/lo.json" 4 tcp
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['details']['transport']['domain']=='lo'" "$WORK/lo.json"

expect_exit() {
  local want="$1" pattern="$2"; shift 2
  set +e
  "$@" > "$WORK/out.txt" 2>&1
  local got=$?
  set -e
  cat "$WORK/out.txt"
  [[ $got -eq $want ]] || fail "$* exited $got, expected $want"
  grep -q -- "$pattern" "$WORK/out.txt" || fail "$*: output lacks '$pattern'"
}
if [[ ! -e /sys/class/infiniband ]] || ! ls /sys/class/infiniband | grep -q .; then
  expect_exit 3 "no EFA device" "$BIN" --all-devices --sizes 1
fi
if ! ls /dev/nvidia0 > /dev/null 2>&1; then
  # Named: no CUDA runtime to load, or no device behind it (this machine: no driver).
  expect_exit 3 "--mem cuda: no usable CUDA" "$BIN" --loopback --provider shm --mem cuda --sizes 1
  if [[ -n "$MPIEXEC" && -x "$MPIEXEC" ]]; then
    expect_exit 3 "--transport nccl: \(no usable CUDA\|NCCL (libnccl.so.2) not found\)" \
      mpi 2 "$BIN" --transport nccl --sizes 1
  fi
fi
expect_exit 3 "needs 2 ranks" "$BIN" --provider shm --sizes 1
expect_exit 2 "--window" "$BIN" --window 0
expect_exit 2 "--op" "$BIN" --op fly
expect_exit 3 "no-such-provider" "$BIN" --loopback --provider no-such-provider --sizes 1
