#!/usr/bin/env bash
# The house rules that clang-tidy checks (.clang-tidy at the root), run over the project's sources.
#
#   scripts/check-tidy.sh --all [BUILD_DIR]      every source file outside tests/ (about 160
#                                                translation units: 40-60 CPU minutes here, with
#                                                the static analyser the larger part)
#   scripts/check-tidy.sh --changed [BUILD_DIR]  only what changed since the commit recorded in
#                                                .clang-tidy-clean (CI: style.clang_tidy)
#   scripts/check-tidy.sh --record               after a clean --all run: records HEAD there
#   scripts/check-tidy.sh FILE...                these files
#
# Why a ratchet: the whole tree costs far more CPU than CI's 15 minutes on two cores allow, so a
# full run is recorded (the commit at which every file was clean) and CI checks every file changed
# since. A changed header is checked through its own .cpp, or else through one source that
# includes it (clang-tidy reports a header's findings through the files that include it).
# BUILD_DIR (default build/) must hold compile_commands.json; CMake writes it on every configure.
# Exit: 0 clean, 1 findings, 2 usage, 77 skip (no clang-tidy, no git history, no build).
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"
record_file=.clang-tidy-clean
source_dirs=(common domain harness probes collectives p2p reports cli bench)

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

mode=${1:-}
[[ -n $mode ]] || usage
shift || true

all_sources() {
  git ls-files "${source_dirs[@]/%//*.cpp}" | grep -v -e '^tests/' -e '\.cu$' || true
}

# The translation unit through which a header is checked: its own .cpp, else the first project
# source that includes it.
unit_for_header() {  # HEADER
  local header=$1 own=${1%.hpp}.cpp
  if [[ -f $own ]]; then
    echo "$own"
    return
  fi
  all_sources | xargs grep -l -F "#include \"$header\"" 2>/dev/null | head -n 1 || true
}

# The commit of the last clean full run. Checked here, not inside changed_sources: that runs in a
# process substitution, where an exit would end only the subshell and leave an empty list, a pass.
recorded_clean_commit() {
  [[ -f $record_file ]] || { echo "check-tidy: no $record_file (run --all, then --record)" >&2; exit 2; }
  local base
  base=$(grep -v '^#' "$record_file" | head -n 1)
  if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    echo "skip: commit $base of $record_file is not in this clone's history (shallow clone?)" >&2
    exit 77
  fi
  echo "$base"
}

changed_sources() {  # BASE
  local base=$1 file
  # Added, copied, modified and renamed files; deleted ones have nothing left to check.
  while IFS= read -r file; do
    case $file in
      tests/* | *.cu) ;;
      *.cpp) [[ -f $file ]] && echo "$file" ;;
      *.hpp) unit_for_header "$file" ;;
    esac
  done < <(git diff --name-only --diff-filter=ACMR "$base" -- "${source_dirs[@]}") | sort -u
}

case $mode in
  --record)
    {
      echo "# The commit at which scripts/check-tidy.sh --all found every source file clean;"
      echo "# CI (style.clang_tidy) checks every source changed since. Written by --record."
      git rev-parse HEAD
    } >"$record_file"
    echo "check-tidy: recorded $(git rev-parse --short HEAD) in $record_file"
    exit 0
    ;;
  --all | --changed)
    build_dir=${1:-build}
    if [[ $mode == --all ]]; then
      mapfile -t files < <(all_sources)
    else
      base=$(recorded_clean_commit) || exit $?
      mapfile -t files < <(changed_sources "$base")
    fi
    ;;
  -*) usage ;;
  *)
    build_dir=build
    files=("$mode" "$@")
    ;;
esac

command -v clang-tidy >/dev/null || { echo "skip: clang-tidy not installed"; exit 77; }
if [[ ! -f $build_dir/compile_commands.json ]]; then
  echo "skip: $build_dir/compile_commands.json not found (configure the build first)"
  exit 77
fi
if ((${#files[@]} == 0)); then
  echo "ok: no source changed since the recorded clean commit; nothing to check"
  exit 0
fi

# Files the build does not compile (a GPU source without CUDA, say) have no compile command.
mapfile -t compiled < <(python3 - "$build_dir/compile_commands.json" "$repo_dir" "${files[@]}" <<'EOF'
import json, os, sys
commands, root, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
known = {os.path.relpath(os.path.realpath(entry["file"]), root) for entry in json.load(open(commands))}
for path in wanted:
    print(("" if path in known else "!") + path)
EOF
)
checked=()
for entry in "${compiled[@]}"; do
  if [[ $entry == !* ]]; then
    echo "check-tidy: ${entry#!} is not in $build_dir's compile commands; not checked"
  else
    checked+=("$entry")
  fi
done
((${#checked[@]} > 0)) || { echo "skip: none of the files is compiled in $build_dir"; exit 77; }

echo "check-tidy: ${#checked[@]} file(s), ${PREFLIGHT_TIDY_JOBS:-$(nproc)} at a time"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
# shellcheck disable=SC2016  # the single-quoted script expands its own arguments, in sh -c
printf '%s\n' "${checked[@]}" |
  xargs -P "${PREFLIGHT_TIDY_JOBS:-$(nproc)}" -I{} sh -c \
    'clang-tidy -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).log" 2>&1 || echo "$2" >>"$3/failed"' \
    sh "$build_dir" {} "$log_dir"
if [[ -f $log_dir/failed ]]; then
  # One finding in a header shows once per including file: print each once.
  cat "$log_dir"/*.log | grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning):' | sort -u
  echo "FAIL: clang-tidy found problems in $(sort -u "$log_dir/failed" | wc -l) of ${#checked[@]} files (rules: .clang-tidy)"
  exit 1
fi
echo "ok: ${#checked[@]} file(s) clean under .clang-tidy"
