#!/usr/bin/env python3
"""coord's benchmark, side by side with its peers (python dirq, nq, task-spooler).

Usage:  python3 bench/run.py [--quick] [--disk DIR] [--runs N] [--json FILE]

Builds coord in release mode, installs the peers from the package registries when they are
missing (apt-get for nq and task-spooler, pip for dirq), runs every figure on tmpfs (/dev/shm)
and coord's also on the regular disk, and prints one table with the ratio coord/peer. Each
figure is the median of --runs runs (default 3). Nothing here runs in `cargo test` or CI.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import million
import multihost

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout.split("host: ")[1].split()[0]
# The build `just install` makes: the C library linked statically, which saves every short-lived
# `coord` call (queue, next, complete) the dynamic loader's work.
STATIC = ["--target", HOST, "--target-dir", os.path.join(REPO, "target", "static")]
COORD = os.path.join(REPO, "target", "static", HOST, "release", "coord")
ENV = dict(os.environ, NO_COLOR="1")
for var in ("COORD_ROOT", "COORD_WORKER_ID", "COORD_FSYNC"):
    ENV.pop(var, None)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(args, **kw):
    return subprocess.run(args, env=kw.pop("env", ENV), check=True, **kw)


def setup():
    log("building coord (release, C library linked statically)")
    run(["cargo", "build", "--release", "-q", *STATIC], cwd=REPO,
        env=dict(ENV, RUSTFLAGS="-C target-feature=+crt-static"))
    have = {}
    missing = [p for p, b in (("nq", "nq"), ("task-spooler", "tsp"), ("sshfs", "sshfs")) if not shutil.which(b)]
    if not os.path.exists("/usr/sbin/sshd"):
        missing.append("openssh-server")
    if missing and os.geteuid() == 0:
        log(f"installing {', '.join(missing)} with apt-get")
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], capture_output=True,
                       env=dict(ENV, DEBIAN_FRONTEND="noninteractive"))
    if not os.path.exists("/usr/bin/time") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], capture_output=True,
                       env=dict(ENV, DEBIAN_FRONTEND="noninteractive"))
    have["nq"] = bool(shutil.which("nq"))
    have["tsp"] = bool(shutil.which("tsp"))
    try:
        import dirq  # noqa: F401
    except ImportError:
        log("installing dirq with pip")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "dirq"], capture_output=True)
    try:
        import dirq  # noqa: F401,F811
        have["dirq"] = True
    except ImportError:
        have["dirq"] = False
    for peer, ok in have.items():
        if not ok:
            log(f"note: {peer} could not be installed; its column stays empty")
    return have


# ---------------------------------------------------------------- coord

def workspace(base):
    d = tempfile.mkdtemp(prefix="coord-bench-", dir=base)
    run([COORD, "init", d], stdout=subprocess.DEVNULL)
    return d


def write_tasks(path, n, prefix="t", command=None):
    with open(path, "w") as f:
        for i in range(n):
            t = {"id": f"{prefix}{i:06d}", "description": "bench"}
            if command:
                t["command"] = command
            f.write(json.dumps(t) + "\n")


def coord(d, *args, **kw):
    return run([COORD, "--root", os.path.join(d, ".coord"), *args], **kw)


def count(d, folder):
    """Task files in a state folder, those in pending/'s batch folders included."""
    n = 0
    for e in os.scandir(os.path.join(d, ".coord", folder)):
        if e.name.startswith("."):
            continue
        n += sum(1 for _ in os.scandir(e.path)) if e.is_dir() else 1
    return n


def coord_enqueue_batch(base, n):
    d = workspace(base)
    write_tasks(os.path.join(d, "t.jsonl"), n)
    t0 = time.perf_counter()
    coord(d, "queue", os.path.join(d, "t.jsonl"), stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    assert count(d, "pending") == n
    shutil.rmtree(d)
    return secs * 1e6 / n


def coord_enqueue_calls(base, n):
    d = workspace(base)
    files = []
    for i in range(n):
        p = os.path.join(d, f"one-{i}.json")
        with open(p, "w") as f:
            json.dump({"id": f"c{i:06d}", "description": "bench"}, f)
        files.append(p)
    root = os.path.join(d, ".coord")
    t0 = time.perf_counter()
    for p in files:
        subprocess.run([COORD, "--root", root, "queue", p], env=ENV, stdout=subprocess.DEVNULL, check=True)
    secs = time.perf_counter() - t0
    assert count(d, "pending") == n
    shutil.rmtree(d)
    return secs * 1e3 / n


def coord_drain(base, n, workers, env=None):
    d = workspace(base)
    write_tasks(os.path.join(d, "t.jsonl"), n)
    coord(d, "queue", os.path.join(d, "t.jsonl"), stdout=subprocess.DEVNULL)
    root = os.path.join(d, ".coord")
    t0 = time.perf_counter()
    procs = [subprocess.Popen([COORD, "--root", root, "worker", "--id", f"w{i}", "--exec", "true", "--quiet"],
                              env=env or ENV, stdout=subprocess.DEVNULL) for i in range(workers)]
    for p in procs:
        assert p.wait() == 0
    secs = time.perf_counter() - t0
    assert count(d, "completed") == n and count(d, "reports") == n and count(d, "pending") == 0
    shutil.rmtree(d)
    return n / secs


def coord_handoff(base, n, agents=2):
    d = workspace(base)
    write_tasks(os.path.join(d, "t.jsonl"), n)
    coord(d, "queue", os.path.join(d, "t.jsonl"), stdout=subprocess.DEVNULL)
    root = os.path.join(d, ".coord")
    claimed = []

    def agent(name):
        while True:
            out = subprocess.run([COORD, "--root", root, "next", "--worker", name, "--json"],
                                 env=ENV, capture_output=True)
            if out.returncode == 10:
                return
            v = json.loads(out.stdout)
            subprocess.run([COORD, "--root", root, "complete", v["taskId"], "--worker", name,
                            "--token", v["token"]], env=ENV, check=True, stdout=subprocess.DEVNULL)
            claimed.append(v["taskId"])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=agent, args=(f"agent-{i}",)) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    assert len(claimed) == n and len(set(claimed)) == n and count(d, "completed") == n
    shutil.rmtree(d)
    return n / secs


def wait_for(path, limit=10.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.0005)


def coord_pickup(base, samples):
    """Median and p99 (ms) from the rename into pending/, and from the start of `coord queue`."""
    d = workspace(base)
    root = os.path.join(d, ".coord")
    w = subprocess.Popen([COORD, "--root", root, "worker", "--id", "lat", "--watch", "--quiet",
                          "--exec", "date +%s%N"], env=ENV, stdout=subprocess.DEVNULL)
    time.sleep(0.3)  # let the worker start watching before the first sample
    by_rename, by_call = [], []
    for i in range(samples):
        tid = f"r{i:05d}"
        tmp = os.path.join(root, "tmp", f"bench.{tid}.tmp")
        with open(tmp, "w") as f:
            json.dump({"id": tid, "description": "pickup"}, f)
        name = f"2147483647-{int(time.time() * 1e6):016d}-000000.{tid}.json"
        t0 = time.time_ns()
        os.rename(tmp, os.path.join(root, "pending", name))
        wait_for(os.path.join(root, "reports", f"{tid}.json"))
        with open(os.path.join(root, "logs", "tasks", f"{tid}.1.log")) as f:
            by_rename.append((int(f.read().strip()) - t0) / 1e6)
    for i in range(samples):
        tid = f"q{i:05d}"
        p = os.path.join(d, f"{tid}.json")
        with open(p, "w") as f:
            json.dump({"id": tid, "description": "pickup"}, f)
        t0 = time.time_ns()
        subprocess.run([COORD, "--root", root, "queue", p], env=ENV, stdout=subprocess.DEVNULL, check=True)
        wait_for(os.path.join(root, "reports", f"{tid}.json"))
        with open(os.path.join(root, "logs", "tasks", f"{tid}.1.log")) as f:
            by_call.append((int(f.read().strip()) - t0) / 1e6)
    w.terminate()
    w.wait()
    shutil.rmtree(d)
    return pct(by_rename), pct(by_call)


def pct(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def coord_growth(base, batches, size):
    d = workspace(base)
    times = []
    for b in range(batches):
        p = os.path.join(d, f"b{b}.jsonl")
        write_tasks(p, size, prefix=f"g{b}-")
        t0 = time.perf_counter()
        coord(d, "queue", p, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    shutil.rmtree(d)
    return times


def coord_drain_with_backlog(base, pending, drain):
    d = workspace(base)
    write_tasks(os.path.join(d, "t.jsonl"), pending)
    coord(d, "queue", os.path.join(d, "t.jsonl"), stdout=subprocess.DEVNULL)
    root = os.path.join(d, ".coord")
    t0 = time.perf_counter()
    rss = peak_rss([COORD, "--root", root, "worker", "--id", "g", "--exec", "true", "--quiet",
                    "--max-tasks", str(drain)])
    secs = time.perf_counter() - t0
    assert count(d, "completed") == drain
    status_rss = peak_rss([COORD, "--root", root, "status"])
    shutil.rmtree(d)
    return drain / secs, rss, status_rss


def peak_rss(args):
    """Peak RSS (MB) of a command, read by GNU time: a child's ru_maxrss seen from Python would
    include the Python process's own RSS, inherited at fork before exec."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *args], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True).stderr
    return int(out.strip().splitlines()[-1]) / 1024


def coord_in_process(base, n):
    out = run(["cargo", "bench", "-q", "--bench", "queue", "--", base, str(n)], cwd=REPO,
              capture_output=True, text=True).stdout
    return {(r["bench"], r["variant"]): r["value"] for r in map(json.loads, out.splitlines())}


# ---------------------------------------------------------------- dirq

def _dirq_drain(path, counter):
    from dirq.QueueSimple import QueueSimple
    q = QueueSimple(path)
    done = 0
    for name in q:
        if q.lock(name):
            q.get(name)
            q.remove(name)
            done += 1
    counter.put(done)


def dirq_bench(base, n, samples):
    from dirq.QueueSimple import QueueSimple
    path = tempfile.mkdtemp(prefix="dirq-", dir=base)
    q = QueueSimple(path)
    t0 = time.perf_counter()
    for i in range(n):
        q.add(f"task {i}")
    add_us = (time.perf_counter() - t0) * 1e6 / n
    counter = multiprocessing.Queue()
    t0 = time.perf_counter()
    procs = [multiprocessing.Process(target=_dirq_drain, args=(path, counter)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rate = n / (time.perf_counter() - t0)
    assert sum(counter.get() for _ in procs) == n
    lat = dirq_pickup(path, samples)
    shutil.rmtree(path)
    return add_us, rate, lat


def _dirq_poll(path, out, stop):
    from dirq.QueueSimple import QueueSimple
    q = QueueSimple(path)
    while not stop.is_set():
        for name in q:
            if q.lock(name):
                seen = time.time_ns()
                data = q.get(name)
                q.remove(name)
                out.put((seen - int(data)) / 1e6)
        time.sleep(0.01)


def dirq_pickup(path, samples):
    from dirq.QueueSimple import QueueSimple
    q = QueueSimple(path)
    out, stop = multiprocessing.Queue(), multiprocessing.Event()
    p = multiprocessing.Process(target=_dirq_poll, args=(path, out, stop))
    p.start()
    lat = []
    for _ in range(samples):
        q.add(str(time.time_ns()))
        lat.append(out.get(timeout=10))
    stop.set()
    p.join()
    return pct(lat)


# ---------------------------------------------------------------- nq and task-spooler

def nq_bench(base, calls, drain_n, samples):
    d = tempfile.mkdtemp(prefix="nq-", dir=base)
    env = dict(ENV, NQDIR=os.path.join(d, "q1"))
    t0 = time.perf_counter()
    for _ in range(calls):
        subprocess.run(["nq", "-q", "true"], env=env, check=True)
    per_call = (time.perf_counter() - t0) * 1e3 / calls
    subprocess.run(["nq", "-w"], env=env, check=True)
    envs = [dict(ENV, NQDIR=os.path.join(d, f"d{i}")) for i in range(2)]

    def feed(e):
        for _ in range(drain_n // 2):
            subprocess.run(["nq", "-q", "true"], env=e, check=True)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=feed, args=(e,)) for e in envs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in envs:
        subprocess.run(["nq", "-w"], env=e, check=True)
    rate = drain_n / (time.perf_counter() - t0)
    lat_env = dict(ENV, NQDIR=os.path.join(d, "lat"))
    lat = []
    for _ in range(samples):
        t0 = time.time_ns()
        job = subprocess.run(["nq", "date", "+%s%N"], env=lat_env, check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["nq", "-w", job], env=lat_env, check=True)
        with open(os.path.join(lat_env["NQDIR"], job)) as f:
            start = int(next(line for line in f.read().splitlines() if line.strip().isdigit()))
        lat.append((start - t0) / 1e6)
    shutil.rmtree(d)
    return per_call, rate, pct(lat)


def tsp_bench(base, calls, drain_n, samples):
    d = tempfile.mkdtemp(prefix="tsp-", dir=base)
    env = dict(ENV, TS_SOCKET=os.path.join(d, "sock"), TS_MAXFINISHED="1000000", TMPDIR=d)
    subprocess.run(["tsp", "-S", "2"], env=env, check=True)
    t0 = time.perf_counter()
    for _ in range(calls):
        subprocess.run(["tsp", "true"], env=env, check=True, stdout=subprocess.DEVNULL)
    per_call = (time.perf_counter() - t0) * 1e3 / calls
    subprocess.run(["tsp", "-w"], env=env)
    subprocess.run(["tsp", "-C"], env=env, check=True)
    t0 = time.perf_counter()
    for _ in range(drain_n):
        subprocess.run(["tsp", "true"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["tsp", "-w"], env=env)
    rate = drain_n / (time.perf_counter() - t0)
    subprocess.run(["tsp", "-C"], env=env, check=True)
    lat = []
    for _ in range(samples):
        t0 = time.time_ns()
        job = subprocess.run(["tsp", "date", "+%s%N"], env=env, check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["tsp", "-w", job], env=env)
        out = subprocess.run(["tsp", "-o", job], env=env, check=True, capture_output=True, text=True).stdout.strip()
        with open(out) as f:
            start = int(next(line for line in f.read().splitlines() if line.strip().isdigit()))
        lat.append((start - t0) / 1e6)
    subprocess.run(["tsp", "-K"], env=env)
    shutil.rmtree(d)
    return per_call, rate, pct(lat)


# ---------------------------------------------------------------- report

def median_of(runs, fn):
    results = [fn() for _ in range(runs)]
    if isinstance(results[0], tuple):
        return tuple(median_of_tuple(r) for r in zip(*results))
    return statistics.median(results)


def median_of_tuple(values):
    if isinstance(values[0], tuple):
        return tuple(statistics.median(v) for v in zip(*values))
    return statistics.median(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, one run: a smoke test of the harness")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--disk", default=os.path.join(REPO, "target", "bench-disk"),
                    help="a folder on the regular disk (default: target/bench-disk)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--million", type=int, default=None,
                    help="tasks in the one-workspace backlog figures (default 1,000,000; --quick 100,000; 0 skips)")
    a = ap.parse_args()
    q = a.quick
    runs = 1 if q else a.runs
    N = 1000 if q else 10_000
    CALLS = 100 if q else 1000
    SAMPLES = 50 if q else 200
    HANDOFF = 200 if q else 2000
    BACKLOG = 10_000 if q else 100_000
    HOSTS_N = 200 if q else 1000
    HOSTS_SAMPLES = 10 if q else 40
    have = setup()
    os.makedirs(a.disk, exist_ok=True)
    tmpfs = "/dev/shm"
    fig = {}

    for label, base in (("tmpfs", tmpfs), ("disk", a.disk)):
        log(f"coord on {label}: enqueue")
        fig[f"enqueue_batch_{label}"] = median_of(runs, lambda: coord_enqueue_batch(base, N))
        fig[f"enqueue_call_{label}"] = median_of(runs, lambda: coord_enqueue_calls(base, CALLS))
        for w in (1, 2, 4):
            log(f"coord on {label}: drain with {w} worker(s)")
            fig[f"drain{w}_{label}"] = median_of(runs, lambda: coord_drain(base, N, w))
        log(f"coord on {label}: hand-off drain")
        fig[f"handoff_{label}"] = median_of(runs, lambda: coord_handoff(base, HANDOFF))
        log(f"coord on {label}: pickup latency")
        fig[f"pickup_{label}"] = median_of(runs, lambda: coord_pickup(base, SAMPLES))
    log("coord: drain with fsync off (tmpfs, 2 workers)")
    fig["drain2_nofsync"] = median_of(runs, lambda: coord_drain(tmpfs, N, 2, env=dict(ENV, COORD_FSYNC="0")))
    log("coord: growth")
    fig["growth"] = median_of(runs, lambda: tuple(coord_growth(tmpfs, 10, 500)))
    fig["backlog"] = median_of(runs, lambda: coord_drain_with_backlog(tmpfs, BACKLOG, 1000))
    fig["small_backlog"] = median_of(runs, lambda: coord_drain_with_backlog(tmpfs, 1000, 1000))
    log("coord: in process (cargo bench)")
    fig["in_process"] = coord_in_process(tmpfs, 2 * N)
    if multihost.available():
        log("coord: two hosts over sshfs")
        fig["hosts_drain"] = median_of(runs, lambda: multihost.drain(COORD, ENV, HOSTS_N))
        fig["hosts_drain_local"] = median_of(runs, lambda: coord_drain(a.disk, HOSTS_N, 2))
        fig["hosts_pickup"] = median_of(runs, lambda: multihost.pickup(COORD, ENV, HOSTS_SAMPLES))
    else:
        log("skipping the two-host figures: they need root, sshd, sshfs and /dev/fuse")
    if have.get("dirq"):
        log("dirq")
        fig["dirq"] = median_of(runs, lambda: dirq_bench(tmpfs, N, SAMPLES))
    if have.get("nq"):
        log("nq")
        fig["nq"] = median_of(runs, lambda: nq_bench(tmpfs, CALLS, 2 * CALLS, SAMPLES))
    if have.get("tsp"):
        log("task-spooler")
        fig["tsp"] = median_of(runs, lambda: tsp_bench(tmpfs, CALLS, 2 * CALLS, SAMPLES))
    big = a.million if a.million is not None else (100_000 if q else 1_000_000)
    if big:
        log(f"coord: {big:,} tasks in one workspace")
        fig["million"] = million.measure(COORD, big, tmpfs, log)
    print_table(fig, N, CALLS, SAMPLES, BACKLOG, runs)
    if "million" in fig:
        print()
        million.show(fig["million"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({k: (list(v) if isinstance(v, tuple) else v) for k, v in fig.items() if k != "in_process"}
                      | {"in_process": {f"{k[0]} ({k[1]})": v for k, v in fig["in_process"].items()}}, f, indent=2)


def print_table(f, n, calls, samples, backlog, runs):
    dirq = f.get("dirq")
    nq = f.get("nq")
    tsp = f.get("tsp")
    ip = f["in_process"]
    rows = []

    def row(name, tmpfs, disk, peers, unit, better):
        cells = []
        for peer in peers:
            if peer is None:
                cells.append("-")
            else:
                ratio = tmpfs / peer if peer else float("nan")
                cells.append(f"{peer:,.3g} ({ratio:.2f}x)")
        rows.append((name, unit, f"{tmpfs:,.3g}", "-" if disk is None else f"{disk:,.3g}", *cells, better))

    row(f"enqueue {n:,} in one call", f["enqueue_batch_tmpfs"], f["enqueue_batch_disk"],
        [dirq and dirq[0], None, None], "us/task", "lower")
    row("enqueue, one task per call", f["enqueue_call_tmpfs"], f["enqueue_call_disk"],
        [None, nq and nq[0], tsp and tsp[0]], "ms/call", "lower")
    for w in (1, 2, 4):
        peers = [None, nq and nq[1], tsp and tsp[1]] if w == 2 else [None, None, None]
        row(f"drain `true`, {w} worker(s)", f[f"drain{w}_tmpfs"], f[f"drain{w}_disk"], peers, "tasks/s", "higher")
    row("drain `true`, 2 workers, fsync off", f["drain2_nofsync"], None, [None, nq and nq[1], tsp and tsp[1]],
        "tasks/s", "higher")
    row("in process, 2 threads, fsync off", ip[("in-process drain, 2 threads", "fsync off")], None,
        [dirq and dirq[1], None, None], "tasks/s", "higher")
    row("in process, 2 threads, fsync on", ip[("in-process drain, 2 threads", "fsync on")], None,
        [dirq and dirq[1], None, None], "tasks/s", "higher")
    row("hand-off (next + complete), 2 agents", f["handoff_tmpfs"], f["handoff_disk"], [None, None, None],
        "tasks/s", "higher")
    for i, label in ((0, "median"), (1, "p99")):
        row(f"pickup from rename into pending/, {label}", f["pickup_tmpfs"][0][i], f["pickup_disk"][0][i],
            [dirq and dirq[2][i], None, None], "ms", "lower")
        row(f"pickup from start of the queue call, {label}", f["pickup_tmpfs"][1][i], f["pickup_disk"][1][i],
            [None, nq and nq[2][i], tsp and tsp[2][i]], "ms", "lower")
    g = f["growth"]
    row("growth: batch 1 of 500", g[0] * 1e3, None, [None] * 3, "ms", "lower")
    row("growth: batch 10 of 500", g[9] * 1e3, None, [None] * 3, "ms", "lower")
    row(f"drain 1,000 with {backlog:,} pending", f["backlog"][0], None, [None] * 3, "tasks/s", "higher")
    row("drain 1,000 with 1,000 pending", f["small_backlog"][0], None, [None] * 3, "tasks/s", "higher")
    row(f"worker peak RSS, {backlog:,} pending", f["backlog"][1], None, [None] * 3, "MB", "lower")
    row(f"`coord status` peak RSS, {backlog:,} pending", f["backlog"][2], None, [None] * 3, "MB", "lower")
    row("floor: publish one file (tmpfs)", ip[("floor: publish one file", "create+write+close+renameat2")], None,
        [None] * 3, "us", "-")
    row("floor: spawn `true`", ip[("floor: spawn true", "posix_spawn + wait")], None, [None] * 3, "ms", "-")

    head = ("figure", "unit", "coord tmpfs", "coord disk", "dirq (coord/dirq)", "nq (coord/nq)",
            "task-spooler (coord/ts)", "better")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(f"\ncoord benchmark: {os.cpu_count()} cores, median of {runs} run(s), "
          f"{n:,} tasks, {calls:,} calls, {samples} latency samples\n")
    for r in [head, tuple("-" * w for w in widths)] + rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    if "hosts_drain" in f:
        local_pickup = f["pickup_disk"][1]
        hosts = [
            ("drain `true`, 1 worker on each of 2 hosts", "tasks/s", f["hosts_drain"],
             f"{f['hosts_drain_local']:,.3g} (2 workers, one host, same disk)"),
            ("pickup from the queue call, another host, median", "ms", f["hosts_pickup"][0],
             f"{local_pickup[0]:,.3g} (same host, events)"),
            ("pickup from the queue call, another host, p99", "ms", f["hosts_pickup"][1],
             f"{local_pickup[1]:,.3g} (same host, events)"),
        ]
        head = ("figure (two hosts over sshfs)", "unit", "coord over sshfs", "local directory")
        widths = [max(len(f"{r[i]:,.3g}" if isinstance(r[i], float) else str(r[i])) for r in hosts + [head])
                  for i in range(4)]
        print()
        for r in [head, tuple("-" * w for w in widths)] + hosts:
            cells = [f"{c:,.3g}" if isinstance(c, float) else str(c) for c in r]
            print("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |")


if __name__ == "__main__":
    main()
