#!/usr/bin/env bash
# The README's second command: installs what is missing (with the test tools), builds, and runs
# every test with CTest. Tests needing what this machine lacks (GPU, EFA, root) report "skip".
#
#   scripts/test.sh                   the whole suite (build/, the compiler CMake picks)
#   scripts/test.sh -L unit           only a label: unit, mpi, fabric, gpu, probes, collectives,
#                                     p2p, reports, cli, scripts, vcluster, integration, fuzz,
#                                     threads
#   scripts/test.sh --sanitize        clang, ASan + UBSan, with the libFuzzer targets (build-asan/):
#                                     the whole suite, fuzz smoke included
#   scripts/test.sh --tsan            clang, TSan (build-tsan/): the threaded tests (-L threads)
#   scripts/test.sh --sanitize --tsan both; the TSan build runs at the lowest priority while the
#                                     ASan suite runs (it mostly waits on launches and deadlines).
#                                     This is CI (.ci/run).
# Other arguments are passed to every ctest run.
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=0
tsan=0
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    --tsan) tsan=1 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

# Sanitizer builds: clang (its UBSan also checks float-to-integer casts) at -O0 with line tables.
# Measured here on two cores: the ASan + UBSan build takes 263 s at -O0 and 504 s at -O1, and the
# suite 371 s against 265 s (it mostly waits on launches and deadlines): -O0 is 140 s quicker in
# all, and no optimisation removes a memory access before ASan sees it.
sanitizer_cmake_args=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_C_FLAGS=-O0 -gline-tables-only"
  "-DCMAKE_CXX_FLAGS=-O0 -gline-tables-only" -DPREFLIGHT_BUILD_BENCH=OFF)
asan_dir=$repo_dir/build-asan
tsan_dir=$repo_dir/build-tsan
# The sanitizer runtimes' options (no leak checking, stop at the first report) are built into
# every executable: cmake/sanitizer_defaults.cpp.

# Three tests at a time on two cores: most of the suite waits (on launches, deadlines, throttled
# virtual links), measured 40% busy at -j2; the ASan suite took 762 s at -j2 and 598 s at -j3 here
# with the same load. Tests that need the CPUs to themselves hold the CTest resource lock "cpu";
# the virtual-cluster tests hold "vcluster". MPI tests oversubscribe on purpose.
run_ctest() {  # DIR [ARGS...]
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure -j "${PREFLIGHT_TEST_JOBS:-3}" --timeout 600 "$@")
}

if [[ $sanitize == 0 && $tsan == 0 ]]; then
  "$repo_dir/scripts/setup.sh" --test-tools
  run_ctest "${PREFLIGHT_BUILD_DIR:-$repo_dir/build}" "${ctest_args[@]}"
  exit
fi

"$repo_dir/scripts/setup.sh" --test-tools --no-build
export CC=clang CXX=clang++
# CMake keeps the compiler of a directory's first configuration: one made by another compiler
# (an earlier GCC --sanitize build, say) is started afresh.
for dir in "$asan_dir" "$tsan_dir"; do
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++$' "$dir/CMakeCache.txt"; then
    echo "test.sh: $dir was configured with another compiler; configuring it afresh"
    rm -rf "$dir"
  fi
done
status=0
tsan_build_pid=
if [[ $tsan == 1 ]]; then
  # Only the threaded tests and what they link; no GPU code among them.
  tsan_build() {  # NICENESS
    PREFLIGHT_BUILD_DIR=$tsan_dir PREFLIGHT_BUILD_TARGETS=preflight_threaded_tests \
      nice -n "$1" "$repo_dir/scripts/setup.sh" -- "${sanitizer_cmake_args[@]}" \
      -DPREFLIGHT_SANITIZE=thread -DPREFLIGHT_WITH_CUDA=OFF -DPREFLIGHT_WITH_NCCL=OFF
  }
fi
if [[ $sanitize == 1 ]]; then
  PREFLIGHT_BUILD_DIR=$asan_dir "$repo_dir/scripts/setup.sh" -- "${sanitizer_cmake_args[@]}" \
    -DPREFLIGHT_SANITIZE=address,undefined -DPREFLIGHT_BUILD_FUZZ=ON
  if [[ $tsan == 1 ]]; then
    echo "test.sh: building $tsan_dir at nice 19 while the ASan suite runs (log: $tsan_dir.build.log)"
    tsan_build 19 >"$tsan_dir.build.log" 2>&1 &
    tsan_build_pid=$!
  fi
  echo "test.sh: ASan + UBSan suite ($asan_dir)"
  run_ctest "$asan_dir" "${ctest_args[@]}" || status=1
fi
if [[ $tsan == 1 ]]; then
  if [[ -n $tsan_build_pid ]]; then
    if ! wait "$tsan_build_pid"; then
      cat "$tsan_dir.build.log" >&2
      echo "test.sh: the TSan build failed" >&2
      exit 1
    fi
  else
    tsan_build 0
  fi
  echo "test.sh: TSan suite ($tsan_dir, -L threads)"
  run_ctest "$tsan_dir" -L threads "${ctest_args[@]}" || status=1
fi
exit $status
