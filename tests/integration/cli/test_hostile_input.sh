#!/usr/bin/env bash
# Hostile host names, hostfiles, paths and launcher arguments never reach a shell: bad host names
# are usage errors (exit 2) and nothing is executed. Exit: 0 pass, 1 fail, 77 skip.
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
[[ -x $BIN/preflight ]] || { echo "SKIP: $BIN/preflight not built"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
MARKER=$OUT/pwned

expect_usage() { # expect_usage DESCRIPTION ARGS...
    local what=$1
    shift
    "$BIN/preflight" "$@" >/dev/null 2>"$OUT/err"
    local rc=$?
    [[ $rc == 2 ]] || { fail "$what: exit $rc, expected 2"; cat "$OUT/err"; }
}
expect_usage "host with ;" cluster --hosts "vc1;touch $MARKER,vc2"
expect_usage "host with \$()" cluster --hosts "vc1,\$(touch $MARKER)"
expect_usage "host with backquotes" cluster --hosts "\`touch $MARKER\`,vc2"
expect_usage "host with a space" cluster --hosts "vc1 vc2,vc3"
expect_usage "host that looks like an option" cluster --hosts "-oProxyCommand=touch $MARKER,vc2"
# shellcheck disable=SC2016  # the $() must stay literal: it is the hostile input
printf 'vc1 slots=1\n$(touch %s) slots=1\n' "$MARKER" >"$OUT/hostfile"
expect_usage "hostfile with \$()" cluster --hostfile "$OUT/hostfile"
grep -q "hostfile:2" "$OUT/err" || fail "hostfile error does not name line 2"
expect_usage "one host only" cluster --hosts vc1
expect_usage "unknown launcher" node --launcher "ssh; touch $MARKER"
touch "$OUT/plain-file"
expect_usage "--json under a regular file" node --quick --json "$OUT/plain-file/\$(touch $MARKER)/r.json"
# A missing output directory is created, its name taken as data.
"$BIN/preflight" node --quick --quiet --json "$OUT/missing/\$(touch $MARKER)/r.json" >/dev/null 2>&1
[[ -s "$OUT/missing/\$(touch $MARKER)/r.json" ]] || fail "the missing output directory was not created"

# Odd but legal words are passed as data: a bin dir and launcher arguments with shell syntax.
"$BIN/preflight" node --quick --quiet --bin-dir "$OUT/bin;touch $MARKER" \
    --launcher-args "; touch $MARKER \$(touch $MARKER)" --json "$OUT/r.json"
rc=$?
[[ $rc == 3 ]] || fail "node --quick with no binaries: exit $rc, expected 3 (skip)"
[[ ! -e $MARKER ]] || fail "something was executed by a shell"
[[ ! -e /tmp/pwned ]] || fail "/tmp/pwned exists"
exit $((FAILS > 0))
