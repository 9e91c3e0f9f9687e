#!/usr/bin/env bash
# `preflight cluster` on a 4-host virtual cluster (scripts/vcluster.sh) with one fault planted.
# Every host runs at a base rate of 200 Mbit/s, so the emulated network, not the two CPUs this
# machine shares with the rest of the suite, is the bottleneck (as on a real fabric; at 1 Gbit/s a
# loaded machine made healthy links CPU-bound, 58-95 MB/s), and the faults are half of it:
#   bad_node     vc3 at 100 Mbit/s                 -> bad node vc3 exactly, nothing else named
#   bad_link     vc1<->vc2 at 100 Mbit/s           -> bad link vc1-vc2, nothing else named
#   unreachable  vc4 isolated                     -> vc4 unreachable within the timeout, the
#                                                    other three hosts' pairs still measured
#   isolated_during  vc4 isolated while the pairs   -> the same: vc4 named unreachable, the pairs
#                    are being measured                finished before and the others kept
# Needs root, iproute2 and preflight-p2p. Exit: 0 pass, 1 fail, 77 skip.
set -u
CASE=${1:?usage: test_vcluster_cluster.sh bad_node|bad_link|unreachable|isolated_during}
BIN=${PREFLIGHT_BIN_DIR:?PREFLIGHT_BIN_DIR is not set}
REPO=${PREFLIGHT_REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
VC=$REPO/scripts/vcluster.sh

if [[ ${2:-} != --inside ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
    for binary in preflight preflight-p2p; do
        [[ -x $BIN/$binary ]] || { echo "SKIP: $BIN/$binary not built"; exit 77; }
    done
    command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not installed"; exit 77; }
    # `with` holds the session lock, brings 4 hosts up, runs us, and always tears down.
    exec "$VC" with 4 -- bash "${BASH_SOURCE[0]}" "$CASE" --inside
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for host in vc1 vc2 vc3 vc4; do
    "$VC" throttle "$host" 200mbit || { echo "FAIL - could not set the base rate"; exit 1; }
done
case $CASE in
    bad_node) "$VC" throttle vc3 100mbit ;;
    bad_link) "$VC" throttle-link vc1 vc2 100mbit ;;
    unreachable) "$VC" isolate vc4 ;;
    isolated_during) true ;;  # planted below, once the pairs are being measured
    *) echo "unknown case $CASE"; exit 2 ;;
esac || { echo "FAIL - could not plant the fault"; exit 1; }

# The all-node collective runs where no host is throttled below the base rate; the throttled cases
# measure the pairs only.
extra=(--no-collective)
p2p_args=(--p2p-arg=--window --p2p-arg=16)
p2p_sizes=64K
step_timeout=150
case $CASE in
    unreachable) extra=(--collective-sizes 8:64K:x8) ;;
    # More sizes, so that the cut lands mid-pass; the pairs waiting on vc4 give up after 15 s,
    # and the step itself (mpirun waits for vc4's daemon) after 45 s.
    isolated_during)
        p2p_args+=(--p2p-arg=--timeout --p2p-arg=15)
        p2p_sizes=64K:1M:x4
        step_timeout=45
        ;;
esac
start=$(date +%s)
"$BIN/preflight" cluster --hostfile "$("$VC" hostfile-path)" --launcher mpirun \
    --launcher-args="$("$VC" mpirun-args)" --provider tcp --p2p-test bw --p2p-sizes "$p2p_sizes" \
    "${p2p_args[@]}" --step-timeout "$step_timeout" --reach-timeout 20 "${extra[@]}" \
    --json "$OUT/cluster.json" &
preflight_pid=$!
if [[ $CASE == isolated_during ]]; then
    # Cut vc4 off once preflight-p2p has run for a moment on it: a preflight-p2p inside vc4 (other
    # tests may run theirs on this machine at the same time, outside it).
    for _ in $(seq 600); do
        commands=$("$VC" pids vc4 2>/dev/null | xargs -r ps -o comm= -p 2>/dev/null || true)
        grep -q '^preflight-p2p' <<<"$commands" && break
        sleep 0.1
    done
    sleep 2
    "$VC" isolate vc4 || { echo "FAIL - could not isolate vc4"; kill "$preflight_pid"; exit 1; }
    echo "vc4 isolated $(($(date +%s) - start)) s after the start"
fi
wait "$preflight_pid"
rc=$?
elapsed=$(($(date +%s) - start))
echo "preflight cluster: exit $rc after ${elapsed} s"
[[ -s $OUT/cluster.json ]] || { echo "FAIL - no report"; exit 1; }

python3 - "$OUT/cluster.json" "$CASE" "$rc" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
case, rc = sys.argv[2], int(sys.argv[3])
cluster = report["details"]["cluster"]
print("cluster:", cluster["summary"])
print(json.dumps({k: cluster.get(k) for k in ("bad_nodes", "bad_links", "unreachable", "suspects",
                                               "nodes_measured", "rounds", "retest_rounds")}))
for step in report["details"]["steps"]:
    print(f"step {step['name']}: {step['status']} exit {step['exit_code']} "
          f"{step['duration_s']:.1f} s {step.get('note', '')}")
    for row in (step.get("report") or {}).get("results", []):
        labels = row.get("labels", {})
        if "src" in labels and row.get("benchmark") in ("bw", "bibw"):
            print(f"  {labels['src']}-{labels['dst']} {row['algbw_Bps'] / 1e6:.1f} MB/s "
                  f"({labels.get('phase', '')}, {labels.get('role', '')})")
    if step["status"] not in ("pass", "fail"):
        print("  stderr:", step.get("stderr_tail", "")[-800:])
problems = []
named = {"bad_nodes": cluster["bad_nodes"], "bad_links": cluster["bad_links"],
         "suspects": cluster["suspects"]}
if case == "bad_node":
    expected = {"bad_nodes": ["vc3"], "bad_links": [], "suspects": []}
elif case == "bad_link":
    expected = {"bad_nodes": [], "bad_links": [["vc1", "vc2"]], "suspects": []}
else:
    expected = {"bad_nodes": [], "bad_links": [], "suspects": []}
    if cluster["unreachable"] != ["vc4"]:
        problems.append(f"unreachable {cluster['unreachable']}, expected ['vc4']")
    if sorted(cluster.get("nodes_measured", [])) != ["vc1", "vc2", "vc3"]:
        problems.append(f"surveyed {cluster.get('nodes_measured')}, expected vc1-vc3")
if named != expected:
    problems.append(f"named {named}, expected {expected}")
# One judgement: the surveying step's own findings name exactly what details.cluster names.
survey_steps = [s for s in report["details"]["steps"]
                if s["name"].startswith("p2p-all-pairs") and not s.get("superseded_by")
                and (s.get("report") or {}).get("details", {}).get("survey")]
if not survey_steps:
    problems.append("no surveying step with a verdict")
else:
    step_report = survey_steps[-1]["report"]
    step_checks = step_report["checks"]
    def ids(kind):
        return sorted(tuple(c["evidence"].get("nodes", [c["evidence"].get("node")]))
                      for c in step_checks if c["id"] == kind)
    if ids("P2P_NODE_OUTLIER") != sorted((n,) for n in cluster["bad_nodes"]):
        problems.append(f"step P2P_NODE_OUTLIER {ids('P2P_NODE_OUTLIER')} vs {cluster['bad_nodes']}")
    if ids("P2P_LINK_OUTLIER") != sorted(tuple(l) for l in cluster["bad_links"]):
        problems.append(f"step P2P_LINK_OUTLIER {ids('P2P_LINK_OUTLIER')} vs {cluster['bad_links']}")
    if step_report["details"]["survey"]["verdict"]["bad_nodes"] != cluster["bad_nodes"]:
        problems.append("the step's verdict and details.cluster differ")
# A step that ran to its end exits as its report says: another exit status means a rank other
# than the reporting one failed (as every rank did when a sanitizer's leak report, made on exit,
# set its status to 1).
for step in report["details"]["steps"]:
    step_report = step.get("report") or {}
    if step["status"] in ("pass", "fail") and "verdict" in step_report:
        if step["exit_code"] != step_report["verdict"]["exit_code"]:
            problems.append(f"step {step['name']} exited {step['exit_code']}, its report says "
                            f"{step_report['verdict']}")
if rc != 1 or report["verdict"]["exit_code"] != 1:
    problems.append(f"exit {rc}, verdict {report['verdict']}, expected fail (1)")
for p in problems:
    print("FAIL -", p)
sys.exit(1 if problems else 0)
PY
