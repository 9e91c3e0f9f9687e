#!/usr/bin/env python3
"""preflight-allreduce --backend mpi side by side with a minimal MPI_Allreduce loop, interleaved.

In ONE run, for each configuration (ranks x size), ROUNDS interleaved repetitions (A B, B A, A B,
...) of
  A = collectives_peer_allreduce BYTES ITERS WARMUP     (bench/collectives/peer_allreduce.cpp)
  B = preflight-allreduce --backend mpi --timing per-iteration --sizes BYTES -n ITERS -w WARMUP
      --placement out-of-place --check 0 --dtype float --op sum
in the order A B, B A, ... Both time one MPI_Allreduce per iteration and take the per-iteration
maximum over ranks outside the timed region; both report the median of those maxima. The harness
runs with a fixed iteration count (-n, nccl-tests' flag) equal to the peer's, so both medians come
from the same number of samples; --timing per-iteration, because its default is nccl-tests' batch.

Reported per configuration: the median over the rounds of each program's median, and their ratio
(harness / peer): latency overhead = ratio - 1 for 8 B; busbw ratio for 64 MiB. A cache-line
ping-pong between vCPU 0 and 1 (bench/p2p's p2p_cacheline, when built) before and after each
round tells the machine's state; the per-round ratios are also given for the rounds that stayed
near and that stayed far, separately (bench/bench_common.py).

Two ranks are bound to cores 0 and 1; four ranks on two vCPUs are oversubscribed and
scheduler-bound (docs/timing.md): their figures are reported, not used for claims.

  bench/collectives/run_interleaved.py [--build build] [--rounds 5] [--ranks 2] [--quick]
Everything runs through argument vectors (subprocess without a shell).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_common  # noqa: E402  (the shared helpers one directory up)

CONFIGS = [
    # ranks, bytes, iterations, warm-up
    (2, 8, 20000, 1000),
    (2, 64 << 20, 40, 3),
    (4, 8, 5000, 500),
    (4, 64 << 20, 20, 2),
]


def mpirun(ranks):
    base = ["mpirun", "--allow-run-as-root", "-np", str(ranks)]
    if ranks <= 2:
        return base + ["--bind-to", "core"]
    return base + ["--oversubscribe", "--bind-to", "none"]


def run(argv, timeout=900):
    """bench_common.run: measured processes share one priority (bench/floor.py sets it)."""
    return bench_common.run(argv, timeout=timeout)


def peer_fields(bench_dir, ranks, size, iterations, warmup):
    """The peer's printed figures (median_s, mean_s, batch_mean_s, busbw_Bps, ...)."""
    out = run(mpirun(ranks) + [os.path.join(bench_dir, "collectives_peer_allreduce"), str(size),
                               str(iterations), str(warmup)])
    return dict(item.split("=") for item in out.split())


def peer(bench_dir, ranks, size, iterations, warmup):
    fields = peer_fields(bench_dir, ranks, size, iterations, warmup)
    return float(fields["median_s"]), float(fields["busbw_Bps"])


def harness(bin_dir, ranks, size, iterations, warmup):
    row = harness_row(bin_dir, ranks, size, iterations, warmup)
    return row["time_s"]["median"], row["busbw_Bps"]


def harness_row(bin_dir, ranks, size, iterations, warmup):
    """preflight-allreduce's result row (time_s, busbw_Bps, labels with the batched mean)."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "r.json")
        run(mpirun(ranks) + [os.path.join(bin_dir, "preflight-allreduce"), "--backend", "mpi",
                             "--timing", "per-iteration", "--sizes", str(size), "-n", str(iterations), "-w", str(warmup),
                             "--placement", "out-of-place", "--check", "0", "--dtype", "float",
                             "--op", "sum", "--timeout", "0", "--quiet", "--json", report_path])
        with open(report_path, encoding="utf-8") as stream:
            return json.load(stream)["results"][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build", help="build directory")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--ranks", type=int, action="append",
                        help="only these rank counts (repeatable; default 2 and 4)")
    args = parser.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    bench_dir = os.path.join(args.build, "bench")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.uname().nodename}, "
          f"{os.cpu_count()} vCPUs, {args.rounds} interleaved rounds A B / B A (A = peer loop, "
          f"B = preflight-allreduce), load average {os.getloadavg()[0]:.1f}")
    print("| ranks | size (B) | iterations | peer median (us) | preflight median (us) | "
          "ratio B/A | median of per-round ratios | peer busbw (GB/s) | preflight busbw (GB/s) | "
          "busbw ratio B/A | cache line before/after (ns) | per-round ratio, near | "
          "per-round ratio, far |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for ranks, size, iterations, warmup in CONFIGS:
        if args.ranks and ranks not in args.ranks:
            continue
        if args.quick:
            iterations = max(iterations // 10, 10)
        before = bench_common.cacheline_ns(bench_dir)
        peer_times, peer_bw, ours_times, ours_bw = [], [], [], []
        by_state = {}
        for round_index in range(args.rounds):
            round_before = bench_common.cacheline_ns(bench_dir)
            # A B, then B A, ...: whichever program runs first in a pair gains or loses the same
            # in every other round, so an order effect cancels instead of biasing the ratio.
            order = ("peer", "ours") if round_index % 2 == 0 else ("ours", "peer")
            for program in order:
                if program == "peer":
                    t, bw = peer(bench_dir, ranks, size, iterations, warmup)
                    peer_times.append(t)
                    peer_bw.append(bw)
                else:
                    t, bw = harness(bin_dir, ranks, size, iterations, warmup)
                    ours_times.append(t)
                    ours_bw.append(bw)
            state = bench_common.state_of(round_before, bench_common.cacheline_ns(bench_dir))
            by_state.setdefault(state, []).append(ours_times[-1] / peer_times[-1])
        after = bench_common.cacheline_ns(bench_dir)
        a_time, b_time = statistics.median(peer_times), statistics.median(ours_times)
        a_bw, b_bw = statistics.median(peer_bw), statistics.median(ours_bw)
        state = "n/a" if before is None else f"{before:.0f} / {after:.0f}"
        # Neighbouring runs share the machine's state: their ratio is less exposed to drift.
        paired = statistics.median(b / a for a, b in zip(peer_times, ours_times))
        print(f"| {ranks} | {size} | {iterations} | {a_time * 1e6:.3f} | {b_time * 1e6:.3f} | "
              f"{b_time / a_time:.3f} | {paired:.3f} | {a_bw / 1e9:.3f} | {b_bw / 1e9:.3f} | "
              f"{(b_bw / a_bw) if a_bw > 0 else float('nan'):.3f} | {state} | "
              f"{bench_common.spread(by_state.get('near', []))} | "
              f"{bench_common.spread(by_state.get('far', []))} |")
        print("<!-- rounds: peer " + " ".join(f"{t * 1e6:.3f}" for t in peer_times) +
              " us; preflight " + " ".join(f"{t * 1e6:.3f}" for t in ours_times) + " us -->")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
