//! `coord wait`: block on file-system events until tasks are finished.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::base::error::{Error, Result};
use crate::fs::wake::Waker;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::policy::depends::{self, DepState};
use crate::state::store;

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// Every task waited for completed.
    Completed(Vec<String>),
    /// Every task finished, but these did not complete (dead-lettered, cancelled, or failed
    /// because of a dependency).
    SomeFailed {
        /// The tasks that completed.
        completed: Vec<String>,
        /// The tasks in failed/.
        failed: Vec<String>,
    },
    /// The time ran out; these had not finished.
    TimedOut(Vec<String>),
}

/// The ids of every task not finished yet: pending, blocked, held, waiting for an answer or for
/// review.
fn unfinished(ws: &Workspace) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    store::each_pending(ws, |_, file| {
        if let Some(id) = task::id_from_pending_name(file) {
            ids.insert(id.to_string());
        }
    })?;
    let mut folders = vec![ws.blocked(), ws.waiting(), ws.review()];
    folders.extend(store::assigned_workers(ws)?.iter().map(|w| ws.assigned(w)));
    for folder in folders {
        for name in store::list_files(&folder)? {
            if let Some(id) = name.strip_suffix(".json") {
                ids.insert(id.to_string());
            }
        }
    }
    Ok(ids)
}

/// Waits until every task in `ids` has finished (or, when `ids` is empty, until nothing is
/// pending, blocked, held, waiting or in review, tasks queued meanwhile included), or `timeout`
/// passes. Woken by file-system events on the state folders; where events cannot be had, it
/// looks once a second. `progress` hears how many have finished of how many, at every look.
pub fn wait(
    ws: &Workspace,
    ids: &[String],
    timeout: Option<Duration>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Waited> {
    for id in ids {
        if store::locate(ws, id)?.is_none() {
            return Err(Error::UnknownTask { id: id.clone() });
        }
    }
    let assigned = ws.assigned_root();
    let watched = [
        (ws.completed(), false),
        (ws.failed(), false),
        (ws.pending(), false),
        (ws.blocked(), false),
        (ws.waiting(), false),
        (ws.review(), false),
        (assigned, true),
    ];
    let dirs: Vec<(&std::path::Path, bool)> =
        watched.iter().map(|(p, r)| (p.as_path(), *r)).collect();
    let mut waker = Waker::for_views(ws, &dirs);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut tracked: BTreeSet<String> = ids.iter().cloned().collect();
    loop {
        if ids.is_empty() {
            tracked.extend(unfinished(ws)?);
        }
        // A task that waits for a dependency that is in no state can never finish: it counts
        // as not completed rather than keeping the wait open forever.
        let open: Vec<String> = tracked
            .iter()
            .filter(|id| {
                depends::dep_state(ws, id) == DepState::Waiting && !depends::never_runs(ws, id)
            })
            .cloned()
            .collect();
        progress(tracked.len() - open.len(), tracked.len());
        if open.is_empty() {
            let (completed, failed): (Vec<String>, Vec<String>) = tracked
                .into_iter()
                .partition(|id| depends::dep_state(ws, id) == DepState::Completed);
            return Ok(match failed.is_empty() {
                true => Waited::Completed(completed),
                false => Waited::SomeFailed { completed, failed },
            });
        }
        if let Some(d) = deadline
            && Instant::now() >= d
        {
            return Ok(Waited::TimedOut(open));
        }
        waker.next_change(deadline);
    }
}
