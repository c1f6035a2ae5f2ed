#!/usr/bin/env python3
"""Soak coord: the total-queue torture test, run for as long as you like.

Usage:  python3 scripts/soak.py [--minutes M] [--workers N] [--batch B] [--kill-ms MS] [--dir DIR]
                                [--all-verbs]

Builds coord in release mode, makes a workspace in a temporary folder (or under --dir), starts N
watching workers, and for M minutes keeps queueing batches of B tasks while it SIGKILLs a random
worker every few hundred milliseconds (uniform in [MS/2, 3*MS/2]) and starts a new one in its
place. Every task command appends `task attempt worker` to one O_APPEND ledger. At the end it
stops queueing, waits for the queue to drain, stops the workers and checks, like Jepsen's
total-queue checker:

  lost        queued but not completed (nor dead-lettered)
  duplicated  completed more than once, or found in two state folders
  unmatched   a task that ran more often than its recovered leases explain

With --all-verbs, every verb runs at once beside the kills, as the test
`chaos::every_verb_at_once_loses_no_task_and_runs_none_twice_at_once` does for a few seconds: an
agent (`next --wait`, `complete --token`), an operator (`retry` and `cancel` of random tasks,
`pause`/`resume`, `purge`), and `doctor --fix` and `recover` in a loop; kills hit the keeper or
the worker proper. Tasks fail now and then (some always, some once), one in twenty runs 0.3 s with
a cleared environment, and every command runs under `flock -n` on a file of its task, so two runs
of one task at the same time are caught. The checks then are:

  lost        queued, not purged, and in no state
  duplicated  found in two state folders
  doubles     two runs of one task at the same time
  noReport    finished without its report

It prints one line of figures (also as JSON with --json) and exits 1 if any check is not 0.
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
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COORD = os.path.join(REPO, "target", "release", "coord")
ENV = dict(os.environ, NO_COLOR="1")
for var in ("COORD_ROOT", "COORD_WORKER_ID", "COORD_FSYNC"):
    ENV.pop(var, None)

COMMAND = 'echo "$COORD_TASK_ID $COORD_ATTEMPT $COORD_WORKER_ID" >> ledger.txt; sleep 0.01'


def verb_task(n):
    """A task of the --all-verbs run: its work by its number, under the flock detector."""
    work, attempts = {0: ("false", 1), 10: ("false", 1), 1: ('[ "$COORD_ATTEMPT" -gt 1 ]', 3),
                      11: ('[ "$COORD_ATTEMPT" -gt 1 ]', 3), 3: ("env -i sleep 0.3", 3)}.get(
        n % 20, ("true", 3))
    command = ('echo "$COORD_TASK_ID $COORD_ATTEMPT $COORD_WORKER_ID" >> ledger.txt; '
               f"flock -n -E 75 runs/$COORD_TASK_ID sh -c 'sleep 0.005; {work}'; rc=$?; "
               'if [ $rc = 75 ]; then echo "$COORD_TASK_ID" >> doubles; fi; exit $rc')
    return {"id": f"s{n:07d}", "description": "soak", "command": command,
            "maxAttempts": attempts, "retryBackoffSecs": 0}


def call(project, *args):
    return subprocess.run([COORD, *args], cwd=project, env=ENV, capture_output=True, text=True)


def run_verbs(project, rng, queued, purged, stop):
    """The other verbs, each in its own thread, until `stop` is set; returns the threads."""
    def doctor():
        while not stop.is_set():
            call(project, "doctor", "--fix")
            call(project, "recover")

    def agent():
        while not stop.is_set():
            out = call(project, "next", "--worker", "agent", "--json", "--wait=1")
            if out.returncode != 0:
                continue
            task = json.loads(out.stdout)
            call(project, "complete", task["taskId"], "--worker", "agent", "--token", task["token"])

    def operator():
        n = 0
        seed = rng.random()
        pick = random.Random(seed)
        while not stop.is_set():
            n += 1
            if queued[0]:
                call(project, ["retry", "cancel", "retry", "retry"][n % 4],
                     f"s{pick.randrange(queued[0]):07d}")
            if n % 100 == 40:
                call(project, "pause")
            elif n % 100 == 50:
                call(project, "resume")
            elif n % 100 == 99:
                out = call(project, "purge", "--completed", "--older-than", "0s", "--json")
                if out.returncode == 0:
                    purged.update(json.loads(out.stdout)["removed"])
        call(project, "resume")

    threads = [threading.Thread(target=f) for f in (doctor, agent, operator)]
    for t in threads:
        t.start()
    return threads


def victim(worker, rng, all_verbs):
    """The pid to kill: the keeper, or with --all-verbs half the time the worker proper."""
    if all_verbs and rng.random() < 0.5:
        try:
            with open(f"/proc/{worker.pid}/task/{worker.pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
    return worker.pid


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
    ap.add_argument("--all-verbs", action="store_true",
                    help="an agent, retry, cancel, purge, pause/resume, doctor --fix and recover too")
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
    shared_queued = [0]
    purged = set()
    stop = threading.Event()
    verbs = []
    if args.all_verbs:
        os.mkdir(os.path.join(project, "runs"))
        verbs = run_verbs(project, rng, shared_queued, purged, stop)
    deadline = time.monotonic() + args.minutes * 60
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_ms / 1000
    batch_file = os.path.join(project, "batch.jsonl")
    while time.monotonic() < deadline:
        if count(project, "pending") < args.batch:
            with open(batch_file, "w") as f:
                for n in range(args.batch):
                    task = (verb_task(queued + n) if args.all_verbs else
                            {"id": f"s{queued + n:07d}", "description": "soak",
                             "command": COMMAND, "maxAttempts": 100})
                    f.write(json.dumps(task) + "\n")
            coord(project, "queue", batch_file)
            queued += args.batch
            shared_queued[0] = queued
        now = time.monotonic()
        if now >= next_kill:
            i = rng.randrange(len(workers))
            try:
                os.kill(victim(workers[i], rng, args.all_verbs), signal.SIGKILL)
            except ProcessLookupError:
                pass
            workers[i].wait()
            workers[i] = start(i)
            kills += 1
            next_kill = now + rng.uniform(0.5, 1.5) * args.kill_ms / 1000
        time.sleep(0.02)

    stop.set()
    for t in verbs:
        t.join()
    print(f"draining {queued} tasks", file=sys.stderr)
    drain_limit = time.monotonic() + 300

    def held():
        return sum(count(project, os.path.join("assigned", d))
                   for d in os.listdir(os.path.join(project, ".coord", "assigned")))

    def drained():
        if args.all_verbs:
            return count(project, "pending") == 0 and held() == 0
        return count(project, "completed") + count(project, "failed") >= queued

    while not drained():
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
    if args.all_verbs:
        try:
            with open(os.path.join(project, "doubles")) as f:
                doubles = sum(1 for _ in f)
        except FileNotFoundError:
            doubles = 0
        finished = [i for i in ids if where.get(i, [None])[0] in ("completed", "failed")]
        figures = {
            "minutes": args.minutes,
            "workers": args.workers,
            "tasks": queued,
            "kills": kills,
            "runs": sum(runs.values()),
            "completed": count(project, "completed"),
            "failed": count(project, "failed"),
            "purged": len(purged),
            "lost": sum(1 for i in ids if i not in where and i not in purged),
            "duplicated": sum(1 for i in ids if len(where.get(i, [])) > 1),
            "doubles": doubles,
            "noReport": sum(1 for i in finished
                            if not os.path.exists(os.path.join(root, "reports", i + ".json"))),
            "seed": seed,
        }
        checks = ("lost", "duplicated", "doubles", "noReport")
    else:
        figures = None
        checks = ("lost", "duplicated", "unmatched")
    figures = figures or {
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
    ok = all(figures[c] == 0 for c in checks)
    if ok:
        subprocess.run(["rm", "-rf", project])
    else:
        print(f"workspace kept for inspection: {project}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
