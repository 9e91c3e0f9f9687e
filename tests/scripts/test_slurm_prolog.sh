#!/usr/bin/env bash
# test_slurm_prolog.sh — scripts/slurm/preflight-prolog.sh against a fake `preflight`.
# Asserts: invocation (`node --quick --json <dir>/prolog-<jobid>.json`, binary from
# PREFLIGHT_BIN or PATH), exit 0 only on pass (or skip when allowed), non-zero on fail,
# error, timeout, skip and a missing binary.
# Exit: 0 pass, 1 fail.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROLOG=$ROOT/scripts/slurm/preflight-prolog.sh
[[ -x $PROLOG ]] || { echo "FAIL: $PROLOG missing or not executable"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/alt"
cat >"$TMP/bin/preflight" <<'EOF'
#!/usr/bin/env bash
printf '%s|' "$@" >"$FAKE_PREFLIGHT_ARGV"
json=""
while (($# > 0)); do
    if [[ $1 == --json ]]; then json=$2; shift; fi
    shift
done
[[ -n $json ]] && echo '{"schema":"preflight.report/1","checks":[],"verdict":{"status":"x"}}' >"$json"
[[ -n ${FAKE_SLEEP:-} ]] && sleep "$FAKE_SLEEP"
exit "${FAKE_RC:-0}"
EOF
chmod +x "$TMP/bin/preflight"
cp "$TMP/bin/preflight" "$TMP/alt/preflight-custom"

export PATH="$TMP/bin:$PATH" FAKE_PREFLIGHT_ARGV=$TMP/argv
export PREFLIGHT_REPORT_DIR=$TMP/reports SLURM_JOB_ID=4242 SLURMD_NODENAME=gpu-st-p5-7
unset PREFLIGHT_BIN PREFLIGHT_PROLOG_ARGS PREFLIGHT_PROLOG_ALLOW_SKIP

FAILS=0
# expect NAME WANT_RC [env assignments...]
expect() {
    local name=$1 want=$2 rc
    shift 2
    env "$@" "$PROLOG" >/dev/null 2>"$TMP/err"
    rc=$?
    if [[ $want == nonzero && $rc -ne 0 ]] || [[ $rc == "$want" ]]; then
        echo "ok   - $name (exit $rc)"
    else
        echo "FAIL - $name: exit $rc, expected $want"
        sed 's/^/       | /' "$TMP/err"
        FAILS=$((FAILS + 1))
    fi
}

expect "pass -> 0" 0 FAKE_RC=0
if [[ $(cat "$TMP/argv") == "node|--quick|--json|$TMP/reports/prolog-4242.json|" && -s $TMP/reports/prolog-4242.json ]]; then
    echo "ok   - invoked as node --quick --json <dir>/prolog-<jobid>.json"
else
    echo "FAIL - argv was: $(cat "$TMP/argv")"
    FAILS=$((FAILS + 1))
fi
expect "fail -> non-zero" nonzero FAKE_RC=1
expect "error -> non-zero" nonzero FAKE_RC=4
expect "usage -> non-zero" nonzero FAKE_RC=2
expect "timeout (124) -> non-zero" nonzero FAKE_RC=124
expect "hung preflight is killed by the prolog timeout -> non-zero" nonzero FAKE_RC=0 FAKE_SLEEP=10 \
    PREFLIGHT_PROLOG_TIMEOUT=1
expect "skip -> non-zero by default" nonzero FAKE_RC=3
expect "skip -> 0 with PREFLIGHT_PROLOG_ALLOW_SKIP=1" 0 FAKE_RC=3 PREFLIGHT_PROLOG_ALLOW_SKIP=1
expect "PREFLIGHT_BIN wins over PATH" 0 FAKE_RC=0 PREFLIGHT_BIN="$TMP/alt/preflight-custom" \
    FAKE_PREFLIGHT_ARGV="$TMP/argv.alt"
if [[ -s $TMP/argv.alt ]]; then echo "ok   - PREFLIGHT_BIN binary ran"; else
    echo "FAIL - PREFLIGHT_BIN binary did not run"
    FAILS=$((FAILS + 1))
fi
expect "missing PREFLIGHT_BIN -> non-zero" nonzero PREFLIGHT_BIN="$TMP/nope"
expect "extra args pass through" 0 FAKE_RC=0 PREFLIGHT_PROLOG_ARGS="--platform p5.48xlarge"
if [[ $(cat "$TMP/argv") == *"|--platform|p5.48xlarge|" ]]; then echo "ok   - extra args appended"; else
    echo "FAIL - extra args: $(cat "$TMP/argv")"
    FAILS=$((FAILS + 1))
fi

if ((FAILS > 0)); then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
