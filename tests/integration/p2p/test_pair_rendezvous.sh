#!/usr/bin/env bash
# No MPI: --listen on one side, --connect 127.0.0.1 on the other (pinned to vCPU 0 and 1), over
# shm and tcp, latency, bw, bibw over 1 B .. 16 MiB, every size verified; both sides exit 0.
source "$(dirname "$0")/lib.sh"
port_base=$((20000 + RANDOM % 12000))  # below the ephemeral range
for provider in shm tcp; do
  port=$((port_base++))
  # tcp on lo: the first interface may be a bridge another test brings up and down.
  domain=()
  [[ $provider == tcp ]] && domain=(--domain lo)
  taskset -c 0 "$BIN" --listen "127.0.0.1:$port" --provider "$provider" \
    "${domain[@]}" --test latency,bw,bibw "${ALL_SIZES[@]}" "${QUICK[@]}" --json "$WORK/$provider.json" \
    > "$WORK/$provider.txt" 2>&1 &
  listener=$!
  taskset -c 1 "$BIN" --connect "127.0.0.1:$port" --provider "$provider" \
    "${domain[@]}" --test latency,bw,bibw "${ALL_SIZES[@]}" "${QUICK[@]}" --quiet
  wait "$listener" || { cat "$WORK/$provider.txt"; fail "listener exited $?"; }
  cat "$WORK/$provider.txt"
  check_report "$WORK/$provider.json" $((3 * 25)) "$provider"
  python3 -c "import json,sys; assert json.load(open(sys.argv[1]))['details']['bootstrap']=='tcp'" \
    "$WORK/$provider.json"
done
