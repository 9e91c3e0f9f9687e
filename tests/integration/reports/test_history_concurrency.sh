#!/usr/bin/env bash
# Eight `history add` processes at once against one fresh database: every run is recorded (WAL,
# busy timeout, BEGIN IMMEDIATE), none lost, none duplicated, and the file stays 0600.
source "$(dirname "$0")/lib.sh"
R=$REPORT
DB=$WORK/shared/history.db
for i in $(seq 1 8); do
  sed "s/\"id\": \"a1\"/\"id\": \"concurrent-$i\"/" "$FIXTURES/preflight-allreduce-mpi.json" > "$WORK/r$i.json"
done
pids=()
for i in $(seq 1 8); do
  "$R" history add --db "$DB" "$WORK/r$i.json" -q 2>"$WORK/err$i" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  CHECKS=$((CHECKS + 1))
  if ! wait "${pids[$i]}"; then
    fail "writer $((i + 1)) failed: $(cat "$WORK/err$((i + 1))")"
  fi
done
expect_rc 0 "history list" -- "$R" history list --db "$DB" --limit 0 --json -
CHECKS=$((CHECKS + 3))
runs=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/out")
[[ $runs == 8 ]] || fail "expected 8 runs, found $runs"
ids=$(python3 -c 'import json,sys; print(len({r["run_id"] for r in json.load(open(sys.argv[1]))}))' "$WORK/out")
[[ $ids == 8 ]] || fail "expected 8 distinct run ids, found $ids"
rows=$(python3 -c 'import json,sys; print(sum(r["results"] for r in json.load(open(sys.argv[1]))))' "$WORK/out")
[[ $rows == 64 ]] || fail "expected 64 result rows, found $rows"
CHECKS=$((CHECKS + 1))
[[ $(stat -c %a "$DB") == 600 ]] || fail "mode $(stat -c %a "$DB")"
# A second wave on the existing database, mixed with readers.
pids=()
for i in $(seq 1 8); do
  sed "s/\"id\": \"a1\"/\"id\": \"wave2-$i\"/" "$FIXTURES/preflight-allreduce-mpi.json" > "$WORK/s$i.json"
  "$R" history add --db "$DB" "$WORK/s$i.json" -q &
  pids+=($!)
  "$R" history list --db "$DB" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  CHECKS=$((CHECKS + 1))
  wait "$pid" || fail "a concurrent writer or reader failed"
done
"$R" history list --db "$DB" --limit 0 --json - > "$WORK/all.json"
CHECKS=$((CHECKS + 1))
total=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/all.json")
[[ $total == 16 ]] || fail "expected 16 runs after two waves, found $total"
finish
