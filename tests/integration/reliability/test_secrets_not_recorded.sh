#!/usr/bin/env bash
# Issue 8: reports record an allow-list of environment variables, never the whole environment.
# Plants secret-looking variables (some under allowed prefixes) and asserts none reaches a report,
# while an ordinary allow-listed variable does.
set -uo pipefail
bin_dir=${PREFLIGHT_BIN_DIR:?}
probe=$bin_dir/preflight-versions
[[ -x $probe ]] || { echo "skip: $probe not built"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

AWS_SECRET_ACCESS_KEY=planted-secret-1 PREFLIGHT_API_TOKEN=planted-secret-2 \
  NCCL_IB_PASSWORD=planted-secret-3 MY_DB_PASSWORD=planted-secret-4 NCCL_DEBUG=WARN \
  "$probe" --json "$out" --quiet
rc=$?
failures=0
if [[ $rc != 0 && $rc != 1 && $rc != 3 ]]; then echo "FAIL - exit $rc"; failures=1; fi
if grep -q planted-secret "$out"; then
  echo "FAIL - a planted secret reached the report:"; grep -n planted-secret "$out"; failures=1
else
  echo "ok   - no planted secret in the report"
fi
if grep -q '"NCCL_DEBUG": "WARN"' "$out"; then
  echo "ok   - allow-listed NCCL_DEBUG recorded"
else
  echo "FAIL - NCCL_DEBUG missing from inventory.env"; failures=1
fi
exit $failures
