#!/usr/bin/env python3
"""Check a `qrun run --profile` output: check_profile.py FILE.json|FILE.csv MIN_NODES [sim].

Prints the number of executed nodes on success; exits 1 with a reason otherwise."""
import csv
import json
import sys

path, min_nodes, sim = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "sim"


def die(msg):
    print(f"{path}: {msg}")
    sys.exit(1)


if path.endswith(".json"):
    with open(path) as f:
        doc = json.load(f)
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        die("no traceEvents array")
    rows = events
    for e in events:
        for key in ("name", "cat", "ph", "ts", "dur", "pid", "tid", "args"):
            if key not in e:
                die(f"event {e.get('name')} lacks {key}")
        if e["ph"] != "X" or e["cat"] != "Node" or e["dur"] < 0:
            die(f"event {e['name']}: ph {e['ph']} cat {e['cat']} dur {e['dur']}")
        args = e["args"]
        for key in ("op_type", "op_name", "provider", "backend", "dtype", "shapes", "macs", "bytes"):
            if key not in args:
                die(f"event {e['name']} lacks args.{key}")
        if sim and args["placement"] != "host":
            for key in ("cycles", "energy_pj", "stalls"):
                if key not in args:
                    die(f"event {e['name']} lacks args.{key}")
            if args["cycles"] < 0 or (args["macs"] > 0 and args["cycles"] <= 0):
                die(f"event {e['name']}: cycles {args['cycles']}")
    if sum(e["args"]["macs"] for e in events) <= 0:
        die("no MACs")
    if sim and not any(e["args"].get("energy_pj", 0) > 0 for e in events):
        die("no energy")
else:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if not r["node"] or not r["op_type"] or float(r["time_us"]) < 0:
            die(f"bad row {r}")
        if sim and r["placement"] != "host" and int(r["macs"]) > 0 and not float(r["cycles"]) > 0:
            die(f"row {r['node']} has no cycles")
if len(rows) < min_nodes:
    die(f"{len(rows)} nodes, expected at least {min_nodes}")
if len({r["name"] if "name" in r else r["node"] for r in rows}) != len(rows):
    die("a node appears twice")
print(len(rows))
