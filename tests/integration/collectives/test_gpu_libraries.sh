#!/usr/bin/env bash
# NCCL and the CUDA runtime are loaded at run time; seen from outside the binaries:
#   1. ldd: no binary in bin/ links libnccl, libcudart or libcuda;
#   2. --nccl-lib PATH (and PREFLIGHT_NCCL_LIB) on the collectives, preflight-p2p and
#      `preflight node`: a missing file and a library that is not NCCL exit 2, an NCCL older than
#      the minimum exits 3, each naming the path and the reason; the library asked for is the
#      one the report records;
#   3. with NCCL and the CUDA runtime removed from the loader's reach (a private mount namespace
#      with an empty tmpfs over every directory that holds them): every binary starts, the
#      NCCL/CUDA paths are a skip (exit 3) naming what is missing, --backend auto falls back to
#      MPI and passes, and the GPU code's unit tests (on the host-memory double) pass.
# Exit 0 pass, 1 fail, 77 skip (part 3 only needs mount namespaces; without them it is a skip).
set -u

BIN=${PREFLIGHT_BIN_DIR:?}
BUILD=$(cd "$BIN/.." && pwd)
FAKE=$BUILD/tests/fake
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect CODE PATTERN COMMAND...: runs COMMAND, checks its exit code and that PATTERN (a fixed
# string) is in its output.
expect() {
  local code=$1 pattern=$2
  shift 2
  local output status
  output=$("$@" 2>&1)
  status=$?
  if [[ $status != "$code" ]]; then
    fail "exit $status (wanted $code): $*"
    printf '%s\n' "$output" | tail -5
  elif [[ -n $pattern && $output != *"$pattern"* ]]; then
    fail "no '$pattern' in the output of: $*"
    printf '%s\n' "$output" | tail -5
  else
    echo "ok   exit $status: $*"
  fi
}

# ---- 1. ldd ----
for binary in "$BIN"/*; do
  [[ -x $binary && -f $binary ]] || continue
  linked=$(ldd "$binary" 2>/dev/null | grep -E 'libnccl|libcudart|libcuda\.so' || true)
  if [[ -n $linked ]]; then
    fail "$(basename "$binary") links: $linked"
  fi
done
echo "ok   ldd: no binary in $BIN links libnccl, libcudart or libcuda"

# ---- 2. --nccl-lib error cases ----
missing=/nonexistent/nccl/libnccl.so.2
not_nccl=$FAKE/libnccl-net-fake.so
old=$FAKE/libnccl-old.so
for tool in allreduce allgather reducescatter broadcast alltoall; do
  expect 2 "--nccl-lib $missing: no such file" \
    "$BIN/preflight-$tool" --backend nccl --nccl-lib "$missing"
done
expect 2 "not an NCCL library (no ncclGetVersion)" \
  "$BIN/preflight-allreduce" --backend nccl --nccl-lib "$not_nccl"
expect 2 "README.md" "$BIN/preflight-allreduce" --backend nccl --nccl-lib "$PREFLIGHT_REPO_DIR/README.md"
expect 3 "$old: NCCL 2.16.3 is older than the minimum 2.18.0" \
  "$BIN/preflight-allreduce" --backend nccl --nccl-lib "$old"
expect 2 "--nccl-lib $missing: no such file" \
  env PREFLIGHT_NCCL_LIB=$missing "$BIN/preflight-allgather" --backend nccl
expect 3 "NCCL 2.16.3 is older than the minimum" \
  env PREFLIGHT_NCCL_LIB="$old" "$BIN/preflight-allgather" --backend nccl
expect 2 "--nccl-lib $missing: no such file" \
  "$BIN/preflight-p2p" --transport nccl --nccl-lib "$missing"
expect 2 "not an NCCL library" "$BIN/preflight-p2p" --transport nccl --nccl-lib "$not_nccl"
expect 2 "--nccl-lib $missing: no such file" "$BIN/preflight" node --nccl-lib "$missing"
# The README's examples, on a machine like the one they were taken on.
if [[ ! -e /opt/nccl/build/lib/libnccl.so.2 ]]; then
  expect 2 "--nccl-lib /opt/nccl/build/lib/libnccl.so.2: no such file" \
    "$BIN/preflight-allreduce" --backend nccl --nccl-lib /opt/nccl/build/lib/libnccl.so.2
fi
if ! compgen -G '/proc/driver/nvidia/gpus/*' >/dev/null; then
  expect 3 "--backend nccl: " "$BIN/preflight-allreduce" --backend nccl --sizes 8:1M
fi
if command -v mpirun >/dev/null 2>&1; then
  expect 3 "--transport nccl: --nccl-lib $old: NCCL 2.16.3 is older than the minimum 2.18.0" \
    mpirun -np 2 --oversubscribe --allow-run-as-root "$BIN/preflight-p2p" --transport nccl \
    --nccl-lib "$old"
fi
# The library asked for is the one recorded (an NCCL 2.28.9 stand-in without a GPU behind it).
report=$(mktemp)
"$BIN/preflight-allreduce" --backend nccl --nccl-lib "$FAKE/libnccl-fake.so" --json "$report" \
  >/dev/null 2>&1
recorded=$(python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['inventory']['versions']; \
print(v.get('nccl'), v.get('nccl_library'))" "$report" 2>&1)
rm -f "$report"
if [[ $recorded == "2.28.9 $FAKE/libnccl-fake.so"* ]]; then
  echo "ok   the report records NCCL 2.28.9 from $FAKE/libnccl-fake.so"
else
  fail "the report recorded '$recorded'"
fi

# ---- 3. neither library reachable ----
dirs=()
while read -r path; do
  dirs+=("$(dirname "$(readlink -f "$path")")" "$(dirname "$path")")
done < <(ldconfig -p 2>/dev/null | awk '/libnccl\.so|libcudart\.so|libcuda\.so/ { print $NF }')
for dir in /usr/local/cuda*; do
  [[ -d $dir ]] && dirs+=("$(readlink -f "$dir")")
done
# Outermost directories only: a tmpfs over a directory hides the ones below it.
mapfile -t dirs < <(printf '%s\n' "${dirs[@]}" | sort -u |
  awk '{ for (i = 1; i <= n; i++) if (index($0, kept[i] "/") == 1) next; kept[++n] = $0; print }')
hidden_check=$(mktemp)
cat >"$hidden_check" <<'EOF'
set -u
BIN=$1 BUILD=$2
shift 2
for dir in "$@"; do
  [[ -d $dir ]] || continue
  mount -t tmpfs none "$dir" || exit 77
done
failures=0
check() {  # check CODE PATTERN COMMAND...
  local code=$1 pattern=$2
  shift 2
  local output status
  output=$("$@" 2>&1)
  status=$?
  if [[ $status != "$code" || $output != *"$pattern"* ]]; then
    echo "FAIL (hidden libraries): exit $status (wanted $code, '$pattern'): $*"
    printf '%s\n' "$output" | tail -5
    failures=$((failures + 1))
  else
    echo "ok   (hidden libraries) exit $status: $*"
  fi
}
for binary in "$BIN"/*; do
  [[ -x $binary && -f $binary ]] || continue
  check 0 "" "$binary" --version
done
check 3 "NCCL (libnccl.so.2) not found" "$BIN/preflight-allreduce" --backend nccl --sizes 8
check 0 "backend mpi" "$BIN/preflight-allreduce" --sizes 8:64 --time-per-size 0.01
if command -v mpirun >/dev/null 2>&1; then
  check 3 "--transport nccl: NCCL (libnccl.so.2) not found" mpirun -np 2 --oversubscribe \
    --allow-run-as-root "$BIN/preflight-p2p" --transport nccl
fi
check 3 "no usable CUDA runtime" "$BIN/preflight-p2p" --mem cuda --provider tcp --loopback
# The GPU code's tests on the double need neither library.
check 0 "PASSED" "$BUILD/tests/test_collectives_nccl" --gtest_brief=1 \
  --gtest_filter='NcclLoading.*:CudaLoading.*:NcclDouble.HappyPath*:NcclDoubleBugs.Timing*'
check 0 "PASSED" "$BUILD/tests/test_p2p_nccl" --gtest_brief=1
exit $((failures > 0))
EOF
unshare --mount --propagation private bash "$hidden_check" "$BIN" "$BUILD" "${dirs[@]}"
status=$?
rm -f "$hidden_check"
if ((status == 77)); then
  echo "part 3 not run: no mount namespace here (needs root or user namespaces)"
  ((failures == 0)) && exit 77
elif ((status != 0)); then
  fail "with the libraries hidden"
fi

((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
