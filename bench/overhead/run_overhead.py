#!/usr/bin/env python3
"""What preflight's timing loops cost at 8 B - 4 KiB: runs bench_harness_overhead (one process per
rank, every variant interleaved and rotated per repetition, a cache-line probe before and after
each) and writes one table per suite and machine state.

  bench/overhead/run_overhead.py [--build build] [--reps 9] [--min-near 9] [--max-reps 30]
      [--suites allreduce,mpi,shm,tcp] [--sizes 8,64,1024,4096] [--iters 20000]
      [--quiet-load 0.6] [--wait-quiet-s 1200] [--out bench/results/overhead.md]

It first waits (polling every 30 s, up to --wait-quiet-s) for the 1-minute load average to fall
below --quiet-load; the load before and after is recorded. Each figure is, per repetition, the
variant's median per call divided by the bare loop's median of the same repetition (means for
the batched variants: preflight's batched mean / the bare batch), quoted as the median ratio with
its min-max over the repetitions of one state: near (cache line one-way < 100 ns before and
after) and far (> 150 ns both times) separately; repetitions whose state moved are left out and
counted. The verdict lines check the targets of the floor issue in the near state: all-reduce 8 B
and MPI 8 B, preflight / bare <= 1.02.
Everything runs through argument vectors (subprocess without a shell).
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_common  # noqa: E402  (the shared helpers one directory up)

# What each ratio compares: (label, numerator variant, denominator variant).
COMPARISONS = {
    "allreduce": [
        ("preflight / bare (per-iteration max-over-ranks median)", "preflight", "bare"),
        ("preflight adaptive / bare", "preflight_adaptive", "bare"),
        ("preflight batched mean / bare batch", "preflight_batch", "bare_batch"),
        ("legacy loop / bare", "legacy", "bare"),
        ("+dispatch / bare", "+dispatch", "bare"),
        ("+run_dispatch / bare", "+run_dispatch", "bare"),
        ("+run_dispatch / +dispatch", "+run_dispatch", "+dispatch"),
        ("+sampler / bare", "+sampler", "bare"),
        ("+vectors / bare", "+vectors", "bare"),
        ("+wallcheck / bare", "+wallcheck", "bare"),
        ("bare on MPI_COMM_WORLD / bare", "bare_world", "bare"),
        ("bare on steady_clock / bare", "bare_steady", "bare"),
    ],
    "pair": [
        ("preflight / bare (median one-way)", "preflight", "bare"),
        ("preflight adaptive / bare", "preflight_adaptive", "bare"),
        ("preflight batched mean / bare batch", "preflight_batch", "bare_batch"),
        ("channel / bare", "channel", "bare"),
        ("+txpoll / bare", "+txpoll", "bare"),
        ("+getcount / bare", "+getcount", "bare"),
        ("bare on steady_clock / bare", "bare_steady", "bare"),
    ],
}
TARGETS = [("allreduce", 8, "preflight", "bare", 1.02), ("mpi", 8, "preflight", "bare", 1.02)]


def size_name(size):
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def ratios(lines, numerator, denominator):
    values = []
    for line in lines:
        variants = line["variants"]
        if numerator in variants and denominator in variants:
            values.append(variants[numerator]["median_s"] / variants[denominator]["median_s"])
    return values


def tables(records, suites, sizes):
    out = []
    for suite in suites:
        comparisons = COMPARISONS["allreduce" if suite == "allreduce" else "pair"]
        for state in ("near", "far"):
            by_size = {size: [r for r in records if r["suite"] == suite and r["bytes"] == size
                              and r["state"] == state] for size in sizes}
            if not any(by_size.values()):
                out.append(f"\n**{suite}, {state}**: no repetition in this state.\n")
                continue
            out.append(f"\n**{suite}, {state} state** (median ratio, min-max, repetitions)\n")
            out.append("| | " + " | ".join(size_name(s) for s in sizes) + " |")
            out.append("|---|" + "---|" * len(sizes))
            bare_unit = "one-way" if suite != "allreduce" else "max over ranks"
            cells = []
            for size in sizes:
                lines = by_size[size]
                cells.append("-" if not lines else
                             f"{statistics.median(l['variants']['bare']['median_s'] for l in lines) * 1e9:.1f}")
            out.append(f"| bare median ({bare_unit}, ns) | " + " | ".join(cells) + " |")
            for label, numerator, denominator in comparisons:
                row = [bench_common.spread(ratios(by_size[size], numerator, denominator))
                       for size in sizes]
                if all(cell == "-" for cell in row):
                    continue
                out.append(f"| {label} | " + " | ".join(row) + " |")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--suites", default="allreduce,mpi,shm,tcp")
    parser.add_argument("--sizes", default="8,64,1024,4096")
    parser.add_argument("--iters", type=int, default=20000)
    parser.add_argument("--tcp-iters", type=int, default=4000)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--min-near", type=int, default=9,
                        help="repeat until this many near repetitions per size (or --max-reps)")
    parser.add_argument("--max-reps", type=int, default=30)
    parser.add_argument("--quiet-load", type=float, default=0.6)
    parser.add_argument("--wait-quiet-s", type=float, default=1200)
    parser.add_argument("--nice", type=int, default=-20 if os.geteuid() == 0 else 0)
    parser.add_argument("--out", help="append the markdown to this file")
    parser.add_argument("--jsonl", help="keep the raw lines here")
    args = parser.parse_args()

    quiet, load_before = bench_common.wait_for_quiet(args.quiet_load, args.wait_quiet_s)
    bench_common.prioritise(args.nice)
    header = bench_common.machine_line([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    binary = os.path.join(args.build, "bench", "bench_harness_overhead")
    output = bench_common.run(
        ["mpirun", "--allow-run-as-root", "-np", "2", "--bind-to", "core", binary,
         "--suites", args.suites, "--sizes", args.sizes, "--iters", str(args.iters),
         "--tcp-iters", str(args.tcp_iters), "--reps", str(args.reps),
         "--min-near", str(args.min_near), "--max-reps", str(args.max_reps),
         "--near-ns", str(bench_common.NEAR_BELOW_NS)], timeout=7200)
    load_after = bench_common.load_average()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    if args.jsonl:
        with open(args.jsonl, "w", encoding="utf-8") as stream:
            stream.write(output)
    settings, records = lines[0], lines[1:]
    for record in records:
        record["state"] = bench_common.state_of(record["cacheline_before_ns"],
                                                record["cacheline_after_ns"])
    suites = [s for s in args.suites.split(",") if s]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    text = [f"\n### Run of {settings.get('mpi_library', '')}, clock {settings['clock']['source']}\n",
            header,
            f"Load average {load_before:.2f} before ({'quiet' if quiet else 'NOT quiet'}: "
            f"threshold {args.quiet_load}), {load_after:.2f} after; {args.iters} iterations per "
            f"variant ({args.tcp_iters} on tcp), {settings['warmup']} warm-up; clock: "
            f"{json.dumps(settings['clock'])}."]
    counts = {}
    for record in records:
        key = (record["suite"], record["state"])
        counts[key] = counts.get(key, 0) + 1
    text.append("Repetitions by state: " + ", ".join(
        f"{suite} {state} {count}" for (suite, state), count in sorted(counts.items())) + ".")
    text.extend(tables(records, suites, sizes))
    verdicts = []
    for suite, size, numerator, denominator, limit in TARGETS:
        near = [r for r in records if r["suite"] == suite and r["bytes"] == size
                and r["state"] == "near"]
        values = ratios(near, numerator, denominator)
        if suite not in suites or size not in sizes:
            continue
        if len(values) < 9:
            verdicts.append(f"- {suite} {size} B near: only {len(values)} near repetitions "
                            f"(ratio {bench_common.spread(values)}): not enough to judge")
            continue
        median = statistics.median(values)
        verdicts.append(f"- {suite} {size} B near, {numerator} / {denominator}: "
                        f"{bench_common.spread(values)}: "
                        f"{'met' if median <= limit else 'NOT met'} (target <= {limit})")
    text.append("\nTargets:\n" + "\n".join(verdicts))
    result = "\n".join(text) + "\n"
    print(result)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as stream:
            stream.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
