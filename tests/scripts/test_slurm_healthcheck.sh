#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run through the EXIT trap and case helpers
# test_slurm_healthcheck.sh — scripts/slurm/preflight-healthcheck.sh against a fake
# `scontrol` (prints a canned `show node`, records every argv) and a fake `preflight`
# (writes a canned JSON report, exits with a chosen code).  No Slurm needed.
# Exit: 0 pass, 1 fail, 77 skip (neither jq nor python3 to read reports).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HC=$ROOT/scripts/slurm/preflight-healthcheck.sh
[[ -x $HC ]] || { echo "FAIL: $HC missing or not executable"; exit 1; }
command -v jq >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 ||
    { echo "SKIP: neither jq nor python3"; exit 77; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$TMP/bin
mkdir -p "$BIN" "$TMP/reports"

# ---- fakes
cat >"$BIN/scontrol" <<'EOF'
#!/usr/bin/env bash
# fake scontrol: `show node X` prints $FAKE_SHOW_NODE; everything is logged one line per call
printf '%s|' "$@" >>"$FAKE_SCONTROL_LOG"
echo >>"$FAKE_SCONTROL_LOG"
if [[ ${1:-} == show && ${2:-} == node ]]; then
    printf '%s\n' "$FAKE_SHOW_NODE"
fi
exit 0
EOF
cat >"$BIN/preflight" <<'EOF'
#!/usr/bin/env bash
# fake preflight: writes $FAKE_REPORT to the --json path, sleeps $FAKE_SLEEP, exits $FAKE_RC
printf '%s|' "$@" >"$FAKE_PREFLIGHT_ARGV"
json=""
while (($# > 0)); do
    if [[ $1 == --json ]]; then json=$2; shift; fi
    shift
done
[[ -n $json && -n ${FAKE_REPORT:-} ]] && printf '%s\n' "$FAKE_REPORT" >"$json"
[[ -n ${FAKE_SLEEP:-} ]] && sleep "$FAKE_SLEEP"
exit "${FAKE_RC:-0}"
EOF
# timeout as the wrapper calls it: its arguments recorded, then the real one
REAL_TIMEOUT=$(command -v timeout) || { echo "SKIP: no timeout(1)"; exit 77; }
cat >"$BIN/timeout" <<EOF
#!/usr/bin/env bash
printf '%s|' "\$@" >"\$FAKE_TIMEOUT_ARGV"
exec "$REAL_TIMEOUT" "\$@"
EOF
chmod +x "$BIN/scontrol" "$BIN/preflight" "$BIN/timeout"

export PATH="$BIN:$PATH"
export FAKE_SCONTROL_LOG=$TMP/scontrol.log FAKE_PREFLIGHT_ARGV=$TMP/preflight.argv
export FAKE_TIMEOUT_ARGV=$TMP/timeout.argv
export PREFLIGHT_REPORT_DIR=$TMP/reports SLURMD_NODENAME=gpu-st-p5-7
unset PREFLIGHT_BIN PREFLIGHT_HEALTHCHECK_ARGS PREFLIGHT_HEALTHCHECK_DRY_RUN SCONTROL \
    PREFLIGHT_HEALTHCHECK_TIMEOUT PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR

show_node() { # show_node STATE [REASON] -> realistic `scontrol show node` output
    local s
    s="NodeName=gpu-st-p5-7 Arch=x86_64 CoresPerSocket=48
   CPUAlloc=0 CPUEfctv=192 CPUTot=192 CPULoad=0.31
   AvailableFeatures=p5.48xlarge
   ActiveFeatures=p5.48xlarge
   Gres=gpu:h100:8
   NodeAddr=10.1.2.7 NodeHostName=gpu-st-p5-7 Version=23.11.4
   OS=Linux 5.15.0-1051-aws #56~20.04.1-Ubuntu SMP Tue Nov 28 15:43:31 UTC 2023
   RealMemory=2000000 AllocMem=0 FreeMem=1990000 Sockets=2 Boards=1
   State=$1 ThreadsPerCore=2 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A
   Partitions=p5
   BootTime=2024-05-01T10:00:00 SlurmdStartTime=2024-05-01T10:01:00
   LastBusyTime=2024-05-01T11:00:00 ResumeAfterTime=None
   CfgTRES=cpu=192,mem=2000000M,billing=192,gres/gpu=8
   AllocTRES=
   CapWatts=n/a
   CurrentWatts=0 AveWatts=0
   ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s"
    [[ -n ${2:-} ]] && s+=$'\n'"   Reason=$2 [root@2024-05-01T12:00:00]"
    printf '%s' "$s"
}

REPORT_FAIL='{"schema":"preflight.report/1","checks":[
 {"id":"DRIVER_OK","status":"pass","severity":"info"},
 {"id":"EFA_PORT_DOWN","status":"fail","severity":"isolate","message":"port 1 of rdmap16s27 is DOWN"},
 {"id":"MEMLOCK_LIMITED","status":"fail","severity":"reboot"}],
 "verdict":{"status":"fail","exit_code":1,"summary":"2 checks failed"}}'
REPORT_ERROR='{"schema":"preflight.report/1","checks":[
 {"id":"NCCL_FALLBACK_SOCKET","status":"pass","severity":"info"},
 {"id":"GPU_QUERY_FAILED","status":"error","severity":"reset"}],
 "verdict":{"status":"error","exit_code":4,"summary":"nvml init failed"}}'
# --warn-as-fail: the run fails on a warning, and no check has status fail
REPORT_WARN='{"schema":"preflight.report/1","checks":[
 {"id":"DRIVER_OK","status":"pass","severity":"info"},
 {"id":"EFA_ABSENT","status":"skip","severity":"info"},
 {"id":"MEMLOCK_LIMITED","status":"warn","severity":"monitor"}],
 "verdict":{"status":"fail","exit_code":1,"summary":"fail: 1 pass, 1 warn, 1 skip (MEMLOCK_LIMITED)"}}'
REPORT_PASS='{"schema":"preflight.report/1","checks":[{"id":"DRIVER_OK","status":"pass","severity":"info"}],
 "verdict":{"status":"pass","exit_code":0,"summary":"ok"}}'
REPORT_SKIP='{"schema":"preflight.report/1","checks":[],"verdict":{"status":"skip","exit_code":3,"summary":"no GPU"}}'

FAILS=0
# run_case NAME RC REPORT SHOW_NODE [extra env assignments...] -> runs the wrapper
run_case() {
    local name=$1 rc=$2 report=$3 show=$4
    shift 4
    : >"$FAKE_SCONTROL_LOG"
    rm -f "$FAKE_PREFLIGHT_ARGV" "$FAKE_TIMEOUT_ARGV"
    CASE=$name
    local start=$SECONDS
    env "$@" FAKE_RC="$rc" FAKE_REPORT="$report" FAKE_SHOW_NODE="$show" \
        "$HC" >"$TMP/out" 2>&1
    HC_RC=$?
    HC_SECONDS=$((SECONDS - start))
}
expect_log() { # expect_log TEXT: the wrapper's output says TEXT
    if grep -qF -- "$1" "$TMP/out"; then
        echo "ok   - $CASE: says '$1'"
    else
        echo "FAIL - $CASE: does not say '$1'"
        sed 's/^/       | /' "$TMP/out"
        FAILS=$((FAILS + 1))
    fi
}
expect_not_run() {
    if [[ -e $FAKE_PREFLIGHT_ARGV ]]; then
        echo "FAIL - $CASE: preflight was run"
        FAILS=$((FAILS + 1))
    else
        echo "ok   - $CASE: preflight not run"
    fi
}
updates() { grep '^update|' "$FAKE_SCONTROL_LOG" || true; }
expect_updates() { # expect_updates EXPECTED (lines, may be empty)
    local got
    got=$(updates)
    if [[ $got == "$1" ]]; then
        echo "ok   - $CASE"
    else
        echo "FAIL - $CASE"
        echo "       expected updates: ${1:-<none>}"
        echo "       got:              ${got:-<none>}"
        sed 's/^/       | /' "$TMP/out"
        FAILS=$((FAILS + 1))
    fi
}
expect_rc() {
    if [[ $HC_RC == "$1" ]]; then
        echo "ok   - $CASE: exit $1"
    else
        echo "FAIL - $CASE: exit $HC_RC, expected $1"
        FAILS=$((FAILS + 1))
    fi
}
DRAIN_EFA='update|nodename=gpu-st-p5-7|state=drain|reason=preflight: EFA_PORT_DOWN|'
RESUME='update|nodename=gpu-st-p5-7|state=resume|'

run_case "fail on an idle node drains with the first failing id" 1 "$REPORT_FAIL" "$(show_node IDLE)"
expect_updates "$DRAIN_EFA"
expect_rc 1
if [[ $(cat "$FAKE_PREFLIGHT_ARGV" 2>/dev/null) == "node|--quick|--json|$TMP/reports/healthcheck-gpu-st-p5-7.json|" ]]; then
    echo "ok   - preflight invoked as: node --quick --json <dir>/healthcheck-<node>.json"
else
    echo "FAIL - preflight argv: $(cat "$FAKE_PREFLIGHT_ARGV" 2>/dev/null)"
    FAILS=$((FAILS + 1))
fi

run_case "fail on an allocated node (draining) drains too" 1 "$REPORT_FAIL" "$(show_node ALLOCATED)"
expect_updates "$DRAIN_EFA"

if [[ $(cat "$FAKE_TIMEOUT_ARGV" 2>/dev/null) == -k\|5\|50\|"$BIN/preflight"\|node\|* ]]; then
    echo "ok   - preflight bounded at 50 s by default (timeout -k 5 50): inside slurmd's 60 s"
else
    echo "FAIL - timeout argv: $(cat "$FAKE_TIMEOUT_ARGV" 2>/dev/null)"
    FAILS=$((FAILS + 1))
fi

run_case "error (4) is no verdict: logged, node left alone" 4 "$REPORT_ERROR" "$(show_node MIXED)"
expect_updates ""
expect_rc 1
expect_log "preflight error (exit 4, GPU_QUERY_FAILED)"
expect_log "node state unchanged"

run_case "error with PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1 drains with a reason saying error" 4 \
    "$REPORT_ERROR" "$(show_node MIXED)" PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1
expect_updates 'update|nodename=gpu-st-p5-7|state=drain|reason=preflight: error GPU_QUERY_FAILED|'
expect_rc 1

run_case "--warn-as-fail drains with the warning's id" 1 "$REPORT_WARN" "$(show_node IDLE)" \
    PREFLIGHT_HEALTHCHECK_ARGS=--warn-as-fail
expect_updates 'update|nodename=gpu-st-p5-7|state=drain|reason=preflight: MEMLOCK_LIMITED|'

run_case "error with no report leaves the node alone" 4 "" "$(show_node IDLE)"
expect_updates ""

run_case "error with no report, opted in, drains with 'error exit-4'" 4 "" "$(show_node IDLE)" \
    PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1
expect_updates 'update|nodename=gpu-st-p5-7|state=drain|reason=preflight: error exit-4|'

run_case "exit 1 with an unreadable report is no verdict: node left alone" 1 "{not json" \
    "$(show_node IDLE)"
expect_updates ""
expect_rc 1
expect_log "without a readable report"

run_case "exit 1 with no report is no verdict, even opted in" 1 "" "$(show_node IDLE)" \
    PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1
expect_updates ""

run_case "exit 1 whose report's verdict is not fail is no verdict" 1 "$REPORT_PASS" \
    "$(show_node IDLE)"
expect_updates ""

run_case "pass on a node drained by preflight resumes it" 0 "$REPORT_PASS" \
    "$(show_node IDLE+DRAIN 'preflight: EFA_PORT_DOWN')"
expect_updates "$RESUME"
expect_rc 0

run_case "pass on a node draining by preflight resumes it" 0 "$REPORT_PASS" \
    "$(show_node MIXED+DRAIN 'preflight: TIMEOUT')"
expect_updates "$RESUME"

run_case "pass on a node drained by someone else (maintenance) does not resume" 0 "$REPORT_PASS" \
    "$(show_node IDLE+DRAIN maintenance)"
expect_updates ""

run_case "pass on a node drained with a reason merely containing preflight: does not resume" 0 \
    "$REPORT_PASS" "$(show_node IDLE+DRAIN 'swap DIMM, then preflight: rerun')"
expect_updates ""

run_case "pass on a healthy idle node changes nothing" 0 "$REPORT_PASS" "$(show_node IDLE)"
expect_updates ""

run_case "skip does not touch the node" 3 "$REPORT_SKIP" "$(show_node IDLE+DRAIN 'preflight: EFA_PORT_DOWN')"
expect_updates ""
expect_rc 0

run_case "timeout (124 from preflight) leaves the node alone" 124 "" "$(show_node IDLE)"
expect_updates ""
expect_rc 1
expect_log "preflight timed out (exit 124, limit 50 s)"

run_case "timeout, opted in, drains with a reason saying timeout" 124 "" "$(show_node IDLE)" \
    PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1
expect_updates 'update|nodename=gpu-st-p5-7|state=drain|reason=preflight: timeout after 50 s|'

run_case "a hung preflight is stopped at the wrapper's limit; node left alone" 0 "$REPORT_PASS" \
    "$(show_node IDLE)" FAKE_SLEEP=10 PREFLIGHT_HEALTHCHECK_TIMEOUT=1
expect_updates ""
expect_log "preflight timed out (exit 124, limit 1 s)"
if ((HC_SECONDS <= 4)); then
    echo "ok   - $CASE: wrapper done in ${HC_SECONDS} s"
else
    echo "FAIL - $CASE: wrapper took ${HC_SECONDS} s for a 1 s limit"
    FAILS=$((FAILS + 1))
fi

run_case "a limit beyond slurmd's 60 s is refused before preflight runs" 1 "$REPORT_FAIL" \
    "$(show_node IDLE)" PREFLIGHT_HEALTHCHECK_TIMEOUT=120
expect_updates ""
expect_rc 1
expect_not_run
expect_log "PREFLIGHT_HEALTHCHECK_TIMEOUT=120 is not 1..54 s"

# The report directory cannot be written (here: a path under a regular file, which fails for
# root too): preflight runs with a private directory, and only its verdict counts.
: >"$TMP/a-file"
run_case "unwritable report directory, preflight passes: node left alone, exit 0" 0 "$REPORT_PASS" \
    "$(show_node IDLE)" PREFLIGHT_REPORT_DIR="$TMP/a-file/reports" TMPDIR="$TMP"
expect_updates ""
expect_rc 0
expect_log "cannot be written; using a private one"
run_case "unwritable report directory, preflight fails: drained with its id" 1 "$REPORT_FAIL" \
    "$(show_node IDLE)" PREFLIGHT_REPORT_DIR="$TMP/a-file/reports" TMPDIR="$TMP"
expect_updates "$DRAIN_EFA"
run_case "no writable directory at all: check not run, node left alone" 1 "$REPORT_FAIL" \
    "$(show_node IDLE)" PREFLIGHT_REPORT_DIR="$TMP/a-file/reports" TMPDIR="$TMP/a-file/tmp"
expect_updates ""
expect_rc 1
expect_not_run

run_case "a node name with '/' passes: no drain, report under a safe file name" 0 "$REPORT_PASS" \
    "$(show_node IDLE)" SLURMD_NODENAME=rack1/gpu-7
expect_updates ""
expect_rc 0
if [[ -s $TMP/reports/healthcheck-rack1_gpu-7.json ]]; then
    echo "ok   - $CASE: healthcheck-rack1_gpu-7.json"
else
    echo "FAIL - $CASE: no healthcheck-rack1_gpu-7.json in $TMP/reports"
    FAILS=$((FAILS + 1))
fi
run_case "a node name with '/' fails: drained by its name with the failing id" 1 "$REPORT_FAIL" \
    "$(show_node IDLE)" SLURMD_NODENAME=rack1/gpu-7
expect_updates 'update|nodename=rack1/gpu-7|state=drain|reason=preflight: EFA_PORT_DOWN|'

run_case "fail on a node drained by someone else keeps their reason" 1 "$REPORT_FAIL" \
    "$(show_node IDLE+DRAIN maintenance)"
expect_updates ""

run_case "fail with the same preflight reason already set is not re-applied" 1 "$REPORT_FAIL" \
    "$(show_node IDLE+DRAIN 'preflight: EFA_PORT_DOWN')"
expect_updates ""

run_case "fail with a different preflight reason updates the reason" 1 "$REPORT_FAIL" \
    "$(show_node DRAINED 'preflight: TIMEOUT')"
expect_updates "$DRAIN_EFA"

run_case "usage error (2) does not drain" 2 "" "$(show_node IDLE)"
expect_updates ""
expect_rc 1

run_case "dry run logs instead of updating" 1 "$REPORT_FAIL" "$(show_node IDLE)" \
    PREFLIGHT_HEALTHCHECK_DRY_RUN=1
expect_updates ""

run_case "missing preflight binary does not drain" 1 "$REPORT_FAIL" "$(show_node IDLE)" \
    PREFLIGHT_BIN="$TMP/nonexistent"
expect_updates ""
expect_rc 1

run_case "hostname -s is used without SLURMD_NODENAME" 1 "$REPORT_FAIL" "$(show_node IDLE)" \
    -u SLURMD_NODENAME
got=$(updates)
if [[ $got == "update|nodename=$(hostname -s)|state=drain|reason=preflight: EFA_PORT_DOWN|" ]]; then
    echo "ok   - $CASE"
else
    echo "FAIL - $CASE: $got"
    FAILS=$((FAILS + 1))
fi

# the python3 fallback when jq is absent: a PATH with the fakes and the few tools needed
if PYREAL=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [[ -x $PYREAL ]]; then
    NOJQ=$TMP/nojq
    mkdir -p "$NOJQ"
    ln -s "$PYREAL" "$NOJQ/python3"
    for t in bash env hostname mkdir mktemp rm cat sleep; do
        p=$(command -v "$t") && ln -s "$p" "$NOJQ/$t"
    done
    for f in "$BIN"/*; do ln -s "$f" "$NOJQ/${f##*/}"; done
    run_case "python3 fallback (no jq): fail drains with the first failing id" 1 "$REPORT_FAIL" \
        "$(show_node IDLE)" PATH="$NOJQ"
    expect_updates "$DRAIN_EFA"
    run_case "python3 fallback (no jq): pass resumes our drain" 0 "$REPORT_PASS" \
        "$(show_node IDLE+DRAIN 'preflight: EFA_PORT_DOWN')" PATH="$NOJQ"
    expect_updates "$RESUME"
    run_case "python3 fallback (no jq): --warn-as-fail drains with the warning's id" 1 \
        "$REPORT_WARN" "$(show_node IDLE)" PATH="$NOJQ"
    expect_updates 'update|nodename=gpu-st-p5-7|state=drain|reason=preflight: MEMLOCK_LIMITED|'
else
    echo "skip - python3 fallback: no python3"
fi

# The real `preflight node --quick --warn-as-fail` on this machine: when it fails on warnings,
# the drain reason is the first warning's id, never a bare FAIL.
REAL=${PREFLIGHT_BIN_DIR:-}/preflight
if [[ -n ${PREFLIGHT_BIN_DIR:-} && -x $REAL ]]; then
    : >"$FAKE_SCONTROL_LOG"
    CASE="real preflight --warn-as-fail on this machine"
    env PREFLIGHT_BIN="$REAL" PREFLIGHT_HEALTHCHECK_ARGS=--warn-as-fail \
        FAKE_SHOW_NODE="$(show_node IDLE)" "$HC" >"$TMP/out" 2>&1
    report=$TMP/reports/healthcheck-gpu-st-p5-7.json
    verdict=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['verdict']['status'])" "$report")
    first_warn=$(python3 -c "
import json, sys
checks = json.load(open(sys.argv[1]))['checks']
ids = [c['id'] for c in checks if c['status'] in ('fail', 'error')] or \\
      [c['id'] for c in checks if c['status'] == 'warn']
print(ids[0] if ids else '')" "$report")
    if [[ $verdict == pass ]]; then
        echo "skip - $CASE: no warning here"
    else
        expect_updates "update|nodename=gpu-st-p5-7|state=drain|reason=preflight: $first_warn|"
    fi
else
    echo "skip - real preflight --warn-as-fail: preflight not built (PREFLIGHT_BIN_DIR)"
fi

if ((FAILS > 0)); then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
