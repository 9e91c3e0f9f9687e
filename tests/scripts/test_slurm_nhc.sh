#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2015  # functions called from sourced code; ok && bad one-liners
# test_slurm_nhc.sh — scripts/slurm/nhc/preflight.nhc run the way NHC runs a check: sourced into
# a shell that provides NHC's library functions (die, log, dbg, syslog) with NHC's contract (die
# marks the node offline through the node-mark-offline helper, which drains it with
# `scontrol update ... Reason="NHC: <message>"`), against a fake scontrol that records every call
# and a fake preflight exiting with each code; then once with the real preflight binary.
# Exit: 0 pass, 1 fail.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODULE=$ROOT/scripts/slurm/nhc/preflight.nhc
BIN_DIR=${PREFLIGHT_BIN_DIR:-$ROOT/build/bin}
TMP=$(mktemp -d)
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }

if command -v shellcheck >/dev/null 2>&1; then
    if shellcheck "$MODULE"; then ok "shellcheck preflight.nhc"; else bad "shellcheck preflight.nhc"; fi
else
    bad "shellcheck not installed (scripts/setup.sh --test-tools)"
fi

mkdir -p "$TMP/bin" "$TMP/reports"
cat >"$TMP/bin/scontrol" <<'EOF2'
#!/usr/bin/env bash
printf '%s|' "$@" >>"$FAKE_SCONTROL_LOG"
echo >>"$FAKE_SCONTROL_LOG"
EOF2
cat >"$TMP/bin/preflight" <<'EOF2'
#!/usr/bin/env bash
# fake preflight: prints $FAKE_VERDICT as its verdict line, sleeps $FAKE_SLEEP, exits $FAKE_RC
printf '%s|' "$@" >"$FAKE_PREFLIGHT_ARGV"
[[ -n ${FAKE_SLEEP:-} ]] && sleep "$FAKE_SLEEP"
[[ -n ${FAKE_VERDICT:-} ]] && echo "$FAKE_VERDICT"
[[ -n ${FAKE_STDERR:-} ]] && echo "$FAKE_STDERR" >&2
exit "${FAKE_RC:-0}"
EOF2
# NHC's helper for Slurm marks a node offline with this scontrol call (helpers/node-mark-offline).
cat >"$TMP/bin/node-mark-offline" <<'EOF2'
#!/usr/bin/env bash
exec scontrol update NodeName="$1" State=DRAIN Reason="NHC: $2"
EOF2
chmod +x "$TMP/bin/"*
export PATH="$TMP/bin:$PATH" FAKE_SCONTROL_LOG=$TMP/scontrol.log FAKE_PREFLIGHT_ARGV=$TMP/argv

# nhc_check ARGS...: runs check_preflight_node ARGS as NHC does; the check's rc, NHC's log in
# $TMP/nhc.log.
nhc_check() {
    : >"$TMP/nhc.log"
    : >"$FAKE_SCONTROL_LOG"
    (
        HOSTNAME=gpu-st-p5-7 OFFLINE_NODE=node-mark-offline
        log() { echo "$*" >>"$TMP/nhc.log"; }
        dbg() { :; }
        syslog() { echo "syslog: $*" >>"$TMP/nhc.log"; }
        syslog_flush() { :; }
        die() {
            local rc=$1
            shift
            log "ERROR:  nhc:  Health check failed:  $*"
            eval "$OFFLINE_NODE" "'$HOSTNAME'" "'$*'"
            exit "$rc"
        }
        # shellcheck source=/dev/null
        source "$MODULE"
        check_preflight_node "$@"
    )
}

expect() { # expect NAME WANT_RC WANT_DRAIN_REASON(or "none") WANT_LOG_PART ARGS...
    local name=$1 want_rc=$2 want_drain=$3 want_log=$4
    shift 4
    nhc_check "$@"
    local rc=$? calls
    calls=$(cat "$FAKE_SCONTROL_LOG")
    if [[ $rc != "$want_rc" ]]; then
        bad "$name: check returned $rc, want $want_rc ($(cat "$TMP/nhc.log"))"
    elif [[ $want_drain == none && -n $calls ]]; then
        bad "$name: scontrol was called: $calls"
    elif [[ $want_drain != none && $calls != "update|NodeName=gpu-st-p5-7|State=DRAIN|Reason=$want_drain|" ]]; then
        bad "$name: scontrol calls '$calls', want a drain with reason '$want_drain'"
    elif ! grep -qF -- "$want_log" "$TMP/nhc.log" && [[ -n $want_log ]]; then
        bad "$name: log lacks '$want_log': $(cat "$TMP/nhc.log")"
    else
        ok "$name"
    fi
}

export FAKE_RC=0 FAKE_VERDICT="verdict: pass: 10 pass (exit 0)"
expect "pass: nothing happens" 0 none "" -d "$TMP/reports"
[[ $(cat "$FAKE_PREFLIGHT_ARGV") == "node|--quick|--json|$TMP/reports/node.json|" ]] &&
    ok "preflight node --quick --json DIR/node.json" || bad "argv: $(cat "$FAKE_PREFLIGHT_ARGV")"

export FAKE_RC=1 FAKE_VERDICT="verdict: fail: 8 pass, 2 fail (EFA_COUNT_MISMATCH, GPU_MISSING) (exit 1)"
expect "fail drains with the finding ids" 1 "NHC: preflight: EFA_COUNT_MISMATCH, GPU_MISSING" \
    "Health check failed:  preflight: EFA_COUNT_MISMATCH, GPU_MISSING" -d "$TMP/reports"
export FAKE_VERDICT=""
expect "fail without a verdict line still drains" 1 "NHC: preflight: FAIL" "" -d "$TMP/reports"

export FAKE_VERDICT="" FAKE_STDERR="preflight: usage error: unknown option '--quik' (did you mean '--quick'?)"
export FAKE_RC=2
expect "usage error: node left alone" 0 none "usage error (exit 2): preflight: usage error: unknown option" \
    -d "$TMP/reports" -a "--quik"
[[ $(cat "$FAKE_PREFLIGHT_ARGV") == *"|--quik|" ]] && ok "-a passes extra arguments" ||
    bad "-a: argv $(cat "$FAKE_PREFLIGHT_ARGV")"
unset FAKE_STDERR
export FAKE_VERDICT="verdict: skip: 5 skip (exit 3)" FAKE_RC=3
expect "skip: node left alone" 0 none "skipped the node (exit 3): verdict: skip" -d "$TMP/reports"
export FAKE_VERDICT="verdict: error: 1 error (exit 4)" FAKE_RC=4
expect "harness error: node left alone" 0 none "harness error (exit 4)" -d "$TMP/reports"
export FAKE_VERDICT="" FAKE_RC=124
expect "timeout exit: node left alone" 0 none "more than 20 s (exit 124)" -d "$TMP/reports"

export FAKE_RC=0 FAKE_SLEEP=30
start=$SECONDS
expect "hung preflight is killed at -t: node left alone" 0 none "more than 1 s" -t 1 -d "$TMP/reports"
((SECONDS - start <= 8)) && ok "hung preflight stopped within -t + 5 s" || bad "took $((SECONDS - start)) s"
unset FAKE_SLEEP

expect "missing binary: node left alone" 0 none "not found or not executable; node left alone" \
    -p "$TMP/no/preflight"
chmod a-w "$TMP/reports"
export FAKE_VERDICT="verdict: pass: 10 pass (exit 0)" FAKE_RC=0
if [[ $(id -u) == 0 ]]; then
    expect "missing report directory: runs without --json" 0 none "missing or not writable" -d "$TMP/none"
else
    expect "read-only report directory: runs without --json" 0 none "missing or not writable" -d "$TMP/reports"
fi
[[ $(cat "$FAKE_PREFLIGHT_ARGV") == "node|--quick|" ]] && ok "no --json without a writable directory" ||
    bad "argv: $(cat "$FAKE_PREFLIGHT_ARGV")"
chmod u+w "$TMP/reports"
expect "bad -t: skipped with a log" 0 none "-t abc is not a number" -t abc
expect "unknown option: skipped with a log" 0 none "unknown option -x" -x

if [[ -x $BIN_DIR/preflight ]]; then
    mkdir -p "$TMP/real"
    expect "real preflight node --quick on this machine" 0 none "" -p "$BIN_DIR/preflight" -d "$TMP/real"
    [[ -s $TMP/real/node.json ]] && ok "real run wrote node.json" || bad "real run wrote no node.json"
else
    bad "$BIN_DIR/preflight not built"
fi

if ((FAILS > 0)); then
    echo "FAILED: $FAILS"
    exit 1
fi
echo "all checks passed"
