#!/usr/bin/env bash
# A killed process's shm segment under a pid this process now has: libfabric's shm provider names
# its segment /dev/shm/<pid>:<uid>:<endpoint>; when one is left with a live owner recorded in it
# (pids are reused, and a SIGKILL or a sanitizer abort leaves the segment behind), fi_enable fails
# with FI_EBUSY. preflight-p2p opens a fresh endpoint once, says why, and measures.
#
# Planted for real: the live segment of a running loopback is copied to /dev/shm/<pid>:<uid>:0
# under the pid of a shell that then execs preflight-p2p (exec keeps the pid).
source "$(dirname "$0")/lib.sh"
[[ -d /dev/shm && -w /dev/shm ]] || skip "no writable /dev/shm"
uid=$(id -u)

"$BIN" --loopback --provider shm --test bw --sizes 1M --time-per-size 20 --timeout 60 \
  > "$WORK/owner.txt" 2>&1 &
owner=$!
planted=""
cleanup_owner() {
  kill "$owner" 2>/dev/null || true
  wait "$owner" 2>/dev/null || true
  [[ -z $planted ]] || rm -f "/dev/shm/$planted"
  rm -rf "$WORK"
}
trap cleanup_owner EXIT
live=""
for _ in $(seq 100); do
  # Both of the loopback's endpoints enabled: segment 0 is complete (its owner's pid written).
  [[ -e /dev/shm/$owner:$uid:1 ]] && { sleep 0.2; live=/dev/shm/$owner:$uid:0; break; }
  kill -0 "$owner" 2>/dev/null || { cat "$WORK/owner.txt"; fail "the loopback owning the segment ended"; }
  sleep 0.1
done
[[ -n $live ]] || skip "no shm segments named <pid>:<uid>:0 and :1 after 10 s (this libfabric names them otherwise)"

set +e
bash -c 'cp "$1" "/dev/shm/$$:$2:0" && echo "$$:$2:0" > "$3" && exec "${@:4}"' planter \
  "$live" "$uid" "$WORK/planted" \
  "$BIN" --loopback --provider shm --test latency --sizes 8 "${QUICK[@]}" \
  --json "$WORK/run.json" > "$WORK/run.txt" 2>&1
status=$?
set -e
planted=$(cat "$WORK/planted" 2>/dev/null || true)
cat "$WORK/run.txt"
[[ -n $planted ]] || fail "the stale segment was not planted"
[[ $status -eq 0 ]] || fail "preflight-p2p exited $status with a stale segment under its pid"
grep -q "FI_EBUSY" "$WORK/run.txt" ||
  skip "this libfabric ($(fi_info --version 2>/dev/null | head -1)) took over the planted segment without FI_EBUSY"
grep -q "opening a new endpoint" "$WORK/run.txt" || fail "the retry was not said"
check_report "$WORK/run.json" 1 shm
echo "OK: a stale segment under this pid ($planted) cost one endpoint, the run passed"
