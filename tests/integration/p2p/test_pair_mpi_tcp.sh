#!/usr/bin/env bash
# Two MPI ranks, libfabric tcp (Debian 1.17: the RDM provider is "tcp;ofi_rxm"): latency, bw,
# bibw over 1 B .. 16 MiB, every size verified.
source "$(dirname "$0")/lib.sh"
need_mpi
mpi 2 "$BIN" --provider tcp --domain lo --test latency,bw,bibw "${ALL_SIZES[@]}" "${QUICK[@]}" \
  --json "$WORK/tcp.json" > "$WORK/tcp.txt"
cat "$WORK/tcp.txt"
check_report "$WORK/tcp.json" $((3 * 25)) "tcp;ofi_rxm"
