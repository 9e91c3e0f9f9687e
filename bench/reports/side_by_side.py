#!/usr/bin/env python3
"""preflight-report at scale, side by side with Python's json.load, interleaved in one run.

Generates its inputs (deterministic), then runs, REPETITIONS times in turn (A B C A B C ...):

  import    preflight-report import nccl-tests LOG --json OUT    (100,000-line log: 3,125 tables
            of 32 sizes on 16 ranks, as nccl-tests -R / -N print them)
  compare   preflight-report compare REPORT --baseline BASELINE  (10,000 rows, distinct sizes)
  json.load python3 -c 'json.load(REPORT); json.load(BASELINE)'  (the same two files)
  keep      preflight-report import nccl-tests LOG --keep-repeats --json OUT (200,000 rows
            written: the direct writer at scale; informational)

Each run is a fresh process, timed end to end (fork/exec included) with its CPU time and peak RSS
from wait4(). All run pinned to the same vCPU. Prints a Markdown table: median (min-max) of each,
and the per-repetition ratio compare / json.load. Checks what it times: the import gives 64 rows
each carrying all 3,125 repeats; compare exits 0.

  python3 bench/reports/side_by_side.py [--build build] [--repetitions 11] [--cpu 1]
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TABLES = 3125
SIZES = 32  # 8 B .. 16 GiB
RANKS = 16
ROWS = 10000


def make_log(path):
    rng = random.Random(1)
    lines = [
        "# nThread 1 nGpus 1 minBytes 8 maxBytes 17179869184 step: 2(factor) warmup iters: 5 "
        "iters: 20 agg iters: 1 validation: 1 graph: 0",
        "#",
        "# Using devices",
    ]
    for rank in range(RANKS):
        host = "p5-st-1" if rank < RANKS // 2 else "p5-st-2"
        lines.append(f"#  Rank {rank:2} Group  0 Pid {4000 + rank:6} on {host:>10} device "
                     f"{rank % 8:2} [0000:{0x53 + rank:02x}:00] NVIDIA H100 80GB HBM3")
    lines += [
        "#",
        "#       size         count      type   redop    root     time   algbw   busbw #wrong"
        "     time   algbw   busbw #wrong",
        "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)       "
        "     (us)  (GB/s)  (GB/s)",
    ]

    def spelled(time_us):
        return f"{time_us:.2f}" if time_us < 1000 else (
            f"{time_us:.1f}" if time_us < 10000 else f"{time_us:.0f}")

    for _ in range(TABLES):
        for exponent in range(3, 3 + SIZES):
            size = 1 << exponent
            base = 70 + size / 260e3
            fields = []
            for _placement in range(2):
                time_us = base * rng.uniform(0.95, 1.10)
                algbw = size / time_us / 1e3
                fields += [spelled(time_us), f"{algbw:.2f}", f"{algbw * 1.875:.2f}", "0"]
            lines.append(f"{size:>12}  {size // 4:>12}     float     sum      -1  "
                         + "  ".join(f"{f:>6}" for f in fields))
    lines += ["# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 123.456"]
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    return len(lines)


def make_report_and_baseline(report_path, baseline_path):
    rng = random.Random(2)
    rows = []
    expected_rows = []
    for i in range(ROWS):
        size = 1024 * (i + 1)
        expected = 1e9 + i * 4e7
        busbw = expected * (0.7 if i % 97 == 0 else rng.uniform(0.97, 1.03))
        algbw = busbw / 1.875
        t = size / algbw
        rows.append({
            "algbw_Bps": algbw, "backend": "nccl", "benchmark": "all_reduce", "busbw_Bps": busbw,
            "busbw_factor": 1.875, "count": size // 4, "dtype": "float", "in_place": False,
            "labels": {}, "op": "sum", "ranks": RANKS, "size_bytes": size, "slowest_host": "",
            "slowest_rank": -1, "stop_reason": "fixed",
            "time_s": {"ci95_median": [t * 0.995, t * 1.005], "max": t * 1.05, "mean": t,
                       "median": t, "min": t * 0.98, "n": 200, "p90": t * 1.02, "p99": t * 1.04,
                       "stdev": t * 0.01},
            "transport": "efa", "warmup_iterations": 5, "wrong_elements": 0})
        expected_rows.append({"metrics": {"busbw_Bps": {"expected": expected}},
                              "size_bytes": size})
    report = {
        "checks": [{"evidence": {}, "id": "RESULT_CORRECT", "message": "ok", "remediation": "",
                    "severity": "info", "status": "pass"}],
        "details": {}, "hw_counters_delta": {},
        "inventory": {"efa": [], "env": {}, "gpus": [], "instance_type": "p5.48xlarge",
                      "versions": {}},
        "results": rows,
        "run": {"argv": [], "finished_at": "", "hosts": [], "id": "bench", "nodes": 2,
                "ranks": RANKS, "started_at": ""},
        "schema": "preflight.report/1",
        "tool": {"git": "", "name": "preflight-allreduce", "version": ""},
        "verdict": {"exit_code": 0, "status": "pass", "summary": "pass: 1 pass"}}
    baseline = {
        "budget": {"sizes_allowed_to_miss": 200},
        "match": {"backend": "nccl", "benchmark": "all_reduce", "dtype": "float",
                  "instance_type": "p5.48xlarge", "nodes": 2, "op": "sum",
                  "placement": "out_of_place", "ranks_per_node": 8},
        "metrics": {"busbw_Bps": {"direction": "higher", "fail": {"relative": 0.2},
                                  "warn": {"relative": 0.1}}},
        "name": "bench-10k", "rows": expected_rows, "schema": "preflight.baseline/1",
        "source": "generated by bench/reports/side_by_side.py"}
    with open(report_path, "w") as out:
        json.dump(report, out, indent=2)
    with open(baseline_path, "w") as out:
        json.dump(baseline, out, indent=2)


def run(argv, cpu):
    """Wall seconds (fork to reap), CPU seconds, peak RSS MiB, exit code."""
    command = ["taskset", "-c", str(cpu)] + argv if cpu is not None else argv
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode


def summary(values, scale=1.0, digits=0):
    values = [v * scale for v in values]
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--repetitions", type=int, default=11)
    parser.add_argument("--cpu", type=int, default=1, help="vCPU to pin to (-1: none)")
    parser.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(make_log(os.path.join(args.generate, "repeated.log")))
        make_report_and_baseline(os.path.join(args.generate, "report10k.json"),
                                 os.path.join(args.generate, "baseline10k.json"))
        return
    tool = os.path.join(args.build, "bin", "preflight-report")
    cpu = None if args.cpu < 0 else args.cpu
    with tempfile.TemporaryDirectory(prefix="preflight-bench-reports-") as work:
        log = os.path.join(work, "repeated.log")
        report = os.path.join(work, "report10k.json")
        baseline = os.path.join(work, "baseline10k.json")
        imported = os.path.join(work, "imported.json")
        kept = os.path.join(work, "kept.json")
        # Generated in a child process: wait4's peak RSS of a timed child counts the pages it
        # shares with this process before exec, so this process stays small.
        generated = subprocess.run([sys.executable, __file__, "--generate", work], check=True,
                                   capture_output=True, text=True)
        lines = int(generated.stdout)
        commands = {
            "import": [tool, "import", "nccl-tests", log, "--json", imported, "-q"],
            "compare": [tool, "compare", report, "--baseline", baseline],
            "json.load": [sys.executable, "-c",
                          f"import json; json.load(open({report!r})); "
                          f"json.load(open({baseline!r}))"],
            "keep": [tool, "import", "nccl-tests", log, "--keep-repeats", "--json", kept, "-q"],
        }
        # What is timed must be right: 64 rows, every one carrying all the repeats.
        wall, _, _, code = run(commands["import"], cpu)
        with open(imported) as result:
            rows = json.load(result)["results"]
        assert code == 0 and len(rows) == 2 * SIZES, (code, len(rows))
        assert all(row["time_s"]["n"] == TABLES for row in rows)
        assert run(commands["compare"], cpu)[3] == 0
        for name in commands:  # warm the page cache
            run(commands[name], cpu)
        results = {name: [] for name in commands}
        load_start = os.getloadavg()[0]
        for _ in range(args.repetitions):
            for name, argv in commands.items():
                results[name].append(run(argv, cpu))
        load_end = os.getloadavg()[0]
        print(f"inputs: {lines} log lines ({os.path.getsize(log) / 1e6:.1f} MB), report "
              f"{os.path.getsize(report) / 1e6:.1f} MB + baseline "
              f"{os.path.getsize(baseline) / 1e6:.1f} MB, kept-repeats report "
              f"{os.path.getsize(kept) / 1e6:.1f} MB")
        print(f"{args.repetitions} interleaved repetitions pinned to vCPU {cpu}; load average "
              f"{load_start:.1f} at start, {load_end:.1f} at the end\n")
        print("| run | wall ms | CPU ms | peak RSS MiB |")
        print("|---|---|---|---|")
        for name, samples in results.items():
            print(f"| {name} | {summary([s[0] for s in samples], 1e3)} | "
                  f"{summary([s[1] for s in samples], 1e3)} | "
                  f"{summary([s[2] for s in samples])} |")
        ratios_wall = [c[0] / p[0] for c, p in zip(results["compare"], results["json.load"])]
        ratios_cpu = [c[1] / p[1] for c, p in zip(results["compare"], results["json.load"])]
        print(f"\ncompare / json.load per repetition: wall {summary(ratios_wall, 1, 2)}, "
              f"CPU {summary(ratios_cpu, 1, 2)}")
        imports = results["import"]
        compares = results["compare"]
        print(f"targets: import <= 300 ms and <= 100 MiB: median "
              f"{statistics.median(s[0] for s in imports) * 1e3:.0f} ms, "
              f"{max(s[2] for s in imports):.0f} MiB peak; compare <= 50 ms and <= 0.5 x "
              f"json.load: median {statistics.median(s[0] for s in compares) * 1e3:.0f} ms, "
              f"ratio {statistics.median(ratios_wall):.2f}")


if __name__ == "__main__":
    main()
