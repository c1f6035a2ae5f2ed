"""Two simulated hosts sharing one workspace over sshfs, for bench/run.py.

Each host is a process tree in its own UTS, PID and mount namespaces (`unshare`) with its own
sshfs mount of one directory served by sshd on 127.0.0.1, as in tests/hosts.rs. Needs root
(or unprivileged namespaces), sshd and sshfs; `available()` says whether they are here.
"""

import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def available():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        return False
    return all(shutil.which(t) for t in ("sshfs", "unshare", "ssh-keygen")) and os.path.exists("/usr/sbin/sshd")


class Cluster:
    def __init__(self, coord, env):
        self.coord, self.env = coord, env
        self.dir = tempfile.mkdtemp(prefix="coord-bench-hosts-")
        d = self.dir
        for key in ("hostkey", "clientkey"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/{key}"], check=True)
        shutil.copy(f"{d}/clientkey.pub", f"{d}/authorized_keys")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        with open(f"{d}/sshd_config", "w") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\n"
                    f"AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                    f"StrictModes no\nPidFile {d}/sshd.pid\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
        os.makedirs("/run/sshd", exist_ok=True)
        self.sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.project = f"{d}/srv/project"
        os.makedirs(self.project)
        os.makedirs(f"{d}/mnt")
        subprocess.run([coord, "init", self.project], env=env, check=True, stdout=subprocess.DEVNULL)
        self.root = f"{self.project}/.coord"
        self.hosts = []

    def host(self, name, script):
        d = self.dir
        setup = (f"hostname {name} || exit 96\n"
                 f"sshfs -p {self.port} -o IdentityFile={d}/clientkey,StrictHostKeyChecking=no,"
                 f"UserKnownHostsFile=/dev/null,dir_cache=no,LogLevel=ERROR root@127.0.0.1:{d}/srv {d}/mnt || exit 97\n"
                 f"cd {d}/mnt/project || exit 98\n{script}\n")
        p = subprocess.Popen(["unshare", "--uts", "--pid", "--mount", "--fork", "--mount-proc", "--kill-child",
                              "sh", "-c", setup], env=dict(self.env, C=self.coord),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.hosts.append(p)
        return p

    def close(self):
        for p in self.hosts:
            p.kill()
            p.wait()
        self.sshd.kill()
        self.sshd.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def count(root, folder):
    return sum(1 for e in os.scandir(os.path.join(root, folder)) if e.is_file())


def drain(coord, env, n):
    """Tasks/s for n `true` tasks through one worker on each of two hosts."""
    c = Cluster(coord, env)
    try:
        path = os.path.join(c.dir, "t.jsonl")
        with open(path, "w") as f:
            for i in range(n):
                f.write(f'{{"id":"h{i:05d}","description":"bench"}}\n')
        subprocess.run([coord, "--root", c.root, "queue", path], env=env, check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        hosts = [c.host(h, f"$C worker --id {h}-w --exec true --quiet") for h in ("hostA", "hostB")]
        for p in hosts:
            p.wait()
        secs = time.perf_counter() - t0
        assert count(c.root, "completed") == n, count(c.root, "completed")
        return n / secs
    finally:
        c.close()


def pickup(coord, env, samples):
    """Median and p99 (ms) from queuing a task on the server side to its command's start on
    another host, whose idle worker rescans every second; tasks arrive at random moments."""
    c = Cluster(coord, env)
    try:
        c.host("hostB", "$C worker --id hostB-w --watch --quiet --exec 'date +%s%N'")
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(c.root, "workers", "hostB-w.json")):
            assert time.time() < deadline, "hostB did not start"
            time.sleep(0.05)
        lat = []
        worker_log = os.path.join(c.root, "logs", "hostB-w.log")

        def idle():
            # The worker is idle once its last log line says so (the sample starts from there).
            try:
                with open(worker_log, "rb") as f:
                    return f.read().rstrip().endswith(b"waiting for work")
            except OSError:
                return False

        for i in range(samples):
            deadline = time.time() + 20
            while not idle():
                assert time.time() < deadline, "hostB's worker did not go idle"
                time.sleep(0.005)
            # Tasks arrive at any moment of the worker's rescan cycle.
            time.sleep(random.uniform(0, 1.0))
            tid = f"x{i:04d}"
            p = os.path.join(c.dir, f"{tid}.json")
            with open(p, "w") as f:
                f.write(f'{{"id":"{tid}","description":"pickup"}}')
            t0 = time.time_ns()
            subprocess.run([coord, "--root", c.root, "queue", p], env=env, check=True, stdout=subprocess.DEVNULL)
            log = os.path.join(c.root, "logs", "tasks", f"{tid}.1.log")
            deadline = time.time() + 20
            while not (os.path.exists(log) and os.path.getsize(log) > 0):
                assert time.time() < deadline, f"{tid} was not picked up"
                time.sleep(0.005)
            with open(log) as f:
                lat.append((int(f.read().strip()) - t0) / 1e6)
        lat.sort()
        return statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    finally:
        c.close()
