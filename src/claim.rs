//! Claiming: the sorted listing of pending/ a worker keeps, and the one rename that claims.
//!
//! A claim is `rename(pending/<order>.<id>.json, assigned/<worker>/<id>.json)`. Of several
//! workers renaming the same file, exactly one succeeds; the others get ENOENT and try the next
//! name. The listing is a hint refreshed on events and on a miss, never the truth.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::durable::{self, MoveError};
use crate::error::{Error, Result};
use crate::store;
use crate::task::{self, TaskFile};
use crate::workspace::Workspace;

/// The names in pending/, in claim order (priority, then queue time).
#[derive(Debug)]
pub struct PendingIndex {
    dir: PathBuf,
    names: BTreeSet<Box<str>>,
}

impl PendingIndex {
    /// An empty index over `ws`'s pending/ folder; call [`PendingIndex::refresh`] to fill it.
    pub fn new(ws: &Workspace) -> Self {
        PendingIndex {
            dir: ws.pending(),
            names: BTreeSet::new(),
        }
    }

    /// Re-reads pending/ in full, replacing what the index held.
    pub fn refresh(&mut self) -> Result<()> {
        self.names = store::list_files(&self.dir)?
            .into_iter()
            .map(String::into_boxed_str)
            .collect();
        Ok(())
    }

    /// Adds one name reported by a file-system event (ignored names are dropped).
    pub fn insert(&mut self, name: &str) {
        if !task::is_ignored_name(name) {
            self.names.insert(name.into());
        }
    }

    /// Whether the index holds no name.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many names the index holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    fn pop(&mut self) -> Option<Box<str>> {
        self.names.pop_first()
    }
}

/// A task this worker now holds.
#[derive(Debug, Clone)]
pub struct ClaimedTask {
    /// The task file as read after the claim.
    pub task: TaskFile,
    /// Its path: `assigned/<worker>/<id>.json`.
    pub path: PathBuf,
    /// The attempt this claim runs as.
    pub attempt: u32,
}

/// What one claim turned up.
#[derive(Debug)]
pub enum Claimed {
    /// A valid task, now held by the worker.
    Task(Box<ClaimedTask>),
    /// A file that was not a valid task; it was moved to failed/ with a report.
    Invalid {
        /// The file's name in pending/.
        name: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Decides, before claiming, whether this worker wants a pending file.
pub type Filter<'a> = &'a mut dyn FnMut(&Path) -> bool;

/// Claims the first task of the index that this worker can take, or returns None when the index
/// runs out. Invalid files met on the way are moved aside and returned as [`Claimed::Invalid`].
pub fn claim_next(
    ws: &Workspace,
    worker: &str,
    index: &mut PendingIndex,
    filter: Option<Filter<'_>>,
) -> Result<Option<Claimed>> {
    let mut filter = filter;
    while let Some(name) = index.pop() {
        let src = ws.pending().join(&*name);
        if let Some(f) = filter.as_mut()
            && !f(&src)
        {
            continue;
        }
        let held_name = match task::id_from_pending_name(&name) {
            Some(id) => format!("{id}.json"),
            None => name.to_string(),
        };
        let dst = ws.assigned(worker).join(&held_name);
        match durable::move_noreplace(&src, &dst) {
            Ok(()) => {}
            Err(MoveError::SourceGone) => continue,
            Err(MoveError::DestinationExists) => {
                return Err(Error::io(
                    "claim",
                    &src,
                    std::io::Error::other(format!(
                        "{} already exists: the task is held twice; run `coord status`",
                        dst.display()
                    )),
                ));
            }
            Err(MoveError::Other(e)) => {
                if e.raw_os_error() == Some(libc::ENOENT) {
                    continue;
                }
                return Err(Error::io("claim", &src, e));
            }
        }
        let claimed = settle(ws, worker, &name, dst)?;
        if let Claimed::Task(t) = &claimed
            && !t.task.spec.depends_on.is_empty()
            && crate::depends::readiness(ws, &t.task.spec.depends_on) != Ok(true)
        {
            defer(ws, t)?;
            continue;
        }
        if let Claimed::Task(t) = &claimed {
            crate::events::one(
                ws,
                "claimed",
                &t.task.spec.id,
                Some(worker),
                Some(t.attempt),
            );
        }
        return Ok(Some(claimed));
    }
    Ok(None)
}

/// Puts a claimed task whose dependencies have not all completed (a file dropped into pending/
/// by hand) in blocked/, where the completion of its last dependency will find it.
fn defer(ws: &Workspace, claimed: &ClaimedTask) -> Result<()> {
    let mut task = claimed.task.clone();
    task.ensure_order();
    let tmp = durable::write_tmp(&ws.tmp(), "task", &task.to_bytes(), ws.durability())?;
    durable::replace(&tmp, &claimed.path)?;
    let dst = ws.blocked().join(format!("{}.json", task.spec.id));
    match durable::move_noreplace(&claimed.path, &dst) {
        Ok(()) => {}
        Err(MoveError::Other(e)) => return Err(Error::io("move", &claimed.path, e)),
        Err(_) => {
            return Err(Error::io(
                "move",
                &claimed.path,
                std::io::Error::other(format!("{} already exists", dst.display())),
            ));
        }
    }
    tracing::info!(
        "{} waits for the tasks it depends on: moved to blocked/",
        task.spec.id
    );
    let mut moved = crate::depends::Moved::default();
    crate::depends::settle(ws, &dst, &task, "coord", &mut moved)?;
    Ok(())
}

/// Reads a freshly claimed file; a file that is not a valid task is set aside.
fn settle(ws: &Workspace, worker: &str, name: &str, held: PathBuf) -> Result<Claimed> {
    let bytes = match durable::read_limited(&held, task::MAX_TASK_BYTES) {
        Ok(b) => b,
        Err(e) => return crate::finish::quarantine(ws, worker, name, &held, &e.to_string()),
    };
    let task = match TaskFile::parse(&bytes) {
        Ok(t) => t,
        Err(reason) => return crate::finish::quarantine(ws, worker, name, &held, &reason),
    };
    let path = match task::id_from_pending_name(name) {
        Some(id) if id == task.spec.id => held,
        Some(id) => {
            let reason = format!("its name says task {id} but it holds task {}", task.spec.id);
            return crate::finish::quarantine(ws, worker, name, &held, &reason);
        }
        None => {
            // A file dropped into pending/ by hand: give it its id's name if the id is free.
            let dst = ws.assigned(worker).join(format!("{}.json", task.spec.id));
            let mut workers = store::assigned_workers(ws)?;
            if held == dst {
                // Already under its id's name: the copy in this worker's folder is this file.
                workers.retain(|w| w != worker);
            }
            if let Some((state, _)) = store::locate_settled(ws, &workers, &task.spec.id) {
                let reason = format!("task id {} is already used ({state})", task.spec.id);
                return crate::finish::quarantine(ws, worker, name, &held, &reason);
            }
            if held != dst && durable::move_noreplace(&held, &dst).is_err() {
                let reason = format!("task id {} is already used", task.spec.id);
                return crate::finish::quarantine(ws, worker, name, &held, &reason);
            }
            dst
        }
    };
    let attempt = task.attempt();
    Ok(Claimed::Task(Box::new(ClaimedTask {
        task,
        path,
        attempt,
    })))
}
