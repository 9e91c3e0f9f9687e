#!/usr/bin/env bash
# Issue 8: probes work unprivileged. Runs every probe binary as user nobody, live and against the
# fixture trees, and asserts each exits with a code from the table (0, 1 or 3) and writes a valid
# report. Needs root to switch user (setpriv); skips otherwise.
set -uo pipefail
bin_dir=${PREFLIGHT_BIN_DIR:?}
repo_dir=${PREFLIGHT_REPO_DIR:?}
[[ $(id -u) == 0 ]] || { echo "skip: needs root to drop to nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: setpriv missing"; exit 77; }

probes=()
for name in versions drivers topology env efa; do
  [[ -x $bin_dir/preflight-$name ]] && probes+=("$bin_dir/preflight-$name")
done
((${#probes[@]} > 0)) || { echo "skip: no probe built"; exit 77; }

work=$(mktemp -d)
chmod 0777 "$work"
trap 'rm -rf "$work"' EXIT
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"; }

failures=0
for probe in "${probes[@]}"; do
  name=$(basename "$probe")
  for root in / "$repo_dir/tests/fixtures/sysfs/p5en-healthy"; do
    report=$work/$name-$(echo "$root" | tr / _).json
    as_nobody "$probe" --root "$root" --no-imds --json "$report" --quiet >/dev/null 2>"$work/err"
    rc=$?
    if [[ $rc != 0 && $rc != 1 && $rc != 3 ]]; then
      echo "FAIL - $name --root $root as nobody exited $rc: $(head -3 "$work/err")"
      failures=$((failures + 1))
    elif ! grep -q '"schema": "preflight.report/1"' "$report" 2>/dev/null; then
      echo "FAIL - $name --root $root as nobody wrote no report"
      failures=$((failures + 1))
    else
      echo "ok   - $name --root $root as nobody (exit $rc)"
    fi
  done
done
exit $((failures > 0))
