//! A project directory with a workspace, and ways to run `coord` in it as a user would.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A temporary project directory holding an initialised `.coord` workspace.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A new project with `coord init` already run.
    pub fn new() -> Project {
        let project = Project::bare();
        let out = project.coord(&["init"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        project
    }

    /// A new project with a workspace in memory (/dev/shm, where there is one), for tests that
    /// write tens of thousands of files.
    pub fn in_memory() -> Project {
        let shm = Path::new("/dev/shm");
        let dir = match shm.is_dir() {
            true => tempfile::Builder::new()
                .prefix("coord-test-")
                .tempdir_in(shm),
            false => tempfile::Builder::new().prefix("coord-test-").tempdir(),
        };
        let project = Project { dir: dir.unwrap() };
        let out = project.coord(&["init"]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        project
    }

    /// The kinds of what `coord doctor --json` finds, in order; asserts that it exits 1.
    pub fn doctor_finds(&self) -> Vec<String> {
        let out = self.coord(&["doctor", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    }

    /// A new empty directory, without a workspace.
    pub fn bare() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("coord-test-")
                .tempdir()
                .unwrap(),
        }
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Waits until `cond` holds, looking again after every change in the project, for at most
    /// `limit`.
    pub fn wait(&self, limit: Duration, cond: impl FnMut() -> bool) -> bool {
        wait_on_changes(self.path(), limit, cond)
    }

    /// The workspace folder.
    pub fn root(&self) -> PathBuf {
        self.path().join(".coord")
    }

    /// A `coord` command run in the project directory with a clean coord environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coord"));
        cmd.args(args).current_dir(self.path());
        // Nothing the library reads from the environment leaks in from the test's own.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("COORD_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("NO_COLOR", "1").stdin(Stdio::null());
        cmd
    }

    /// Runs `coord ARGS` to completion.
    pub fn coord(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Starts `coord ARGS` in the background, output captured.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Writes `text` to a file in the project and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Queues tasks given as JSON text; panics if `coord queue` fails.
    pub fn queue(&self, json: &str) -> Output {
        let file = self.write(&format!("queue-{}.json", unique()), json);
        let out = self.coord(&["queue", file.to_str().unwrap()]);
        assert!(out.status.success(), "queue failed: {}", stderr(&out));
        out
    }

    /// The names of the plain files in a workspace folder ("pending", "completed", ...), and
    /// of those one folder down (`<folder>/<file>`: pending/'s batch folders, tmp/'s batches
    /// being written).
    pub fn files(&self, folder: &str) -> Vec<String> {
        let mut names = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.root().join(folder)) else {
            return names;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            match e.file_type() {
                Ok(t) if t.is_file() => names.push(name),
                Ok(t)
                    if t.is_dir() && (name.contains(".batch-") || name.ends_with(".batch.tmp")) =>
                {
                    names.extend(
                        std::fs::read_dir(e.path())
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e.ok())
                            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                            .map(|e| format!("{name}/{}", e.file_name().to_string_lossy())),
                    )
                }
                _ => {}
            }
        }
        names.sort();
        names
    }

    /// How many files a workspace folder holds.
    pub fn count(&self, folder: &str) -> usize {
        self.files(folder).len()
    }

    /// A task's report, parsed.
    pub fn report(&self, id: &str) -> Value {
        let path = self.root().join("reports").join(format!("{id}.json"));
        serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    }

    /// A task file in a state folder, parsed.
    pub fn task(&self, folder: &str, id: &str) -> Value {
        let path = self.root().join(folder).join(format!("{id}.json"));
        serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    }

    /// `coord status --json`, parsed.
    pub fn status(&self) -> Value {
        let out = self.coord(&["status", "--json"]);
        assert!(out.status.success(), "status failed: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Copies the repository's fixtures/ into the project.
    pub fn with_fixtures(&self) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        copy_dir(&src, &self.path().join("fixtures"));
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Waits until `cond` holds, looking again after file-system changes under `dir` (and on nothing
/// else), for at most `limit`; returns whether it held. Changes arriving within 20 ms of a look
/// are taken together, so a busy folder does not make the test spin.
pub fn wait_on_changes(dir: &Path, limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    use notify::Watcher;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |_| {
        let _ = tx.send(());
    })
    .unwrap();
    // Watch first, then look: a change between the two still wakes the loop.
    watcher
        .watch(dir, notify::RecursiveMode::Recursive)
        .unwrap();
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || rx.recv_timeout(left).is_err() {
            return cond();
        }
        // One look for a burst of changes.
        let burst = Instant::now() + Duration::from_millis(20);
        while let Some(gap) = burst.checked_duration_since(Instant::now()) {
            if rx.recv_timeout(gap).is_err() {
                break;
            }
        }
    }
}

/// Waits (at most `limit`) for process `pid` to end, through a pidfd; returns whether it ended.
pub fn wait_for_exit(pid: u32, limit: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        // Only "no such process" proves it is gone; any other failure proves nothing.
        assert_eq!(
            err.raw_os_error(),
            Some(libc::ESRCH),
            "cannot watch pid {pid} (pidfd_open needs Linux 5.3): {err}"
        );
        return true;
    }
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; the descriptor is closed right after.
    let ready = unsafe { libc::poll(&mut pfd, 1, limit.as_millis() as i32) };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    ready > 0
}

/// Asserts that a verb racing live work ended as such a verb may: done (0), refused because the
/// task moved on (5), or the task gone (7); never a crash or any other failure.
pub fn assert_raced(out: &Output, what: &str) {
    assert!(
        matches!(out.status.code(), Some(0 | 5 | 7)),
        "{what} exited {:?}: {}",
        out.status.code(),
        stderr(out)
    );
}

/// Whether CI requires the harness or client `name` (COORD_REQUIRE_HARNESSES lists the ones it
/// installed, separated by spaces): then a test that needs it fails instead of skipping.
pub fn required(name: &str) -> bool {
    std::env::var("COORD_REQUIRE_HARNESSES")
        .is_ok_and(|names| names.split_whitespace().any(|n| n == name))
}

/// A watching worker `id` that rescans every second, output captured.
pub fn watching_worker(p: &Project, id: &str) -> Child {
    p.spawn(&["worker", "--id", id, "--watch", "--quiet", "--rescan", "1"])
}

/// An agent working as `agent` until `done`: it takes a task with `next --wait=1` and
/// finishes it with `complete --token`, which may find it cancelled or recovered (exit 5).
pub fn agent_until(p: &Project, done: &std::sync::atomic::AtomicBool) {
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        let out = p.coord(&["next", "--worker", "agent", "--json", "--wait=1"]);
        match out.status.code() {
            Some(10) => continue,
            Some(0) => {}
            code => panic!("next exited {code:?}: {}", stderr(&out)),
        }
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (id, token) = (v["taskId"].as_str().unwrap(), v["token"].as_str().unwrap());
        let code = p
            .coord(&["complete", id, "--worker", "agent", "--token", token])
            .status
            .code();
        assert!(
            matches!(code, Some(0) | Some(5)),
            "complete {id} exited {code:?}"
        );
    }
}

/// Whether a process is alive (a zombie waiting to be reaped counts as dead).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The children of process `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for thread in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let list = std::fs::read_to_string(thread.path().join("children")).unwrap_or_default();
        kids.extend(list.split_whitespace().map(|p| p.parse::<u32>().unwrap()));
    }
    kids
}

/// The pids a task wrote to `file` in the project (one per line), once it has written `count`.
pub fn pids_in(p: &Project, file: &str, count: usize) -> Vec<u32> {
    let path = p.path().join(file);
    let read = || -> Vec<u32> {
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    assert!(
        p.wait(Duration::from_secs(20), || read().len() >= count),
        "{file} never held {count} pids: {:?}",
        read()
    );
    read()
}

/// The first part of coord's temp names on this host: `<host name>@<pid namespace inode>`.
pub fn tmp_host() -> String {
    use std::os::unix::fs::MetadataExt;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let ns = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
    format!("{}@{ns}", host.trim())
}

/// A process's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A process's stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `count` tasks whose command appends their id to `ledger` (relative to the project).
pub fn ledger_tasks(count: usize, ledger: &str) -> String {
    let tasks: Vec<Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "id": format!("t{i:05}"),
                "description": format!("ledger task {i}"),
                "command": format!("echo \"$COORD_TASK_ID $COORD_WORKER_ID $COORD_ATTEMPT\" >> {ledger}"),
            })
        })
        .collect();
    serde_json::to_string(&tasks).unwrap()
}

/// The lines a child writes to stderr, read in a background thread.
pub struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Starts reading `child`'s stderr (which must be piped).
    pub fn of(child: &mut Child) -> Lines {
        Lines::read(child.stderr.take().expect("stderr is piped"))
    }

    /// Starts reading `child`'s stdout (which must be piped).
    pub fn stdout(child: &mut Child) -> Lines {
        Lines::read(child.stdout.take().expect("stdout is piped"))
    }

    fn read(stream: impl std::io::Read + Send + 'static) -> Lines {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `limit`) until `count` lines containing `needle` have come, those already
    /// seen included; returns whether they did.
    pub fn wait_for_count(&mut self, needle: &str, count: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut found = self.seen.iter().filter(|l| l.contains(needle)).count();
        while found < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.wait_for(needle, left) {
                return false;
            }
            found += 1;
        }
        true
    }

    /// Waits for a line containing `needle`, for at most `limit`; false when the time ran out.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Waits (at most 20 s) for a line containing `needle`; panics with every line seen if none came.
    pub fn expect(&mut self, needle: &str) {
        assert!(
            self.wait_for(needle, Duration::from_secs(20)),
            "no line with {needle:?} in:\n{}",
            self.seen()
        );
    }

    /// Every line read so far, for failure messages.
    pub fn seen(&self) -> String {
        self.seen.join("\n")
    }
}

/// A small deterministic generator, seeded from the clock; the seed is printed so a failing run
/// can be replayed with `COORD_TEST_SEED`.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `COORD_TEST_SEED` or the clock.
    pub fn seeded() -> Rng {
        let seed = std::env::var("COORD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("COORD_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every id's state folders: an id must be in exactly one of pending, blocked, assigned/*,
/// waiting, review, completed, failed.
pub fn states(p: &Project) -> HashMap<String, Vec<String>> {
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut folders: Vec<String> = [
        "pending",
        "blocked",
        "waiting",
        "review",
        "completed",
        "failed",
    ]
    .iter()
    .map(|f| f.to_string())
    .collect();
    for w in std::fs::read_dir(p.root().join("assigned")).unwrap() {
        let w = w.unwrap();
        folders.push(format!("assigned/{}", w.file_name().to_string_lossy()));
    }
    for folder in folders {
        for name in p.files(&folder) {
            let id = name
                .trim_end_matches(".json")
                .rsplit('.')
                .next()
                .unwrap()
                .to_string();
            seen.entry(id).or_default().push(folder.clone());
        }
    }
    seen
}

/// Each id in exactly one state folder, and `coord doctor` finding nothing but what a dead
/// process may leave (temp files, a committed task's report still to publish).
pub fn assert_consistent(p: &Project) {
    for (id, folders) in states(p) {
        assert_eq!(folders.len(), 1, "{id} is in {folders:?}");
    }
    let out = p.coord(&["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["kind"], "leftover", "doctor after a crash: {v}");
    }
}

/// Runs `coord ARGS` with `COORD_CRASH_AT=point`, and asserts that it killed itself there.
pub fn crash_at(p: &Project, point: &str, args: &[&str]) {
    use std::os::unix::process::ExitStatusExt;
    let out = p
        .command(args)
        .env("COORD_CRASH_AT", point)
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "coord {args:?} was to die at {point}: {:?} {}{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
}

/// `coord ARGS --json` run to success, its output parsed.
pub fn json_of(p: &Project, args: &[&str]) -> Value {
    let out = p.coord(args);
    assert!(out.status.success(), "coord {args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("coord {args:?} printed no JSON ({e}): {}", stdout(&out)))
}

/// Runs `script` with `sh -e` in `dir`, this build's coord first on PATH and no coord variables
/// set: a README example, or a line of docs/json.md, exactly as a person would run it.
pub fn sh_with_coord(dir: &Path, script: &str) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_coord")).parent().unwrap();
    Command::new("sh")
        .args(["-e", "-c", script])
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("COORD_ROOT")
        .env_remove("COORD_WORKER_ID")
        .output()
        .unwrap()
}

/// The most runs at once in a ledger of `+` (a run starts) and `-` (it ends) lines; asserts that
/// every run that started ended.
pub fn most_at_once(ledger: &str) -> i32 {
    let (mut running, mut most) = (0i32, 0i32);
    for line in ledger.lines() {
        running += if line == "+" { 1 } else { -1 };
        most = most.max(running);
    }
    assert_eq!(running, 0, "a run never ended:\n{ledger}");
    most
}

/// Whether flock(1) is here (the overlap tests need it); says so when it is not.
pub fn has_flock() -> bool {
    let here = Command::new("flock").arg("-V").output().is_ok();
    if !here {
        eprintln!("skipped: flock(1) is missing");
    }
    here
}

/// Starts `n` watching workers `w0`..`w<n-1>` with `label`, quiet, output captured.
pub fn labelled_workers(p: &Project, n: usize, label: &str, extra: &[&str]) -> Vec<Child> {
    (0..n)
        .map(|i| {
            let id = format!("w{i}");
            let mut args = vec![
                "worker", "--id", &id, "--labels", label, "--watch", "--quiet",
            ];
            args.extend_from_slice(extra);
            p.spawn(&args)
        })
        .collect()
}

/// Stops every worker with SIGTERM and asserts that each ended well.
pub fn stop_all(workers: &mut [Child]) {
    for w in workers.iter() {
        signal(w, "TERM");
    }
    for w in workers.iter_mut() {
        assert!(w.wait().unwrap().success());
    }
}
