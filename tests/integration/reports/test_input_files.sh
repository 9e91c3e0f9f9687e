#!/usr/bin/env bash
# Bad input files and typos, as a user meets them: a directory given for a file is called a
# directory, an nccl-tests log saved as UTF-16 (PowerShell's `>`) imports as its UTF-8 twin does,
# a --db that is not a database exits 2 like every bad input, and a mistyped subcommand or option
# of `preflight` is named with the nearest valid one.
source "$(dirname "$0")/lib.sh"
R=$REPORT
P=$BIN_DIR/preflight

expect_rc 2 "a directory as the log" -- "$R" import nccl-tests "$WORK" -q
expect_in "$WORK/err" "$WORK: is a directory, not a file" "directory named as such"
expect_rc 2 "a missing log" -- "$R" import nccl-tests "$WORK/missing.txt" -q
expect_in "$WORK/err" "missing.txt: no such file" "missing file named as such"

plain=$FIXTURES/nccl-tests/text-plain.txt
expect_rc 0 "UTF-8 log" -- "$R" import nccl-tests "$plain" -q --deterministic --json "$WORK/utf8.json"
for encoding in UTF-16 UTF-16LE UTF-16BE; do
  iconv -f UTF-8 -t "$encoding" "$plain" >"$WORK/log.$encoding"
  expect_rc 0 "$encoding log" -- "$R" import nccl-tests "$WORK/log.$encoding" -q --deterministic \
    --json "$WORK/$encoding.json"
  CHECKS=$((CHECKS + 1))
  if ! python3 - "$WORK/utf8.json" "$WORK/$encoding.json" <<'PY'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for r in (a, b):
    r["details"].pop("source", None)
    r["run"].pop("argv", None)
assert a["results"] == b["results"] and len(a["results"]) > 0, "rows differ"
assert a["verdict"] == b["verdict"], "verdicts differ"
PY
    fail "$encoding import differs from the UTF-8 import"
  fi
done

echo '{"not": "a database"}' >"$WORK/history.json"
expect_rc 2 "--db that is not a database" -- \
  "$R" history add --db "$WORK/history.json" "$FIXTURES/preflight-allreduce-mpi.json"
expect_in "$WORK/err" "--db $WORK/history.json: not an SQLite database" "--db named as not a database"
expect_rc 0 "--db new path" -- \
  "$R" history add --db "$WORK/new.db" "$FIXTURES/preflight-allreduce-mpi.json"

expect_rc 2 "preflight nod" -- "$P" nod
expect_in "$WORK/err" "unknown subcommand 'nod' (did you mean 'node'?)" "subcommand typo"
expect_rc 2 "preflight node --quik" -- "$P" node --quik
expect_in "$WORK/err" "unknown option '--quik' (did you mean '--quick'?)" "option typo"
expect_rc 2 "preflight --budget -5" -- "$P" --budget -5 node
expect_in "$WORK/err" "--budget" "budget range names the flag"
finish
