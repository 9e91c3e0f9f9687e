#!/usr/bin/env python3
"""Compile every translation unit that includes <rdma/...> against libfabric 2.x headers with
GCC and -Werror (syntax only), as the build does it on an AWS image (EFA installer, libfabric 2.x
in /opt/amazon/efa/include).

Two modes:
  --shim DIR     the installed headers seen through DIR (tests/integration/probes/libfabric2_shim):
                 the names 2.x deprecates expand to its "deprecated" #pragma warning and the names
                 it removes are poisoned. Runs wherever the build does: the CI check.
  --headers auto|DIR
                 real 2.x headers: DIR, $PREFLIGHT_LIBFABRIC2_INCLUDE, or /opt/amazon/efa/include
                 when it holds a 2.x <rdma/fabric.h>; exit 77 (skip) with the reason when none is
                 present. They are never downloaded.

The translation units come from compile_commands.json: those that include <rdma/...> directly or
through the project's own headers. Each is compiled with its own -I/-isystem/-D/-std flags, the
header directory first (as -isystem, the way CMake passes an imported target's), and the
project's warning set. Exit: 0 all compile, 1 one does not (its errors printed), 2 usage,
77 skip.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wnon-virtual-dtor",
            "-Woverloaded-virtual", "-Wimplicit-fallthrough", "-Wformat=2", "-Werror"]
RDMA_INCLUDE = re.compile(r'^\s*#\s*include\s*<rdma/', re.M)
LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def includes_rdma(path, source_dir, seen):
    """Whether `path` includes <rdma/...> itself or through a project header."""
    if path in seen:
        return seen[path]
    seen[path] = False
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return False
    if RDMA_INCLUDE.search(text):
        seen[path] = True
        return True
    for name in LOCAL_INCLUDE.findall(text):
        candidate = os.path.join(source_dir, name)
        if os.path.isfile(candidate) and includes_rdma(candidate, source_dir, seen):
            seen[path] = True
            return True
    return False


def kept_flags(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    kept = []
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in ("-I", "-isystem", "-D", "-iquote") and i + 1 < len(args):
            kept += [arg, args[i + 1]]
            i += 2
            continue
        if arg.startswith(("-I", "-D", "-std=", "-isystem")):
            kept.append(arg)
        i += 1
    return kept


def fabric_major(include_dir):
    try:
        text = open(os.path.join(include_dir, "rdma", "fabric.h")).read()
    except OSError:
        return None
    match = re.search(r"#define\s+FI_MAJOR_VERSION\s+(\d+)", text)
    return int(match.group(1)) if match else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile-commands", required=True)
    parser.add_argument("--source-dir", required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--shim")
    mode.add_argument("--headers")
    parser.add_argument("--compiler", default="g++")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    compiler = shutil.which(args.compiler)
    if not compiler:
        print(f"SKIP: {args.compiler} not installed (the check is GCC's -Werror)")
        return 77
    if args.shim:
        header_dir = os.path.abspath(args.shim)
        what = f"the 2.x compatibility shim {header_dir} over the installed headers"
    else:
        candidates = [args.headers] if args.headers != "auto" else [
            os.environ.get("PREFLIGHT_LIBFABRIC2_INCLUDE", ""), "/opt/amazon/efa/include"]
        header_dir = None
        for candidate in filter(None, candidates):
            major = fabric_major(candidate)
            if major is not None and major >= 2:
                header_dir = os.path.abspath(candidate)
                break
        if header_dir is None:
            print("SKIP: no libfabric 2.x headers here (set PREFLIGHT_LIBFABRIC2_INCLUDE to a "
                  "directory holding rdma/fabric.h of libfabric >= 2.0; "
                  "/opt/amazon/efa/include has none)")
            return 77
        what = f"libfabric {fabric_major(header_dir)}.x headers in {header_dir}"
    try:
        entries = json.load(open(args.compile_commands))
    except (OSError, ValueError) as error:
        print(f"{args.compile_commands}: {error} (configure with CMAKE_EXPORT_COMPILE_COMMANDS)")
        return 2

    source_dir = os.path.abspath(args.source_dir)
    seen = {}
    units = {}
    for entry in entries:
        path = os.path.abspath(os.path.join(entry.get("directory", ""), entry["file"]))
        if not path.startswith(source_dir + os.sep) or not path.endswith(".cpp"):
            continue
        if path not in units and includes_rdma(path, source_dir, seen):
            units[path] = kept_flags(entry)
    if not units:
        print("FAIL: no translation unit includes <rdma/...>: is libfabric turned off?")
        return 1

    def compile_unit(item):
        path, flags = item
        command = [compiler, "-fsyntax-only", "-isystem", header_dir] + flags + WARNINGS + [path]
        result = subprocess.run(command, capture_output=True, text=True)
        return path, command, result

    start = time.monotonic()
    failures = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, command, result in pool.map(compile_unit, sorted(units.items())):
            name = os.path.relpath(path, source_dir)
            if result.returncode == 0:
                print(f"ok   {name}")
            else:
                failures += 1
                print(f"FAIL {name}\n    {shlex.join(command)}")
                print("    " + result.stderr.strip().replace("\n", "\n    "))
    print(f"{len(units) - failures} of {len(units)} translation units compile with "
          f"{os.path.basename(compiler)} -Werror against {what} "
          f"({time.monotonic() - start:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
