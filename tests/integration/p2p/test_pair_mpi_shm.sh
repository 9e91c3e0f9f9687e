#!/usr/bin/env bash
# Two MPI ranks, libfabric shm: latency, bw, bibw over 1 B .. 16 MiB, every size verified.
source "$(dirname "$0")/lib.sh"
need_mpi
mpi 2 "$BIN" --provider shm --test latency,bw,bibw "${ALL_SIZES[@]}" "${QUICK[@]}" \
  --json "$WORK/shm.json" > "$WORK/shm.txt"
cat "$WORK/shm.txt"
grep -q "^# latency | libfabric shm" "$WORK/shm.txt" || fail "no latency table"
check_report "$WORK/shm.json" $((3 * 25)) shm
