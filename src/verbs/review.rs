//! The review gate's policy: approving and rejecting work in review/, listing it, and moving the
//! task's dependents on once it is approved (or dead-lettered by a rejection).

use serde::Serialize;

use crate::base::error::{Error, Result};
use crate::fs::workspace::Workspace;
use crate::model::report::Report;
use crate::model::task;
use crate::policy::depends;
use crate::state::store;
use crate::state::{self, Disposition, TaskState, locks};

fn not_in_review(ws: &Workspace, id: &str) -> Error {
    match store::locate(ws, id).ok().flatten() {
        None => Error::UnknownTask { id: id.to_string() },
        Some((state, _)) => Error::StateConflict {
            message: format!("{id} is {state}, not in review"),
            hint: "list the work waiting for review with `coord review`".to_string(),
        },
    }
}

/// Approves `id`: it completes, its report (naming `by`) is published, and its dependents are
/// moved on only now.
pub fn approve(ws: &Workspace, id: &str, by: &str, note: Option<&str>) -> Result<Report> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    let lock = locks::review(ws)?;
    let report = state::approve(&lock, ws, id, by, note)?;
    drop(lock);
    let report = report.ok_or_else(|| not_in_review(ws, id))?;
    depends::after(ws, id, by, &Disposition::Completed);
    Ok(report)
}

/// Rejects `id` with `reason`: back to pending/ with the reason as its note (the attempt
/// counts), or to failed/ when it was the last attempt.
pub fn reject(ws: &Workspace, id: &str, by: &str, reason: &str) -> Result<Disposition> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    if reason.trim().is_empty() {
        return Err(Error::Invalid(
            "say why with --reason: the next holder reads it".to_string(),
        ));
    }
    task::check_text("reason", reason).map_err(Error::Invalid)?;
    let lock = locks::review(ws)?;
    let disposition = state::reject(&lock, ws, id, by, reason)?;
    drop(lock);
    let disposition = disposition.ok_or_else(|| not_in_review(ws, id))?;
    depends::after(ws, id, by, &disposition);
    Ok(disposition)
}

/// The tasks in review/ whose rejection a crash cut short after its rewrite (no report left in
/// them), looked at under the review lock, so a rejection still under way is never taken for
/// one (on a read-only workspace, where nothing is under way and no lock can be taken, it looks
/// without); with `fix`, each is finished as it was written. Returns their paths and ids.
pub fn cut_short(ws: &Workspace, fix: bool) -> Result<Vec<(std::path::PathBuf, String)>> {
    let mut found = Vec::new();
    let lock = match locks::review(ws) {
        Ok(lock) => Some(lock),
        Err(_) if !fix => None,
        Err(e) => return Err(e),
    };
    for name in store::list_files(&ws.review())? {
        let path = ws.review().join(&name);
        let Ok(task) = task::read(&path) else {
            continue;
        };
        if task.coord.review.is_some() {
            continue;
        }
        let id = task.spec.id;
        if let Some(lock) = lock.as_ref().filter(|_| fix)
            && let Some(d) = state::reject(lock, ws, &id, "coord doctor", "a rejection cut short")?
        {
            depends::after(ws, &id, "coord doctor", &d);
        }
        found.push((path, id));
    }
    Ok(found)
}

/// Work waiting for review.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The task.
    pub task_id: String,
    /// What it is.
    pub description: String,
    /// The worker that did the work.
    pub worker_id: String,
    /// The attempt.
    pub attempt: u32,
    /// When the work was done (the worker's clock).
    #[serde(with = "crate::base::time::ms")]
    pub completed_at: jiff::Timestamp,
    /// The deliverables its checks found.
    pub deliverables: Vec<String>,
}

/// Everything in review/, oldest first.
pub fn list(ws: &Workspace) -> Result<Vec<Pending>> {
    let mut found = Vec::new();
    for name in store::list_files(&ws.review())? {
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        let path = state::layout::settled_path(ws, &TaskState::Review, id);
        let Ok(task) = task::read(&path) else {
            continue;
        };
        let Ok(report) = state::report_in_review(&path, &task) else {
            continue;
        };
        found.push(Pending {
            task_id: task.spec.id,
            description: task.spec.description,
            worker_id: report.worker_id,
            attempt: report.attempt,
            completed_at: report.completed_at,
            deliverables: report.deliverables,
        });
    }
    found.sort_by_key(|a| a.completed_at);
    Ok(found)
}
