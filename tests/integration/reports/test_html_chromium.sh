#!/usr/bin/env bash
# The HTML report opened in headless Chromium: the DOM holds one plotted point per result row and
# plot (bandwidth and time), failing rows are marked, and the screenshot shows the plot's blue
# points and, for a regression, its red ones; an all-pairs run shows one node x node heatmap with
# the slow node's links in red, above no per-link plot. Set PREFLIGHT_KEEP_SCREENSHOTS=DIR to keep
# the PNGs.
source "$(dirname "$0")/lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $CHROMIUM ]]; then
  echo "SKIP: chromium not installed (apt-get install chromium)"
  exit 77
fi
R=$REPORT

browse() {  # browse HTML PNG DOM
  local flags=(--headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run
               --no-default-browser-check --disable-background-networking --disable-component-update
               --disable-dev-shm-usage --user-data-dir="$WORK/chrome-profile" --window-size=1100,800)
  # One browser start does both: the screenshot and the DOM after layout.
  # One browser start does both: the screenshot and the DOM after layout.
  timeout 90 "$CHROMIUM" "${flags[@]}" --screenshot="$2" --dump-dom "file://$1" >"$3" 2>/dev/null
}

# Counts the points a report should plot: rows of size > 0 in the bandwidth plot, and those with a
# time in the time plot; and the failing ones (marked in both plots).
expected_points() {
  python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = [r for r in report["results"] if r["size_bytes"] > 0]
print(len(rows) + sum(1 for r in rows if r["time_s"]["median"] > 0))
PY
}

count_in_dom() {  # count_in_dom FILE REGEX
  python3 - "$1" "$2" <<'PY'
import re, sys
print(len(re.findall(sys.argv[2], open(sys.argv[1], encoding="utf-8", errors="replace").read())))
PY
}

# The screenshot: a PNG decoded with the standard library only; prints how many pixels are close
# to each colour given (r,g,b hex).
count_colours() {
  python3 - "$@" <<'PY'
import itertools, struct, sys, zlib
path, colours = sys.argv[1], [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in sys.argv[2:]]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        channels = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
stride = width * channels
prev = bytearray(stride)
counts = [0] * len(colours)
mod256 = (256).__rmod__
for y in range(height):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    # None, Sub and Up with C-level iteration; Average and Paeth byte by byte.
    if f == 1:
        for k in range(channels):
            line[k::channels] = bytes(map(mod256, itertools.accumulate(line[k::channels])))
    elif f == 2:
        line = bytearray(map(mod256, map(int.__add__, line, prev)))
    elif f in (3, 4):
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            if f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            else:
                c = prev[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, channels):
        pixel = line[x:x + 3]
        for i, colour in enumerate(colours):
            if all(abs(pixel[k] - colour[k]) <= 24 for k in range(3)):
                counts[i] += 1
print(" ".join(str(c) for c in counts))
PY
}

"$R" baseline create --from "$FIXTURES/preflight-allreduce-mpi.json" -o "$WORK/own.json" -q
cases=("$FIXTURES/preflight-allreduce-mpi-slower.json|$WORK/own.json")
if [[ -f $CORPUS/nccl-tests-text/p5-2node-allreduce-srun-l-prefix.txt ]]; then
  "$R" import nccl-tests "$CORPUS/nccl-tests-text/p5-2node-allreduce-srun-l-prefix.txt" \
    --instance-type p5.48xlarge --nodes 2 -q --json "$WORK/p5.json"
  cases+=("$WORK/p5.json|$BASELINES/p5.48xlarge-2node-all_reduce-nccl.json")
fi

for case in "${cases[@]}"; do
  input=${case%%|*}
  baseline=${case#*|}
  name=$(basename "$input" .json)
  args=(render "$input" --format html -o "$WORK/$name.html")
  [[ -n $baseline ]] && args+=(--baseline "$baseline")
  expect_rc 0 "render html $name" -- "$R" "${args[@]}"
  browse "$WORK/$name.html" "$WORK/$name.png" "$WORK/$name.dom"
  CHECKS=$((CHECKS + 2))
  if [[ ! -s $WORK/$name.png || ! -s $WORK/$name.dom ]]; then
    fail "$name: chromium produced no screenshot or DOM"
    continue
  fi
  want=$(expected_points "$input")
  got=$(count_in_dom "$WORK/$name.dom" '<circle class="pt[ "]')
  [[ $got == "$want" ]] || fail "$name: $got points in the DOM, expected $want"
  CHECKS=$((CHECKS + 2))
  plots=$(count_in_dom "$WORK/$name.dom" '<svg class="plot"')
  [[ $plots == 2 ]] || fail "$name: $plots plots, expected 2"
  [[ $(count_in_dom "$WORK/$name.dom" '<script') == 0 ]] || fail "$name: a script in the DOM"
  # Blue points (#0969da) on screen; for the regression, red failing points (#cf222e).
  read -r blue red < <(count_colours "$WORK/$name.png" 0969da cf222e)
  CHECKS=$((CHECKS + 1))
  [[ $blue -gt 200 ]] || fail "$name: only $blue blue pixels in the screenshot: no plot drawn?"
  if [[ $name == *slower* ]]; then
    CHECKS=$((CHECKS + 2))
    failing=$(count_in_dom "$WORK/$name.dom" '<circle class="pt oop fail"')
    [[ $failing == 6 ]] || fail "$name: $failing failing points, expected 6 (3 sizes x 2 plots)"
    [[ $red -gt 50 ]] || fail "$name: only $red red pixels: failing points not visible"
  fi
  if [[ -n ${PREFLIGHT_KEEP_SCREENSHOTS:-} ]]; then
    mkdir -p "$PREFLIGHT_KEEP_SCREENSHOTS"
    cp "$WORK/$name.png" "$WORK/$name.html" "$PREFLIGHT_KEEP_SCREENSHOTS/"
  fi
done

# All-pairs over 5 nodes, node4 at 45% of the typical link: one heatmap, its 8 cells red.
name=preflight-p2p-all-pairs-slow-node
expect_rc 0 "render html $name" -- "$R" render "$FIXTURES/$name.json" --format html -o "$WORK/$name.html"
browse "$WORK/$name.html" "$WORK/$name.png" "$WORK/$name.dom"
CHECKS=$((CHECKS + 4))
[[ $(count_in_dom "$WORK/$name.dom" '<svg class="heatmap"') == 1 ]] || fail "$name: not one heatmap"
[[ $(count_in_dom "$WORK/$name.dom" '<rect class="cell"') == 20 ]] || fail "$name: not 20 link cells"
[[ $(count_in_dom "$WORK/$name.dom" '<svg class="plot"') == 0 ]] || fail "$name: a plot per link"
# hsl(0,65%,42%) is about #b12525 (node4's links); hsl(120,65%,50%) about #2cd22c (the others).
read -r red green < <(count_colours "$WORK/$name.png" b12525 2cd22c)
((red > 8 * 500 && green > 12 * 500)) ||
  fail "$name: $red red and $green green pixels: the heatmap is not drawn as expected"
if [[ -n ${PREFLIGHT_KEEP_SCREENSHOTS:-} ]]; then
  cp "$WORK/$name.png" "$WORK/$name.html" "$PREFLIGHT_KEEP_SCREENSHOTS/"
fi
finish
