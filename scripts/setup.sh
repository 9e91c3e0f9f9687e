#!/usr/bin/env bash
# Installs what preflight needs from Debian's packages (only what is missing), then configures and
# builds into build/ (or $PREFLIGHT_BUILD_DIR). Idempotent: a second run installs nothing and
# rebuilds only what changed.
#
#   scripts/setup.sh                 build dependencies, configure, build
#   scripts/setup.sh --test-tools    also the tools the test suite uses (schema and XML
#                                    validators, shellcheck, headless Chromium, promtool,
#                                    yamllint, universal-ctags)
#   scripts/setup.sh --no-build      install only
#   scripts/setup.sh -- ARGS...      ARGS go to CMake's configure step as they are
#   PREFLIGHT_CMAKE_ARGS="-DPREFLIGHT_SANITIZE=address,undefined" scripts/setup.sh
#   PREFLIGHT_BUILD_TARGETS="test_common preflight-p2p" scripts/setup.sh   only these targets
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${PREFLIGHT_BUILD_DIR:-$repo_dir/build}
with_test_tools=0
build=1
cmake_args=()
while (($# > 0)); do
  case "$1" in
    --test-tools) with_test_tools=1 ;;
    --no-build) build=0 ;;
    --) shift; cmake_args=("$@"); break ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Build dependencies: compilers, CMake, the libraries preflight links, and the peers it runs.
build_packages=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libfabric-dev libfabric-bin
  rdma-core libibverbs-dev ibverbs-providers
  libhwloc-dev hwloc
  nlohmann-json3-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3
  libsimdjson-dev
  iproute2
)
# Test tools: independent validators for what preflight writes (JSON Schema, JUnit XML, HTML,
# Prometheus textfiles and rules, YAML, shell scripts), universal-ctags for the size limits
# (scripts/check-size.sh), clang with its sanitizer and libFuzzer runtimes for the fuzz targets,
# and a real Slurm (controller, node daemon, munge) that the tests start as a one-node cluster
# (scripts/slurm/test-cluster.sh).
test_packages=(
  python3 python3-jsonschema python3-yaml libxml2-utils shellcheck chromium prometheus yamllint
  universal-ctags
  fonts-dejavu-core hyperfine clang libclang-rt-dev
  slurmctld slurmd slurm-client munge
)

packages=("${build_packages[@]}")
if [[ $with_test_tools == 1 ]]; then
  packages+=("${test_packages[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) != 0 ]]; then
    sudo_cmd=(sudo)
  else
    sudo_cmd=()
  fi
  echo "setup.sh: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "setup.sh: all ${#packages[@]} packages present"
fi

if [[ $build == 0 ]]; then
  exit 0
fi

# CUDA and NCCL are optional: found under /usr/local/cuda* when present (see cmake/).
read -r -a extra_args <<<"${PREFLIGHT_CMAKE_ARGS:-}"
cmake -S "$repo_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE="${PREFLIGHT_BUILD_TYPE:-RelWithDebInfo}" \
  "${extra_args[@]}" "${cmake_args[@]}" >"$build_dir.configure.log" 2>&1 || {
  cat "$build_dir.configure.log" >&2
  exit 1
}
grep -E "preflight [0-9]|PREFLIGHT_WITH_.*=OFF" "$build_dir.configure.log" || true
jobs=${PREFLIGHT_BUILD_JOBS:-$(nproc)}
read -r -a targets <<<"${PREFLIGHT_BUILD_TARGETS:-}"
if ((${#targets[@]} > 0)); then
  cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
else
  cmake --build "$build_dir" -j "$jobs"
fi
