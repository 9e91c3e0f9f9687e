#!/usr/bin/env python3
"""Prints the pid of one process of THIS test's job, or nothing.

    find_process.py ANCESTOR_PID BINARY_NAME [RANK]

A process qualifies when its executable's base name is BINARY_NAME, it descends from
ANCESTOR_PID (the launcher this test started), and, with RANK, Open MPI gave it that rank
(OMPI_COMM_WORLD_RANK in its environment). The ancestry matters: tests run in parallel and the
virtual cluster's hosts share this machine's process table, so a name-and-rank match alone can
pick another test's rank and stop or kill it.
"""
import os
import sys


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # The command name (field 2) may hold spaces and parentheses: parse after its last ')'.
        fields = stat.read().rsplit(b")", 1)[1].split()
    return int(fields[1])


def descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        if pid == ancestor:
            return True
        try:
            pid = parent_of(pid)
        except (OSError, IndexError, ValueError):
            return False
        seen += 1
    return False


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    ancestor = int(sys.argv[1])
    name = sys.argv[2].encode()
    rank_marker = b"OMPI_COMM_WORLD_RANK=" + sys.argv[3].encode() if len(sys.argv) == 4 else None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().split(b"\0")[0]
            if os.path.basename(command) != name:
                continue
            if rank_marker is not None:
                with open(f"/proc/{pid}/environ", "rb") as environ:
                    if rank_marker not in environ.read().split(b"\0"):
                        continue
        except OSError:
            continue
        if descends_from(pid, ancestor):
            print(pid)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
