#!/usr/bin/env bash
# A fixture step for the plans' tests: stands in for a measuring binary whose real run needs
# hardware this machine lacks (8 GPUs). Writes the report PREFLIGHT_FIXTURE_REPORT to the --json
# path, with the instance type the real binaries take from PREFLIGHT_INSTANCE_TYPE (--instance-type);
# under mpirun only rank 0 writes. Exit: the report's exit code.
set -euo pipefail
json=
while (($# > 0)); do
  if [[ $1 == --json ]]; then json=$2; shift; fi
  shift
done
[[ -n $json && -r ${PREFLIGHT_FIXTURE_REPORT:?} ]] || exit 2
[[ ${OMPI_COMM_WORLD_RANK:-0} == 0 ]] || exit 0
python3 - "$PREFLIGHT_FIXTURE_REPORT" "$json" <<'PY'
import json, os, sys
report = json.load(open(sys.argv[1]))
report["inventory"]["instance_type"] = os.environ.get("PREFLIGHT_INSTANCE_TYPE", "")
with open(sys.argv[2] + ".tmp", "w") as out:
    json.dump(report, out, indent=1)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
sys.exit(report["verdict"]["exit_code"])
PY
