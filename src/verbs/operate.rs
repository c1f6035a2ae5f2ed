//! Operator commands: cancel a task, send a failed one back, purge old results, pause and
//! resume the workspace. Each change is one no-replace rename (or link) of a whole file, as
//! everywhere else.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::base::time;
use crate::fs::doorbell;
use crate::fs::durable;
use crate::fs::wake;
use crate::fs::workspace::Workspace;
use crate::model::report;
use crate::model::task;
use crate::policy::depends;
use crate::policy::gate::PAUSE_FLAG;
use crate::policy::lease;
use crate::state::commit::Committed;
use crate::state::events;
use crate::state::layout;
use crate::state::operator::Retry;
use crate::state::store;
use crate::state::{self, TaskState, locks};

/// What `cancel` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    /// Where the task was.
    pub was: TaskState,
    /// Dependents that failed because of it.
    pub dependents_failed: Vec<String>,
    /// For a task a `coord worker` was running: whether its command was seen to stop (every
    /// process of it ended) before `cancel` returned. None when no command was running.
    pub stopped: Option<bool>,
}

/// How long `cancel` waits for a worker to stop a cancelled task's command: the worker's grace
/// between SIGTERM and SIGKILL, and a margin.
pub const STOP_WAIT: Duration = Duration::from_secs(8);

/// Cancels a task that has not finished: it goes to failed/ with a `cancelled` report. A worker
/// running it sees its claim vanish and stops the command; `cancel` returns once the worker says
/// it has (the `stopped` event), or after [`STOP_WAIT`], so a retry after it never runs beside
/// the old command. An agent holding it can no longer complete it. Tasks that depend on it fail. A task that moves on while it is being cancelled
/// is looked up again, so a cancel never acts on a state the task has left.
pub fn cancel(ws: &Workspace, id: &str, by: &str) -> Result<Cancelled> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    for _ in 0..MAX_TRIES {
        let Some((state, path)) = store::locate(ws, id)? else {
            return Err(Error::UnknownTask { id: id.to_string() });
        };
        if state.is_finished() {
            return Err(Error::StateConflict {
                message: format!("{id} has already finished ({state}); nothing to cancel"),
                hint: format!("see `coord show {id}`; `coord retry {id}` sends a failed task back"),
            });
        }
        let running = running_under(ws, &state, &path);
        let journal = events::end(ws);
        match state::cancel_from(ws, id, &state, &path, by)? {
            Committed::Moved => {
                let moved = depends::after_finished(ws, id, by)?;
                let stopped = running.map(|worker| wait_stopped(ws, id, &worker, journal));
                return Ok(Cancelled {
                    was: state,
                    dependents_failed: moved.failed,
                    stopped,
                });
            }
            Committed::SourceGone => continue,
            Committed::DestinationExists => {
                return Err(Error::TwoStates {
                    id: id.to_string(),
                    path: state::layout::settled_path(ws, &TaskState::Failed, id),
                });
            }
        }
    }
    Err(Error::StateConflict {
        message: format!("{id} kept moving while it was being cancelled"),
        hint: format!("look again with `coord show {id}` and cancel it again"),
    })
}

/// The live `coord worker` process running the task held at `path`, if one may be: a worker
/// that runs commands (not a hand-off record), not stopped, not known dead, and either an
/// `--exec` worker or the task has its own command.
fn running_under(ws: &Workspace, state: &TaskState, path: &std::path::Path) -> Option<String> {
    let TaskState::Assigned(worker) = state else {
        return None;
    };
    let task = task::read(path).ok()?;
    lease::may_run(ws, worker, &task).then(|| worker.clone())
}

/// Waits, on the journal from `from`, for `worker` to record that it stopped `id`'s
/// command; false when [`STOP_WAIT`] ran out first.
fn wait_stopped(ws: &Workspace, id: &str, worker: &str, from: events::Cursor) -> bool {
    let deadline = std::time::Instant::now() + STOP_WAIT;
    let mut waker = wake::Waker::for_views(ws, &[(ws.root(), false)]);
    let mut at = from;
    loop {
        let mut seen = false;
        at = events::read_each(ws, at, |e| {
            seen |= e.event == events::Kind::Stopped
                && e.task == id
                && e.worker.as_deref() == Some(worker);
        })
        .unwrap_or(at);
        if seen {
            return true;
        }
        if !waker.next_change(Some(deadline)) {
            return false;
        }
    }
}

/// How many times an operator verb looks a task up again when it moved on meanwhile.
const MAX_TRIES: usize = 16;

/// Where `retry` put a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// In pending/, ready to claim.
    Pending,
    /// In blocked/: some task it depends on has not completed.
    Blocked,
}

/// Sends a dead-lettered (or cancelled) task back with its attempts reset; its history is kept,
/// with an entry saying so. Its old report is removed. Two retries of one task at once move it
/// once: the second finds it no longer failed.
pub fn retry(ws: &Workspace, id: &str, by: &str) -> Result<Retried> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    let outcome = state::retry_from_failed(ws, id, by, |task| {
        match depends::readiness(ws, &task.spec.depends_on) {
            Ok(true) => Ok(TaskState::Pending),
            Ok(false) => Ok(TaskState::Blocked),
            Err(dead) => Err(Error::StateConflict {
                message: format!("{id} depends on {dead}, which is in failed/ too"),
                hint: format!("retry {dead} first"),
            }),
        }
    })?;
    match outcome {
        Retry::Moved(TaskState::Pending, _, _) => Ok(Retried::Pending),
        Retry::Moved(_, path, _) => {
            depends::settle_blocked(ws, &path, by)?;
            Ok(Retried::Blocked)
        }
        Retry::NotFailed => Err(match store::locate(ws, id)? {
            Some((state, _)) => Error::StateConflict {
                message: format!("{id} is {state}, not failed; only failed tasks can be retried"),
                hint: format!("see `coord show {id}`"),
            },
            None => Error::UnknownTask { id: id.to_string() },
        }),
    }
}

/// What `purge` removed and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Ids whose task file, report and logs were removed.
    pub removed: Vec<String>,
    /// Ids old enough but kept because a blocked task depends on them.
    pub kept: Vec<String>,
}

/// Removes finished tasks (their file, report and task logs) whose report is older than
/// `older_than`, from completed/ and, if asked, failed/. A completed task a blocked task still
/// depends on is kept. Each task is removed under the finished lock, so a purge never races a
/// retry or a completion's report.
pub fn purge(
    ws: &Workspace,
    completed: bool,
    failed: bool,
    older_than: Duration,
) -> Result<Purged> {
    let now = host::now();
    let mut needed = std::collections::HashSet::new();
    for name in store::list_files(&ws.blocked())? {
        if let Ok(t) = task::read(&ws.blocked().join(name)) {
            needed.extend(t.spec.depends_on);
        }
    }
    let logs = store::list_files(&ws.task_logs())?;
    let mut out = Purged::default();
    for (wanted, state) in [
        (completed, TaskState::Completed),
        (failed, TaskState::Failed),
    ] {
        if !wanted {
            continue;
        }
        let dir = state::layout::folder(ws, &state);
        let mut names = store::list_files(&dir)?;
        names.sort();
        for name in names {
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            // A task whose report is not out (on its way, or lost: `coord doctor` says which)
            // is left alone.
            let finished = finished_at(ws, id);
            let age = finished.map(|t| t.duration_until(now));
            if age.is_none_or(|a| a.as_secs_f64() < older_than.as_secs_f64()) {
                continue;
            }
            if needed.contains(id) {
                out.kept.push(id.to_string());
                continue;
            }
            let lock = locks::finished(ws)?;
            if state::purge_one(&lock, ws, id, &state, &logs)? {
                out.removed.push(id.to_string());
            }
        }
    }
    Ok(out)
}

/// When a finished task finished: its report's `completedAt`; None while it has no report.
fn finished_at(ws: &Workspace, id: &str) -> Option<jiff::Timestamp> {
    report::read(&layout::report_path(ws, id))
        .ok()
        .map(|r| r.completed_at)
}

/// The pause flag's path.
fn flag(ws: &Workspace) -> PathBuf {
    ws.pending().join(PAUSE_FLAG)
}

/// Pauses the workspace: running tasks finish, nothing new is claimed. False if it was paused.
pub fn pause(ws: &Workspace, by: &str) -> Result<bool> {
    let text = serde_json::json!({"pausedBy": by, "at": time::format(host::now())}).to_string();
    let tmp = durable::write_tmp(&ws.tmp(), "pause", text.as_bytes(), ws.durability())?;
    let created = durable::publish_new(&tmp, &flag(ws))?;
    durable::sync_dir(&ws.pending(), ws.durability())?;
    Ok(created)
}

/// Resumes a paused workspace; workers wake on the flag's removal. False if it was not paused.
pub fn resume(ws: &Workspace) -> Result<bool> {
    match std::fs::remove_file(flag(ws)) {
        Ok(()) => {
            durable::sync_dir(&ws.pending(), ws.durability())?;
            doorbell::ring(ws);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", flag(ws), e)),
    }
}

/// Removes the logs (`logs/<worker>.log` and its older `.log.1`) of workers that run nowhere
/// here and whose log was last written longer ago than `older_than`; returns the worker ids.
/// The log of a worker whose process is alive, or whose record does not say it stopped on
/// another host, is kept whatever its age.
pub fn purge_worker_logs(ws: &Workspace, older_than: Duration) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for name in store::list_files(&ws.logs())? {
        let Some(worker) = name
            .strip_suffix(".log")
            .or_else(|| name.strip_suffix(".log.1"))
        else {
            continue;
        };
        let running = match lease::read_record(ws, worker) {
            None => false,
            Some(r) if r.stopped || r.mode == lease::Mode::Handoff => false,
            Some(r) => lease::is_alive(ws, &r, None)? != Some(false),
        };
        let path = ws.logs().join(&name);
        if !running && untouched_for(&path, older_than) {
            durable::remove_if_exists(&path)?;
            if !removed.iter().any(|w| w == worker) {
                removed.push(worker.to_string());
            }
        }
    }
    Ok(removed)
}

/// Removes the journal's segments whose last line was written longer ago than `older_than`,
/// the live `events.jsonl` too when it is that quiet (set aside as a segment first); returns
/// their file names.
pub fn purge_journal(ws: &Workspace, older_than: Duration) -> Result<Vec<String>> {
    events::set_aside_if_quiet(ws, older_than);
    let mut removed = Vec::new();
    for (_, path) in events::segments(ws) {
        if untouched_for(&path, older_than) {
            durable::remove_if_exists(&path)?;
            removed.extend(path.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    Ok(removed)
}

/// Whether the file at `path` was last written at least `age` ago (false if it cannot be read).
fn untouched_for(path: &std::path::Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
        .is_some_and(|quiet| quiet >= age)
}
