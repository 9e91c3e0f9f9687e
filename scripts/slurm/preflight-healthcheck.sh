#!/usr/bin/env bash
# preflight-healthcheck.sh — Slurm HealthCheckProgram (NHC convention): drain a node
# that fails `preflight node --quick`, resume it once it passes again — but only when
# the drain was ours.
#
# slurm.conf:   HealthCheckProgram=/opt/preflight/scripts/slurm/preflight-healthcheck.sh
#               HealthCheckInterval=300
#               HealthCheckNodeState=ANY,CYCLE      (optional: stagger across nodes)
#
# preflight exit -> action
#   0 pass      resume the node if it is drained/draining with a reason starting with
#               "preflight:"; a drain set by anyone else (e.g. "maintenance") is left alone
#   1 fail      drain, reason "preflight: <first failing check id>" (with --warn-as-fail in
#               PREFLIGHT_HEALTHCHECK_ARGS and no failing check: the first warning's id)
#   4 error     drain, reason "preflight: <first failing/error check id>" (or ERROR)
#   124 timeout drain, reason "preflight: TIMEOUT"
#   3 skip      log only
#   other       (usage error, preflight missing or crashed) log only, exit non-zero
# A node already drained by someone else is never re-labelled: its reason is kept, so
# a later pass can never resume it by mistake.  Re-draining with an unchanged reason is
# skipped (no reason-timestamp churn).
#
# Environment (all optional):
#   PREFLIGHT_BIN                 preflight binary (default: `preflight` on PATH, then
#                                 /opt/preflight/bin/preflight)
#   PREFLIGHT_REPORT_DIR          report directory (default /var/log/preflight)
#   PREFLIGHT_HEALTHCHECK_TIMEOUT seconds before the check counts as timed out (default 120)
#   PREFLIGHT_HEALTHCHECK_ARGS    extra arguments for `preflight node` (word-split)
#   PREFLIGHT_HEALTHCHECK_DRY_RUN=1  log the scontrol commands instead of running them
#   SCONTROL                      scontrol binary (default: scontrol on PATH)
#   SLURMD_NODENAME               node name (default: hostname -s)
#
# Exit: 0 when the node passed (or was skipped), 1 when it was drained or the check
# could not run.
set -u

# slurmd starts Prolog and HealthCheckProgram with an environment it builds (SLURM_* variables),
# not its own: settings come from the first file found of $PREFLIGHT_ENV_FILE, preflight.env
# beside this script, /etc/default/preflight. KEY=VALUE lines for PREFLIGHT_*, SCONTROL and
# SLURM_CONF (a slurm.conf elsewhere than where scontrol looks); a
# variable already set wins.
load_settings() {
    local file key value
    for file in "${PREFLIGHT_ENV_FILE:-}" "$(dirname "${BASH_SOURCE[0]}")/preflight.env" \
        /etc/default/preflight; do
        [[ -n $file && -r $file ]] || continue
        while IFS='=' read -r key value; do
            [[ $key =~ ^(PREFLIGHT_[A-Z0-9_]+|SCONTROL|SLURM_CONF)$ ]] || continue
            value=${value%\"}
            value=${value#\"}
            [[ -n ${!key+set} ]] || export "$key=$value"
        done <"$file"
        return 0
    done
}
load_settings

readonly TAG=preflight-healthcheck
readonly REASON_PREFIX='preflight:'
NODE=${SLURMD_NODENAME:-$(hostname -s 2>/dev/null || hostname)}
REPORT_DIR=${PREFLIGHT_REPORT_DIR:-/var/log/preflight}
TIMEOUT=${PREFLIGHT_HEALTHCHECK_TIMEOUT:-120}
SCONTROL=${SCONTROL:-scontrol}

log() {
    local prio=$1
    shift
    echo "$TAG: $*" >&2
    if command -v logger >/dev/null 2>&1; then
        logger -t "$TAG" -p "user.$prio" -- "node=$NODE $*" 2>/dev/null || true
    fi
}

find_preflight() {
    if [[ -n ${PREFLIGHT_BIN:-} ]]; then
        [[ -x $PREFLIGHT_BIN ]] && { echo "$PREFLIGHT_BIN"; return 0; }
        return 1
    fi
    command -v preflight 2>/dev/null && return 0
    [[ -x /opt/preflight/bin/preflight ]] && { echo /opt/preflight/bin/preflight; return 0; }
    return 1
}

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

if ! PREFLIGHT=$(find_preflight); then
    log err "preflight binary not found (PREFLIGHT_BIN='${PREFLIGHT_BIN:-}', PATH)"
    exit 1
fi
if ! mkdir -p "$REPORT_DIR" 2>/dev/null; then
    REPORT_DIR=${TMPDIR:-/tmp}
fi
REPORT=$REPORT_DIR/healthcheck-$NODE.json
rm -f "$REPORT"

read -r -a extra <<<"${PREFLIGHT_HEALTHCHECK_ARGS:-}"
cmd=("$PREFLIGHT" node --quick --json "$REPORT" "${extra[@]}")
if command -v timeout >/dev/null 2>&1; then
    cmd=(timeout -k 5 "$TIMEOUT" "${cmd[@]}")
fi
"${cmd[@]}" >/dev/null 2>"$REPORT_DIR/healthcheck-$NODE.stderr"
rc=$?
[[ -s $REPORT_DIR/healthcheck-$NODE.stderr ]] || rm -f "$REPORT_DIR/healthcheck-$NODE.stderr"

case $rc in
    0)
        resume_if_ours
        exit 0
        ;;
    1 | 4)
        id=$(first_failing_id "$REPORT")
        if [[ -z $id ]]; then
            if ((rc == 1)); then id=FAIL; else id=ERROR; fi
        fi
        drain "$id"
        exit 1
        ;;
    124 | 137)
        drain TIMEOUT
        exit 1
        ;;
    3)
        log notice "skip: prerequisites absent; node state unchanged ($REPORT)"
        exit 0
        ;;
    2)
        log err "preflight usage error (check PREFLIGHT_HEALTHCHECK_ARGS); node state unchanged"
        exit 1
        ;;
    *)
        log err "preflight exited $rc (not run or crashed); node state unchanged"
        exit 1
        ;;
esac
