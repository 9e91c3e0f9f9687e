#!/usr/bin/env bash
# `preflight node` on this machine: finishes within its 60 s budget (10 s with --quick), writes a
# schema-valid suite report whose steps carry argv, exit code, duration and report, JUnit XML,
# and exits with the report's verdict code. Exit: 0 pass, 1 fail, 77 skip (not built).
set -u
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
[[ -x $BIN/preflight ]] || { echo "SKIP: $BIN/preflight not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FAILS=0
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }

run_plan() { # run_plan NAME LIMIT_S ARGS...: runs preflight, checks time and report
    local name=$1 limit=$2
    shift 2
    local start end rc
    start=$(date +%s.%N)
    "$BIN/preflight" "$@" --json "$OUT/$name.json" --junit "$OUT/$name.xml" \
        >"$OUT/$name.txt" 2>"$OUT/$name.err"
    rc=$?
    end=$(date +%s.%N)
    echo "preflight $* -> exit $rc in $(python3 -c "print(f'{$end-$start:.1f}')") s"
    sed 's/^/    /' "$OUT/$name.txt"
    case $rc in
        0 | 1 | 3) ;;
        *) fail "$name: exit $rc (the harness broke or timed out)"; sed 's/^/    /' "$OUT/$name.err" ;;
    esac
    python3 -c "import sys; sys.exit(0 if $end - $start <= $limit else 1)" ||
        fail "$name: took longer than $limit s"
    python3 - "$OUT/$name.json" "$rc" "$OUT/$name.xml" <<'PY' || fail "$name: report checks"
import json, sys, xml.etree.ElementTree as ET
report = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
assert report["schema"] == "preflight.report/1", report["schema"]
assert report["tool"]["name"] == "preflight"
steps = report["details"]["steps"]
assert steps, "no steps"
for step in steps:
    for key in ("name", "argv", "exit_code", "status", "duration_s", "report"):
        assert key in step, f"step {step.get('name')} lacks {key}"
    if step["status"] != "skip":
        assert step["report"] is not None or "report_error" in step, step["name"]
    if step["status"] != "pass":
        ids = [c["id"] for c in report["checks"] if c.get("evidence", {}).get("step") == step["name"]]
        assert any(i.startswith("STEP_") for i in ids), f"no STEP_* check for {step['name']}"
assert report["verdict"]["exit_code"] == rc, (report["verdict"], rc)
# The JUnit: one case per check (a step without checks gets one of its own), under
# preflight.<host>.<step>, and the steps' time as the total.
junit = ET.parse(sys.argv[3]).getroot()
cases = list(junit.iter("testcase"))
stepped = {c.get("evidence", {}).get("step") for c in report["checks"]}
silent = [s for s in steps if s["name"] not in stepped]
assert len(cases) == len(report["checks"]) + len(silent), (len(cases), len(report["checks"]), silent)
host = report["run"]["hosts"][0].replace(".", "_")
for step in steps:
    mine = [c for c in cases if c.get("classname") == f"preflight.{host}.{step['name']}"]
    assert mine, f"no JUnit case for step {step['name']} under preflight.{host}"
    assert abs(sum(float(c.get("time")) for c in mine) - step["duration_s"]) < 0.002, step["name"]
assert abs(float(junit.get("time")) - sum(s["duration_s"] for s in steps)) < 0.001 * len(steps) + 0.001
warns = [c for c in report["checks"] if c["status"] == "warn"]
warn_properties = [p.get("name") for p in junit.iter("property")
                   if p.get("name").startswith("preflight.status.") and p.get("value") == "warn"]
assert len(warn_properties) == len(set(warn_properties)) == len(warns), (warn_properties, warns)
print(f"    report ok: {len(steps)} steps, verdict {report['verdict']['status']}")
PY
    if [[ -x $BIN/preflight-report ]]; then
        "$BIN/preflight-report" validate "$OUT/$name.json" >/dev/null 2>&1 ||
            fail "$name: preflight-report validate rejects the suite report"
    fi
}

run_plan node 60 node
run_plan quick 10 node --quick
if [[ $(python3 -c "import json; print(len(json.load(open('$OUT/quick.json'))['details']['steps']))") != 5 ]]; then
    fail "--quick should run the five probes only"
fi
exit $((FAILS > 0))
