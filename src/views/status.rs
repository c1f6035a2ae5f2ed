//! The workspace at a glance: counts per state and each worker's state.

use serde::Serialize;

use crate::base::error::Result;
use crate::fs::fsinfo;
use crate::fs::workspace::Workspace;
use crate::model::report;
use crate::model::task;
use crate::policy::gate;
use crate::policy::lease;
use crate::state::layout;
use crate::state::store;
use crate::verbs::questions;

/// One worker as `status` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    /// The worker id.
    pub worker_id: String,
    /// Whether it holds a task.
    pub busy: bool,
    /// The task it holds (the first, if several).
    pub current_task: Option<String>,
    /// How far that task is, in percent, as the worker last said (`coord heartbeat --progress`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// "busy", "idle", "stopped" (exited cleanly), "gone" (died), or "unknown". A worker on
    /// another host is judged by its lease: "gone" once its beat has not changed for the worker
    /// lease as seen from here. A hand-off worker (one using `coord next`) is "busy" while it
    /// holds a task, else "idle".
    pub state: String,
    /// "exec", "task-command" (a `coord worker` process) or "handoff" (`coord next` and friends).
    pub mode: lease::Mode,
    /// When its record was last written (its own clock).
    #[serde(with = "crate::base::time::ms")]
    pub last_seen: jiff::Timestamp,
    /// Its process id.
    pub pid: u32,
    /// Its host.
    pub host: String,
    /// How often it rescans pending/, when it does (network file system, `--poll`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_secs: Option<f64>,
}

/// How many tasks each state holds; the names are the states' names, in every command's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Tasks in pending/.
    pub pending: usize,
    /// Tasks in blocked/, waiting for the tasks they depend on.
    pub blocked: usize,
    /// Tasks held by workers.
    pub assigned: usize,
    /// Tasks in waiting/: their holder asked a question.
    pub waiting: usize,
    /// Tasks in review/: their checks passed, and they wait for a reviewer.
    pub review: usize,
    /// Tasks completed.
    pub completed: usize,
    /// Tasks in failed/ that failed: dead-lettered, or failed with a dependency (cancelled tasks
    /// and files set aside as `.invalid` or `.duplicate` are not counted).
    pub failed: usize,
    /// Tasks in failed/ that an operator cancelled.
    pub cancelled: usize,
}

/// The workspace's state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Every worker that has a record.
    pub workers: Vec<WorkerStatus>,
    /// Tasks per state.
    pub counts: Counts,
    /// The open questions, oldest first.
    pub questions: Vec<questions::Open>,
    /// Whether `coord pause` is in force: nothing new is claimed.
    pub paused: bool,
    /// The workspace's file system ("ext4", "nfs", "fuse", ...).
    pub filesystem: String,
    /// Whether other hosts may share it: workers then rescan instead of relying on events.
    pub shared_filesystem: bool,
    /// The workspace folder.
    pub root: String,
}

/// Reads the workspace's current state.
pub fn gather(ws: &Workspace) -> Result<Status> {
    let mut workers = Vec::new();
    let mut active = 0;
    let records = lease::list_records(ws)?;
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let mut held = store::list_files(&ws.assigned(&record.worker_id))?;
        held.sort();
        active += held.len();
        seen.insert(record.worker_id.clone());
        let busy = !held.is_empty();
        let task = held
            .first()
            .and_then(|n| task::read(&ws.assigned(&record.worker_id).join(n)).ok());
        let lease = task.as_ref().and_then(|t| t.lease_secs());
        let state = match lease::is_alive(ws, &record, lease)? {
            Some(false) if record.stopped => "stopped",
            Some(false) => "gone",
            None => "unknown",
            Some(true) if busy => "busy",
            Some(true) => "idle",
        };
        let progress = task.and_then(|t| t.coord.progress);
        workers.push(WorkerStatus {
            worker_id: record.worker_id.clone(),
            mode: record.mode,
            progress,
            busy,
            current_task: held
                .first()
                .map(|n| n.strip_suffix(".json").unwrap_or(n).to_string()),
            state: state.into(),
            last_seen: record.last_seen,
            pid: record.pid,
            host: record.host.clone(),
            poll_secs: record.poll_secs,
        });
    }
    for worker in store::assigned_workers(ws)? {
        if !seen.contains(&worker) {
            active += store::count_files(&ws.assigned(&worker))?;
        }
    }
    let fs = fsinfo::kind(ws.root());
    let questions = questions::open(ws)?;
    let (failed, cancelled) = failed_and_cancelled(ws)?;
    Ok(Status {
        workers,
        counts: Counts {
            pending: store::count_pending(ws)?,
            blocked: store::count_files(&ws.blocked())?,
            assigned: active,
            waiting: store::count_files(&ws.waiting())?,
            review: store::count_files(&ws.review())?,
            completed: store::count_files(&ws.completed())?,
            failed: failed - cancelled,
            cancelled,
        },
        questions,
        paused: gate::paused(ws),
        filesystem: fs.as_ref().map_or("unknown", |k| k.name).to_string(),
        shared_filesystem: fs.is_some_and(|k| k.shared),
        root: ws.root().display().to_string(),
    })
}

/// How many tasks failed/ holds, and how many of them were cancelled (their report says so).
fn failed_and_cancelled(ws: &Workspace) -> Result<(usize, usize)> {
    let mut failed = 0;
    let mut cancelled = 0;
    for name in store::list_files(&ws.failed())? {
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        failed += 1;
        let report = report::read(&layout::report_path(ws, id));
        if report.is_ok_and(|r| r.status == report::Status::Cancelled) {
            cancelled += 1;
        }
    }
    Ok((failed, cancelled))
}
