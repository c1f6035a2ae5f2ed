//! The review gate: assigned/W → review/ (`submit`, under W's claims lock), then review/ →
//! completed/ (`approve`) or review/ → pending/ or failed/ (`reject`), both under the review lock
//! (`review.lock`), which every move out of review/ holds.

use std::path::Path;

use super::commit::{self, Committed, Step};
use super::locks::{ClaimsLock, ReviewLock};
use super::read_if_there;
use super::{Disposition, TaskState, layout};
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task;
use crate::model::task::{HistoryEntry, InReview, Note, Outcome};
use crate::state::events::{Event, Kind};

/// Moves a task whose checks passed from `held` to review/, keeping `report` in the task file
/// until a reviewer decides. [`Disposition::InReview`], or `Fenced` if it is no longer held.
pub fn submit(
    lock: &ClaimsLock,
    ws: &Workspace,
    held: &Path,
    report: &Report,
) -> Result<Disposition> {
    debug_assert!(lock.covers(ws, held));
    let Some(mut task) = read_if_there(held)? else {
        return Ok(Disposition::Fenced);
    };
    task.coord.review = Some(Box::new(InReview {
        report: serde_json::to_value(report).expect("reports serialize"),
    }));
    let moved = super::talk::park(
        lock,
        ws,
        held,
        &task,
        TaskState::Review,
        Kind::Submitted,
        report.attempt,
    )?;
    Ok(match moved {
        true => Disposition::InReview,
        false => Disposition::Fenced,
    })
}

/// The report a task read from review/ (at `path`) carries, as its worker wrote it.
pub fn report_in_review(path: &Path, task: &task::TaskFile) -> Result<Report> {
    stored_report(path, task.coord.review.as_deref())
}

fn stored_report(path: &Path, review: Option<&InReview>) -> Result<Report> {
    let value = review
        .map(|r| r.report.clone())
        .ok_or_else(|| Error::StateConflict {
            message: format!(
                "{} carries no report: a rejection of it was cut short",
                path.display()
            ),
            hint: "finish the rejection with `coord reject ID --reason ...`".to_string(),
        })?;
    serde_json::from_value(value).map_err(|source| Error::Json {
        what: "cannot parse the report kept in",
        path: path.to_path_buf(),
        source,
    })
}

/// Approves task `id` in review/: moves it to completed/ and publishes its report, saying who
/// approved it and when. None if the task is not in review/ (moved on meanwhile).
pub fn approve(
    _lock: &ReviewLock,
    ws: &Workspace,
    id: &str,
    by: &str,
    note: Option<&str>,
) -> Result<Option<Report>> {
    let from = layout::settled_path(ws, &TaskState::Review, id);
    let Some(task) = read_if_there(&from)? else {
        return Ok(None);
    };
    let mut report = stored_report(&from, task.coord.review.as_deref())?;
    report.status = Status::Completed;
    report.approved_by = Some(by.to_string());
    report.approved_at = Some(host::now());
    if let Some(note) = note {
        report.review_note = Some(note.to_string());
    }
    let to = layout::settled_path(ws, &TaskState::Completed, id);
    let step = Step {
        from: &from,
        to: to.clone(),
        rewrite: None,
        report: Some(&report),
        event: Some(Event::now(
            Kind::Approved,
            id,
            Some(by),
            Some(report.attempt),
        )),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(Some(report)),
        Committed::SourceGone => Ok(None),
        Committed::DestinationExists => Err(commit::two_states(id, &to)),
    }
}

/// Rejects task `id` in review/: its attempt counts, the reason becomes the note the next
/// holder sees, and it goes back to pending/ (or to failed/, with a report, when that was its
/// last attempt). None if the task is not in review/. A rejection that a crash stopped after its
/// rewrite (the file in review/ carries the `rejected` entry and no report) is finished as it
/// was written, with its own reason.
pub fn reject(
    _lock: &ReviewLock,
    ws: &Workspace,
    id: &str,
    by: &str,
    reason: &str,
) -> Result<Option<Disposition>> {
    let from = layout::settled_path(ws, &TaskState::Review, id);
    let Some(mut task) = read_if_there(&from)? else {
        return Ok(None);
    };
    let interrupted = task.coord.review.is_none()
        && task
            .coord
            .history
            .last()
            .is_some_and(|h| h.outcome == Outcome::Rejected);
    let (entry, mut report) = match interrupted {
        true => {
            let entry = task.coord.history.last().cloned().expect("checked above");
            let report = Report::recorded(
                id,
                &entry.worker,
                Status::Failed,
                entry.attempt,
                Some(entry.reason.clone()),
            );
            (entry, report)
        }
        false => {
            let report = stored_report(&from, task.coord.review.as_deref())?;
            let now = host::now();
            let entry = HistoryEntry {
                attempt: task.attempt(),
                worker: report.worker_id.clone(),
                outcome: Outcome::Rejected,
                reason: format!("rejected by {by}: {reason}"),
                at: now,
                counted: true,
            };
            task.coord.history.push(entry.clone());
            task.coord.last_note = Some(Note {
                worker: by.to_string(),
                attempt: entry.attempt,
                text: entry.reason.clone(),
                at: now,
            });
            (entry, report)
        }
    };
    task.coord.review = None;
    task.coord.claimed_at = None;
    task.coord.progress = None;
    task.ensure_order();
    let attempt = entry.attempt;
    let out_of_attempts = attempt >= task.spec.max_attempts();
    let (to, disposition, kind) = if out_of_attempts {
        report.status = Status::Failed;
        report.reason = Some(entry.reason.clone());
        let to = layout::settled_path(ws, &TaskState::Failed, id);
        (to, Disposition::DeadLettered, Kind::Failed)
    } else {
        (
            layout::pending_path(ws, &task),
            Disposition::Requeued,
            Kind::Rejected,
        )
    };
    let step = Step {
        from: &from,
        to: to.clone(),
        rewrite: Some(&task),
        report: out_of_attempts.then_some(&report),
        event: Some(Event::now(kind, id, Some(by), Some(attempt))),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(Some(disposition)),
        Committed::SourceGone => Ok(None),
        Committed::DestinationExists => Err(commit::two_states(id, &to)),
    }
}
