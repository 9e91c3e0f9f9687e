#!/usr/bin/env python3
"""preflight-p2p side by side with its peers, in one run, interleaved (A B A B ...).

Latency (1 B .. 4 KiB): preflight-p2p --test latency vs Debian's fi_pingpong on the same
provider, endpoint type (FI_EP_RDM), transmit mode (tagged) and size, both sides pinned to vCPU 0
and 1 with taskset, the same iteration count (-I / --iters). fi_pingpong's usec/xfer is the mean
one-way time of its whole loop, which has no warm-up and holds the connection set-up (about 40 ms
with tcp): it is run with two iteration counts and its per-transfer time is taken as the slope
(T(I2) - T(I1)) / (I2 - I1), which cancels that constant. preflight-p2p's figure is its headline,
the median of per-iteration one-way times.

Bandwidth (>= 64 KiB): preflight-p2p --test bw (window 64, 1-byte ack, median window time) vs the
minimal windowed loop bench/p2p/fi_window.cpp (fi_tsend x 64 + ack, total time over N windows),
both under mpirun -np 2 (ranks bound to cores 0 and 1), the same number of windows.

MPI (--mpi): preflight-p2p --transport mpi vs bench/p2p/mpi_loop.cpp (medians of one-way
times; windowed MPI_Isend x 64 + ack).

Ratios are ratios of medians over the repetitions of one run; a cache-line ping-pong between the
two vCPUs before and after each block tells whether the machine changed state meanwhile. On a
machine shared with other work every measured process (both tools alike) runs under
`nice -n NICE` (--nice, default -20 when run as root), so compilers next door take little of its
CPU. With the kernel's autogroup scheduling a nice value only counts inside its session, so the
script moves itself into a session of its own (setsid) and gives that session's autogroup the same
nice value: run it as `setsid python3 bench/p2p/compare.py ...`; nothing outside the bench's
session is changed, and the change ends with it.
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

MPIRUN = ["mpirun", "--allow-run-as-root", "-np", "2", "--bind-to", "core"]
# tcp runs on lo: libfabric picks the first interface otherwise, and on this machine that can be
# a bridge another engineer's virtual cluster brings up and down.
DOMAINS = {"tcp": "lo"}


def domain_args(provider, flag):
    return [flag, DOMAINS[provider]] if provider in DOMAINS else []


NICE = []


def run(argv, timeout=300):
    result = subprocess.run(NICE + argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Ports:
    """Free TCP ports for the control connections: the kernel picks one (bind to port 0) and the
    socket is closed just before the tool binds it."""

    def take(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def cacheline(bench_dir):
    out = run([os.path.join(bench_dir, "p2p_cacheline")])
    return float(out.split()[1])


def fi_pingpong_usec(provider, size, iterations, port):
    server = subprocess.Popen(
        NICE + ["taskset", "-c", "0", "fi_pingpong", "-e", "rdm", "-p", provider, "-m", "tagged",
         *domain_args(provider, "-d"), "-I", str(iterations), "-S", str(size), "-B", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.15)
    try:
        time.sleep(0.05)
        out = run(["taskset", "-c", "1", "fi_pingpong", "-e", "rdm", "-p", provider, "-m",
                   "tagged", *domain_args(provider, "-d"), "-I", str(iterations), "-S", str(size),
                   "-P", str(port), "127.0.0.1"])
    finally:
        server.communicate(timeout=60)
    lines = out.splitlines()
    for index, line in enumerate(lines[:-1]):
        if "usec/xfer" in line:  # the result line follows the header; its size may read "4k"
            return float(lines[index + 1].split()[6])
    raise RuntimeError(f"no result line in fi_pingpong output:\n{out}")


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
    row = json.load(open(report))["results"][0]
    assert row["wrong_elements"] == 0
    return row["time_s"]["median"] * 1e6, row["time_s"]["mean"] * 1e6


def preflight_mpirun(binary, args, workdir, tag):
    report = os.path.join(workdir, f"{tag}.json")
    run(MPIRUN + [binary, *args, "--quiet", "--timeout", "120", "--json", report])
    row = json.load(open(report))["results"][0]
    assert row["wrong_elements"] == 0
    return row


def median(values):
    return statistics.median(values)


def latency_block(a, provider, sizes, ports, workdir, lines):
    i1, i2 = a.lat_iters, a.lat_iters * a.slope_factor
    before = cacheline(a.bench_dir)
    lines.append(f"\n### Latency, libfabric `{provider}`, FI_EP_RDM, tagged "
                 f"(fi_pingpong -I {i1} and -I {i2}; preflight-p2p --iters {i1})\n")
    lines.append("| size (B) | preflight-p2p median one-way (us) | preflight-p2p mean (us) "
                 f"| fi_pingpong usec/xfer -I {i1} | fi_pingpong slope (us) "
                 "| **ratio median / slope** | ratio mean / slope | per-rep median ratios |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---|")
    verdicts = []
    for size in sizes:
        ours, our_means, raw, slope, ratios = [], [], [], [], []
        for _ in range(a.reps):
            u1 = fi_pingpong_usec(provider, size, i1, ports.take())
            median_us, mean_us = preflight_latency(a.binary, provider, size, i1, ports.take(),
                                                   workdir)
            u2 = fi_pingpong_usec(provider, size, i2, ports.take())
            per_transfer = (u2 * i2 - u1 * i1) / (i2 - i1)
            ours.append(median_us)
            our_means.append(mean_us)
            raw.append(u1)
            slope.append(per_transfer)
            ratios.append(median_us / per_transfer)
        ratio = median(ours) / median(slope)
        verdicts.append(ratio <= 1.05)
        lines.append(f"| {size} | {median(ours):.3f} | {median(our_means):.3f} | {median(raw):.3f} "
                     f"| {median(slope):.3f} | **{ratio:.3f}** "
                     f"| {median(our_means) / median(slope):.3f} "
                     f"| {min(ratios):.2f}..{max(ratios):.2f} |")
        print(lines[-1], flush=True)
    after = cacheline(a.bench_dir)
    lines.append(f"\nCache-line one-way before/after: {before:.0f} ns / {after:.0f} ns.")
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


def bandwidth_block(a, provider, sizes, workdir, lines):
    before = cacheline(a.bench_dir)
    lines.append(f"\n### Bandwidth, libfabric `{provider}`, window 64 + 1-byte ack "
                 f"({a.bw_windows} windows each)\n")
    bandwidth_table_header(lines, "fi_tsend x 64 loop")
    verdicts = []
    for size in sizes:
        ours_median, ours_mean, loop_median, loop_total, ratios = [], [], [], [], []
        for rep in range(a.reps):
            out = run(MPIRUN + [os.path.join(a.bench_dir, "p2p_fi_window"), provider, str(size),
                                str(a.bw_windows), "64", *DOMAINS.get(provider, "").split()])
            row = preflight_mpirun(a.binary, ["--provider", provider,
                                              *domain_args(provider, "--domain"), "--test", "bw",
                                              "--sizes", str(size), "--iters", str(a.bw_windows)],
                                   workdir, f"bw-{provider}-{size}-{rep}")
            ours_median.append(row["algbw_Bps"] / 1e9)
            ours_mean.append(size / row["time_s"]["mean"] / 1e9)
            loop_median.append(parse_pair(out, "GBps_median"))
            loop_total.append(parse_pair(out, "GBps"))
            ratios.append(ours_median[-1] / loop_median[-1])
        ratio, line = bandwidth_row(size, ours_median, ours_mean, loop_median, loop_total, ratios)
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
    before = cacheline(a.bench_dir)
    lines.append(f"\n### MPI (Open MPI) latency, --iters {a.lat_iters}\n")
    lines.append("| size (B) | preflight-p2p median one-way (us) | MPI loop median (us) "
                 "| **ratio** | preflight-p2p mean (us) | MPI loop mean (us) | ratio "
                 "| per-rep median ratios |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---|")
    for size in a.lat_sizes:
        ours, our_means, theirs, their_means, ratios = [], [], [], [], []
        for rep in range(a.reps):
            out = run(MPIRUN + [loop, "latency", str(size), str(a.lat_iters)])
            fields = out.split()
            row = preflight_mpirun(a.binary, ["--transport", "mpi", "--test", "latency",
                                              "--sizes", str(size), "--iters", str(a.lat_iters)],
                                   workdir, f"mpi-latency-{size}-{rep}")
            ours.append(row["time_s"]["median"] * 1e6)
            our_means.append(row["time_s"]["mean"] * 1e6)
            theirs.append(float(fields[fields.index("median_us") + 1]))
            their_means.append(float(fields[fields.index("mean_us") + 1]))
            ratios.append(ours[-1] / theirs[-1])
        lines.append(f"| {size} | {median(ours):.3f} | {median(theirs):.3f} "
                     f"| **{median(ours) / median(theirs):.3f}** | {median(our_means):.3f} "
                     f"| {median(their_means):.3f} | {median(our_means) / median(their_means):.3f} "
                     f"| {min(ratios):.2f}..{max(ratios):.2f} |")
        print(lines[-1], flush=True)
    lines.append(f"\n### MPI (Open MPI) bandwidth, window 64 + 1-byte ack, {a.bw_windows} "
                 "windows\n")
    bandwidth_table_header(lines, "MPI_Isend x 64 loop")
    for size in a.bw_sizes:
        ours_median, ours_mean, loop_median, loop_total, ratios = [], [], [], [], []
        for rep in range(a.reps):
            out = run(MPIRUN + [loop, "bw", str(size), str(a.bw_windows)])
            row = preflight_mpirun(a.binary, ["--transport", "mpi", "--test", "bw", "--sizes",
                                              str(size), "--iters", str(a.bw_windows)],
                                   workdir, f"mpi-bw-{size}-{rep}")
            ours_median.append(row["algbw_Bps"] / 1e9)
            ours_mean.append(size / row["time_s"]["mean"] / 1e9)
            loop_median.append(parse_pair(out, "GBps_median"))
            loop_total.append(parse_pair(out, "GBps"))
            ratios.append(ours_median[-1] / loop_median[-1])
        _, line = bandwidth_row(size, ours_median, ours_mean, loop_median, loop_total, ratios)
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
    parser.add_argument("--lat-iters", type=int, default=20000)
    parser.add_argument("--slope-factor", type=int, default=3)
    parser.add_argument("--bw-windows", type=int, default=200)
    parser.add_argument("--mpi", action="store_true", help="also compare the MPI transport")
    parser.add_argument("--samples", action="store_true",
                        help="list every repetition's bandwidth (shows a bimodal machine)")
    parser.add_argument("--blocks", default="latency,bw",
                        help="libfabric comparisons to run: latency, bw or both")
    parser.add_argument("--out", help="append the markdown tables to this file")
    parser.add_argument("--nice", type=int, default=-20 if os.geteuid() == 0 else 0,
                        help="niceness of every measured process (both tools alike)")
    a = parser.parse_args()
    if a.nice != 0:
        NICE.extend(["nice", "-n", str(a.nice)])
        try:
            os.setsid()
        except PermissionError:
            pass  # already a session leader (started with setsid)
        try:
            with open("/proc/self/autogroup", "w") as autogroup:
                autogroup.write(str(a.nice))
        except OSError as error:
            print(f"note: autogroup nice not set ({error})", file=sys.stderr)
    a.binary = os.path.join(a.build, "bin", "preflight-p2p")
    a.bench_dir = os.path.join(a.build, "bench")
    a.lat_sizes = [int(s) for s in a.lat_sizes.split(",")]
    a.bw_sizes = [int(s) for s in a.bw_sizes.split(",")]
    lines = [f"\n## Run of {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n",
             "Command: `" + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]) + "`",
             f"Machine: {os.uname().nodename}, {os.cpu_count()} vCPUs, "
             f"{open('/proc/loadavg').read().split()[0]} load average at start, "
             f"measured processes at nice {a.nice} (own session, autogroup "
             f"{open('/proc/self/autogroup').read().strip()})"]
    ports = Ports()
    ok = True
    with tempfile.TemporaryDirectory(prefix="p2p-bench.") as workdir:
        for provider in [p for p in a.providers.split(",") if p]:
            if "latency" in a.blocks:
                ok &= all(latency_block(a, provider, a.lat_sizes, ports, workdir, lines))
            if "bw" in a.blocks:
                ok &= all(bandwidth_block(a, provider, a.bw_sizes, workdir, lines))
        if a.mpi:
            mpi_block(a, workdir, lines)
    lines.append(f"\nLoad average at the end: {open('/proc/loadavg').read().split()[0]}")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "a") as out:
            out.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
