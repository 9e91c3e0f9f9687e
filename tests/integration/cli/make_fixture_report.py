#!/usr/bin/env python3
"""A preflight.report/1 of an all-reduce measured at a baseline's figures, scaled.

    make_fixture_report.py TEMPLATE BASELINE SCALE OUT

TEMPLATE: any valid collective report (run, inventory, checks are kept); BASELINE: a
preflight.baseline/1 whose match (benchmark, backend, dtype, op, ranks per node, nodes) and rows
the result rows take; SCALE: bus bandwidths are multiplied by it and times divided by it (1.0:
at the baseline, 0.6: 40% slower). No instance type: the run states it (PREFLIGHT_INSTANCE_TYPE).
"""
import json
import sys

template, baseline_path, scale, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
report = json.load(open(template))
baseline = json.load(open(baseline_path))
match = baseline["match"]
nodes = match.get("nodes", 1)
ranks = nodes * match.get("ranks_per_node", 8)
factor = 2.0 * (ranks - 1) / ranks  # all_reduce bus bandwidth factor
rows = []
for expected in baseline["rows"]:
    size = expected["size_bytes"]
    metrics = expected["metrics"]
    if "busbw_Bps" in metrics:
        busbw = metrics["busbw_Bps"]["expected"] * scale
        time_s = size * factor / busbw
    else:
        time_s = metrics["time_s"]["expected"] / scale
        busbw = size * factor / time_s
    rows.append({
        "benchmark": match["benchmark"], "backend": match["backend"], "transport": "fixture",
        "dtype": match.get("dtype", "float"), "op": match.get("op", "sum"), "in_place": False,
        "size_bytes": size, "count": size // 4, "ranks": ranks,
        "time_s": {"median": time_s, "mean": time_s, "min": time_s, "max": time_s, "p90": time_s,
                   "p99": time_s, "stdev": 0.0, "ci95_median": [time_s, time_s], "n": 20},
        "algbw_Bps": size / time_s, "busbw_Bps": busbw, "busbw_factor": factor,
        "wrong_elements": 0, "slowest_rank": 0, "slowest_host": "", "warmup_iterations": 5,
        "stop_reason": "precision", "labels": {},
    })
report["results"] = rows
report["run"].update({"ranks": ranks, "nodes": nodes, "hosts": [f"node{i}" for i in range(nodes)]})
report["inventory"]["instance_type"] = ""
with open(out, "w") as stream:
    json.dump(report, stream, indent=1)
