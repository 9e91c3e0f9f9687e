#!/usr/bin/env python3
"""Summarizes bench/cluster/accuracy.sh trials (trials.jsonl) as a markdown table.

Per case: detection (the planted fault named: vc3 a bad node, vc2<->vc5 a bad link, vc4
unreachable), false blame (anything else named a bad node or link: a failing verdict on something
healthy), false warnings (anything healthy named a suspect), rounds and time to verdict."""
import json
import statistics
import sys

FAULT = {
    "node50": ("bad_nodes", "vc3"),
    "node70": ("bad_nodes", "vc3"),
    "link50": ("bad_links", ["vc2", "vc5"]),
    "isolated": ("unreachable", "vc4"),
}


def named_wrongly(trial, key, fault):
    items = trial.get(key) or []
    return [item for item in items if item != fault]


def main(path):
    trials = [json.loads(line) for line in open(path) if line.strip()]
    cases = []
    for trial in trials:
        if trial["case"] not in cases:
            cases.append(trial["case"])
    print("| case | trials | planted fault named | healthy blamed (bad node/link) | "
          "healthy warned (suspect) | rounds (median, max) | time to verdict s (median, max) | "
          "exit codes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for case in cases:
        rows = [t for t in trials if t["case"] == case]
        key, fault = FAULT.get(case, (None, None))
        detected = sum(1 for t in rows if key and fault in (t.get(key) or []))
        blamed = sum(1 for t in rows
                     if named_wrongly(t, "bad_nodes", fault if key == "bad_nodes" else None)
                     or named_wrongly(t, "bad_links", fault if key == "bad_links" else None))
        warned = sum(1 for t in rows
                     if named_wrongly(t, "suspect_nodes", None)
                     or named_wrongly(t, "suspect_links", None))
        rounds = [t.get("rounds") or 0 for t in rows]
        seconds = [t["seconds"] for t in rows]
        exits = {}
        for t in rows:
            exits[t["exit"]] = exits.get(t["exit"], 0) + 1
        print(f"| {case} | {len(rows)} | {f'{detected}/{len(rows)}' if key else '-'} | "
              f"{blamed}/{len(rows)} | {warned}/{len(rows)} | "
              f"{statistics.median(rounds):.0f}, {max(rounds)} | "
              f"{statistics.median(seconds):.1f}, {max(seconds):.1f} | "
              f"{', '.join(f'{code}: {count}' for code, count in sorted(exits.items()))} |")


if __name__ == "__main__":
    main(sys.argv[1])
