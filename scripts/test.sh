#!/usr/bin/env bash
# The README's second command: installs what is missing (with the test tools), builds, and runs
# every test with CTest. Tests needing what this machine lacks (GPU, EFA, root) report "skip".
#
#   scripts/test.sh                   the whole suite (build/)
#   scripts/test.sh -L unit           only a label: unit, mpi, fabric, gpu, probes, collectives,
#                                     p2p, reports, cli, scripts, vcluster, integration, fuzz
#   scripts/test.sh --sanitize        ASan + UBSan build (build-asan/) running the whole suite
#   scripts/test.sh --tsan            TSan build (build-tsan/) of the threaded tests
# Other arguments are passed to ctest.
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ctest_args=()
export PREFLIGHT_BUILD_DIR=${PREFLIGHT_BUILD_DIR:-$repo_dir/build}
for arg in "$@"; do
  case "$arg" in
    --sanitize)
      export PREFLIGHT_BUILD_DIR=$repo_dir/build-asan
      export PREFLIGHT_CMAKE_ARGS="-DPREFLIGHT_SANITIZE=address,undefined -DPREFLIGHT_BUILD_BENCH=OFF ${PREFLIGHT_CMAKE_ARGS:-}"
      # Open MPI's own allocations are not ours to fix.
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
      ;;
    --tsan)
      export PREFLIGHT_BUILD_DIR=$repo_dir/build-tsan
      export PREFLIGHT_CMAKE_ARGS="-DPREFLIGHT_SANITIZE=thread -DPREFLIGHT_BUILD_BENCH=OFF ${PREFLIGHT_CMAKE_ARGS:-}"
      ctest_args+=(-L unit)
      ;;
    *) ctest_args+=("$arg") ;;
  esac
done

"$repo_dir/scripts/setup.sh" --test-tools
cd "$PREFLIGHT_BUILD_DIR"
# Two cores: two tests at a time; MPI tests oversubscribe on purpose.
ctest --output-on-failure -j "${PREFLIGHT_TEST_JOBS:-2}" --timeout 600 "${ctest_args[@]}"
