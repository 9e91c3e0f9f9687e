#!/usr/bin/env bash
# Every shipped baseline (reports/baselines/*.json) cites a public source a user can follow
# (repository, file, a 40-hex commit and lines; the link pins the same commit and lines) and no
# path outside the project (shared/, ../, reference notes that are not shipped).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
python3 - "$ROOT/reports/baselines" <<'PY'
import json, pathlib, re, sys
fails = 0
files = sorted(pathlib.Path(sys.argv[1]).glob("*.json"))
if not files:
    print("FAIL - no baselines found"); sys.exit(1)
for path in files + [pathlib.Path(sys.argv[1]) / "README.md"]:
    text = path.read_text()
    for bad in ("shared/", "../", "platforms.md", "DESIGN.md"):
        if bad in text:
            print(f"FAIL - {path.name} cites {bad!r}, which is not in the project"); fails += 1
for path in files:
    d = json.loads(path.read_text())
    source, url = d.get("source", ""), d.get("source_url", "")
    m = re.search(r"repository (github\.com/[\w.-]+/[\w.-]+), file (\S+), commit ([0-9a-f]{40}), lines (\d+)-(\d+)", source)
    if not m:
        print(f"FAIL - {path.name}: source does not name repository, file, commit and lines: {source!r}"); fails += 1
        continue
    repo, file, commit, first, last = m.groups()
    want = f"https://{repo}/blob/{commit}/{file}#L{first}-L{last}"
    if url != want:
        print(f"FAIL - {path.name}: source_url {url!r} is not {want!r}"); fails += 1
    else:
        print(f"ok   - {path.name}: {repo}@{commit[:8]} {file} lines {first}-{last}")
sys.exit(1 if fails else 0)
PY
