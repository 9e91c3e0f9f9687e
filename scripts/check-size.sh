#!/usr/bin/env bash
# The size limits, checked: no function over 150 lines and no source file over 900 lines, outside
# tests/ (bench/ included). Past those sizes a function does several things and a file holds
# several responsibilities; split them by responsibility (docs/ARCHITECTURE.md).
#
#   scripts/check-size.sh    list every function and file over its limit (exit 1 if any)
#
# Function lengths come from universal-ctags (its end: field, so a definition's lines from its
# signature to its closing brace); installed by scripts/setup.sh --test-tools. Exit 77 (skip) when
# universal-ctags or the git checkout is missing.
set -euo pipefail
repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_dir"
readonly max_function_lines=150
readonly max_file_lines=900
if ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
  echo "skip: universal-ctags not installed (scripts/setup.sh --test-tools)"
  exit 77
fi
[[ -d .git || -f .git ]] || { echo "skip: not a git checkout (the file list comes from git)"; exit 77; }

mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cu' '*.cuh' '*.cpp.in' | grep -v '^tests/')
offenders=()
for file in "${files[@]}"; do
  [[ -f $file ]] || continue  # deleted in the work tree, not yet in the index
  lines=$(wc -l <"$file")
  if ((lines > max_file_lines)); then
    offenders+=("$(printf '%s: file of %d lines (limit %d)' "$file" "$lines" "$max_file_lines")")
  fi
done
# ctags follows one branch of an #if/#else, so a function in the other branch would go unmeasured
# (json_reader.cpp's readers sit in the #else of "no simdjson"). It reads a copy of each file whose
# conditional lines are blanked, line numbers kept: every branch counts.
flat=$(mktemp -d)
trap 'rm -rf "$flat"' EXIT
for file in "${files[@]}"; do
  [[ -f $file ]] || continue
  mkdir -p "$flat/$(dirname "$file")"
  sed -E 's/^[[:space:]]*#[[:space:]]*(if|ifdef|ifndef|elif|else|endif)([^[:alnum:]_].*)?$//' \
    "$file" >"$flat/$file"
done
# One ctags over all files: "FILE LINE END NAME" per function definition (lambdas are not
# functions to ctags; the enclosing function carries their lines).
while read -r file start end name; do
  [[ $end =~ ^[0-9]+$ ]] || continue  # a definition ctags could not find the end of
  length=$((end - start + 1))
  if ((length > max_function_lines)); then
    offenders+=("$(printf '%s:%d: function %s of %d lines (limit %d)' "$file" "$start" "$name" \
      "$length" "$max_function_lines")")
  fi
done < <(cd "$flat" && ctags --fields=+ne --c++-kinds=f -x --_xformat='%F %n %e %N' \
  --language-force=C++ "${files[@]}" 2>/dev/null)

if ((${#offenders[@]} > 0)); then
  echo "FAIL: ${#offenders[@]} over the size limits (functions ${max_function_lines} lines," \
    "files ${max_file_lines}), outside tests/:"
  printf '  %s\n' "${offenders[@]}"
  exit 1
fi
echo "ok: ${#files[@]} files, none over ${max_file_lines} lines, no function over" \
  "${max_function_lines} lines"
