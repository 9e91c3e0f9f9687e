#!/usr/bin/env bash
# test_check_tidy.sh: scripts/check-tidy.sh, the clang-tidy ratchet, on a scratch repository with
# the project's .clang-tidy and one source holding one finding (a count() used as membership)
#   1. checked by name, the finding is listed with its line and the exit is 1;
#   2. --record writes the commit and the finding to .clang-tidy-clean and .clang-tidy-known;
#      --changed then passes with nothing changed, and still passes when the known finding moves
#      to another line (the list has no line numbers);
#   3. a new finding in a changed file fails --changed, naming it and not the known one;
#   4. without .clang-tidy-clean, --changed fails (exit 2), never passes.
# Exit: 0 pass, 1 fail, 77 skip (clang-tidy not installed).
set -u
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
command -v clang-tidy >/dev/null ||
  { echo "SKIP: clang-tidy not installed (scripts/setup.sh --test-tools)"; exit 77; }
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" "$work/common" "$work/build"
cp "$REPO/scripts/check-tidy.sh" "$work/scripts/"
cp "$REPO/.clang-tidy" "$work/"
cat >"$work/common/sample.cpp" <<'CPP'
#include <set>

bool has_rank(const std::set<int>& ranks, int rank) {
  return ranks.count(rank) > 0;
}
CPP
cat >"$work/build/compile_commands.json" <<JSON
[{"directory": "$work", "file": "$work/common/sample.cpp",
  "command": "c++ -std=c++20 -c common/sample.cpp -o sample.o"}]
JSON
git -C "$work" init -q && git -C "$work" add -A &&
  git -C "$work" -c user.name=t -c user.email=t@t commit -qm base

run() {  # ARGS...: runs the script in the scratch repository; sets output and status
  output=$(cd "$work" && PREFLIGHT_TIDY_JOBS=1 bash scripts/check-tidy.sh "$@" 2>&1)
  status=$?
}

run common/sample.cpp
echo "$output"
[[ $status == 1 ]] || fail "a file with a finding: exit $status, expected 1"
grep -q '^common/sample.cpp:4:.*readability-container-contains' <<<"$output" ||
  fail "the finding is not listed with its file and line"

run --record build
[[ $status == 0 ]] || fail "--record: exit $status: $output"
grep -qxF 'common/sample.cpp: error: use '"'"'contains'"'"' to check for membership [readability-container-contains]' \
  "$work/.clang-tidy-known" || fail "--record did not list the finding: $(cat "$work/.clang-tidy-known")"
grep -qx "$(git -C "$work" rev-parse HEAD)" "$work/.clang-tidy-clean" || fail "--record: no commit"
git -C "$work" add -A && git -C "$work" -c user.name=t -c user.email=t@t commit -qm record

run --changed build
[[ $status == 0 && $output == *"no source changed"* ]] || fail "nothing changed: exit $status: $output"

sed -i '1i // moved down a line' "$work/common/sample.cpp"
run --changed build
[[ $status == 0 && $output == *"beyond the 1 known"* ]] ||
  fail "the known finding on another line: exit $status: $output"

cat >>"$work/common/sample.cpp" <<'CPP'

bool is_null(const int* pointer) {
  return pointer == 0;
}
CPP
run --changed build
echo "$output"
[[ $status == 1 ]] || fail "a new finding: exit $status, expected 1"
grep -q '^common/sample.cpp:9:.*modernize-use-nullptr' <<<"$output" || fail "the new finding is not named"
grep -q 'container-contains' <<<"$output" && fail "the known finding is reported as new"

rm "$work/.clang-tidy-clean"
run --changed build
[[ $status == 2 ]] || fail "no record: exit $status, expected 2 (never a pass): $output"

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: check-tidy.sh fails on new findings only, and never passes without its record"
