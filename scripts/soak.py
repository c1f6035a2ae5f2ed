#!/usr/bin/env python3
"""Soak coord: the total-queue torture test, run for as long as you like.

Usage:  python3 scripts/soak.py [--minutes M] [--workers N] [--batch B] [--kill-ms MS] [--dir DIR]

Builds coord in release mode, makes a workspace in a temporary folder (or under --dir), starts N
watching workers, and for M minutes keeps queueing batches of B tasks while it SIGKILLs a random
worker every few hundred milliseconds (uniform in [MS/2, 3*MS/2]) and starts a new one in its
place. Every task command appends `task attempt worker` to one O_APPEND ledger. At the end it
stops queueing, waits for the queue to drain, stops the workers and checks, like Jepsen's
total-queue checker:

  lost        queued but not completed (nor dead-lettered)
  duplicated  completed more than once, or found in two state folders
  unmatched   a task that ran more often than its recovered leases explain

It prints one line of figures (also as JSON with --json) and exits 1 if any of the three is not 0.
Nothing here runs in CI; docs/reliability.md holds the figures of a real run.
"""

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COORD = os.path.join(REPO, "target", "release", "coord")
ENV = dict(os.environ, NO_COLOR="1")
for var in ("COORD_ROOT", "COORD_WORKER_ID", "COORD_FSYNC"):
    ENV.pop(var, None)

COMMAND = 'echo "$COORD_TASK_ID $COORD_ATTEMPT $COORD_WORKER_ID" >> ledger.txt; sleep 0.01'


def coord(project, *args):
    return subprocess.run([COORD, *args], cwd=project, env=ENV, check=True,
                          capture_output=True, text=True)


def count(project, folder):
    try:
        return sum(1 for e in os.scandir(os.path.join(project, ".coord", folder)) if e.is_file())
    except FileNotFoundError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--kill-ms", type=int, default=300)
    ap.add_argument("--dir", default=None, help="make the workspace under DIR (default: the system temp folder)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns()
    rng = random.Random(seed)
    print(f"building coord (release); seed {seed}", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)

    project = tempfile.mkdtemp(prefix="coord-soak-", dir=args.dir)
    coord(project, "init")

    def start(i):
        return subprocess.Popen([COORD, "worker", "--id", f"soak-{i}", "--watch", "--quiet",
                                 "--rescan", "1"], cwd=project, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    workers = [start(i) for i in range(args.workers)]
    queued = 0
    kills = 0
    deadline = time.monotonic() + args.minutes * 60
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_ms / 1000
    batch_file = os.path.join(project, "batch.jsonl")
    while time.monotonic() < deadline:
        if count(project, "pending") < args.batch:
            with open(batch_file, "w") as f:
                for n in range(args.batch):
                    f.write(json.dumps({"id": f"s{queued + n:07d}", "description": "soak",
                                        "command": COMMAND, "maxAttempts": 100}) + "\n")
            coord(project, "queue", batch_file)
            queued += args.batch
        now = time.monotonic()
        if now >= next_kill:
            i = rng.randrange(len(workers))
            workers[i].kill()
            workers[i].wait()
            workers[i] = start(i)
            kills += 1
            next_kill = now + rng.uniform(0.5, 1.5) * args.kill_ms / 1000
        time.sleep(0.02)

    print(f"draining {queued} tasks", file=sys.stderr)
    drain_limit = time.monotonic() + 300
    while count(project, "completed") + count(project, "failed") < queued:
        if time.monotonic() > drain_limit:
            print("the queue did not drain in 5 minutes", file=sys.stderr)
            break
        time.sleep(0.1)
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait()

    root = os.path.join(project, ".coord")
    where = collections.defaultdict(list)
    folders = ["pending", "completed", "failed"] + [
        os.path.join("assigned", d) for d in os.listdir(os.path.join(root, "assigned"))]
    for folder in folders:
        for e in os.scandir(os.path.join(root, folder)):
            if e.is_file() and e.name.endswith(".json"):
                where[e.name[:-5].rsplit(".", 1)[-1]].append(folder)
    runs = collections.Counter()
    with open(os.path.join(project, "ledger.txt")) as f:
        for line in f:
            runs[line.split(" ", 1)[0]] += 1
    recoveries = 0
    unmatched = 0
    for e in os.scandir(os.path.join(root, "completed")):
        with open(e.path) as f:
            task = json.load(f)
        lost = sum(1 for h in task.get("coord", {}).get("history", []) if h.get("outcome") == "lost")
        recoveries += lost
        if runs[task["id"]] > 1 + lost:
            unmatched += 1
    ids = [f"s{n:07d}" for n in range(queued)]
    figures = {
        "minutes": args.minutes,
        "workers": args.workers,
        "tasks": queued,
        "kills": kills,
        "recoveries": recoveries,
        "reruns": sum(runs.values()) - len(runs),
        "completed": count(project, "completed"),
        "deadLettered": count(project, "failed"),
        "lost": sum(1 for i in ids if not any(f in ("completed", "failed") for f in where.get(i, []))),
        "duplicated": sum(1 for i in ids if len(where.get(i, [])) > 1),
        "unmatched": unmatched,
        "reports": count(project, "reports"),
        "seed": seed,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(" ".join(f"{k}={v}" for k, v in figures.items()))
    ok = figures["lost"] == 0 and figures["duplicated"] == 0 and figures["unmatched"] == 0
    if ok:
        subprocess.run(["rm", "-rf", project])
    else:
        print(f"workspace kept for inspection: {project}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
