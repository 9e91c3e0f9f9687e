#!/usr/bin/env python3
"""preflight-p2p side by side with its peers, in one run, interleaved (A B, B A, ...).

Latency (1 B .. 4 KiB): preflight-p2p --test latency vs Debian's fi_pingpong on the same
provider, endpoint type (FI_EP_RDM), transmit mode (tagged) and size, both sides pinned to vCPU 0
and 1 with taskset, the same iteration count (-I / --iters). fi_pingpong's figure is the mean
one-way time of its whole loop (elapsed / iterations / 2), read from its MB/sec column (its
usec/xfer has two decimals, 3% of a 0.34 us figure); it has no warm-up, so its loop also holds the
provider's set-up. That set-up is measured on its own (fi_pingpong -I 1: one round trip plus the
set-up), stated as a share of the loop, and taken out of the loop's mean: with -I large enough
(the share is reported; a share above 5% is flagged) the corrected figure stays close to the raw
one and can never approach zero or go negative, as the old method's slope between two iteration
counts could. Two ratios per repetition: preflight-p2p's batched mean (its row's
batch_mean_time_s: the same iterations back to back between two clock readings, fi_pingpong's own
method) over fi_pingpong's corrected mean, like for like; and preflight-p2p's headline, the median
of its per-iteration one-way times, over the same.

Bandwidth (>= 64 KiB): preflight-p2p --test bw (window 64, 1-byte ack, median window time) vs the
minimal windowed loop bench/p2p/fi_window.cpp (fi_tsend x 64 + ack, total time over N windows),
both under mpirun -np 2 (ranks bound to cores 0 and 1), the same number of windows.

MPI (--mpi): preflight-p2p --transport mpi vs bench/p2p/mpi_loop.cpp: medians of one-way times
(both on the same sample clock), and batched means (no clock reading between round trips);
windowed MPI_Isend x 64 + ack.

Every repetition is bracketed by the cache-line probe (p2p_cacheline): ratios are quoted as the
median with its min-max over the repetitions of one machine state, near and far separately
(bench/bench_common.py); a repetition whose state moved is counted, not used. On a machine shared
with other work every measured process (both tools alike) runs under `nice -n NICE` (--nice,
default -20 when run as root) in a session of its own whose autogroup has the same nice value:
run it as `setsid python3 bench/p2p/compare.py ...`. --quiet-load waits for a 1-minute load
average below it first (polling every 30 s, up to --wait-quiet-s).
Everything runs through argument vectors (subprocess without a shell).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_common  # noqa: E402  (the shared helpers one directory up)
from bench_common import NICE, run  # noqa: E402

MPIRUN = ["mpirun", "--allow-run-as-root", "-np", "2", "--bind-to", "core"]
# tcp runs on lo: libfabric picks the first interface otherwise, and on this machine that can be
# a bridge another engineer's virtual cluster brings up and down.
DOMAINS = {"tcp": "lo"}


def domain_args(provider, flag):
    return [flag, DOMAINS[provider]] if provider in DOMAINS else []


class Ports:
    """Free TCP ports for the control connections: the kernel picks one (bind to port 0) and the
    socket is closed just before the tool binds it."""

    def take(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def cacheline(bench_dir):
    return bench_common.cacheline_ns(bench_dir)


def fi_pingpong_one_way_us(provider, size, iterations, port):
    """fi_pingpong's mean one-way time of its whole loop (set-up included), in us: size / MB/sec
    where that has more digits than its two-decimal usec/xfer column."""
    server = subprocess.Popen(
        NICE + ["taskset", "-c", "0", "fi_pingpong", "-e", "rdm", "-p", provider, "-m", "tagged",
                *domain_args(provider, "-d"), "-I", str(iterations), "-S", str(size), "-B",
                str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.2)
    try:
        out = run(["taskset", "-c", "1", "fi_pingpong", "-e", "rdm", "-p", provider, "-m",
                   "tagged", *domain_args(provider, "-d"), "-I", str(iterations), "-S", str(size),
                   "-P", str(port), "127.0.0.1"])
    finally:
        server.communicate(timeout=120)
    lines = out.splitlines()
    for index, line in enumerate(lines[:-1]):
        if "usec/xfer" in line:  # the result line follows the header; its size may read "4k"
            fields = lines[index + 1].split()
            megabytes_per_s, usec_per_xfer = float(fields[5]), float(fields[6])
            # Each column is printed with two decimals: use the one with the finer resolution.
            if megabytes_per_s > 0 and 0.005 / megabytes_per_s < 0.005 / usec_per_xfer:
                return size / megabytes_per_s
            return usec_per_xfer
    raise RuntimeError(f"no result line in fi_pingpong output:\n{out}")


def fi_pingpong_setup_us(provider, size, ports, runs=3):
    """fi_pingpong's fixed cost inside its timed loop: -I 1 times one round trip plus the
    provider's set-up (connection, first-touch); the median of a few runs, in us."""
    return statistics.median(2 * fi_pingpong_one_way_us(provider, size, 1, ports.take())
                             for _ in range(runs))


def without_setup(raw_us, setup_us, iterations):
    """fi_pingpong's mean one-way time without its set-up, and the set-up's share of its loop
    (2 x iterations one-way transfers): the set-up is taken out once; with enough iterations the
    share is small, and the figure can never approach zero or go negative (at most half is taken
    out), as the former slope between two iteration counts could."""
    share = setup_us / (2 * iterations * raw_us)
    return raw_us * (1 - min(share, 0.5)), share


def preflight_latency(binary, provider, size, iterations, port, workdir):
    report = os.path.join(workdir, f"lat-{port}.json")
    common = ["--provider", provider, *domain_args(provider, "--domain"), "--test", "latency",
              "--sizes", str(size),
              "--iters", str(iterations), "--quiet", "--timeout", "120"]
    server = subprocess.Popen(
        NICE + ["taskset", "-c", "0", binary, "--listen", f"127.0.0.1:{port}", *common, "--json", report],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        run(["taskset", "-c", "1", binary, "--connect", f"127.0.0.1:{port}", *common])
    finally:
        listener_output = server.communicate(timeout=120)[0]
    if server.returncode != 0:
        raise RuntimeError(f"preflight-p2p --listen exited {server.returncode}:\n{listener_output}")
    with open(report, encoding="utf-8") as stream:
        row = json.load(stream)["results"][0]
    assert row["wrong_elements"] == 0
    return (row["time_s"]["median"] * 1e6, row["time_s"]["mean"] * 1e6,
            float(row["labels"]["batch_mean_time_s"]) * 1e6)


def preflight_mpirun(binary, args, workdir, tag):
    report = os.path.join(workdir, f"{tag}.json")
    run(MPIRUN + [binary, *args, "--quiet", "--timeout", "120", "--json", report])
    row = json.load(open(report))["results"][0]
    assert row["wrong_elements"] == 0
    return row


def median(values):
    return statistics.median(values)


def state_table(lines, title, header, rows_by_state):
    """One table per machine state; rows_by_state[state] is a list of markdown rows."""
    for state in ("near", "far"):
        rows = rows_by_state.get(state, [])
        lines.append(f"\n{title}, **{state} state** (median ratio, min-max over its "
                     "repetitions)\n")
        if not rows:
            lines.append("No repetition in this state.")
            continue
        lines.append(header[0])
        lines.append(header[1])
        lines.extend(rows)


def latency_block(a, provider, sizes, ports, workdir, lines):
    iterations = a.lat_iters if provider != "tcp" else a.tcp_lat_iters
    lines.append(f"\n### Latency, libfabric `{provider}`, FI_EP_RDM, tagged "
                 f"(fi_pingpong -I {iterations}; preflight-p2p --iters {iterations})\n")
    header = ("| size (B) | reps | preflight-p2p median one-way (us) | preflight-p2p batched "
              "mean (us) | fi_pingpong mean (us) | set-up share | **batched mean / fi_pingpong** "
              "| median / fi_pingpong | raw: batched mean / fi_pingpong |",
              "|---:|---:|---:|---:|---:|---:|---|---|---|")
    rows_by_state = {}
    verdicts = []
    for size in sizes:
        setup_us = fi_pingpong_setup_us(provider, size, ports)
        reps = {"near": [], "far": [], "mixed": []}
        for rep in range(a.reps):
            got = {}

            def run_tool(tool):
                if tool == "peer":
                    got["raw"] = fi_pingpong_one_way_us(provider, size, iterations, ports.take())
                else:
                    got["median"], _, got["batch"] = preflight_latency(
                        a.binary, provider, size, iterations, ports.take(), workdir)

            state, _, _ = bench_common.interleaved_pair(a.bench_dir, rep, run_tool)
            got["corrected"], got["share"] = without_setup(got["raw"], setup_us, iterations)
            reps.setdefault(state, []).append(got)
        for state in ("near", "far"):
            got = reps[state]
            if not got:
                continue
            batch_ratios = [r["batch"] / r["corrected"] for r in got]
            median_ratios = [r["median"] / r["corrected"] for r in got]
            raw_ratios = [r["batch"] / r["raw"] for r in got]
            share = statistics.median(r["share"] for r in got)
            flag = " (over 5%: raise --lat-iters)" if share > 0.05 else ""
            rows_by_state.setdefault(state, []).append(
                f"| {size} | {len(got)} | {statistics.median(r['median'] for r in got):.4f} "
                f"| {statistics.median(r['batch'] for r in got):.4f} "
                f"| {statistics.median(r['corrected'] for r in got):.4f} | {share:.2%}{flag} "
                f"| **{bench_common.spread(batch_ratios)}** | {bench_common.spread(median_ratios)} "
                f"| {bench_common.spread(raw_ratios)} |")
            print(rows_by_state[state][-1], flush=True)
            if state == "near":
                verdicts.append((size, statistics.median(batch_ratios)))
        lines.append(f"{size} B: fi_pingpong set-up {setup_us:.1f} us (-I 1, median of 3); "
                     f"repetitions near {len(reps['near'])}, far {len(reps['far'])}, state moved "
                     f"{len(reps['mixed'])}.")
    state_table(lines, f"`{provider}` latency", header, rows_by_state)
    return verdicts


def parse_pair(out, key):
    """The values after 'GBps' and 'GBps_median' in a minimal loop's output line."""
    fields = out.split()
    return float(fields[fields.index(key) + 1])


def bandwidth_table_header(lines, peer):
    lines.append(f"| size (B) | preflight-p2p median window (GB/s) | {peer} median window (GB/s) "
                 "| **ratio** | preflight-p2p mean window (GB/s) | "
                 f"{peer} total time (GB/s) | ratio | per-rep median ratios |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---|")


def bandwidth_row(size, ours_median, ours_mean, loop_median, loop_total, ratios):
    ratio = median(ours_median) / median(loop_median)
    line = (f"| {size} | {median(ours_median):.3f} | {median(loop_median):.3f} | **{ratio:.3f}** "
            f"| {median(ours_mean):.3f} | {median(loop_total):.3f} "
            f"| {median(ours_mean) / median(loop_total):.3f} "
            f"| {min(ratios):.2f}..{max(ratios):.2f} |")
    return ratio, line


def bandwidth_samples(size, reps, measure):
    """Every repetition's GB/s, as bandwidth_row takes them: measure(size, rep) runs the loop,
    then preflight-p2p, once each, and returns the loop's output and preflight's result row."""
    ours_median, ours_mean, loop_median, loop_total, ratios = [], [], [], [], []
    for rep in range(reps):
        out, row = measure(size, rep)
        ours_median.append(row["algbw_Bps"] / 1e9)
        ours_mean.append(size / row["time_s"]["mean"] / 1e9)
        loop_median.append(parse_pair(out, "GBps_median"))
        loop_total.append(parse_pair(out, "GBps"))
        ratios.append(ours_median[-1] / loop_median[-1])
    return ours_median, ours_mean, loop_median, loop_total, ratios


def bandwidth_block(a, provider, sizes, workdir, lines):
    before = cacheline(a.bench_dir)
    lines.append(f"\n### Bandwidth, libfabric `{provider}`, window 64 + 1-byte ack "
                 f"({a.bw_windows} windows each)\n")
    bandwidth_table_header(lines, "fi_tsend x 64 loop")
    verdicts = []

    def measure(size, rep):
        return (run(MPIRUN + [os.path.join(a.bench_dir, "p2p_fi_window"), provider, str(size),
                              str(a.bw_windows), "64", *DOMAINS.get(provider, "").split()]),
                preflight_mpirun(a.binary, ["--provider", provider,
                                            *domain_args(provider, "--domain"), "--test", "bw",
                                            "--sizes", str(size), "--iters", str(a.bw_windows)],
                                 workdir, f"bw-{provider}-{size}-{rep}"))

    for size in sizes:
        samples = bandwidth_samples(size, a.reps, measure)
        ours_median, _, loop_median, _, _ = samples
        ratio, line = bandwidth_row(size, *samples)
        verdicts.append(ratio >= 0.95)
        lines.append(line)
        print(line, flush=True)
        if a.samples:
            lines.append(f"\n{size} B, every repetition's median-window GB/s, sorted: "
                         f"preflight-p2p {sorted(round(v, 2) for v in ours_median)}; "
                         f"loop {sorted(round(v, 2) for v in loop_median)}\n")
    after = cacheline(a.bench_dir)
    lines.append(f"\nCache-line one-way before/after: {before:.0f} ns / {after:.0f} ns.")
    return verdicts


def mpi_block(a, workdir, lines):
    loop = os.path.join(a.bench_dir, "p2p_mpi_loop")
    lines.append(f"\n### MPI (Open MPI) latency, --iters {a.lat_iters}\n")
    header = ("| size (B) | reps | preflight-p2p median one-way (us) | MPI loop median (us) "
              "| **median ratio** | preflight-p2p batched mean (us) | MPI loop batched mean (us) "
              "| batched-mean ratio |",
              "|---:|---:|---:|---:|---|---:|---:|---|")
    rows_by_state = {}
    for size in a.lat_sizes:
        reps = {"near": [], "far": [], "mixed": []}
        for rep in range(a.reps):
            out = {}

            def run_tool(tool):
                if tool == "peer":
                    out["fields"] = run(MPIRUN + [loop, "latency", str(size),
                                                  str(a.lat_iters)]).split()
                else:
                    out["row"] = preflight_mpirun(
                        a.binary, ["--transport", "mpi", "--test", "latency", "--sizes",
                                   str(size), "--iters", str(a.lat_iters)],
                        workdir, f"mpi-latency-{size}-{rep}")

            state, _, _ = bench_common.interleaved_pair(a.bench_dir, rep, run_tool)
            fields, row = out["fields"], out["row"]
            reps.setdefault(state, []).append({
                "ours": row["time_s"]["median"] * 1e6,
                "ours_batch": float(row["labels"]["batch_mean_time_s"]) * 1e6,
                "loop": float(fields[fields.index("median_us") + 1]),
                "loop_batch": float(fields[fields.index("batch_mean_us") + 1])})
        for state in ("near", "far"):
            got = reps[state]
            if not got:
                continue
            rows_by_state.setdefault(state, []).append(
                f"| {size} | {len(got)} | {statistics.median(r['ours'] for r in got):.4f} "
                f"| {statistics.median(r['loop'] for r in got):.4f} "
                f"| **{bench_common.spread([r['ours'] / r['loop'] for r in got])}** "
                f"| {statistics.median(r['ours_batch'] for r in got):.4f} "
                f"| {statistics.median(r['loop_batch'] for r in got):.4f} "
                f"| {bench_common.spread([r['ours_batch'] / r['loop_batch'] for r in got])} |")
            print(rows_by_state[state][-1], flush=True)
        lines.append(f"{size} B: repetitions near {len(reps['near'])}, far {len(reps['far'])}, "
                     f"state moved {len(reps['mixed'])}.")
    state_table(lines, "MPI latency", header, rows_by_state)
    lines.append(f"\n### MPI (Open MPI) bandwidth, window 64 + 1-byte ack, {a.bw_windows} "
                 "windows\n")
    bandwidth_table_header(lines, "MPI_Isend x 64 loop")
    before = cacheline(a.bench_dir)

    def measure(size, rep):
        return (run(MPIRUN + [loop, "bw", str(size), str(a.bw_windows)]),
                preflight_mpirun(a.binary, ["--transport", "mpi", "--test", "bw", "--sizes",
                                            str(size), "--iters", str(a.bw_windows)],
                                 workdir, f"mpi-bw-{size}-{rep}"))

    for size in a.bw_sizes:
        _, line = bandwidth_row(size, *bandwidth_samples(size, a.reps, measure))
        lines.append(line)
        print(line, flush=True)
    after = cacheline(a.bench_dir)
    lines.append(f"\nCache-line one-way before/after: {before:.0f} ns / {after:.0f} ns.")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build-p2p", help="build directory")
    parser.add_argument("--providers", default="shm,tcp")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--lat-sizes", default="1,8,64,512,4096")
    parser.add_argument("--bw-sizes", default="65536,262144,1048576,4194304")
    parser.add_argument("--lat-iters", type=int, default=100000,
                        help="latency iterations (fi_pingpong -I, preflight-p2p --iters)")
    parser.add_argument("--tcp-lat-iters", type=int, default=50000,
                        help="the same on tcp, whose set-up is about 40 ms")
    parser.add_argument("--bw-windows", type=int, default=200)
    parser.add_argument("--mpi", action="store_true", help="also compare the MPI transport")
    parser.add_argument("--samples", action="store_true",
                        help="list every repetition's bandwidth (shows a bimodal machine)")
    parser.add_argument("--blocks", default="latency,bw",
                        help="libfabric comparisons to run: latency, bw or both")
    parser.add_argument("--out", help="append the markdown tables to this file")
    bench_common.add_priority_arguments(parser)
    a = parser.parse_args()
    quiet_note = bench_common.settle(a)
    a.binary = os.path.join(a.build, "bin", "preflight-p2p")
    a.bench_dir = os.path.join(a.build, "bench")
    a.lat_sizes = [int(s) for s in a.lat_sizes.split(",")]
    a.bw_sizes = [int(s) for s in a.bw_sizes.split(",")]
    with open("/proc/self/autogroup", encoding="ascii") as autogroup:
        group = autogroup.read().strip()
    lines = [f"\n## Run of {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n",
             bench_common.machine_line([os.path.relpath(sys.argv[0])] + sys.argv[1:]) +
             f"{quiet_note}; measured processes at nice {a.nice} (own session, autogroup "
             f"{group})"]
    ports = Ports()
    ok = True
    with tempfile.TemporaryDirectory(prefix="p2p-bench.") as workdir:
        for provider in [p for p in a.providers.split(",") if p]:
            if "latency" in a.blocks:
                verdicts = latency_block(a, provider, a.lat_sizes, ports, workdir, lines)
                if provider == "shm":
                    lines.extend(f"shm {size} B near: batched mean / fi_pingpong {ratio:.3f}"
                                 f" ({'met' if ratio <= 1.00 else 'NOT met'}: target <= 1.00)"
                                 for size, ratio in verdicts if size == 64)
            if "bw" in a.blocks:
                ok &= all(bandwidth_block(a, provider, a.bw_sizes, workdir, lines))
        if a.mpi:
            mpi_block(a, workdir, lines)
    lines.append(f"\nLoad average at the end: {bench_common.load_average():.2f}")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "a") as out:
            out.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
