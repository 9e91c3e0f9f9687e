#!/usr/bin/env bash
# Runs a libFuzzer target for a while (issue 8: never crash on input).
#
#   scripts/fuzz.sh TARGET SECONDS     e.g. scripts/fuzz.sh fuzz_size_spec 60
#   scripts/fuzz.sh all SECONDS        every target, SECONDS each (CI smoke: a few seconds each)
#   scripts/fuzz.sh list
#
# Builds with clang into build-fuzz/ (-fsanitize=fuzzer,address,undefined). Seeds come from
# tests/fuzz/seeds/TARGET; a crash is saved under tests/fuzz/regressions/TARGET/, where the
# ordinary test suite replays it from then on (fuzz.replay.* tests).
# PREFLIGHT_FUZZ_BUILD_DIR=DIR PREFLIGHT_FUZZ_PREBUILT=1: run the targets already built in DIR (a
# fuzz-enabled build such as scripts/test.sh --sanitize's), without configuring or building.
set -euo pipefail

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${PREFLIGHT_FUZZ_BUILD_DIR:-$repo_dir/build-fuzz}
target=${1:-}
seconds=${2:-60}

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-dev)" >&2
  exit 77
fi
if [[ -z $target ]]; then
  sed -n '2,11p' "${BASH_SOURCE[0]}"
  exit 2
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi

prebuilt=${PREFLIGHT_FUZZ_PREBUILT:-0}
if [[ $prebuilt != 1 ]]; then
  # Configured every time (quick when nothing changed), so that a target added since the last run
  # exists in the build.
  # -O1 with line tables: the usual fuzzing build (fast to compile, readable crash stacks).
  CC=clang CXX=clang++ cmake -S "$repo_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" -DCMAKE_C_FLAGS="-O1 -gline-tables-only" \
    -DPREFLIGHT_BUILD_FUZZ=ON -DPREFLIGHT_SANITIZE=address,undefined -DPREFLIGHT_BUILD_BENCH=OFF \
    -DPREFLIGHT_WITH_CUDA=OFF -DPREFLIGHT_WITH_NCCL=OFF >"$build_dir.configure.log" 2>&1 || {
    cat "$build_dir.configure.log" >&2
    exit 1
  }
fi

mapfile -t targets < <(sed -n 's/.*"\(fuzz_[a-z_]*\)\\;.*/\1/p' "$repo_dir"/tests/fuzz/CMakeLists.txt \
  "$repo_dir"/tests/fuzz/*.cmake 2>/dev/null | sort -u)
if [[ $target == list ]]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
if [[ $target != all ]]; then
  targets=("$target")
fi

status=0
for name in "${targets[@]}"; do
  if [[ $prebuilt == 1 ]]; then
    if [[ ! -x $build_dir/fuzz/$name ]]; then
      echo "fuzz.sh: $build_dir/fuzz/$name not built (PREFLIGHT_FUZZ_PREBUILT=1)" >&2
      exit 1
    fi
  else
    cmake --build "$build_dir" --target "$name" -j "$(nproc)" >/dev/null
  fi
  seeds=$repo_dir/tests/fuzz/seeds/$name
  regressions=$repo_dir/tests/fuzz/regressions/$name
  work=$(mktemp -d)
  mkdir -p "$regressions"
  corpus_dirs=("$work")
  [[ -d $seeds ]] && corpus_dirs+=("$seeds")
  echo "fuzz.sh: $name for ${seconds}s"
  if ! "$build_dir/fuzz/$name" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="$regressions/" -print_final_stats=1 "${corpus_dirs[@]}" 2>"$work/log"; then
    echo "fuzz.sh: $name FOUND A CRASH, saved under $regressions/" >&2
    tail -40 "$work/log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/log" | sed "s/^/  $name /" || true
  rm -rf "$work"
done
exit $status
