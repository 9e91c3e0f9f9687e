#!/usr/bin/env bash
# test_shellcheck.sh — shellcheck over the project's shell scripts:
#   scripts/**/*.sh, scripts/vcluster/*, scripts/slurm/*, tests/scripts/*.sh
# Only files that are shell scripts (a sh/bash shebang, or a .sh name) are checked, so
# READMEs and the Python helper in those folders are left alone.
# Exit: 0 pass, 1 findings, 77 skip (shellcheck not installed).
set -u
shopt -s globstar nullglob

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v shellcheck >/dev/null 2>&1 || { echo "SKIP: shellcheck not installed"; exit 77; }

is_shell() {
    local first
    [[ $1 == *.sh ]] && return 0
    IFS= read -r first <"$1" 2>/dev/null || return 1
    [[ $first =~ ^#!.*[/[:space:]](ba)?sh([[:space:]]|$) ]]
}

cd "$ROOT" || exit 1
declare -A seen=()
files=()
for f in scripts/**/*.sh scripts/vcluster/* scripts/slurm/* tests/scripts/*.sh; do
    [[ -f $f && -z ${seen[$f]:-} ]] || continue
    seen[$f]=1
    is_shell "$f" && files+=("$f")
done

# Scripts that must be among them (a rename would otherwise drop them silently).
for required in scripts/gpu-check.sh scripts/setup.sh scripts/run.sh scripts/test.sh; do
    if [[ " ${files[*]} " != *" $required "* ]]; then
        echo "FAIL: $required is not among the checked scripts"
        exit 1
    fi
done

if ((${#files[@]} == 0)); then
    echo "FAIL: no shell scripts found under $ROOT/scripts or tests/scripts"
    exit 1
fi

echo "shellcheck $(shellcheck --version | awk '/^version:/ { print $2 }') on ${#files[@]} files:"
printf '  %s\n' "${files[@]}"
if shellcheck --external-sources "${files[@]}"; then
    echo "all clean"
    exit 0
fi
echo "FAIL: shellcheck reported findings"
exit 1
