#!/usr/bin/env bash
# --progress through a pipe, as a Slurm output file, `kubectl logs -f` or a CI log sees it: plain
# lines, each whole, arriving while the run goes on (not all at the end), the steps' own progress
# relayed by the plan, nothing with --progress none or --quiet. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
FAKE=${1:?usage: test_progress.sh FAKE_TOOL}
[[ -x $BIN/preflight && -x $BIN/preflight-allreduce && -x $FAKE ]] ||
  { echo "SKIP: preflight, preflight-allreduce or the fake tool not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok   - $*"; }

# stamp FILE: each stdin line as "<seconds since the epoch> <line>", as it arrives (a pipe
# reader; a bash loop, which starts at once, unlike an interpreter that may start after the
# first lines are written).
stamp() {
  local line
  while IFS= read -r line; do
    printf '%s %s\n' "$EPOCHREALTIME" "$line"
  done >"$1"
}

# ---- a benchmark on its own: stderr is a pipe, so auto means plain lines
"$BIN/preflight-allreduce" --sizes 8:64K:x4 -n 5 -w 1 2>&1 >/dev/null |
  stamp "$OUT/allreduce.txt"
if grep -Eq '^[0-9.]+ preflight-allreduce: progress: \[1/[0-9]+\] .* done, [0-9.]+ s elapsed$' "$OUT/allreduce.txt" &&
  grep -Eq '^[0-9.]+ preflight-allreduce: progress: \[([0-9]+)/\1\] ' "$OUT/allreduce.txt"; then
  ok "preflight-allreduce into a pipe: plain lines, the first and the last size"
else
  fail "preflight-allreduce into a pipe: no plain progress lines"; cat "$OUT/allreduce.txt"
fi
if grep -q $'\r\|\033' "$OUT/allreduce.txt"; then
  fail "terminal control characters in a pipe"
else
  ok "no carriage returns or escape sequences in a pipe"
fi
for quiet in "--progress none" "--quiet" ; do
  # shellcheck disable=SC2086  # the two words of the option
  "$BIN/preflight-allreduce" --sizes 8:64K:x4 -n 5 -w 1 $quiet 2>"$OUT/none.txt" >/dev/null
  if grep -q "progress:" "$OUT/none.txt"; then
    fail "$quiet: progress printed"; cat "$OUT/none.txt"
  else
    ok "$quiet: no progress"
  fi
done
"$BIN/preflight-allreduce" --sizes 8:64K:x4 -n 5 -w 1 --quiet --progress plain 2>"$OUT/asked.txt" >/dev/null
if grep -q "preflight-allreduce: progress: " "$OUT/asked.txt"; then
  ok "--quiet --progress plain: progress"
else
  fail "--quiet --progress plain: no progress"
fi
"$BIN/preflight-allreduce" --progress sometimes 2>"$OUT/bad.txt" >/dev/null
rc=$?
if [[ $rc == 2 ]] && grep -q -- "--progress" "$OUT/bad.txt"; then
  ok "--progress sometimes: exit 2 naming the flag"
else
  fail "--progress sometimes: exit $rc"; cat "$OUT/bad.txt"
fi

# ---- a plan: its steps' progress relayed as it happens
mkdir -p "$OUT/bin"
ln -s "$FAKE" "$OUT/bin/preflight-fake"
cat >"$OUT/plan.json" <<'JSON'
{"schema": "preflight.plan/1", "name": "progress",
 "steps": [{"name": "sweep", "tool": "preflight-fake",
            "args": ["--mode", "pass", "--progress-lines", "3", "--line-interval-ms", "700"]}]}
JSON
"$BIN/preflight" ci --plan "$OUT/plan.json" --bin-dir "$OUT/bin" 2>&1 >/dev/null |
  stamp "$OUT/plan.txt"
python3 - "$OUT/plan.txt" <<'PY' || { fail "the plan's progress"; cat "$OUT/plan.txt"; }
import re, sys
lines = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1])]
at = {text: float(t) for t, text in lines}
def when(pattern):
    found = [t for text, t in at.items() if re.search(pattern, text)]
    assert found, f"no line matches {pattern!r}"
    return found[0]
start = when(r"^\[1/1\] sweep: running \(timeout \d+ s, elapsed")
first = when(r"^\[1/1\] sweep: \[1/3\] size 1 done$")
last = when(r"^\[1/1\] sweep: \[3/3\] size 3 done$")
end = when(r"^\[1/1\] sweep: pass \(exit 0\) in ")
assert start <= first <= last <= end, (start, first, last, end)
# Relayed as they happen: the step writes its lines 0.7 s apart, so the first came 1.4 s before
# the last and the step's end (not all at once when the step ended).
assert last - first >= 1.0, f"first progress line {first:.2f}, last {last:.2f}: not streamed"
assert not any("not progress" in text for text in at), "a message relayed as progress"
print(f"relayed: first size {end - first:.2f} s before the step ended, last {end - last:.2f} s")
PY
((FAILS == 0)) && ok "the plan relays its step's progress through a pipe as it happens"

if ((FAILS > 0)); then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "all checks passed"
