# preflight-settings.sh — sourced by preflight-prolog.sh and preflight-healthcheck.sh (install it
# beside them). slurmd starts Prolog and HealthCheckProgram with an environment it builds (SLURM_*
# variables), not its own: settings come from the first file found of $PREFLIGHT_ENV_FILE,
# preflight.env beside the scripts, /etc/default/preflight. KEY=VALUE lines for PREFLIGHT_*,
# SCONTROL and SLURM_CONF (a slurm.conf elsewhere than where scontrol looks); a variable already
# set wins. load_settings DIR: DIR is where the scripts are (plain bash: slurmd's PATH may be bare).
# Also what both scripts do alike: log (TAG and LOG_CONTEXT set by the caller), find_preflight and
# run_preflight.
# shellcheck shell=bash
load_settings() {
    local file key value
    for file in "${PREFLIGHT_ENV_FILE:-}" "$1/preflight.env" \
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

# log PRIO MESSAGE...: to stderr (slurmd keeps it) and to syslog, tagged TAG, with LOG_CONTEXT (the
# node, and the job for the prolog) so a fleet's logs can be searched by node.
log() {
    local prio=$1
    shift
    echo "$TAG: $*" >&2
    if command -v logger >/dev/null 2>&1; then
        logger -t "$TAG" -p "user.$prio" -- "$LOG_CONTEXT $*" 2>/dev/null || true
    fi
}

# The preflight binary: $PREFLIGHT_BIN when set (and nothing else then), else preflight on PATH,
# else /opt/preflight/bin/preflight; returns 1 when none is executable.
find_preflight() {
    if [[ -n ${PREFLIGHT_BIN:-} ]]; then
        [[ -x $PREFLIGHT_BIN ]] && { echo "$PREFLIGHT_BIN"; return 0; }
        return 1
    fi
    command -v preflight 2>/dev/null && return 0
    [[ -x /opt/preflight/bin/preflight ]] && { echo /opt/preflight/bin/preflight; return 0; }
    return 1
}

# run_preflight REPORT STDERR_FILE EXTRA_ARGS: `$PREFLIGHT node --quick --json REPORT` with
# EXTRA_ARGS word-split, its stderr in STDERR_FILE (removed when empty); returns preflight's status.
# preflight has its own watchdog (124); timeout(1), when there, at $TIMEOUT s is the backstop if it
# hangs anyway.
run_preflight() {
    local report=$1 stderr_file=$2 rc
    local -a extra cmd
    read -r -a extra <<<"$3"
    cmd=("$PREFLIGHT" node --quick --json "$report" "${extra[@]}")
    if command -v timeout >/dev/null 2>&1; then
        cmd=(timeout -k 5 "$TIMEOUT" "${cmd[@]}")
    fi
    "${cmd[@]}" >/dev/null 2>"$stderr_file"
    rc=$?
    [[ -s $stderr_file ]] || rm -f "$stderr_file"
    return "$rc"
}
