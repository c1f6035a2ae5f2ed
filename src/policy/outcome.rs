//! The one way a held task's claim ends, for the worker and the hand-off verbs alike: the move
//! under its holder's claims lock (complete, or submit for review; or fail, release, snooze),
//! then, once the lock is let go, its files and labels freed for the workers that skipped it
//! ([`gate::let_go`]) and its dependents moved on if it finished for good ([`depends::after`]).

use std::path::Path;

use crate::base::error::Result;
use crate::fs::workspace::Workspace;
use crate::model::report::Report;
use crate::model::task::TaskFile;
use crate::policy::depends;
use crate::policy::gate;
use crate::state::locks::ClaimsLock;
use crate::state::{self, Disposition, End};

/// Completes the held `task` at `held` with `report`, or submits it for review when it needs
/// one; then frees what it held and moves its dependents on.
pub fn complete(
    lock: ClaimsLock,
    ws: &Workspace,
    held: &Path,
    task: &TaskFile,
    report: &Report,
) -> Result<Disposition> {
    let disposition = match task.needs_review(ws.config().review) {
        true => state::submit(&lock, ws, held, report)?,
        false => state::complete(&lock, ws, held, report)?,
    };
    after(lock, ws, task, &disposition);
    Ok(disposition)
}

/// Ends the claim on the held `task` at `held` without completing it (`end` says how); then
/// frees what it held and moves its dependents on if it was dead-lettered.
pub fn end(
    lock: ClaimsLock,
    ws: &Workspace,
    held: &Path,
    task: &TaskFile,
    end: End,
) -> Result<Disposition> {
    let disposition = state::end_claim(&lock, ws, held, end)?;
    after(lock, ws, task, &disposition);
    Ok(disposition)
}

fn after(lock: ClaimsLock, ws: &Workspace, task: &TaskFile, disposition: &Disposition) {
    let worker = lock.worker().to_string();
    drop(lock);
    gate::let_go(ws, task);
    depends::after(ws, &task.spec.id, &worker, disposition);
}
