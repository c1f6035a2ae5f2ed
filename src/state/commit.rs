//! The one commit operation every move goes through.
//!
//! In order: rewrite the source in place (only a file the caller holds the lock of, read just
//! before), write the report whole to tmp/, then one `renameat2(RENAME_NOREPLACE)` from the exact
//! path of the expected state: **the commit**. If the source is gone another process moved the
//! task first, and if the destination exists the task would be in two states: either way
//! nothing moves and the report is dropped. Then the destination folder is flushed, the report
//! published, and only then the event recorded, so the journal never tells of a move that did
//! not happen.
//!
//! A commit into failed/ holds the finished lock from the rename to the report's publication
//! ([`super::locks`]). A commit into completed/ takes no lock: from before its rename until its
//! publication, its report exists whole in tmp/ under a live process's name, which is how the
//! doctor tells a report on its way from a lost one.

use std::path::{Path, PathBuf};

use crate::base::crashpoint;
use crate::base::error::{Error, Result};
use crate::fs::doorbell;
use crate::fs::durable::{self, MoveError};
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task::TaskFile;
use crate::state::events::{self, Event};

/// One move of a task file.
#[derive(Debug)]
pub struct Step<'a> {
    /// The task's path in the state it is expected to be in.
    pub from: &'a Path,
    /// Its path in the new state.
    pub to: PathBuf,
    /// New content, written over `from` before the move (the caller holds `from`'s lock).
    pub rewrite: Option<&'a TaskFile>,
    /// The report to publish once the move has committed.
    pub report: Option<&'a Report>,
    /// The event to record once it has.
    pub event: Option<Event>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The task moved; its report and event are out.
    Moved,
    /// The source was gone: another process moved the task first. Nothing changed.
    SourceGone,
    /// The destination exists: nothing moved, the report was dropped.
    DestinationExists,
}

/// Makes one move, as the module comment describes.
pub fn commit(ws: &Workspace, step: Step<'_>) -> Result<Committed> {
    let kind = step.event.as_ref().map_or("", |e| e.event.as_str());
    if let Some(task) = step.rewrite {
        rewrite(ws, step.from, task)?;
        crashpoint::reached(kind, "rewritten");
    }
    let prepared = step.report.map(|r| prepare(ws, r)).transpose()?;
    // A dead letter's report is published under the finished lock, so a retry never sends the
    // task back between its commit and its report. Completions take no lock: their reports are
    // found in flight in tmp/ instead ([`super::in_flight_reports`]).
    let _finished = match &prepared {
        Some(_) if step.to.starts_with(ws.failed()) => Some(super::locks::finished(ws)?),
        _ => None,
    };
    match durable::move_noreplace(step.from, &step.to) {
        Ok(()) => {}
        Err(e) => {
            if let Some(p) = prepared {
                p.discard()?;
            }
            return match e {
                MoveError::SourceGone => Ok(Committed::SourceGone),
                MoveError::DestinationExists => Ok(Committed::DestinationExists),
                MoveError::Other(e) => Err(Error::io("move", step.from, e)),
            };
        }
    }
    let folder = step.to.parent().expect("state folders have a parent");
    durable::sync_dir(folder, ws.durability())?;
    crashpoint::reached(kind, "moved");
    if folder == ws.pending() {
        doorbell::ring(ws);
    }
    if let Some(p) = prepared {
        p.publish(ws)?;
    }
    if let Some(event) = step.event {
        events::record(ws, &[event]);
    }
    Ok(Committed::Moved)
}

/// Writes `task` whole over `path`, a file whose lock the caller holds and has just read, cut to
/// the task-file budget ([`TaskFile::to_bytes_within_budget`]).
pub(super) fn rewrite(ws: &Workspace, path: &Path, task: &TaskFile) -> Result<()> {
    // Within the budget every reader reads, so no move ever makes a task unreadable.
    let bytes = task.to_bytes_within_budget().map_err(Error::Invalid)?;
    let tmp = durable::write_tmp(&ws.tmp(), "task", &bytes, ws.durability())?;
    if let Err(e) = durable::replace(&tmp, path) {
        let _ = durable::remove_if_exists(&tmp);
        return Err(e);
    }
    Ok(())
}

/// An error saying a task would be in two states.
pub(super) fn two_states(id: &str, at: &Path) -> Error {
    Error::TwoStates {
        id: id.to_string(),
        path: at.to_path_buf(),
    }
}

/// A report written to a temp file, to publish once the task's move has committed.
#[derive(Debug)]
pub(super) struct Prepared {
    tmp: PathBuf,
    dst: PathBuf,
}

/// Writes `report` whole (fsynced when the workspace says so) under a temp name.
pub(super) fn prepare(ws: &Workspace, report: &Report) -> Result<Prepared> {
    let dst = match report.status {
        Status::Invalid => {
            let dst = super::layout::invalid_report_path(ws, &report.task_id);
            durable::create_dir(dst.parent().expect("reports/invalid has a parent"))?;
            dst
        }
        _ => super::layout::report_path(ws, &report.task_id),
    };
    let tmp = durable::write_tmp(&ws.tmp(), "report", &report.to_bytes(), ws.durability())?;
    Ok(Prepared { tmp, dst })
}

impl Prepared {
    /// Makes the report visible under its final name (replacing an older report of the same
    /// task) and flushes the folder.
    pub(super) fn publish(self, ws: &Workspace) -> Result<PathBuf> {
        durable::replace(&self.tmp, &self.dst)?;
        durable::sync_dir(&ws.reports(), ws.durability())?;
        Ok(self.dst)
    }

    /// Publishes the report only if the task has none yet; false (and nothing written) if it has.
    pub(super) fn publish_new(self, ws: &Workspace) -> Result<bool> {
        let created = durable::publish_new(&self.tmp, &self.dst)?;
        durable::sync_dir(&ws.reports(), ws.durability())?;
        Ok(created)
    }

    /// Drops a report whose task move did not happen.
    pub(super) fn discard(self) -> Result<()> {
        durable::remove_if_exists(&self.tmp)
    }
}
