"""What the side-by-side benchmarks share: waiting for a quiet machine, running measured processes
at one priority, the cache-line probe that tells the machine's near/far state, and ratios quoted
as a median with their min-max over interleaved repetitions.

On the project's 2-vCPU VMs the two vCPUs are sometimes "near" (a cache-line exchange takes about
50 ns) and sometimes "far" (about 250 ns) for seconds at a time, and small-message latencies move
2.5-3x with them: a ratio is only quoted over repetitions whose probe read the same state before
and after, near and far separately.
"""

import os
import statistics
import subprocess
import sys
import time

NEAR_BELOW_NS = 100.0  # cache-line one-way: near below, far above FAR_ABOVE_NS, else mixed
FAR_ABOVE_NS = 150.0

NICE = []  # prefix of every measured command (see prioritise)


def load_average():
    with open("/proc/loadavg", encoding="ascii") as stream:
        return float(stream.read().split()[0])


def wait_for_quiet(threshold, timeout_s, poll_s=30.0, log=sys.stderr):
    """Polls the 1-minute load average until it is below `threshold`; returns (quiet, load). A
    threshold of 0 or less does not wait (quiet is then True: nothing was asked)."""
    if threshold <= 0:
        return True, load_average()
    deadline = time.monotonic() + timeout_s
    while True:
        load = load_average()
        if load < threshold:
            return True, load
        if time.monotonic() >= deadline:
            return False, load
        print(f"waiting for a quiet machine: load {load:.2f} >= {threshold}", file=log, flush=True)
        time.sleep(poll_s)


def prioritise(nice):
    """Every measured process (all tools alike) runs under `nice -n NICE`. With the kernel's
    autogroup scheduling a nice value only counts inside its session, so this process moves into
    a session of its own and gives that session's autogroup the same value (nothing outside the
    benchmark's session changes, and the change ends with it)."""
    if nice == 0:
        return
    NICE.extend(["nice", "-n", str(nice)])
    try:
        os.setsid()
    except PermissionError:
        pass  # already a session leader (started with setsid)
    try:
        with open("/proc/self/autogroup", "w", encoding="ascii") as autogroup:
            autogroup.write(str(nice))
    except OSError as error:
        print(f"note: autogroup nice not set ({error})", file=sys.stderr)


def add_priority_arguments(parser):
    """--nice, --quiet-load and --wait-quiet-s, for settle()."""
    parser.add_argument("--nice", type=int, default=-20 if os.geteuid() == 0 else 0,
                        help="niceness of every measured process (both tools alike)")
    parser.add_argument("--quiet-load", type=float, default=0.0,
                        help="first wait for a 1-minute load average below this (0: do not)")
    parser.add_argument("--wait-quiet-s", type=float, default=1200)


def settle(args):
    """Waits for a quiet machine if --quiet-load asks for one, then gives the measured processes
    their priority; returns a note for the results line (empty when nothing was waited for)."""
    note = ""
    if args.quiet_load > 0:
        quiet, load = wait_for_quiet(args.quiet_load, args.wait_quiet_s)
        note = (f", {'quiet' if quiet else 'NOT quiet'} (load {load:.2f}, threshold "
                f"{args.quiet_load})")
    prioritise(args.nice)
    return note


def run(argv, timeout=600):
    """Runs a measured command (argument vector, no shell); its stdout, or an error with both
    streams."""
    result = subprocess.run(NICE + argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def cacheline_ns(bench_dir):
    """One-way cache-line time between vCPU 0 and 1 (bench/p2p's p2p_cacheline); None when the
    probe is not built."""
    probe = os.path.join(bench_dir, "p2p_cacheline")
    if not os.access(probe, os.X_OK):
        return None
    return float(run([probe]).split()[1])


def interleaved_pair(bench_dir, rep, run_tool):
    """Calls run_tool("peer") and run_tool("ours") in repetition rep's order (the peer first in
    even repetitions, A B / B A), bracketed by the cache-line probe; returns (state, before_ns,
    after_ns)."""
    before = cacheline_ns(bench_dir)
    for tool in ("peer", "ours") if rep % 2 == 0 else ("ours", "peer"):
        run_tool(tool)
    after = cacheline_ns(bench_dir)
    return state_of(before, after), before, after


def state_of(before_ns, after_ns):
    """near, far or mixed (the state changed, or sat in between) for a probe pair."""
    if before_ns is None or after_ns is None:
        return "unknown"
    if before_ns < NEAR_BELOW_NS and after_ns < NEAR_BELOW_NS:
        return "near"
    if before_ns > FAR_ABOVE_NS and after_ns > FAR_ABOVE_NS:
        return "far"
    return "mixed"


def spread(ratios):
    """'1.004 (0.991-1.013, n=9)': the median ratio with its min-max over the repetitions."""
    if not ratios:
        return "-"
    return (f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}, "
            f"n={len(ratios)})")


def machine_line(command_argv):
    """Command, host, vCPUs and the load at the start, for the results file."""
    return (f"Command: `{' '.join(command_argv)}`  \n"
            f"Machine: {os.uname().nodename}, {os.cpu_count()} vCPUs, load average "
            f"{load_average():.2f} at the start, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
