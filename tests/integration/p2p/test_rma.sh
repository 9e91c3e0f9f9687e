#!/usr/bin/env bash
# RMA where the provider offers FI_RMA (shm does): --op write (fi_writedata, remote CQ data carries
# the size) and --op read, latency, bw, bibw, verified.
source "$(dirname "$0")/lib.sh"
need_mpi
for op in write read; do
  mpi 2 "$BIN" --provider shm --op "$op" --test latency,bw,bibw --sizes 1,4K,1M "${QUICK[@]}" \
    --json "$WORK/$op.json" > "$WORK/$op.txt"
  cat "$WORK/$op.txt"
  check_report "$WORK/$op.json" 9 shm
done
