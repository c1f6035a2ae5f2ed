//! Moves out of blocked/: on to pending/ when every dependency has completed, or to failed/ when
//! one never will. No lock: the no-replace rename from blocked/ lets exactly one of several
//! processes settling the same task move it.

use std::path::Path;

use super::commit::{self, Committed, Step};
use super::{TaskState, layout};
use crate::error::Result;
use crate::events::{Event, Kind};
use crate::report::{Report, Status};
use crate::task::TaskFile;
use crate::workspace::Workspace;

/// Moves a blocked task to pending/; false if another process moved it first.
pub fn unblock(ws: &Workspace, path: &Path, task: &TaskFile) -> Result<bool> {
    let to = layout::pending_path(ws, task);
    let step = Step {
        from: path,
        to: to.clone(),
        rewrite: None,
        report: None,
        event: Some(Event::now(Kind::Unblocked, &task.spec.id, None, None)),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(true),
        Committed::SourceGone => Ok(false),
        Committed::DestinationExists => Err(commit::two_states(&task.spec.id, &to)),
    }
}

/// Moves a blocked task to failed/ with a report giving `reason`; false if another process moved
/// it first.
pub fn fail_dependent(
    ws: &Workspace,
    path: &Path,
    task: &TaskFile,
    by: &str,
    reason: String,
) -> Result<bool> {
    let id = &task.spec.id;
    let report = Report::recorded(id, by, Status::Failed, 0, Some(reason));
    let to = layout::settled_path(ws, &TaskState::Failed, id);
    let step = Step {
        from: path,
        to: to.clone(),
        rewrite: None,
        report: Some(&report),
        event: Some(Event::now(Kind::Failed, id, None, None)),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(true),
        Committed::SourceGone => Ok(false),
        Committed::DestinationExists => Err(commit::two_states(id, &to)),
    }
}
