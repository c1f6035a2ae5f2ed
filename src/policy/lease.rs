//! Worker identity and liveness: a record per worker, a lock held for the worker's life, and a
//! short lock that serialises every change to the worker's claims.
//!
//! A live worker holds an exclusive lock on `workers/<id>.live`. The kernel drops it when the
//! process dies (SIGKILL included), so a prober on the same host that gets the lock knows the
//! holder is dead. Locks are never trusted across hosts.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::base::ids;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::state::locks;
use crate::state::store;

/// A worker's record, `workers/<id>.json`, rewritten whole on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerRecord {
    /// The worker id.
    pub worker_id: String,
    /// Process id of the worker as a person sees it: the `coord worker` process they started
    /// (the worker's keeper), which passes signals on to the worker.
    pub pid: u32,
    /// Host name of the worker.
    pub host: String,
    /// Identity of the host's current boot, so a pid is never matched across reboots or hosts.
    pub boot_id: String,
    /// The inode of the worker's pid namespace: a pid is never matched across namespaces (0, from
    /// an older coord, counts as another namespace).
    #[serde(default)]
    pub pid_ns: u64,
    /// When the worker started (its own clock).
    #[serde(with = "crate::base::time::ms")]
    pub started_at: jiff::Timestamp,
    /// When the worker last wrote its record (its own clock).
    #[serde(with = "crate::base::time::ms")]
    pub last_seen: jiff::Timestamp,
    /// How the worker works.
    pub mode: Mode,
    /// Whether the worker waits for new work instead of exiting on an empty queue.
    pub watch: bool,
    /// Whether the worker has exited cleanly.
    #[serde(default)]
    pub stopped: bool,
    /// A counter raised at every sign of life; observers watch it change, never the clock.
    #[serde(default)]
    pub beat: u64,
    /// How often the worker rescans pending/, when it does (a network file system, `--poll`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_secs: Option<f64>,
}

/// How a worker works, as its record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A `coord worker` process running one `--exec` command for every task.
    Exec,
    /// A `coord worker` process running each task's own command (or handing it to an agent).
    TaskCommand,
    /// A worker that acts through `coord next`/`complete` and keeps no process alive: judged
    /// by its lease.
    Handoff,
}

names!(Mode {
    Exec => "exec",
    TaskCommand => "task-command",
    Handoff => "handoff",
});

impl WorkerRecord {
    /// A record of this process as worker `id`, last seen now (and started now unless given).
    fn of_this_process(
        id: &str,
        mode: Mode,
        watch: bool,
        started_at: Option<jiff::Timestamp>,
        beat: u64,
    ) -> Self {
        let now = host::now();
        WorkerRecord {
            worker_id: id.to_string(),
            pid: host::public_pid(),
            host: host::hostname().to_string(),
            boot_id: boot_id().to_string(),
            pid_ns: host::pid_namespace(),
            started_at: started_at.unwrap_or(now),
            last_seen: now,
            mode,
            watch,
            stopped: false,
            beat,
            poll_secs: None,
        }
    }
}

/// This host's boot identity (Linux boot_id), or the host name where there is none.
pub fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| host::hostname().to_string())
    })
}

fn record_path(ws: &Workspace, id: &str) -> PathBuf {
    ws.workers().join(format!("{id}.json"))
}

fn live_path(ws: &Workspace, id: &str) -> PathBuf {
    ws.workers().join(format!("{id}.live"))
}

/// Reads a worker's record, if it has one that parses.
pub fn read_record(ws: &Workspace, id: &str) -> Option<WorkerRecord> {
    let bytes = durable::read_limited(&record_path(ws, id), 64 * 1024).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Every worker record in the workspace, sorted by id.
pub fn list_records(ws: &Workspace) -> Result<Vec<WorkerRecord>> {
    let mut records: Vec<WorkerRecord> = store::list_files(&ws.workers())?
        .iter()
        .filter_map(|name| name.strip_suffix(".json"))
        .filter_map(|id| read_record(ws, id))
        .collect();
    records.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
    Ok(records)
}

/// What a probe could tell about a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its life lock is held on this host.
    Alive,
    /// Its life lock is free on this host: no process runs as this worker.
    Dead,
    /// It runs on another host; a lock taken here proves nothing about it.
    OtherHost,
}

/// Whether a record was written on this host, this boot and this pid namespace: the only case
/// where its pid and its life lock mean anything here.
pub fn same_host(record: &WorkerRecord) -> bool {
    record.host == host::hostname()
        && record.boot_id == boot_id()
        && record.pid_ns == host::pid_namespace()
        && record.pid_ns != 0
}

/// Probes a worker's life lock. Only meaningful for a worker recorded on this host and boot.
pub fn probe(ws: &Workspace, record: &WorkerRecord) -> Result<Liveness> {
    if !same_host(record) {
        return Ok(Liveness::OtherHost);
    }
    let path = live_path(ws, &record.worker_id);
    // Read-only is enough for flock, so a probe works on a read-only workspace too.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Liveness::Dead),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(Liveness::Dead),
        // The process a person started is gone while the lock is held: the worker is ending,
        // killing what its tasks left running. Its end is a moment away; wait for it.
        Err(TryLockError::WouldBlock) if !host::process_alive(record.pid) => {
            match lock_within(&file, LIVE_HOLD) {
                Ok(true) => {
                    // Let go at once: the recovery that follows takes the lock on its own file.
                    let _ = file.unlock();
                    Ok(Liveness::Dead)
                }
                Ok(false) => Ok(Liveness::Alive),
                Err(e) => Err(Error::io("lock", &path, e)),
            }
        }
        Err(TryLockError::WouldBlock) => Ok(Liveness::Alive),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// The one judgement of whether a worker lives, as this host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A `coord worker` process of this host holds its life lock.
    Running,
    /// A `coord worker` recorded on this host whose life lock nobody holds: no process runs as
    /// it.
    NotRunning,
    /// Judged by its lease (a hand-off worker, or a `coord worker` on another host): its beat has
    /// been unchanged this long, as this host measured it.
    Silent(Duration),
    /// Judged by its lease, but this host cannot keep its observation (a read-only workspace).
    Unobserved,
}

impl Verdict {
    /// Whether the worker counts as alive under `lease` (the lease it is judged by, see
    /// [`lease_of`]); None when this host cannot tell.
    pub fn alive(self, lease: Duration) -> Option<bool> {
        match self {
            Verdict::Running => Some(true),
            Verdict::NotRunning => Some(false),
            Verdict::Silent(quiet) => Some(quiet < lease),
            Verdict::Unobserved => None,
        }
    }
}

/// Judges `record`: by its life lock for a `coord worker` recorded on this host, by the time its
/// beat has stood still for any other (recover, status, questions, operate and doctor all ask
/// here).
pub fn judge(ws: &Workspace, record: &WorkerRecord) -> Result<Verdict> {
    if record.mode != Mode::Handoff && same_host(record) {
        return Ok(match probe(ws, record)? {
            Liveness::Dead => Verdict::NotRunning,
            _ => Verdict::Running,
        });
    }
    Ok(match unchanged_for(ws, record) {
        Ok(quiet) => Verdict::Silent(quiet),
        Err(_) => Verdict::Unobserved,
    })
}

/// The lease `record` is judged by: the task's own `leaseSecs` (`task_lease`) or the
/// workspace's lease for a hand-off worker, the workspace's `workerLeaseSecs` for a `coord
/// worker` on another host (it beats every 10 s, running or idle).
pub fn lease_of(ws: &Workspace, record: &WorkerRecord, task_lease: Option<u64>) -> Duration {
    match record.mode {
        Mode::Handoff => task_lease.map_or_else(|| ws.lease(), Duration::from_secs),
        _ => ws.worker_lease(),
    }
}

/// Whether `record`'s worker counts as alive (None: this host cannot tell), with the lease of
/// the task it holds, if any.
pub fn is_alive(
    ws: &Workspace,
    record: &WorkerRecord,
    task_lease: Option<u64>,
) -> Result<Option<bool>> {
    let verdict = judge(ws, record)?;
    if record.stopped && record.mode != Mode::Handoff && verdict != Verdict::Running {
        return Ok(Some(false));
    }
    Ok(verdict.alive(lease_of(ws, record, task_lease)))
}

/// The files a hand-off worker holds whose lease still runs, each with the time left: an agent
/// is working on them, and a worker starting under the same id must not take them back.
fn held_within_lease(ws: &Workspace, record: &WorkerRecord) -> Result<Vec<(String, Duration)>> {
    let Verdict::Silent(quiet) = judge(ws, record)? else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    for name in store::list_files(&ws.assigned(&record.worker_id))? {
        let own = task::read(&ws.assigned(&record.worker_id).join(&name))
            .ok()
            .and_then(|t| t.lease_secs());
        let lease = lease_of(ws, record, own);
        if quiet < lease {
            kept.push((name, lease - quiet));
        }
    }
    Ok(kept)
}

/// The marker that says `worker` may still be running `id`'s command although the task has
/// left its hands (released, failed or asked about by another process, or by the command
/// itself): `workers/<worker>.run-<id>`.
fn run_marker(ws: &Workspace, worker: &str, id: &str) -> PathBuf {
    ws.workers().join(format!("{worker}.run-{id}"))
}

/// Whether `worker` is a `coord worker` process that may be running `task`'s command now: one
/// that runs commands (not an agent's record), not stopped, not known dead, and either an
/// `--exec` worker or a task with a command of its own.
pub fn may_run(ws: &Workspace, worker: &str, task: &task::TaskFile) -> bool {
    let Some(record) = read_record(ws, worker) else {
        return false;
    };
    if record.stopped || record.mode == Mode::Handoff {
        return false;
    }
    if record.mode == Mode::TaskCommand && task.spec.command.is_none() {
        return false;
    }
    not_known_dead(ws, &record)
}

/// Marks, before a move takes `id` out of `worker`'s hands, that its command may still run
/// there: no other worker claims the task until `worker` has stopped that run and cleared the
/// mark ([`clear_run`]), or is known dead. Written only by the process making such a move,
/// under `worker`'s claims lock.
pub fn mark_run(ws: &Workspace, worker: &str, id: &str) -> Result<()> {
    durable::create_append(&run_marker(ws, worker, id)).map(drop)
}

/// Clears the mark of `id`'s run once `worker` has stopped it and killed what it left; true
/// if there was one (claimers waiting for it should be woken).
pub fn clear_run(ws: &Workspace, worker: &str, id: &str) -> bool {
    std::fs::remove_file(run_marker(ws, worker, id)).is_ok()
}

/// Whether a run of `id`'s command by `worker` may still live: its mark is there and the
/// worker is not known dead.
pub fn run_may_live(ws: &Workspace, worker: &str, id: &str) -> bool {
    if std::fs::symlink_metadata(run_marker(ws, worker, id)).is_err() {
        return false;
    }
    read_record(ws, worker).is_some_and(|record| not_known_dead(ws, &record))
}

/// Whether `record`'s worker may be alive: alive, or this host cannot tell.
fn not_known_dead(ws: &Workspace, record: &WorkerRecord) -> bool {
    !matches!(is_alive(ws, record, None), Ok(Some(false)))
}

/// Every run still being stopped: (worker, task id) of each mark whose worker is not known dead.
pub fn runs_being_stopped(ws: &Workspace) -> Vec<(String, String)> {
    let names = store::list_files(&ws.workers()).unwrap_or_default();
    names
        .iter()
        .filter_map(|name| name.split_once(".run-"))
        .filter(|(worker, id)| run_may_live(ws, worker, id))
        .map(|(worker, id)| (worker.to_string(), id.to_string()))
        .collect()
}

/// How long a life lock must stay held for its holder to count as a live worker.
const LIVE_HOLD: Duration = Duration::from_secs(2);

/// Takes `file`'s lock, waiting at most `limit` for its holder to let go; false if it did not.
/// The wait is the kernel's (a blocking `flock` in a helper thread), not a polling loop. A helper
/// still waiting after `limit` keeps waiting on a duplicate of the descriptor until this process
/// exits, which a worker that cannot register does at once.
fn lock_within(file: &File, limit: Duration) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => return Ok(true),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(e),
    }
    let waiter = file.try_clone()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("coord-life-lock".into())
        .spawn(move || {
            let locked = waiter.lock();
            // Closed before the answer goes out, so the caller alone decides how long the
            // lock is held.
            drop(waiter);
            let _ = tx.send(locked);
        })?;
    match rx.recv_timeout(limit) {
        Ok(locked) => locked.map(|()| true),
        Err(_) => Ok(false),
    }
}

/// A registered worker: holds the life lock until dropped.
#[derive(Debug)]
pub struct Registration {
    kept: Vec<String>,
    _live: LifeLock,
    record: WorkerRecord,
    path: PathBuf,
    ws: Workspace,
}

/// Takes `id`'s life lock for a worker about to start, waiting briefly for a probe or a recovery
/// to let go of it.
///
/// Fails with [`Error::WorkerRunning`] naming the other process if the id is in use.
pub fn take_life_lock(ws: &Workspace, id: &str) -> Result<LifeLock> {
    ids::check_worker_id(id)?;
    let live = durable::open_append(&live_path(ws, id))?;
    // A probe holds the lock for microseconds and a recovery for milliseconds; only a hold
    // lasting two seconds means a live worker.
    if !lock_within(&live, LIVE_HOLD).map_err(|e| Error::io("lock", live_path(ws, id), e))? {
        return Err(running(ws, id));
    }
    Ok(LifeLock { file: live })
}

/// Takes over the life lock of `id` that this process inherited as descriptor `fd` from its
/// keeper. The descriptor must be the workspace's life-lock file of `id`; the lock is then held
/// by both processes, and is free only once both have ended.
pub fn adopt_life_lock(ws: &Workspace, id: &str, fd: i32) -> Result<LifeLock> {
    use std::os::fd::{BorrowedFd, FromRawFd};
    use std::os::unix::fs::MetadataExt;
    ids::check_worker_id(id)?;
    let path = live_path(ws, id);
    let refuse = |what: &str| {
        Error::io(
            "take over the life lock",
            &path,
            std::io::Error::other(format!("descriptor {fd} {what}")),
        )
    };
    if fd < 3 {
        return Err(refuse("is a standard stream"));
    }
    // SAFETY: the descriptor number only borrows for fstat, which fails cleanly on a closed one.
    let given = rustix::fs::fstat(unsafe { BorrowedFd::borrow_raw(fd) })
        .map_err(|_| refuse("is not open"))?;
    let same = fs::symlink_metadata(&path).is_ok_and(|on_disk| {
        on_disk.is_file() && given.st_dev == on_disk.dev() && given.st_ino == on_disk.ino()
    });
    if !same {
        return Err(refuse("is not this worker's life-lock file"));
    }
    // SAFETY: the descriptor is open, names the life-lock file, and nothing else in this process
    // owns it: it was inherited at exec and is taken over once, here.
    let file = unsafe { File::from_raw_fd(fd) };
    // The worker's own commands must not inherit it: the lock would outlive the worker.
    rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| Error::io("take over the life lock", &path, e.into()))?;
    match file.try_lock() {
        // The lock of the open file this process shares with its keeper, or a free one.
        Ok(()) => Ok(LifeLock { file }),
        Err(TryLockError::WouldBlock) => Err(running(ws, id)),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

fn running(ws: &Workspace, id: &str) -> Error {
    let other = read_record(ws, id);
    Error::WorkerRunning {
        worker: id.to_string(),
        pid: other.as_ref().map_or(0, |r| r.pid),
        host: other.map_or_else(|| "unknown host".into(), |r| r.host),
    }
}

/// Registers `id` as a live worker holding `live`, its life lock: writes its record.
///
/// Fails with [`Error::WorkerRunning`] if the id's last record is of another host whose beat
/// has not stopped for the worker lease.
pub fn register(
    ws: &Workspace,
    id: &str,
    live: LifeLock,
    mode: Mode,
    watch: bool,
) -> Result<Registration> {
    let old = read_record(ws, id);
    if let Some(old) = &old
        && !old.stopped
        && old.mode != Mode::Handoff
        && !same_host(old)
    {
        // The life lock says nothing about another host: its beat must have stopped for the
        // worker lease, as this host sees it.
        let silent = unchanged_for(ws, old)?;
        if silent < ws.worker_lease() {
            return Err(Error::WorkerRunning {
                worker: id.to_string(),
                pid: old.pid,
                host: format!(
                    "{}; its beat changed {}s ago as seen from here, and it counts as gone only after {}s",
                    old.host,
                    silent.as_secs(),
                    ws.worker_lease().as_secs()
                ),
            });
        }
    }
    let kept = match &old {
        Some(old) if old.mode == Mode::Handoff => held_within_lease(ws, old)?,
        _ => Vec::new(),
    };
    let listener = watch && mode == Mode::TaskCommand;
    if let Some((task, left)) = kept.first().filter(|_| !listener) {
        return Err(Error::AgentHolds {
            worker: id.to_string(),
            task: task.strip_suffix(".json").unwrap_or(task).to_string(),
            left_secs: left.as_secs(),
        });
    }
    let beat = old.map_or(0, |r| r.beat) + 1;
    let record = WorkerRecord::of_this_process(id, mode, watch, None, beat);
    let reg = Registration {
        kept: kept.into_iter().map(|(name, _)| name).collect(),
        _live: live,
        path: record_path(ws, id),
        record,
        ws: ws.clone(),
    };
    reg.write()?;
    let assigned = ws.assigned(id);
    durable::create_dir(&assigned)?;
    Ok(reg)
}

impl Registration {
    /// The files in its claims folder that an agent held within their lease when this worker
    /// started (a listener taking over from its earlier process): not to be taken back.
    pub fn kept(&self) -> &[String] {
        &self.kept
    }

    /// The worker's current record.
    pub fn record(&self) -> &WorkerRecord {
        &self.record
    }

    fn write(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.record).expect("records serialize");
        let tmp = durable::write_tmp(
            &self.ws.tmp(),
            "worker",
            &bytes,
            durable::Durability { fsync: false },
        )?;
        durable::replace(&tmp, &self.path)
    }

    /// Records how often the worker rescans pending/ (None: it waits on events alone).
    pub fn set_poll(&mut self, secs: Option<f64>) -> Result<()> {
        self.record.poll_secs = secs;
        self.touch()
    }

    /// Renews `lastSeen` and raises `beat`.
    pub fn touch(&mut self) -> Result<()> {
        self.record.last_seen = host::now();
        self.record.beat += 1;
        self.write()
    }

    /// Leaves the worker's claims to its lease: the record becomes a hand-off record, so the
    /// tasks stay held for `coord complete` and are taken back only if the lease runs out.
    pub fn hand_over(mut self) -> Result<()> {
        self.record.mode = Mode::Handoff;
        self.record.watch = false;
        self.touch()
    }

    /// Marks the worker stopped; the life lock is released when `self` is dropped.
    pub fn stop(mut self) -> Result<()> {
        self.record.stopped = true;
        self.record.last_seen = host::now();
        self.write()
    }
}

/// A worker's life lock, held by the worker (and its keeper), or by a process recovering the
/// tasks of a dead worker so that it cannot restart meanwhile.
#[derive(Debug)]
pub struct LifeLock {
    file: File,
}

impl LifeLock {
    /// The open lock file, for a keeper to hand on to its worker.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Takes `id`'s life lock if no process holds it (the worker is dead or stopped), so that it
/// cannot restart while its tasks are being recovered.
pub fn hold_if_dead(ws: &Workspace, id: &str) -> Result<Option<LifeLock>> {
    let path = live_path(ws, id);
    let file = durable::open_append(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LifeLock { file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

fn write_record(ws: &Workspace, record: &WorkerRecord) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(record).expect("records serialize");
    let tmp = durable::write_tmp(
        &ws.tmp(),
        "worker",
        &bytes,
        durable::Durability { fsync: false },
    )?;
    durable::replace(&tmp, &record_path(ws, &record.worker_id))
}

/// Records a sign of life of a hand-off worker (one that works through `coord next`): raises its
/// beat. Refuses when a `coord worker` process of this host runs under the same id. The caller
/// holds the worker's claims lock.
pub fn renew_handoff(ws: &Workspace, id: &str) -> Result<WorkerRecord> {
    ids::check_worker_id(id)?;
    let old = read_record(ws, id);
    if let Some(old) = &old
        && old.mode != Mode::Handoff
        && probe(ws, old)? == Liveness::Alive
    {
        return Err(Error::WorkerRunning {
            worker: id.to_string(),
            pid: old.pid,
            host: old.host.clone(),
        });
    }
    let started_at = old
        .as_ref()
        .filter(|o| o.mode == Mode::Handoff)
        .map(|o| o.started_at);
    let beat = old.map_or(0, |o| o.beat) + 1;
    let record = WorkerRecord::of_this_process(id, Mode::Handoff, false, started_at, beat);
    write_record(ws, &record)?;
    let assigned = ws.assigned(id);
    durable::create_dir(&assigned)?;
    Ok(record)
}

/// Marks hand-off worker `id` stopped, for a session that ended (an MCP session with a
/// generated id): an answer to one of its questions then goes to pending/, not back to it. The
/// caller holds the worker's claims lock; a later `next` under the id starts it again.
pub fn retire_handoff(ws: &Workspace, id: &str) -> Result<()> {
    ids::check_worker_id(id)?;
    let Some(mut record) = read_record(ws, id).filter(|r| r.mode == Mode::Handoff) else {
        return Ok(());
    };
    record.stopped = true;
    record.last_seen = host::now();
    write_record(ws, &record)
}

/// This host's monotonic clock (CLOCK_BOOTTIME, which counts suspend), in milliseconds.
fn boottime_ms() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

fn observation_path(ws: &Workspace, id: &str) -> PathBuf {
    let boot: String = boot_id()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    ws.workers()
        .join(format!("{id}.seen-{}-{boot}", host::hostname()))
}

/// How long this host has seen `record`'s beat unchanged, measured on this host's own monotonic
/// clock from the moment it first saw that beat (never by reading the writer's clock).
///
/// The observation is kept in `workers/<id>.seen-<host>-<boot>`, so one-shot commands on this host
/// continue each other's watch. The first look starts the clock at zero.
pub fn unchanged_for(ws: &Workspace, record: &WorkerRecord) -> Result<Duration> {
    let path = observation_path(ws, &record.worker_id);
    let now = boottime_ms();
    let seen = durable::read_limited(&path, 1024).ok().and_then(|bytes| {
        let text = String::from_utf8(bytes).ok()?;
        let (beat, since) = text.trim().split_once(' ')?;
        Some((beat.parse::<u64>().ok()?, since.parse::<u64>().ok()?))
    });
    match seen {
        Some((beat, since)) if beat == record.beat && since <= now => {
            Ok(Duration::from_millis(now - since))
        }
        _ => {
            let text = format!("{} {now}\n", record.beat);
            let tmp = durable::write_tmp(
                &ws.tmp(),
                "seen",
                text.as_bytes(),
                durable::Durability { fsync: false },
            )?;
            durable::replace(&tmp, &path)?;
            Ok(Duration::ZERO)
        }
    }
}

/// What [`forget`] did with a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgot {
    /// Its record (and this host's observations of it) are gone; `status` no longer lists it.
    Forgotten,
    /// It may be running: a live process holds its life lock here, or it is a `coord worker`
    /// on another host whose record does not say it stopped.
    Running,
    /// It still holds this many tasks: finish, release or recover them first.
    Holding(usize),
    /// It has no record.
    Unknown,
}

/// Forgets worker `id`: removes its record and observations, and its empty claims folder, if it
/// runs nowhere and holds nothing. Its life lock and claims lock are held meanwhile, so it
/// cannot start or claim while it is forgotten; its logs are kept.
pub fn forget(ws: &Workspace, id: &str) -> Result<Forgot> {
    ids::check_worker_id(id)?;
    let Some(record) = read_record(ws, id) else {
        return Ok(Forgot::Unknown);
    };
    if !same_host(&record) && !record.stopped && record.mode != Mode::Handoff {
        return Ok(Forgot::Running);
    }
    let Some(_life) = hold_if_dead(ws, id)? else {
        return Ok(Forgot::Running);
    };
    let _claims = locks::claims(ws, id)?;
    let held = store::list_files(&ws.assigned(id))?.len();
    if held > 0 {
        return Ok(Forgot::Holding(held));
    }
    let seen = format!("{id}.seen-");
    let mut gone = vec![record_path(ws, id)];
    for name in store::list_files(&ws.workers())? {
        if name.starts_with(&seen) {
            gone.push(ws.workers().join(name));
        }
    }
    for path in gone {
        durable::remove_if_exists(&path)?;
    }
    // Empty, so nothing is lost; a claim racing in would make this fail, which is fine.
    let _ = std::fs::remove_dir(ws.assigned(id));
    Ok(Forgot::Forgotten)
}
