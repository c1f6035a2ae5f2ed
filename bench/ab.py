#!/usr/bin/env python3
"""Interleaved comparison of coord builds on the figures that vary most between runs.

Usage:  python3 bench/ab.py NAME=PATH [NAME=PATH ...]   (ROUNDS=5 in the environment by default)

Each PATH is a coord binary (for a fair comparison, static release builds: `git worktree add` a
commit, then `RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --target <host>`).
For each round, every build in turn runs 300 single-task queue calls, 100 pickups from the rename
and from the queue call, a 2-worker drain of 4,000 tasks and a 10,000-task queue, on tmpfs, with
the functions of bench/run.py. Taking turns within each round spreads the machine's drift over
all builds. Prints, per build, the median [min, max] of each figure over the rounds.
"""

import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as B  # noqa: E402


def main():
    builds = dict(a.split("=", 1) for a in sys.argv[1:])
    if not builds:
        sys.exit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "5"))
    figures = {name: {"calls_ms": [], "pickup_rename_ms": [], "pickup_call_ms": [],
                      "drain2_per_s": [], "batch_us": []} for name in builds}
    for r in range(rounds):
        for name, path in builds.items():
            B.COORD = path
            f = figures[name]
            f["calls_ms"].append(B.coord_enqueue_calls("/dev/shm", 300))
            (rename, _), (call, _) = B.coord_pickup("/dev/shm", 100)
            f["pickup_rename_ms"].append(rename)
            f["pickup_call_ms"].append(call)
            f["drain2_per_s"].append(B.coord_drain("/dev/shm", 4000, 2))
            f["batch_us"].append(B.coord_enqueue_batch("/dev/shm", 10000))
            B.log(f"round {r + 1}: {name} done")
    for name, f in figures.items():
        print(name, json.dumps({k: [round(statistics.median(v), 3), round(min(v), 3), round(max(v), 3)]
                                for k, v in f.items()}))


if __name__ == "__main__":
    main()
