//! Moves out of blocked/: on to pending/ when every dependency has completed, or to failed/ when
//! one never will. No lock: the no-replace rename from blocked/ lets exactly one of several
//! processes settling the same task move it.
//!
//! Beside the blocked tasks, `blocked/.waits/<bucket>/<dependency>+<dependent>` are empty
//! markers, written before a task enters blocked/: the process that finishes a task lists only
//! its bucket (one of 256, by a hash of its id) to find its dependents, so a completion reads no
//! blocked task but its own dependents, however many tasks are blocked.
//! Markers are hints: a missing one delays a dependent until the next full rescan
//! (`depends::settle_stuck`), a stale one names a task that is no longer there.

use std::path::{Path, PathBuf};

use super::commit::{self, Committed, Step};
use super::{TaskState, layout};
use crate::base::error::{Error, Result};
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task;
use crate::model::task::TaskFile;
use crate::state::events::{Event, Kind};

/// The bucket folder that holds the markers of the tasks waiting for `dependency`: one of 256,
/// chosen by a hash of the id, so a finisher lists a few names whatever blocked/ holds, and the
/// markers cost empty files, not a folder per dependency.
fn bucket(ws: &Workspace, dependency: &str) -> PathBuf {
    let hash = dependency.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    ws.blocked()
        .join(".waits")
        .join(format!("{:02x}", hash & 0xff))
}

/// The separator between the two ids of a marker's name; ids never hold it.
const SEP: char = '+';

/// Marks `task` as waiting for each of its dependencies; called before it enters blocked/.
pub fn mark_waiting(ws: &Workspace, task: &TaskFile) -> Result<()> {
    for dep in &task.spec.depends_on {
        let dir = bucket(ws, dep);
        let open = match durable::Dir::open(&dir) {
            Ok(d) => d,
            Err(_) => {
                durable::create_dir(&dir)?;
                durable::Dir::open(&dir)?
            }
        };
        open.create_marker(&format!("{dep}{SEP}{}", task.spec.id))?;
    }
    Ok(())
}

/// The markers in `dependency`'s bucket that name it, as (file name, waiting task id).
fn markers(ws: &Workspace, dependency: &str) -> Result<Vec<(String, String)>> {
    let dir = bucket(ws, dependency);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    Ok(entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let (dep, id) = name.split_once(SEP)?;
            (dep == dependency && task::check_id(id).is_ok())
                .then(|| (name.clone(), id.to_string()))
        })
        .collect())
}

/// The ids of the tasks marked as waiting for `dependency`.
pub fn waiting_on(ws: &Workspace, dependency: &str) -> Result<Vec<String>> {
    Ok(markers(ws, dependency)?
        .into_iter()
        .map(|(_, id)| id)
        .collect())
}

/// Removes the markers of the tasks that waited for `dependency`, once it has finished and they
/// have been settled. (A marker written after the finisher looked belongs to a task whose queuer
/// looks at the finished dependency itself.)
pub fn clear_waiting(ws: &Workspace, dependency: &str) -> Result<()> {
    let found = markers(ws, dependency)?;
    if found.is_empty() {
        return Ok(());
    }
    let dir = durable::Dir::open(&bucket(ws, dependency))?;
    for (name, _) in found {
        dir.remove(&name)?;
    }
    Ok(())
}

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
