#!/usr/bin/env bash
# preflight-prolog.sh — Slurm Prolog: vouch for this node before a job starts on it.
#
# slurm.conf:   Prolog=/opt/preflight/scripts/slurm/preflight-prolog.sh
#               PrologFlags=Alloc        (optional: run at allocation, not at first step)
#
# Runs `preflight node --quick --json <dir>/prolog-<jobid>.json`.
#   exit 0     the node is fit (preflight passed)
#   exit 1     anything else: fail, error, timeout, skip (unless allowed), preflight missing.
#              Slurm then drains the node ("Prolog error") and requeues the job, which is
#              the point: a job never starts on a node that could not be vouched for.
#
# Environment (all optional):
#   PREFLIGHT_BIN               preflight binary (default: `preflight` on PATH, then
#                               /opt/preflight/bin/preflight)
#   PREFLIGHT_REPORT_DIR        where reports go (default /var/log/preflight)
#   PREFLIGHT_PROLOG_TIMEOUT    seconds before the check is killed (default 60; keep it
#                               below slurm.conf PrologEpilogTimeout)
#   PREFLIGHT_PROLOG_ALLOW_SKIP=1   treat "skip" (3: prerequisite absent, e.g. a CPU-only
#                               node in a mixed cluster) as fit
#   PREFLIGHT_PROLOG_ARGS       extra arguments for `preflight node` (word-split)
# Slurm provides SLURM_JOB_ID and SLURMD_NODENAME.
set -u

# Settings from preflight.env or /etc/default/preflight (slurmd gives this script an environment
# of its own): preflight-settings.sh, installed beside this script.
here=${BASH_SOURCE[0]%/*} && [[ $here != "${BASH_SOURCE[0]}" ]] || here=.
# shellcheck source-path=SCRIPTDIR source=preflight-settings.sh
source "$here/preflight-settings.sh" || { echo "$0: install preflight-settings.sh beside it" >&2; exit 1; }
load_settings "$here"

readonly TAG=preflight-prolog
NODE=${SLURMD_NODENAME:-$(hostname -s 2>/dev/null || hostname)}
JOBID=${SLURM_JOB_ID:-${SLURM_JOBID:-manual-$$}}
REPORT_DIR=${PREFLIGHT_REPORT_DIR:-/var/log/preflight}
TIMEOUT=${PREFLIGHT_PROLOG_TIMEOUT:-60}
LOG_CONTEXT="node=$NODE job=$JOBID"

if ! PREFLIGHT=$(find_preflight); then
    log err "preflight binary not found (PREFLIGHT_BIN='${PREFLIGHT_BIN:-}', PATH); node not vouched for"
    exit 1
fi

if ! mkdir -p "$REPORT_DIR" 2>/dev/null; then
    log warning "cannot create $REPORT_DIR; writing the report under ${TMPDIR:-/tmp}"
    REPORT_DIR=${TMPDIR:-/tmp}
fi
REPORT=$REPORT_DIR/prolog-$JOBID.json

run_preflight "$REPORT" "$REPORT_DIR/prolog-$JOBID.stderr" "${PREFLIGHT_PROLOG_ARGS:-}"
rc=$?

case $rc in
    0)
        log info "pass ($REPORT)"
        exit 0
        ;;
    3)
        if [[ ${PREFLIGHT_PROLOG_ALLOW_SKIP:-0} == 1 ]]; then
            log notice "skip accepted (PREFLIGHT_PROLOG_ALLOW_SKIP=1) ($REPORT)"
            exit 0
        fi
        log warning "skip: prerequisites absent, node not vouched for ($REPORT)"
        ;;
    1) log err "fail ($REPORT)" ;;
    2) log err "usage error from preflight (check PREFLIGHT_PROLOG_ARGS) ($REPORT)" ;;
    4) log err "error: the check itself broke ($REPORT)" ;;
    124 | 137) log err "timeout after ${TIMEOUT}s ($REPORT)" ;;
    *) log err "preflight exited $rc ($REPORT)" ;;
esac
exit 1
