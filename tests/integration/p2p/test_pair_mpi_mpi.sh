#!/usr/bin/env bash
# Two MPI ranks, the MPI transport (MPI_Send/Recv, MPI_Isend windows): 1 B .. 16 MiB verified.
source "$(dirname "$0")/lib.sh"
need_mpi
mpi 2 "$BIN" --transport mpi --test latency,bw,bibw "${ALL_SIZES[@]}" "${QUICK[@]}" \
  --json "$WORK/mpi.json" > "$WORK/mpi.txt"
cat "$WORK/mpi.txt"
check_report "$WORK/mpi.json" $((3 * 25)) mpi
