#!/usr/bin/env python3
"""A million tasks in one workspace: queue them in one call, then time and weigh the calls a
person and a worker make against that backlog, then drain a part and purge.

Usage:  python3 bench/million.py [COORD_BIN] [--tasks N]   (tmpfs; bench/run.py calls `measure`)

Each figure is one run: wall time and peak RSS (GNU time) of one command. `next` is the median
of 20 calls, each claiming and completing one task.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

ENV = dict(os.environ, NO_COLOR="1")
for var in ("COORD_ROOT", "COORD_WORKER_ID", "COORD_FSYNC"):
    ENV.pop(var, None)


def timed(args, env=ENV):
    """(seconds, peak RSS in MB) of one command, its output thrown away."""
    t0 = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *args], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {out.stderr[-2000:]}")
    return secs, int(out.stderr.strip().splitlines()[-1]) / 1024


def du(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout.split()[0])


def measure(coord, n, base="/dev/shm", log=print):
    d = tempfile.mkdtemp(prefix="coord-million-", dir=base)
    root = os.path.join(d, ".coord")
    subprocess.run([coord, "init", d], stdout=subprocess.DEVNULL, check=True, env=ENV)
    c = [coord, "--root", root]
    src = os.path.join(d, "t.jsonl")
    with open(src, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"m{i:07d}", "description": "bench", "command": "true"}) + "\n")
    fig = {"tasks": n, "input_mb": os.path.getsize(src) / 1e6}
    log(f"million: queue {n:,} tasks in one call")
    fig["queue"] = timed([*c, "queue", src])
    os.unlink(src)
    for name, args in (("status", ["status"]), ("status_json", ["status", "--json"]),
                       ("list", ["list"]), ("doctor", ["doctor"]), ("stats", ["stats"])):
        log(f"million: {' '.join(args)}")
        fig[name] = timed([*c, *args])
    log("million: next + complete, 20 times")
    nexts = []
    for i in range(20):
        nexts.append(timed([*c, "next", "--worker", "agent", "--json"])[0] * 1e3)
        subprocess.run([*c, "complete", "--worker", "agent", "--all"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=ENV)
    fig["next_ms"] = statistics.median(nexts)
    fig["next_ms_max"] = max(nexts)
    log("million: a worker draining 2,000 of them")
    secs, rss = timed([*c, "worker", "--id", "w", "--exec", "true", "--quiet", "--max-tasks", "2000"])
    fig["worker"] = (2000 / secs, rss)
    log("million: stats after the drain (the summary kept from the first call)")
    fig["stats_again"] = timed([*c, "stats"])
    fig["disk_mb"] = du(root) / 1e6
    shutil.rmtree(d)
    return fig


def show(fig):
    rows = [
        (f"queue {fig['tasks']:,} tasks ({fig['input_mb']:.0f} MB JSON Lines), one call",) + fig["queue"],
        ("`coord next` + complete, median of 20 (max)", fig["next_ms"] / 1e3, None),
        ("`coord status`",) + fig["status"],
        ("`coord status --json`",) + fig["status_json"],
        ("`coord list`",) + fig["list"],
        ("`coord doctor`",) + fig["doctor"],
        ("`coord stats`, first call",) + fig["stats"],
        ("`coord stats`, after 2,020 more events",) + fig["stats_again"],
    ]
    print(f"| figure, {fig['tasks']:,} tasks | seconds | peak RSS, MB |")
    print("|---|---|---|")
    for name, secs, rss in rows:
        cell = f"{secs * 1e3:.1f} ms (max {fig['next_ms_max']:.1f})" if rss is None else f"{secs:.3g}"
        print(f"| {name} | {cell} | {'-' if rss is None else f'{rss:.0f}'} |")
    print(f"| worker draining 2,000 `true` with the rest pending | {fig['worker'][0]:,.0f} tasks/s | "
          f"{fig['worker'][1]:.0f} |")
    print(f"| workspace on disk after the drain | {fig['disk_mb']:.0f} MB | - |")


if __name__ == "__main__":
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("coord", nargs="?", default=os.path.join(
        repo, "target", "static", "x86_64-unknown-linux-gnu", "release", "coord"))
    ap.add_argument("--tasks", type=int, default=1_000_000)
    a = ap.parse_args()
    show(measure(a.coord, a.tasks, log=lambda m: print(m, file=os.sys.stderr, flush=True)))
