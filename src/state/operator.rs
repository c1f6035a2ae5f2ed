//! An operator's moves: cancel, retry, purge, and the doctor's repairs (set aside extra copies,
//! rebuild a lost report). Each takes the locks of the states it moves out of and re-checks the
//! source under them, so it never races a worker, an agent or another operator.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::commit::{self, Committed, Step};
use super::locks::{self, FinishedLock};
use super::{TaskState, layout};
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::durable::{self, MoveError};
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task;
use crate::model::task::{HistoryEntry, Outcome, TaskFile};
use crate::state::events;
use crate::state::events::{Event, Kind};

/// Cancels task `id`, found in `state` at `path`: one no-replace rename into failed/ with a
/// `cancelled` report. A held task is moved under its holder's claims lock, a waiting one under
/// its asker's, one in review/ under the review lock; a pending or blocked one under none (the
/// rename from the exact path decides). [`Committed::SourceGone`]
/// means it moved on meanwhile: look again.
pub fn cancel_from(
    ws: &Workspace,
    id: &str,
    state: &TaskState,
    path: &Path,
    by: &str,
) -> Result<Committed> {
    let asker = match state {
        TaskState::Waiting => super::asker(path)?,
        _ => None,
    };
    let _lock = match (state, &asker) {
        (TaskState::Assigned(w), _) | (TaskState::Waiting, Some(w)) => Some(locks::claims(ws, w)?),
        _ => None,
    };
    let _review = match state {
        TaskState::Review => Some(locks::review(ws)?),
        _ => None,
    };
    let attempt = task::read(path).map_or(0, |t| t.attempt());
    let (holder, worker) = match (state, &asker) {
        (TaskState::Assigned(w), _) => (format!(", which {w} held"), w.as_str()),
        (TaskState::Waiting, Some(w)) => (
            format!(", which {w} held while it waited for an answer"),
            w.as_str(),
        ),
        _ => (String::new(), by),
    };
    let reason = format!("cancelled by {by}{holder}");
    let report = Report::recorded(id, worker, Status::Cancelled, attempt, Some(reason));
    let step = Step {
        from: path,
        to: layout::settled_path(ws, &TaskState::Failed, id),
        rewrite: None,
        report: Some(&report),
        event: Some(Event::now(Kind::Cancelled, id, None, None)),
    };
    commit::commit(ws, step)
}

/// What [`retry_from_failed`] did.
#[derive(Debug)]
pub enum Retry {
    /// The task went to this state (pending or blocked) at this path, with this content.
    Moved(TaskState, PathBuf, Box<TaskFile>),
    /// failed/ does not hold the task.
    NotFailed,
}

/// Sends task `id` from failed/ back to the state `destination` picks (pending or blocked; an
/// error there stops the retry), with a `retried` history entry, and removes its old report.
/// Under the finished lock, so two retries (or a retry and a purge) never both act on one copy.
pub fn retry_from_failed(
    ws: &Workspace,
    id: &str,
    by: &str,
    destination: impl FnOnce(&TaskFile) -> Result<TaskState>,
) -> Result<Retry> {
    let _finished = locks::finished(ws)?;
    let failed = layout::settled_path(ws, &TaskState::Failed, id);
    let Some(mut task) = super::read_if_there(&failed)? else {
        return Ok(Retry::NotFailed);
    };
    let state = destination(&task)?;
    task.coord.history.push(HistoryEntry {
        attempt: task.attempt(),
        worker: by.to_string(),
        outcome: Outcome::Retried,
        reason: "sent back with its attempts reset".to_string(),
        at: host::now(),
        counted: false,
    });
    task.coord.retry_at = None;
    task.coord.retry_delay_ms = None;
    task.coord.claimed_at = None;
    task.ensure_order();
    let to = match state {
        TaskState::Pending => layout::pending_path(ws, &task),
        _ => {
            super::mark_waiting(ws, &task)?;
            layout::settled_path(ws, &TaskState::Blocked, id)
        }
    };
    // The old report goes first, while the task is still in failed/ under the finished lock:
    // once the task is pending, a worker may run it and publish its new report at any moment,
    // and a removal after the move could take that one.
    durable::remove_if_exists(&layout::report_path(ws, id))?;
    durable::sync_dir(&ws.reports(), ws.durability())?;
    let step = Step {
        from: &failed,
        to: to.clone(),
        rewrite: Some(&task),
        report: None,
        event: Some(Event::now(Kind::Retried, id, Some(by), None)),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => {}
        Committed::SourceGone => return Ok(Retry::NotFailed),
        Committed::DestinationExists => return Err(commit::two_states(id, &to)),
    }
    Ok(Retry::Moved(state, to, Box::new(task)))
}

/// Removes a finished task's file from `state` (completed or failed), then its report and the
/// task logs named in `logs`. Under the finished lock, re-checking that the file is still there;
/// false if it is not.
pub fn purge_one(
    _finished: &FinishedLock,
    ws: &Workspace,
    id: &str,
    state: &TaskState,
    logs: &[String],
) -> Result<bool> {
    debug_assert!(state.is_finished());
    let file = layout::settled_path(ws, state, id);
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("remove", &file, e)),
    }
    durable::remove_if_exists(&layout::report_path(ws, id))?;
    for log in logs.iter().filter(|l| layout::is_task_log_of(l, id)) {
        durable::remove_if_exists(&ws.task_logs().join(log))?;
    }
    events::record(ws, &[Event::now(Kind::Purged, id, None, None)]);
    Ok(true)
}

/// One extra copy of a task, moved (or to be moved) aside.
#[derive(Debug, Clone)]
pub struct SetAside {
    /// The state the extra copy was in.
    pub state: TaskState,
    /// Its path there.
    pub path: PathBuf,
    /// The state of the copy kept.
    pub kept: TaskState,
}

/// Of the places task `id` was seen, those that still hold it, as distinct files, now. A file
/// renamed from one place to another between two looks is one file (one inode), not two copies.
fn confirm(sightings: &[(TaskState, PathBuf)]) -> Vec<(TaskState, PathBuf)> {
    let mut found: Vec<(TaskState, PathBuf, (u64, u64))> = Vec::new();
    for (state, path) in sightings {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let identity = (meta.dev(), meta.ino());
        if found.iter().all(|(_, _, i)| *i != identity) {
            found.push((state.clone(), path.clone(), identity));
        }
    }
    found.into_iter().map(|(s, p, _)| (s, p)).collect()
}

/// Deals with a task seen in several states. With `fix`, takes the claims locks of every
/// worker seen holding it and the finished lock, looks again, and if the task is still in more
/// than one place, keeps the copy `keep` picks and moves every other to
/// `failed/<id>.duplicate` (numbered if taken), never replacing a file. Without `fix`, only
/// looks again. Returns the extra copies.
pub fn set_aside_duplicates(
    ws: &Workspace,
    id: &str,
    sightings: &[(TaskState, PathBuf)],
    fix: bool,
    keep: impl Fn(&[(TaskState, PathBuf)]) -> usize,
) -> Result<Vec<SetAside>> {
    let workers: Vec<String> = sightings
        .iter()
        .filter_map(|(s, p)| match s {
            TaskState::Assigned(w) => Some(w.clone()),
            TaskState::Waiting => super::asker(p).ok().flatten(),
            _ => None,
        })
        .collect();
    let _claims = match fix {
        true => locks::claims_of(ws, &workers)?,
        false => Vec::new(),
    };
    let in_review = sightings.iter().any(|(s, _)| *s == TaskState::Review);
    let _review = (fix && in_review).then(|| locks::review(ws)).transpose()?;
    let _finished = fix.then(|| locks::finished(ws)).transpose()?;
    let copies = confirm(sightings);
    if copies.len() < 2 {
        return Ok(Vec::new());
    }
    let kept = keep(&copies);
    let kept_state = copies[kept].0.clone();
    let mut aside = Vec::new();
    for (i, (state, path)) in copies.into_iter().enumerate() {
        if i == kept {
            continue;
        }
        if fix {
            move_aside(ws, id, &path)?;
        }
        aside.push(SetAside {
            state,
            path,
            kept: kept_state.clone(),
        });
    }
    Ok(aside)
}

fn move_aside(ws: &Workspace, id: &str, path: &Path) -> Result<()> {
    for n in 0.. {
        let name = match n {
            0 => format!("{id}.duplicate"),
            n => format!("{id}.duplicate-{n}"),
        };
        match durable::move_noreplace(path, &ws.failed().join(name)) {
            Ok(()) | Err(MoveError::SourceGone) => return Ok(()),
            Err(MoveError::DestinationExists) => {}
            Err(MoveError::Other(e)) => return Err(Error::io("move", path, e)),
        }
    }
    unreachable!("some numbered name is free")
}

/// Writes a report for a finished task that has none, saying the original was lost. Under the
/// finished lock, re-checking that the task is still in `state` and still has no report; never
/// replaces a report. True if it wrote one.
pub fn rebuild_report(
    _finished: &FinishedLock,
    ws: &Workspace,
    id: &str,
    state: &TaskState,
) -> Result<bool> {
    let path = layout::settled_path(ws, state, id);
    let Ok(task) = task::read(&path) else {
        return Ok(false);
    };
    if layout::report_path(ws, id).exists() {
        return Ok(false);
    }
    let status = match state {
        TaskState::Completed => Status::Completed,
        _ => Status::Failed,
    };
    let worker = task
        .coord
        .history
        .last()
        .map(|h| h.worker.clone())
        .unwrap_or_default();
    let reason = "the original report was lost in a crash; rebuilt by `coord doctor --fix`";
    let report = Report::recorded(id, &worker, status, task.attempt(), Some(reason.into()));
    commit::prepare(ws, &report)?.publish_new(ws)
}
