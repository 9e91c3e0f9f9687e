#!/usr/bin/env bash
# preflight-allreduce as a drop-in for all_reduce_perf under mpirun (the README's example):
#   - the issue's nccl-tests command line runs and ends with nccl-tests' two footer lines, which
#     the usual scripts (grep "Avg bus bandwidth" | awk '{print $6}') read as a number;
#   - a flag that cannot mean the same here (-g 2) exits 2 with one message for the whole job,
#     not one per rank; so does a typo, named with the nearest flag.
#
#   nccl_tests_dropin.sh BIN_DIR MPIRUN...
set -u
bin_dir=$1
shift
mpirun=("$@")
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

"${mpirun[@]}" -np 2 "$bin_dir/preflight-allreduce" -b 8 -e 1M -f 4 -g 1 -n 20 -c 1 \
  >"$workdir/out" 2>"$workdir/err"
rc=$?
[ "$rc" = 0 ] || fail "the nccl-tests command line exited $rc: $(cat "$workdir/err")"
[ "$(grep -c '^# Out of bounds values : 0 OK$' "$workdir/out")" = 1 ] ||
  fail "no single '# Out of bounds values : 0 OK' line"
average=$(grep 'Avg bus bandwidth' "$workdir/out" | awk '{print $6}')
[[ $average =~ ^[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$ ]] ||
  fail "'Avg bus bandwidth' does not give a number in field 6: '$average'"
grep -q '^# Avg bus bandwidth    : [0-9.e+-]* $' "$workdir/out" ||
  fail "the average line is not '# Avg bus bandwidth    : X ' as nccl-tests prints it"
[ "$(grep -c 'float     sum      -1' "$workdir/out")" = 9 ] || fail "expected 9 rows (8 B .. 512 KiB)"

"${mpirun[@]}" -np 3 "$bin_dir/preflight-allreduce" -b 8 -e 1M -f 2 -g 2 \
  >"$workdir/out" 2>"$workdir/err"
rc=$?
[ "$rc" = 2 ] || fail "-g 2 exited $rc, expected 2"
[ "$(grep -c 'usage error: -g 2: cannot mean the same here' "$workdir/err")" = 1 ] ||
  fail "-g 2: expected one message for the job: $(cat "$workdir/err")"

"${mpirun[@]}" -np 2 "$bin_dir/preflight-allreduce" --sise 8 >"$workdir/out" 2>"$workdir/err"
rc=$?
[ "$rc" = 2 ] || fail "--sise exited $rc, expected 2"
[ "$(grep -c "unknown option '--sise' (did you mean '--sizes'?)" "$workdir/err")" = 1 ] ||
  fail "--sise: expected one suggestion for the job: $(cat "$workdir/err")"

if [ "$failures" != 0 ]; then
  exit 1
fi
echo "nccl-tests drop-in: footer, once-per-job usage errors and suggestions as expected"
