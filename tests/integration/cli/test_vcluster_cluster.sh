#!/usr/bin/env bash
# `preflight cluster` on a 4-host virtual cluster (scripts/vcluster.sh) with one fault planted:
#   bad_node     vc3 throttled to 100 Mbit/s      -> bad node vc3 exactly, no bad link
#   bad_link     vc1<->vc2 throttled to 100 Mbit/s -> bad link vc1-vc2, no bad node
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
case $CASE in
    bad_node) "$VC" throttle vc3 100mbit ;;
    bad_link) "$VC" throttle-link vc1 vc2 100mbit ;;
    unreachable) "$VC" isolate vc4 ;;
    isolated_during) true ;;  # planted below, once the pairs are being measured
    *) echo "unknown case $CASE"; exit 2 ;;
esac || { echo "FAIL - could not plant the fault"; exit 1; }

# The all-node collective runs where no link is throttled (a 64 MiB all-reduce at 100 Mbit/s
# would take minutes); the throttled cases measure the pairs only.
extra=(--no-collective)
p2p_args="--window 16"
p2p_sizes=256K
step_timeout=150
case $CASE in
    unreachable) extra=(--collective-sizes 8:64K:x8) ;;
    # More sizes, so that the cut lands mid-pass; the pairs waiting on vc4 give up after 15 s,
    # and the step itself (mpirun waits for vc4's daemon) after 45 s.
    isolated_during) p2p_args="--window 16 --timeout 15"; p2p_sizes=64K:4M:x4; step_timeout=45 ;;
esac
start=$(date +%s)
"$BIN/preflight" cluster --hostfile "$("$VC" hostfile-path)" --launcher mpirun \
    --launcher-args="$("$VC" mpirun-args)" --provider tcp --p2p-test bw --p2p-sizes "$p2p_sizes" \
    --p2p-args="$p2p_args" --step-timeout "$step_timeout" --reach-timeout 20 "${extra[@]}" \
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
print(json.dumps({k: cluster[k] for k in ("bad_nodes", "bad_links", "unreachable", "suspects",
                                           "pairs_measured", "reference")}))
print(json.dumps(cluster["evidence"]))
for step in report["details"]["steps"]:
    print(f"step {step['name']}: {step['status']} exit {step['exit_code']} "
          f"{step['duration_s']:.1f} s {step.get('note', '')}")
    for row in (step.get("report") or {}).get("results", []):
        labels = row.get("labels", {})
        if "src" in labels and row.get("benchmark") in ("bw", "bibw"):
            print(f"  {labels['src']}-{labels['dst']} {row['algbw_Bps'] / 1e6:.1f} MB/s "
                  f"({labels.get('phase', '')})")
    if step["status"] not in ("pass", "fail"):
        print("  stderr:", step.get("stderr_tail", "")[-800:])
problems = []
if case == "bad_node":
    if cluster["bad_nodes"] != ["vc3"]:
        problems.append(f"bad nodes {cluster['bad_nodes']}, expected ['vc3']")
    if cluster["bad_links"]:
        problems.append(f"bad links {cluster['bad_links']}, expected none")
elif case == "bad_link":
    if cluster["bad_nodes"]:
        problems.append(f"bad nodes {cluster['bad_nodes']}, expected none")
    if cluster["bad_links"] != [["vc1", "vc2"]]:
        problems.append(f"bad links {cluster['bad_links']}, expected [['vc1', 'vc2']]")
else:
    if cluster["unreachable"] != ["vc4"]:
        problems.append(f"unreachable {cluster['unreachable']}, expected ['vc4']")
    if cluster["pairs_measured"] < 3:
        problems.append(f"only {cluster['pairs_measured']} pairs kept, expected the 3 among vc1-vc3")
    if cluster["bad_nodes"]:
        problems.append(f"bad nodes {cluster['bad_nodes']}, expected none")
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
