#!/usr/bin/env bash
# The house rules that clang-tidy checks (.clang-tidy at the root; bench/.clang-tidy relaxes a few
# for the bare peer loops), run over the project's sources.
#
#   scripts/check-tidy.sh --changed [BUILD_DIR]  every source changed since the commit recorded in
#                                                .clang-tidy-clean (CI: style.clang_tidy)
#   scripts/check-tidy.sh --all [BUILD_DIR]      every source outside tests/ (about 170
#                                                translation units: 40-60 CPU minutes here, the
#                                                static analyser the larger part)
#   scripts/check-tidy.sh --record [BUILD_DIR]   --all, then record HEAD in .clang-tidy-clean and
#                                                the findings left in .clang-tidy-known
#   scripts/check-tidy.sh FILE...                these files (with build/)
#
# Why a ratchet: the whole tree costs far more CPU than CI's 15 minutes on two cores allow, so a
# full run is recorded and CI checks every source changed since. A finding fails unless it is in
# .clang-tidy-known, the findings of the recorded run that are still to fix (file, check and
# message, without line numbers, which move); fixing one and re-recording shortens that list, and
# nothing new can join it without a --record that shows up in review. A changed header is checked
# through its own .cpp, or else through one source that includes it (clang-tidy reports a
# header's findings through the files that include it). BUILD_DIR (default build/) must hold
# compile_commands.json; CMake writes it on every configure. PREFLIGHT_TIDY_JOBS: parallel runs.
# Exit: 0 clean, 1 new findings, 2 usage, 77 skip (no clang-tidy, no git history, no build).
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"
record_file=.clang-tidy-clean
known_file=.clang-tidy-known
source_dirs=(common domain harness probes collectives p2p reports cli bench)

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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

# The commit of the last full run. Checked here, not inside changed_sources: that runs in a
# process substitution, where an exit would end only the subshell and leave an empty list, a pass.
recorded_commit() {
  [[ -f $record_file ]] || { echo "check-tidy: no $record_file (run --record)" >&2; exit 2; }
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

# clang-tidy's findings, relative to the repository, each once however many units include the
# header that holds it, as "KEY<tab>FINDING": KEY is "FILE: error: MESSAGE [CHECK]" (no line and
# column: they move; .clang-tidy-known holds keys), FINDING the same with them, to find it by.
located_findings() {  # LOG...
  cat "$@" | { grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning):' || true; } |
    sed -E "s|^$repo_dir/||; s|,-warnings-as-errors\\]$|]|" | sort -u |
    awk '{ key = $0; sub(/:[0-9]+:[0-9]+: /, ": ", key); print key "\t" $0 }'
}

build_dir=build
case $mode in
  --all | --changed | --record)
    build_dir=${1:-build}
    if [[ $mode == --changed ]]; then
      base=$(recorded_commit) || exit $?
      mapfile -t files < <(changed_sources "$base")
    else
      mapfile -t files < <(all_sources)
    fi
    ;;
  -*) usage ;;
  *) files=("$mode" "$@") ;;
esac

command -v clang-tidy >/dev/null || { echo "skip: clang-tidy not installed"; exit 77; }
if [[ ! -f $build_dir/compile_commands.json ]]; then
  echo "skip: $build_dir/compile_commands.json not found (configure the build first)"
  exit 77
fi
if ((${#files[@]} == 0)); then
  echo "ok: no source changed since the recorded commit; nothing to check"
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
    'clang-tidy -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).log" 2>&1 || true' \
    sh "$build_dir" {} "$log_dir"
located_findings "$log_dir"/*.log >"$log_dir/located"
cut -f1 "$log_dir/located" | sort -u >"$log_dir/findings"

if [[ $mode == --record ]]; then
  {
    echo "# The commit whose findings .clang-tidy-known lists (scripts/check-tidy.sh --record, or a full"
    echo "# run plus re-runs of every source changed since it); CI (style.clang_tidy) checks every source"
    echo "# changed since this commit."
    git rev-parse HEAD
  } >"$record_file"
  {
    echo "# The findings of the recorded full run that are still to fix (scripts/check-tidy.sh)."
    echo "# Each line: FILE: error: MESSAGE [CHECK]. Fix one and re-record; never add one by hand."
    cat "$log_dir/findings"
  } >"$known_file"
  echo "check-tidy: recorded $(git rev-parse --short HEAD) with $(wc -l <"$log_dir/findings")" \
    "known finding(s) in $known_file"
  exit 0
fi

# The findings that are not known: new since the recorded run.
grep -v '^#' "$known_file" 2>/dev/null | sort -u >"$log_dir/known" || true
comm -23 "$log_dir/findings" "$log_dir/known" >"$log_dir/new"
known_count=$(comm -12 "$log_dir/findings" "$log_dir/known" | wc -l)
if [[ -s $log_dir/new ]]; then
  # With line numbers, to find them.
  awk -F'\t' 'NR == FNR { new[$0]; next } $1 in new { print $2 }' "$log_dir/new" \
    "$log_dir/located"
  echo "FAIL: $(wc -l <"$log_dir/new") clang-tidy finding(s) not in $known_file, in" \
    "${#checked[@]} file(s) checked (rules: .clang-tidy)"
  exit 1
fi
echo "ok: ${#checked[@]} file(s) checked, no finding beyond the $known_count known ones" \
  "($known_file)"
