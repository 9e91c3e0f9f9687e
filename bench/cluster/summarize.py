#!/usr/bin/env python3
"""Summarizes bench/cluster/accuracy.sh trials (trials.jsonl) as a markdown table.

Per case: detection (the planted fault named as what it is: vc3 a bad node, vc2<->vc5 a bad link,
vc4 unreachable), the planted fault only suspected (a warning naming it, not a fail), wrong blame
(anything else named a bad node or link: a failing verdict on something healthy, or the fault
blamed on the wrong thing, such as a link of the slow node), healthy warnings (a suspect node or
link that does not involve the planted fault), rounds (survey plus re-test) and time to verdict
(the whole `preflight cluster` run)."""
import json
import statistics
import sys

# case -> (the list the fault belongs in, the fault, the nodes it involves)
FAULT = {
    "node50": ("bad_nodes", "vc3", {"vc3"}),
    "node70": ("bad_nodes", "vc3", {"vc3"}),
    "link50": ("bad_links", ["vc2", "vc5"], {"vc2", "vc5"}),
    "isolated": ("unreachable", "vc4", {"vc4"}),
}


def same(item, fault):
    if isinstance(item, list) and isinstance(fault, list):
        return sorted(item) == sorted(fault)
    return item == fault


def involves(item, nodes):
    names = item if isinstance(item, list) else [item]
    if len(names) == 2 and len(nodes) == 2:  # a link fault: only that link
        return set(names) == nodes
    return bool(set(names) & nodes)


def main(path):
    trials = [json.loads(line) for line in open(path) if line.strip()]
    cases = []
    for trial in trials:
        if trial["case"] not in cases:
            cases.append(trial["case"])
    print("| case | trials | planted fault named | planted fault only suspected | "
          "wrong blame (bad node/link) | healthy warned (suspect) | rounds (median, max) | "
          "time to verdict s (median, max) | exit codes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for case in cases:
        rows = [t for t in trials if t["case"] == case]
        key, fault, fault_nodes = FAULT.get(case, (None, None, set()))
        detected = sum(1 for t in rows if key and any(same(i, fault) for i in t.get(key) or []))
        suspected = sum(
            1 for t in rows
            if key and not any(same(i, fault) for i in t.get(key) or [])
            and any(same(i, fault) for i in (t.get("suspect_nodes") or []) +
                    (t.get("suspect_links") or [])))
        blamed = sum(1 for t in rows
                     if any(not same(i, fault) for i in (t.get("bad_nodes") or []) +
                            (t.get("bad_links") or [])))
        warned = sum(1 for t in rows
                     if any(not involves(i, fault_nodes)
                            for i in (t.get("suspect_nodes") or []) +
                            (t.get("suspect_links") or [])))
        rounds = [t.get("rounds") or 0 for t in rows]
        seconds = [t["seconds"] for t in rows]
        exits = {}
        for t in rows:
            exits[t["exit"]] = exits.get(t["exit"], 0) + 1
        n = len(rows)
        print(f"| {case} | {n} | {f'{detected}/{n}' if key else '-'} | "
              f"{f'{suspected}/{n}' if key else '-'} | {blamed}/{n} | {warned}/{n} | "
              f"{statistics.median(rounds):.0f}, {max(rounds)} | "
              f"{statistics.median(seconds):.1f}, {max(seconds):.1f} | "
              f"{', '.join(f'{code}: {count}' for code, count in sorted(exits.items()))} |")


if __name__ == "__main__":
    main(sys.argv[1])
