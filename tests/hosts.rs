//! Several hosts sharing one workspace over a network file system, simulated on one machine:
//! sshd on 127.0.0.1 serves a directory, and each "host" is a process tree in its own UTS, PID
//! and mount namespaces (`unshare`) with its own sshfs mount of that directory at the same path.
//! The tests skip, saying why, where sshd, sshfs or unprivileged namespaces are unavailable.
//!
//! They are a test binary of their own, so that they run after the main suite rather than
//! beside it: a lease of two seconds is only meaningful on a machine that is not starved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "suite/support.rs"]
mod support;

use support::*;

/// The served directory, the sshd serving it, and how hosts mount it.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    sshd: Child,
    hosts: Vec<Child>,
}

const LEASE_SECS: u64 = 2;

/// Says why the multi-host tests cannot run here; fails instead where CI said they would
/// (COORD_REQUIRE_HARNESSES lists `hosts`).
fn skip(why: &str) {
    let required = std::env::var("COORD_REQUIRE_HARNESSES")
        .is_ok_and(|names| names.split_whitespace().any(|n| n == "hosts"));
    assert!(
        !required,
        "the multi-host tests are required here but cannot run: {why}"
    );
    eprintln!("SKIPPED multi-host test: {why}");
}

impl Cluster {
    /// Starts sshd and creates a workspace in the served directory; None (after saying why)
    /// where the tools are missing.
    fn start() -> Option<Cluster> {
        for tool in [
            "/usr/sbin/sshd",
            "/usr/bin/sshfs",
            "/usr/bin/unshare",
            "/usr/bin/ssh-keygen",
        ] {
            if !Path::new(tool).exists() {
                skip(&format!(
                    "{tool} is missing (apt-get install openssh-server sshfs)"
                ));
                return None;
            }
        }
        if !Path::new("/dev/fuse").exists() {
            skip("/dev/fuse is missing");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("coord-hosts-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for key in ["hostkey", "clientkey"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap()
                .success();
            assert!(ok, "ssh-keygen");
        }
        std::fs::copy(d.join("clientkey.pub"), d.join("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PidFile {d}/sshd.pid\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
                hk = d.join("hostkey").display(),
                ak = d.join("authorized_keys").display(),
                d = d.display(),
            ),
        )
        .unwrap();
        let _ = std::fs::create_dir_all("/run/sshd");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // sshd writes its pid file once it listens.
        let pid_file = d.join("sshd.pid");
        let started = wait_on_changes(d, Duration::from_secs(10), || {
            std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n'))
        });
        assert!(
            started && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "sshd did not start listening on port {port}"
        );
        std::fs::create_dir_all(d.join("srv/project")).unwrap();
        std::fs::create_dir_all(d.join("mnt")).unwrap();
        let cluster = Cluster {
            dir,
            port,
            sshd,
            hosts: Vec::new(),
        };
        let init = Command::new(env!("CARGO_BIN_EXE_coord"))
            .arg("init")
            .arg(cluster.project())
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", stderr(&init));
        let config = cluster.root().join("config.json");
        let mut c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        c["workerLeaseSecs"] = LEASE_SECS.into();
        std::fs::write(&config, c.to_string()).unwrap();
        // Can a host be made here at all?
        let probe = cluster.run_host("probe", "test -d .coord", &[]);
        match probe.wait_with_output() {
            Ok(out) if out.status.success() => Some(cluster),
            Ok(out) => {
                skip(&format!(
                    "cannot make a host with its own namespaces and sshfs mount here: {}",
                    stderr(&out).trim()
                ));
                None
            }
            Err(e) => {
                skip(&e.to_string());
                None
            }
        }
    }

    /// The project directory as the "server" sees it.
    fn project(&self) -> PathBuf {
        self.dir.path().join("srv/project")
    }

    /// The workspace as the server sees it.
    fn root(&self) -> PathBuf {
        self.project().join(".coord")
    }

    /// Starts a host: new UTS, PID and mount namespaces, hostname `name`, the served directory
    /// mounted with sshfs, then `script` run with `sh` in the project directory with `$C` naming
    /// coord. Killing the returned process kills every process of the host.
    fn run_host(&self, name: &str, script: &str, env: &[(&str, &str)]) -> Child {
        let d = self.dir.path();
        let setup = format!(
            "hostname {name} || exit 96\n\
             sshfs -p {port} -o IdentityFile={key},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,dir_cache=no,LogLevel=ERROR root@127.0.0.1:{srv} {mnt} || exit 97\n\
             cd {mnt}/project || exit 98\n{script}\n",
            port = self.port,
            key = d.join("clientkey").display(),
            srv = d.join("srv").display(),
            mnt = d.join("mnt").display(),
        );
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--uts",
            "--pid",
            "--mount",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "sh",
            "-c",
        ])
        .arg(setup)
        .env("C", env!("CARGO_BIN_EXE_coord"))
        .env("NO_COLOR", "1")
        .env_remove("COORD_ROOT")
        .env_remove("COORD_WORKER_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// Starts a host running `workers` watching workers named `<name>-w<i>` with extra worker
    /// arguments; returns its index.
    fn host(&mut self, name: &str, workers: usize, args: &str, env: &[(&str, &str)]) -> usize {
        let mut script = String::new();
        for i in 1..=workers {
            script.push_str(&format!(
                "$C worker --id {name}-w{i} --watch --quiet {args} &\n"
            ));
        }
        script.push_str("wait\n");
        let child = self.run_host(name, &script, env);
        self.hosts.push(child);
        self.hosts.len() - 1
    }

    /// Kills a whole host: every process in its namespaces dies at once.
    fn kill_host(&mut self, index: usize) {
        let _ = self.hosts[index].kill();
        let _ = self.hosts[index].wait();
    }

    /// Queues tasks from the server side.
    fn queue(&self, tasks: &[serde_json::Value]) {
        let file = self.dir.path().join(format!("queue-{}.json", tasks.len()));
        std::fs::write(&file, serde_json::to_string(tasks).unwrap()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_coord"))
            .arg("--root")
            .arg(self.root())
            .arg("queue")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Waits until `cond` holds, looking again after every change in the served directory.
    fn wait(&self, limit: Duration, cond: impl FnMut() -> bool) -> bool {
        wait_on_changes(&self.root(), limit, cond)
    }

    fn count(&self, folder: &str) -> usize {
        std::fs::read_dir(self.root().join(folder))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .count()
            })
            .unwrap_or(0)
    }

    /// The worker holding a task, read on the server side.
    fn holder(&self, id: &str) -> Option<String> {
        let assigned = std::fs::read_dir(self.root().join("assigned")).ok()?;
        assigned
            .filter_map(Result::ok)
            .find(|w| w.path().join(format!("{id}.json")).exists())
            .map(|w| w.file_name().to_string_lossy().into_owned())
    }

    fn record(&self, worker: &str) -> serde_json::Value {
        let path = self.root().join(format!("workers/{worker}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn report(&self, id: &str) -> serde_json::Value {
        let path = self.root().join(format!("reports/{id}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn task(&self, folder: &str, id: &str) -> serde_json::Value {
        let path = self.root().join(format!("{folder}/{id}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            let _ = h.kill();
            let _ = h.wait();
        }
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

/// A task that sleeps on its first attempt (so its holder keeps it) and succeeds on the next.
fn slow(id: &str, requires: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "description": "held until its host dies",
        "requires": requires,
        "command": "if [ \"$COORD_ATTEMPT\" = 1 ]; then sleep 300; fi",
    })
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[test]
#[cfg_attr(
    coord_missing_sshfs,
    ignore = "needs sshd, sshfs and /dev/fuse: `just ci` (or .ci/run) installs them"
)]
fn three_hosts_with_two_workers_each_complete_600_tasks_exactly_once() {
    let Some(mut c) = Cluster::start() else {
        return;
    };
    let tasks: Vec<serde_json::Value> = (0..600)
        .map(|i| {
            serde_json::json!({
                "id": format!("m{i:04}"),
                "description": "spread over hosts",
                "command": "echo \"$COORD_TASK_ID\" >> \"ledger-$COORD_WORKER_ID.txt\"",
            })
        })
        .collect();
    c.queue(&tasks);
    for name in ["hostA", "hostB", "hostC"] {
        c.host(name, 2, "", &[]);
    }
    assert!(
        c.wait(Duration::from_secs(120), || c.count("reports") == 600),
        "stuck at {} reports",
        c.count("reports")
    );
    let mut runs: HashMap<String, usize> = HashMap::new();
    let mut by_host: HashMap<String, usize> = HashMap::new();
    for entry in std::fs::read_dir(c.project()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(worker) = name
            .strip_prefix("ledger-")
            .and_then(|n| n.strip_suffix(".txt"))
        {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                *runs.entry(line.to_string()).or_default() += 1;
                *by_host.entry(worker[..5].to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(runs.len(), 600, "every task ran");
    assert!(runs.values().all(|n| *n == 1), "none ran twice");
    assert_eq!(c.count("reports"), 600);
    assert_eq!(c.count("pending") + c.count("failed"), 0);
    assert!(
        by_host.len() >= 2,
        "the work spread over hosts: {by_host:?}"
    );
    let record = c.record("hostB-w1");
    assert_eq!(record["host"], "hostB");
    assert_eq!(
        record["pollSecs"], 1.0,
        "a worker on sshfs rescans: {record}"
    );
}

#[test]
#[cfg_attr(
    coord_missing_sshfs,
    ignore = "needs sshd, sshfs and /dev/fuse: `just ci` (or .ci/run) installs them"
)]
fn a_dead_host_s_tasks_come_back_after_the_lease_and_not_before() {
    let Some(mut c) = Cluster::start() else {
        return;
    };
    let a = c.host("hostA", 2, "", &[]);
    c.queue(&[slow("slow-1", &[]), slow("slow-2", &[])]);
    assert!(c.wait(Duration::from_secs(30), || {
        c.holder("slow-1").is_some_and(|h| h.starts_with("hostA"))
            && c.holder("slow-2").is_some_and(|h| h.starts_with("hostA"))
    }));
    c.host("hostB", 2, "--rescan 1", &[]);
    assert!(c.wait(Duration::from_secs(30), || {
        ["hostB-w1", "hostB-w2"]
            .iter()
            .all(|w| c.root().join(format!("workers/{w}.json")).exists())
    }));
    let (ra, rb) = (c.record("hostA-w1"), c.record("hostB-w1"));
    assert_ne!(ra["host"], rb["host"]);
    // While hostA lives, hostB never takes its tasks: no lock probe across hosts, and its beat
    // keeps changing within the lease.
    let moved = c.wait(Duration::from_secs(3 * LEASE_SECS), || {
        c.holder("slow-1").is_none_or(|h| !h.starts_with("hostA"))
    });
    assert!(!moved, "a live host's task was taken");
    let killed = now();
    c.kill_host(a);
    assert!(
        // A report is published just after its task's commit into completed/.
        c.wait(Duration::from_secs(60), || c.count("reports") == 2),
        "the dead host's tasks were not recovered"
    );
    for id in ["slow-1", "slow-2"] {
        let task = c.task("completed", id);
        let lost = &task["coord"]["history"][0];
        assert_eq!(lost["outcome"], "lost", "{task}");
        assert!(
            lost["reason"].as_str().unwrap().contains("lease expired"),
            "{task}"
        );
        let at: jiff::Timestamp = lost["at"].as_str().unwrap().parse().unwrap();
        let after = killed.duration_until(at).as_secs_f64();
        // The lease runs from the host's last beat, which came one beat interval (a quarter of
        // the lease) before it was killed, or two on a loaded machine where a beat runs late.
        let beat = LEASE_SECS as f64 / 4.0;
        assert!(
            after >= LEASE_SECS as f64 - 2.0 * beat - 0.1,
            "{id} was taken back {after:.2}s after its host died, before the {LEASE_SECS}s lease"
        );
        assert!(
            c.report(id)["workerId"]
                .as_str()
                .unwrap()
                .starts_with("hostB")
        );
    }
}

#[test]
#[cfg_attr(
    any(coord_missing_sshfs, coord_missing_faketime),
    ignore = "needs sshd, sshfs, /dev/fuse and libfaketime: `just ci` (or .ci/run) installs them"
)]
fn skewed_clocks_never_requeue_a_live_worker_and_still_recover_a_dead_one() {
    let Some(mut c) = Cluster::start() else {
        return;
    };
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if !Path::new(lib).exists() {
        eprintln!("SKIPPED clock-skew test: {lib} is missing (apt-get install faketime)");
        return;
    }
    let ahead = [
        ("LD_PRELOAD", lib),
        ("FAKETIME", "+1h"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    let behind = [
        ("LD_PRELOAD", lib),
        ("FAKETIME", "-1h"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    let a = c.host("hostA", 1, "--labels a", &ahead);
    c.host("hostB", 1, "--labels b", &behind);
    c.queue(&[slow("skew-a", &["a"]), slow("skew-b", &["b"])]);
    assert!(
        c.wait(Duration::from_secs(30), || {
            c.holder("skew-a").as_deref() == Some("hostA-w1")
                && c.holder("skew-b").as_deref() == Some("hostB-w1")
        }),
        "held by {:?} and {:?}; logs: {:?}",
        c.holder("skew-a"),
        c.holder("skew-b"),
        std::fs::read_dir(c.root().join("logs"))
            .map(|d| d
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect::<Vec<_>>())
            .unwrap_or_default()
    );
    let last_seen: jiff::Timestamp = c.record("hostA-w1")["lastSeen"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        now().duration_until(last_seen).as_secs() > 3000,
        "hostA's clock runs an hour ahead"
    );
    c.host("hostC", 1, "--labels a,b --rescan 1", &[]);
    let moved = c.wait(Duration::from_secs(3 * LEASE_SECS), || {
        c.holder("skew-a").as_deref() != Some("hostA-w1")
            || c.holder("skew-b").as_deref() != Some("hostB-w1")
    });
    assert!(!moved, "a live worker with a skewed clock lost its task");
    c.kill_host(a);
    assert!(
        c.wait(Duration::from_secs(60), || c.count("reports") == 1),
        "the dead host's task was not recovered"
    );
    assert_eq!(c.report("skew-a")["workerId"], "hostC-w1");
    assert_eq!(
        c.holder("skew-b").as_deref(),
        Some("hostB-w1"),
        "hostB still holds its task"
    );
}

#[test]
#[cfg_attr(
    coord_missing_sshfs,
    ignore = "needs sshd, sshfs and /dev/fuse: `just ci` (or .ci/run) installs them"
)]
fn a_task_queued_on_one_host_is_picked_up_on_another_within_the_rescan_interval() {
    let Some(mut c) = Cluster::start() else {
        return;
    };
    c.host("hostB", 1, "", &[]);
    assert!(c.wait(Duration::from_secs(30), || {
        c.root().join("workers/hostB-w1.json").exists()
    }));
    let queued = Instant::now();
    let queuer = c.run_host(
        "hostA",
        r#"printf '{"id":"across","description":"x","command":"touch picked"}' > /tmp/t.json && $C queue /tmp/t.json"#,
        &[],
    );
    let out = queuer.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(c.wait(Duration::from_secs(20), || {
        c.project().join("picked").exists()
    }));
    let took = queued.elapsed();
    // The rescan interval on a network file system is 1 s; allow for sshfs and process starts.
    assert!(
        took < Duration::from_millis(3000),
        "picked up after {took:?}, more than the 1 s rescan interval allows"
    );
}

#[test]
#[cfg_attr(
    coord_missing_sshfs,
    ignore = "needs sshd, sshfs and /dev/fuse: `just ci` (or .ci/run) installs them"
)]
fn a_worker_on_another_host_with_a_local_pid_is_judged_by_lease_only() {
    let p = Project::new();
    let config = p.root().join("config.json");
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    c["workerLeaseSecs"] = LEASE_SECS.into();
    std::fs::write(&config, c.to_string()).unwrap();
    p.queue(r#"{"id":"remote","description":"held elsewhere"}"#);
    // A process that runs here, whose pid a worker on another host also has.
    let mut local = Command::new("sleep").arg("300").spawn().unwrap();
    let pid = local.id();
    std::fs::create_dir_all(p.root().join("assigned/ghost")).unwrap();
    let pending = p.files("pending");
    std::fs::rename(
        p.root().join("pending").join(&pending[0]),
        p.root().join("assigned/ghost/remote.json"),
    )
    .unwrap();
    let record = serde_json::json!({
        "workerId": "ghost", "pid": pid, "host": "elsewhere", "bootId": "another-boot",
        "startedAt": "2026-11-25T00:00:00Z", "lastSeen": "2026-11-25T00:00:00Z",
        "mode": "exec", "watch": true, "beat": 7,
    });
    std::fs::write(p.root().join("workers/ghost.json"), record.to_string()).unwrap();
    // No lock probe, no pid check: the first look only starts the lease clock.
    let out = p.coord(&["recover"]);
    assert!(
        stdout(&out).contains("nothing to recover"),
        "{}",
        stdout(&out)
    );
    assert_eq!(p.status()["workers"][0]["state"], "busy");
    let started = Instant::now();
    // A worker of this host takes the task back once the lease has run out (its rescan is the
    // clock); the workspace is paused, so it claims nothing itself.
    assert!(p.coord(&["pause"]).status.success());
    let mut keeper = p.spawn(&[
        "worker", "--id", "keeper", "--watch", "--rescan", "1", "--quiet",
    ]);
    let back = |p: &Project| {
        p.files("pending")
            .into_iter()
            .find(|n| n.ends_with(".remote.json"))
    };
    assert!(p.wait(Duration::from_secs(20), || back(&p).is_some()));
    signal(&keeper, "TERM");
    assert!(keeper.wait().unwrap().success());
    assert!(started.elapsed() >= Duration::from_secs(LEASE_SECS) - Duration::from_millis(100));
    let name = back(&p).unwrap();
    let task: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.root().join("pending").join(name)).unwrap())
            .unwrap();
    let reason = task["coord"]["history"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("lease expired"), "{reason}");
    assert!(
        local.try_wait().unwrap().is_none(),
        "the local process with the same pid was left alone"
    );
    local.kill().unwrap();
    local.wait().unwrap();
}
