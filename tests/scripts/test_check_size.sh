#!/usr/bin/env bash
# test_check_size.sh: scripts/check-size.sh on a scratch repository whose sizes sit at the limits
#   1. a 151-line function (also one in the #else branch of an #if), a 901-line file and a
#      151-line function under bench/ are each listed (file, line, name, length) and the exit is
#      1; a 150-line function, a 900-line file and anything under tests/ are not;
#   2. without them the check passes (exit 0);
#   3. a ctags that is not universal-ctags (no end: field) makes it skip (exit 77), not pass.
# Exit: 0 pass, 1 fail, 77 skip (universal-ctags not installed).
set -u
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ctags --version 2>/dev/null | grep -q 'Universal Ctags' ||
  { echo "SKIP: universal-ctags not installed (scripts/setup.sh --test-tools)"; exit 77; }
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" "$work/src" "$work/tests" "$work/bench"
cp "$REPO/scripts/check-size.sh" "$work/scripts/"

# function NAME LINES: a C++ function of exactly LINES lines, signature to closing brace.
function_of() {
  local name=$1 lines=$2
  echo "int $name(int x) {"
  for ((i = 0; i < lines - 2; ++i)); do
    echo "  x += $i;"
  done
  echo "}"
}
# lines_of N: N lines of comment.
lines_of() {
  for ((i = 0; i < $1; ++i)); do
    echo "// line $i"
  done
}
{ function_of at_limit 150; function_of over_limit 151; } >"$work/src/functions.cpp"
# A long function in the #else branch inside a namespace, where ctags alone reads only the first
# branch.
{
  echo "namespace fast {"
  echo "#if !HAVE_FAST"
  function_of stub 3
  echo "#else"
  function_of fast 151
  echo "#endif"
  echo "}  // namespace fast"
} >"$work/src/branches.cpp"
lines_of 900 >"$work/src/at_limit.hpp"
lines_of 901 >"$work/src/over_limit.hpp"
function_of long_test 400 >"$work/tests/test_long.cpp"
lines_of 2000 >"$work/tests/fixture.hpp"
function_of long_benchmark 151 >"$work/bench/bench.cpp"
git -C "$work" init -q && git -C "$work" add -A

output=$(cd "$work" && bash scripts/check-size.sh 2>&1)
status=$?
echo "$output"
[[ $status == 1 ]] || fail "over the limits: exit $status, expected 1"
for expected in "src/functions.cpp:151: function over_limit of 151 lines (limit 150)" \
  "src/over_limit.hpp: file of 901 lines (limit 900)" \
  "bench/bench.cpp:1: function long_benchmark of 151 lines (limit 150)" \
  "src/branches.cpp:7: function fast of 151 lines (limit 150)"; do
  grep -qxF "  $expected" <<<"$output" || fail "not listed: $expected"
done
for unexpected in at_limit long_test tests/test_long tests/fixture; do
  grep -q "$unexpected" <<<"$output" && fail "listed, but within the limits or under tests/: $unexpected"
done
[[ $(grep -c '^  ' <<<"$output") == 4 ]] || fail "expected exactly 4 offenders"

git -C "$work" rm -qf src/over_limit.hpp bench/bench.cpp src/branches.cpp
function_of at_limit 150 >"$work/src/functions.cpp"
output=$(cd "$work" && bash scripts/check-size.sh 2>&1)
status=$?
[[ $status == 0 && $output == ok:* ]] || fail "within the limits: exit $status: $output"

mkdir -p "$work/fake-bin"
printf '#!/bin/sh\necho "Exuberant Ctags 5.9~svn20110310"\n' >"$work/fake-bin/ctags"
chmod +x "$work/fake-bin/ctags"
output=$(cd "$work" && PATH="$work/fake-bin:$PATH" bash scripts/check-size.sh 2>&1)
status=$?
[[ $status == 77 ]] || fail "without universal-ctags: exit $status, expected 77 (skip): $output"

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: check-size.sh lists what is over its limits and only that"
