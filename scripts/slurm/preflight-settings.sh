# preflight-settings.sh — sourced by preflight-prolog.sh and preflight-healthcheck.sh (install it
# beside them). slurmd starts Prolog and HealthCheckProgram with an environment it builds (SLURM_*
# variables), not its own: settings come from the first file found of $PREFLIGHT_ENV_FILE,
# preflight.env beside the scripts, /etc/default/preflight. KEY=VALUE lines for PREFLIGHT_*,
# SCONTROL and SLURM_CONF (a slurm.conf elsewhere than where scontrol looks); a variable already
# set wins. load_settings DIR: DIR is where the scripts are (plain bash: slurmd's PATH may be bare).
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
