#!/usr/bin/env python3
"""Short-lived calls, two builds taking turns: single-task `coord queue` and `coord status
--json`, the figures most sensitive to start-up cost.

Usage:  python3 bench/short_calls.py BEFORE_BIN AFTER_BIN   (10 rounds of 200 calls each, tmpfs)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

bins = {"before": sys.argv[1], "after": sys.argv[2]}
res = {k: [] for k in bins}
status = {k: [] for k in bins}
for r in range(10):
    order = list(bins) if r % 2 == 0 else list(reversed(bins))
    for name in order:
        d = tempfile.mkdtemp(dir="/dev/shm")
        subprocess.run([bins[name], "init", d], stdout=subprocess.DEVNULL, check=True)
        files = []
        for i in range(200):
            p = os.path.join(d, f"t{i}.json")
            with open(p, "w") as f:
                f.write(json.dumps({"id": f"t{i}", "description": "x"}))
            files.append(p)
        t = time.perf_counter()
        for p in files:
            subprocess.run([bins[name], "queue", p], cwd=d, stdout=subprocess.DEVNULL, check=True)
        res[name].append((time.perf_counter() - t) / 200 * 1000)
        t = time.perf_counter()
        for _ in range(200):
            subprocess.run([bins[name], "status", "--json"], cwd=d, stdout=subprocess.DEVNULL, check=True)
        status[name].append((time.perf_counter() - t) / 200 * 1000)
        subprocess.run(["rm", "-rf", d], check=True)
for what, figures in (("queue, one task", res), ("status --json", status)):
    for k, v in figures.items():
        print(f"{k:<7} {what:<16} ms per call: median %.3f min %.3f max %.3f"
              % (statistics.median(v), min(v), max(v)))
