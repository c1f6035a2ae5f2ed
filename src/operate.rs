//! Operator commands: cancel a task, send a failed one back, purge old results, pause and
//! resume the workspace. Each change is one no-replace rename (or link) of a whole file, as
//! everywhere else.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::depends;
use crate::durable::{self, MoveError};
use crate::error::{Error, Result};
use crate::events;
use crate::gate::PAUSE_FLAG;
use crate::host;
use crate::lease;
use crate::report::{self, Report};
use crate::store::{self, TaskState};
use crate::task::{HistoryEntry, RETRIED};
use crate::workspace::Workspace;

/// What `cancel` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    /// Where the task was.
    pub was: TaskState,
    /// Dependents that failed because of it.
    pub dependents_failed: Vec<String>,
}

/// Cancels a task that has not finished: it goes to failed/ with a `cancelled` report. A worker
/// running it sees its claim vanish and kills the command; an agent holding it can no longer
/// complete it. Tasks that depend on it fail.
pub fn cancel(ws: &Workspace, id: &str, by: &str) -> Result<Cancelled> {
    let Some((state, path)) = store::locate(ws, id)? else {
        return Err(Error::UnknownTask { id: id.to_string() });
    };
    let _lock = match &state {
        TaskState::Assigned(w) => Some(lease::lock_claims(ws, w)?),
        TaskState::Completed | TaskState::Failed => {
            return Err(Error::Invalid(format!(
                "{id} has already finished ({state}); nothing to cancel"
            )));
        }
        _ => None,
    };
    let attempt = store::read_task(&path).map_or(0, |t| t.attempt());
    let holder = match &state {
        TaskState::Assigned(w) => format!(", which {w} held"),
        _ => String::new(),
    };
    let reason = format!("cancelled by {by}{holder}");
    let mut report = Report::recorded(id, by, "cancelled", attempt, Some(reason));
    if let TaskState::Assigned(w) = &state {
        report.worker_id = w.clone();
    }
    let prepared = report::prepare(ws, &report)?;
    let dst = ws.failed().join(format!("{id}.json"));
    match durable::move_noreplace(&path, &dst) {
        Ok(()) => {}
        Err(e) => {
            prepared.discard()?;
            return Err(match e {
                MoveError::SourceGone => Error::Invalid(format!(
                    "{id} moved on while it was being cancelled; look again with `coord show {id}`"
                )),
                MoveError::DestinationExists => Error::Invalid(format!(
                    "{} already exists; run `coord doctor`",
                    dst.display()
                )),
                MoveError::Other(e) => Error::io("move", &path, e),
            });
        }
    }
    durable::sync_dir(&ws.failed(), ws.durability())?;
    prepared.publish(ws)?;
    events::one(ws, "cancelled", id, None, None);
    let moved = depends::after_finished(ws, id, by)?;
    Ok(Cancelled {
        was: state,
        dependents_failed: moved.failed,
    })
}

/// Where `retry` put a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// In pending/, ready to claim.
    Pending,
    /// In blocked/: some task it depends on has not completed.
    Blocked,
}

/// Sends a dead-lettered (or cancelled) task back with its attempts reset; its history is kept,
/// with an entry saying so. Its old report is removed.
pub fn retry(ws: &Workspace, id: &str, by: &str) -> Result<Retried> {
    crate::task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    let failed = ws.failed().join(format!("{id}.json"));
    let mut task = match store::read_task(&failed) {
        Ok(t) => t,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(match store::locate(ws, id)? {
                Some((state, _)) => Error::Invalid(format!(
                    "{id} is {state}, not failed; only failed tasks can be retried"
                )),
                None => Error::UnknownTask { id: id.to_string() },
            });
        }
        Err(e) => return Err(e),
    };
    if let Err(dead) = depends::readiness(ws, &task.spec.depends_on) {
        return Err(Error::Invalid(format!(
            "{id} depends on {dead}, which is in failed/ too: retry {dead} first"
        )));
    }
    task.coord.history.push(HistoryEntry {
        attempt: task.attempt(),
        worker: by.to_string(),
        outcome: RETRIED.to_string(),
        reason: "sent back with its attempts reset".to_string(),
        at: host::rfc3339(host::now()),
        counted: false,
    });
    task.coord.retry_at = None;
    task.coord.claimed_at = None;
    task.ensure_order();
    let (dst, outcome) = match depends::readiness(ws, &task.spec.depends_on) {
        Ok(true) => (ws.pending().join(task.pending_name()), Retried::Pending),
        _ => (ws.blocked().join(format!("{id}.json")), Retried::Blocked),
    };
    let tmp = durable::write_tmp(&ws.tmp(), "task", &task.to_bytes(), ws.durability())?;
    if !durable::publish_new(&tmp, &dst)? {
        return Err(Error::Invalid(format!(
            "{} already exists; run `coord doctor`",
            dst.display()
        )));
    }
    durable::sync_dir(
        dst.parent().expect("state folders have a parent"),
        ws.durability(),
    )?;
    // From here the new copy wins over the old one (it records one more retry), should a crash
    // leave both.
    durable::remove_if_exists(&failed)?;
    durable::remove_if_exists(&report::path(ws, id))?;
    durable::sync_dir(&ws.failed(), ws.durability())?;
    events::one(ws, "retried", id, Some(by), None);
    if outcome == Retried::Blocked {
        let mut moved = depends::Moved::default();
        depends::settle(ws, &dst, &task, by, &mut moved)?;
    }
    Ok(outcome)
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
/// depends on is kept.
pub fn purge(
    ws: &Workspace,
    completed: bool,
    failed: bool,
    older_than: Duration,
) -> Result<Purged> {
    let now = host::now();
    let mut needed = std::collections::HashSet::new();
    for name in store::list_files(&ws.blocked())? {
        if let Ok(t) = store::read_task(&ws.blocked().join(name)) {
            needed.extend(t.spec.depends_on);
        }
    }
    let mut out = Purged::default();
    for (wanted, dir) in [(completed, ws.completed()), (failed, ws.failed())] {
        if !wanted {
            continue;
        }
        let mut names = store::list_files(&dir)?;
        names.sort();
        for name in names {
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            let finished = finished_at(ws, id, &dir.join(&name));
            let age = finished.map(|t| t.duration_until(now));
            if age.is_none_or(|a| a.as_secs_f64() < older_than.as_secs_f64()) {
                continue;
            }
            if needed.contains(id) {
                out.kept.push(id.to_string());
                continue;
            }
            durable::remove_if_exists(&dir.join(&name))?;
            durable::remove_if_exists(&report::path(ws, id))?;
            for log in store::list_files(&ws.task_logs())? {
                if log
                    .strip_prefix(id)
                    .is_some_and(|r| r.starts_with('.') && r.ends_with(".log"))
                {
                    durable::remove_if_exists(&ws.task_logs().join(log))?;
                }
            }
            events::one(ws, "purged", id, None, None);
            out.removed.push(id.to_string());
        }
    }
    Ok(out)
}

/// When a finished task finished: its report's `completedAt`, else its file's modification time.
fn finished_at(ws: &Workspace, id: &str, file: &Path) -> Option<jiff::Timestamp> {
    if let Ok(r) = report::read(&report::path(ws, id))
        && let Ok(t) = r.completed_at.parse()
    {
        return Some(t);
    }
    let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok()?;
    jiff::Timestamp::try_from(modified).ok()
}

/// The pause flag's path.
fn flag(ws: &Workspace) -> PathBuf {
    ws.pending().join(PAUSE_FLAG)
}

/// Pauses the workspace: running tasks finish, nothing new is claimed. False if it was paused.
pub fn pause(ws: &Workspace, by: &str) -> Result<bool> {
    let text = serde_json::json!({"pausedBy": by, "at": host::rfc3339(host::now())}).to_string();
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
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", flag(ws), e)),
    }
}
