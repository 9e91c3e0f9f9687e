#!/usr/bin/env bash
# preflight-healthcheck.sh — Slurm HealthCheckProgram (NHC convention): drain a node
# that fails `preflight node --quick`, resume it once it passes again — but only when
# the drain was ours.
#
# slurm.conf:   HealthCheckProgram=/opt/preflight/scripts/slurm/preflight-healthcheck.sh
#               HealthCheckInterval=300
#               HealthCheckNodeState=ANY,CYCLE      (optional: stagger across nodes)
#
# Time: slurmd kills a HealthCheckProgram after 60 s. preflight is bounded at
# PREFLIGHT_HEALTHCHECK_TIMEOUT (default 50 s; SIGKILL 5 s later), so the wrapper ends
# inside slurmd's limit with time left to read the report and call scontrol.
#
# Only a verdict preflight itself reached takes a node out:
#   preflight exit -> action
#   1 fail      drain, reason "preflight: <ID>", ID = the first failing check of the report
#               (with --warn-as-fail in PREFLIGHT_HEALTHCHECK_ARGS and no failing check: the
#               first warning) — only when the report is readable and its verdict says fail
#   0 pass      resume the node if it is drained/draining with a reason starting with
#               "preflight:"; a drain set by anyone else (e.g. "maintenance") is left alone
#   anything else is trouble of the health check, not a verdict on the node: logged, node
#   left alone (the NHC convention), wrapper exit 1:
#   4 error, 124/137 timeout, 3 skip (exit 0), 2 usage, preflight missing or crashed, exit 1
#   without a readable failing report, a report directory that cannot be written
#   With PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1 an error or timeout drains instead, with a
#   reason that says so: "preflight: error <ID>" / "preflight: timeout after <N> s".
# A node already drained by someone else is never re-labelled: its reason is kept, so
# a later pass can never resume it by mistake.  Re-draining with an unchanged reason is
# skipped (no reason-timestamp churn).
#
# Environment (all optional):
#   PREFLIGHT_BIN                 preflight binary (default: `preflight` on PATH, then
#                                 /opt/preflight/bin/preflight)
#   PREFLIGHT_REPORT_DIR          report directory (default /var/log/preflight; when it
#                                 cannot be written, a private directory under $TMPDIR)
#   PREFLIGHT_HEALTHCHECK_TIMEOUT seconds preflight may run (default 50, at most 54: slurmd
#                                 kills the wrapper at 60 s)
#   PREFLIGHT_HEALTHCHECK_ARGS    extra arguments for `preflight node` (word-split)
#   PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1  drain on an error or timeout of preflight too
#   PREFLIGHT_HEALTHCHECK_DRY_RUN=1  log the scontrol commands instead of running them
#   SCONTROL                      scontrol binary (default: scontrol on PATH)
#   SLURMD_NODENAME               node name (default: hostname -s)
#
# Exit: 0 when the node passed (or was skipped), 1 when it was drained or the check
# could not run.
set -u

# Settings from preflight.env or /etc/default/preflight (slurmd gives this script an environment
# of its own): preflight-settings.sh, installed beside this script.
here=${BASH_SOURCE[0]%/*} && [[ $here != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=preflight-settings.sh
source "$here/preflight-settings.sh" || { echo "$0: install preflight-settings.sh beside it" >&2; exit 1; }
load_settings "$here"

readonly TAG=preflight-healthcheck
readonly REASON_PREFIX='preflight:'
NODE=${SLURMD_NODENAME:-$(hostname -s 2>/dev/null || hostname)}
REPORT_DIR=${PREFLIGHT_REPORT_DIR:-/var/log/preflight}
TIMEOUT=${PREFLIGHT_HEALTHCHECK_TIMEOUT:-50}
SCONTROL=${SCONTROL:-scontrol}
LOG_CONTEXT="node=$NODE"

# first check whose status is fail (or error), in report order; else, when the run failed on
# warnings (--warn-as-fail), the first warning; empty when none/unreadable
first_failing_id() {
    local json=$1 id=""
    [[ -s $json ]] || return 0
    if command -v jq >/dev/null 2>&1; then
        id=$(jq -r '[(.checks // [])[] | select(.status == "fail" or .status == "error")
                     | .id // empty][0]
                    // [(.checks // [])[] | select(.status == "warn") | .id // empty][0]
                    // empty' "$json" 2>/dev/null)
    elif command -v python3 >/dev/null 2>&1; then
        id=$(python3 - "$json" 2>/dev/null <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    r = json.load(f)
checks = [c for c in r.get("checks") or [] if isinstance(c, dict) and c.get("id")]
for wanted in (("fail", "error"), ("warn",)):
    found = [c["id"] for c in checks if c.get("status") in wanted]
    if found:
        print(found[0])
        break
EOF
        )
    fi
    # a reason is a single token of safe characters
    id=${id//[^A-Za-z0-9_.:-]/_}
    echo "${id:0:64}"
}

# the verdict status of a report ("fail", "pass", ...); empty when none/unreadable
report_verdict() {
    local json=$1
    [[ -s $json ]] || return 0
    if command -v jq >/dev/null 2>&1; then
        jq -r '.verdict.status // empty' "$json" 2>/dev/null
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"]["status"])' \
            "$json" 2>/dev/null
    fi
}

# sets NODE_STATE and NODE_REASON from `scontrol show node`, e.g.
#   State=IDLE+DRAIN ThreadsPerCore=1 ...
#   Reason=preflight: EFA_PORT_DOWN [root@2024-05-01T12:00:00]
NODE_STATE="" NODE_REASON=""
read_node() {
    local out line
    NODE_STATE="" NODE_REASON=""
    out=$("$SCONTROL" show node "$NODE" 2>/dev/null) || return 1
    while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}          # trim leading blanks
        case $line in
            State=* | *" State="*)
                NODE_STATE=${line#*State=}
                NODE_STATE=${NODE_STATE%% *}
                ;;
        esac
        case $line in
            Reason=* | *" Reason="*)
                NODE_REASON=${line#*Reason=}
                # one-line (-o) output: the reason runs to the [user@time] stamp
                if [[ $NODE_REASON =~ ^(.*[^[:space:]])[[:space:]]+\[[^]@]*@[^]]*\] ]]; then
                    NODE_REASON=${BASH_REMATCH[1]}
                fi
                ;;
        esac
    done <<<"$out"
    return 0
}

is_drain_state() { [[ ${NODE_STATE^^} == *DRAIN* ]]; }
is_our_reason() { [[ $NODE_REASON == "$REASON_PREFIX"* ]]; }

run_scontrol() {
    if [[ ${PREFLIGHT_HEALTHCHECK_DRY_RUN:-0} == 1 ]]; then
        log info "dry run: $SCONTROL $*"
        return 0
    fi
    "$SCONTROL" "$@"
}

drain() {
    local reason="$REASON_PREFIX $1"
    if read_node && is_drain_state; then
        if ! is_our_reason; then
            log warning "wanted to drain ($reason) but the node is already drained by someone else" \
                "(Reason=$NODE_REASON); leaving it alone"
            return 0
        fi
        if [[ $NODE_REASON == "$reason" ]]; then
            log info "already drained: $reason"
            return 0
        fi
    fi
    log err "draining: $reason"
    run_scontrol update nodename="$NODE" state=drain reason="$reason" ||
        log err "scontrol update (drain) failed"
}

resume_if_ours() {
    if ! read_node; then
        log warning "cannot read node state (scontrol show node $NODE); not resuming"
        return 0
    fi
    is_drain_state || return 0
    if is_our_reason; then
        log notice "passing again: resuming (was: $NODE_REASON)"
        run_scontrol update nodename="$NODE" state=resume ||
            log err "scontrol update (resume) failed"
    else
        log info "pass, but the node is drained by someone else (Reason=$NODE_REASON); not resuming"
    fi
}

# ----------------------------------------------------------------------------- main

# trouble of the health check itself: log it, leave the node alone (or, opted in, drain with a
# reason that names the trouble), exit 1
harness_trouble() { # harness_trouble DRAIN_REASON MESSAGE...
    local reason=$1
    shift
    if [[ ${PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR:-0} == 1 && -n $reason ]]; then
        log err "$*; PREFLIGHT_HEALTHCHECK_DRAIN_ON_ERROR=1"
        drain "$reason"
    else
        log err "$*; node state unchanged"
    fi
    exit 1
}

if [[ ! $TIMEOUT =~ ^[0-9]+$ ]] || ((TIMEOUT < 1 || TIMEOUT > 54)); then
    log err "PREFLIGHT_HEALTHCHECK_TIMEOUT=$TIMEOUT is not 1..54 s (slurmd kills a" \
        "HealthCheckProgram at 60 s); node state unchanged"
    exit 1
fi
if ! PREFLIGHT=$(find_preflight); then
    log err "preflight binary not found (PREFLIGHT_BIN='${PREFLIGHT_BIN:-}', PATH); node state unchanged"
    exit 1
fi
# The report and stderr files: a node name is not a safe file name ('/' in it), and a report
# directory that cannot be written falls back to a private one; without either, preflight's
# verdict could not be read, so the check does not run at all.
FILE_NODE=${NODE//[^A-Za-z0-9._-]/_}
if ! { mkdir -p "$REPORT_DIR" 2>/dev/null && [[ -d $REPORT_DIR && -w $REPORT_DIR ]]; }; then
    log warning "report directory $REPORT_DIR cannot be written; using a private one under ${TMPDIR:-/tmp}"
    if ! REPORT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/preflight-healthcheck.XXXXXX" 2>/dev/null); then
        log err "no writable directory for the report (${PREFLIGHT_REPORT_DIR:-/var/log/preflight}," \
            "${TMPDIR:-/tmp}); check not run, node state unchanged"
        exit 1
    fi
fi
REPORT=$REPORT_DIR/healthcheck-$FILE_NODE.json
STDERR_FILE=$REPORT_DIR/healthcheck-$FILE_NODE.stderr
if ! rm -f "$REPORT" 2>/dev/null || ! : 2>/dev/null >"$STDERR_FILE"; then
    log err "cannot write $STDERR_FILE; check not run, node state unchanged"
    exit 1
fi

run_preflight "$REPORT" "$STDERR_FILE" "${PREFLIGHT_HEALTHCHECK_ARGS:-}"
rc=$?

case $rc in
    0)
        resume_if_ours
        exit 0
        ;;
    1)
        id=$(first_failing_id "$REPORT")
        if [[ -z $id || $(report_verdict "$REPORT") != fail ]]; then
            harness_trouble "" "preflight exited 1 without a readable report naming a failing" \
                "check ($REPORT); not a verdict"
        fi
        drain "$id"
        exit 1
        ;;
    4)
        id=$(first_failing_id "$REPORT")
        harness_trouble "error ${id:-exit-4}" "preflight error (exit 4${id:+, $id}): it reached" \
            "no verdict on this node ($REPORT, $STDERR_FILE)"
        ;;
    124 | 137)
        harness_trouble "timeout after $TIMEOUT s" "preflight timed out (exit $rc, limit" \
            "$TIMEOUT s)"
        ;;
    3)
        log notice "skip: prerequisites absent; node state unchanged ($REPORT)"
        exit 0
        ;;
    2)
        harness_trouble "" "preflight usage error (check PREFLIGHT_HEALTHCHECK_ARGS)"
        ;;
    *)
        harness_trouble "" "preflight exited $rc (not run or crashed)"
        ;;
esac
