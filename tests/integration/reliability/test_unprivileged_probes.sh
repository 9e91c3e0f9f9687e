#!/usr/bin/env bash
# Probes work unprivileged. Runs every probe binary as root and as user nobody, live and against a
# fixture tree, and asserts that each run exits with a code from the table (0, 1 or 3), writes a
# report that `preflight-report validate` accepts, and that nobody's findings are root's: the same
# multiset of (id, status, evidence) — a probe that reads less without privileges must say so in a
# finding of its own, not lose one silently. Needs root to switch user (setpriv); skips otherwise.
set -uo pipefail
bin_dir=${PREFLIGHT_BIN_DIR:?}
repo_dir=${PREFLIGHT_REPO_DIR:?}
[[ $(id -u) == 0 ]] || { echo "skip: needs root to drop to nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: setpriv missing"; exit 77; }
[[ -x $bin_dir/preflight-report ]] || { echo "skip: preflight-report not built"; exit 77; }

probes=()
for name in versions drivers topology env efa; do
  [[ -x $bin_dir/preflight-$name ]] && probes+=("$bin_dir/preflight-$name")
done
((${#probes[@]} > 0)) || { echo "skip: no probe built"; exit 77; }

work=$(mktemp -d)
chmod 0777 "$work"
trap 'rm -rf "$work"' EXIT

# The findings of a report as sorted lines "id status evidence", one per finding (a multiset).
findings_of() {
  python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = []
for check in report.get("checks", []):
    evidence = json.dumps(check.get("evidence"), sort_keys=True)
    rows.append(f'{check.get("id")} {check.get("status")} {evidence}')
print("\n".join(sorted(rows)))
PY
}

failures=0
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
for probe in "${probes[@]}"; do
  name=$(basename "$probe")
  for root in / "$repo_dir/tests/fixtures/sysfs/p5en-healthy"; do
    tag=$name-$(echo "$root" | tr / _)
    declare -A exit_of=()
    for who in root nobody; do
      report=$work/$tag-$who.json
      runner=()
      [[ $who == nobody ]] && runner=(setpriv --reuid=nobody --regid=nogroup --clear-groups
        --reset-env --)
      "${runner[@]}" "$probe" --root "$root" --no-imds --json "$report" --quiet >/dev/null \
        2>"$work/err"
      exit_of[$who]=$?
      if [[ ${exit_of[$who]} != 0 && ${exit_of[$who]} != 1 && ${exit_of[$who]} != 3 ]]; then
        fail "$name --root $root as $who exited ${exit_of[$who]}: $(head -3 "$work/err")"
      elif ! "$bin_dir/preflight-report" validate "$report" >"$work/validate" 2>&1; then
        fail "$name --root $root as $who wrote an invalid report: $(head -5 "$work/validate")"
      fi
    done
    [[ -f $work/$tag-root.json && -f $work/$tag-nobody.json ]] || continue
    if [[ ${exit_of[root]} != "${exit_of[nobody]}" ]]; then
      fail "$name --root $root exits ${exit_of[root]} as root, ${exit_of[nobody]} as nobody"
    fi
    if ! diff <(findings_of "$work/$tag-root.json") <(findings_of "$work/$tag-nobody.json") \
        >"$work/diff"; then
      fail "$name --root $root: nobody's findings differ from root's (< root, > nobody):"
      sed 's/^/    /' "$work/diff" | head -20
    else
      echo "ok   - $name --root $root as nobody: exit ${exit_of[nobody]}," \
        "$(findings_of "$work/$tag-nobody.json" | grep -c .) findings as root's"
    fi
  done
done
exit $((failures > 0))
