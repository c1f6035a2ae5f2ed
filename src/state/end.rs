//! Ending a claim: complete, fail (retry or dead-letter), release, recover; and rewriting a held
//! task in place. Every function here needs the holder's claims lock, and moves from the exact
//! path in `assigned/<worker>/`, so a task taken away can no longer be ended by its old holder.

use std::path::Path;

use super::commit::{self, Committed, Step};
use super::locks::ClaimsLock;
use super::{Disposition, TaskState, layout};
use crate::base::error::Result;
use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task::{HistoryEntry, Outcome, TaskFile};
use crate::state::events::{Event, Kind};

/// Records a completed attempt: moves the task from `held` to completed/ and publishes its
/// report. A copy that finds completed/ already holding the task is removed, so the outcome is
/// recorded once.
pub fn complete(
    lock: &ClaimsLock,
    ws: &Workspace,
    held: &Path,
    report: &Report,
) -> Result<Disposition> {
    debug_assert!(lock.covers(ws, held));
    let step = Step {
        from: held,
        to: layout::settled_path(ws, &TaskState::Completed, &report.task_id),
        rewrite: None,
        report: Some(report),
        event: Some(Event::now(
            Kind::Completed,
            &report.task_id,
            Some(&report.worker_id),
            Some(report.attempt),
        )),
    };
    Ok(match commit::commit(ws, step)? {
        Committed::Moved => Disposition::Completed,
        Committed::SourceGone => Disposition::Fenced,
        Committed::DestinationExists => {
            durable::remove_if_exists(held)?;
            Disposition::AlreadyCompleted
        }
    })
}

/// How a claim ends without completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// The attempt failed: retried while attempts remain (and `retry` is set), else dead-lettered.
    Failed {
        /// Whether another attempt may follow.
        retry: bool,
    },
    /// Handed back untouched: no attempt used.
    Released,
    /// The holder is gone: the attempt counts, and the task is retried at once.
    Lost,
}

/// A claim's end, with the words and the report to keep.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    /// How it ends.
    pub kind: EndKind,
    /// Why, for the history entry.
    pub reason: &'a str,
    /// The report to publish if the task is dead-lettered (one saying the holder was lost is
    /// written when none is given).
    pub report: Option<&'a Report>,
    /// For a release: not claimable before this time (a snooze).
    pub snooze_until: Option<jiff::Timestamp>,
}

/// Appends a history entry to the held task and moves it on: to pending/ (retry or release), or
/// to failed/ when a counted claim used the last attempt.
pub fn end_claim(
    lock: &ClaimsLock,
    ws: &Workspace,
    held: &Path,
    end: End<'_>,
) -> Result<Disposition> {
    debug_assert!(lock.covers(ws, held));
    let worker = lock.worker();
    let Some(mut task) = super::read_if_there(held)? else {
        return Ok(Disposition::Fenced);
    };
    let attempt = task.attempt();
    let (outcome, counted, retry) = match end.kind {
        EndKind::Failed { retry } => (Outcome::Failed, true, retry),
        EndKind::Released => (Outcome::Released, false, true),
        EndKind::Lost => (Outcome::Lost, true, true),
    };
    let now = host::now();
    task.coord.history.push(HistoryEntry {
        attempt,
        worker: worker.to_string(),
        outcome,
        reason: end.reason.to_string(),
        at: now,
        counted,
    });
    task.coord.claimed_at = None;
    task.coord.progress = None;
    // A completion cut short before its move to review/ left its report here; it is void now.
    task.coord.review = None;
    task.coord.snoozed_until = end.snooze_until;
    task.coord.retry_at = None;
    task.coord.retry_delay_ms = match outcome {
        Outcome::Failed => task.backoff_ms(attempt + 1),
        _ => None,
    };
    task.ensure_order();
    let out_of_attempts = counted && (!retry || attempt >= task.spec.max_attempts());
    let lost;
    let (to, disposition, report, kind) = if out_of_attempts {
        let report = match end.report {
            Some(r) => r,
            None => {
                lost = lost_report(ws, &task, worker, attempt, end.reason);
                &lost
            }
        };
        let to = layout::settled_path(ws, &TaskState::Failed, &task.spec.id);
        (to, Disposition::DeadLettered, Some(report), Kind::Failed)
    } else {
        let (d, kind) = match end.kind {
            EndKind::Released => (Disposition::Released, Kind::Released),
            EndKind::Lost => (Disposition::Requeued, Kind::Recovered),
            EndKind::Failed { .. } => (Disposition::Requeued, Kind::Requeued),
        };
        (layout::pending_path(ws, &task), d, None, kind)
    };
    let step = Step {
        from: held,
        to: to.clone(),
        rewrite: Some(&task),
        report,
        event: Some(Event::now(kind, &task.spec.id, Some(worker), Some(attempt))),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(disposition),
        Committed::SourceGone => Ok(Disposition::Fenced),
        Committed::DestinationExists => Err(commit::two_states(&task.spec.id, &to)),
    }
}

fn lost_report(
    ws: &Workspace,
    task: &TaskFile,
    worker: &str,
    attempt: u32,
    reason: &str,
) -> Report {
    let mut report = Report::recorded(
        &task.spec.id,
        worker,
        Status::Failed,
        attempt,
        Some(reason.to_string()),
    );
    report.missing = task.spec.output_files.clone();
    report.log = Some(
        layout::task_log_path(ws, &task.spec.id, attempt)
            .display()
            .to_string(),
    );
    report
}

/// Writes new content over a task the worker holds (a claim time, a note), leaving it where it
/// is. False if the task is no longer there.
pub fn rewrite_held(
    lock: &ClaimsLock,
    ws: &Workspace,
    held: &Path,
    task: &TaskFile,
) -> Result<bool> {
    debug_assert!(lock.covers(ws, held));
    if !held.is_file() {
        return Ok(false);
    }
    commit::rewrite(ws, held, task)?;
    Ok(true)
}
