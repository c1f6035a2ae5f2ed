//! Queuing: a batch of new tasks, each written whole under a temp name, made durable, then
//! moved into pending/ (or blocked/) without replacing anything.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::layout;
use super::locks::Held;
use crate::durable;
use crate::error::{Error, Problem, Result};
use crate::events::{self, Event, Kind};
use crate::task::{self, TaskFile};
use crate::workspace::Workspace;

/// Above this many tasks, one `syncfs` replaces an fsync per file.
const SYNCFS_THRESHOLD: usize = 8;

/// One new task of a batch and where it goes.
#[derive(Debug)]
pub struct Staged<'a> {
    /// The task, with its ordering key.
    pub task: &'a TaskFile,
    /// Into blocked/ (it waits for its dependencies) rather than pending/.
    pub blocked: bool,
}

/// How far a batch has gone: tasks written whole to tmp/, then published; read by a view while
/// the batch is queued.
#[derive(Debug, Default)]
pub struct Progress {
    /// Tasks written to temp files.
    pub written: AtomicUsize,
    /// Tasks renamed into pending/ or blocked/.
    pub published: AtomicUsize,
}

/// Publishes a batch under the queue lock and returns each task's new path, in batch order. On
/// an error, the tasks already published stay queued, whole, and the rest leave nothing behind,
/// so queuing the same input again adds exactly them.
pub fn publish_batch(
    _queue: &Held,
    ws: &Workspace,
    batch: &[Staged<'_>],
    progress: &Progress,
) -> Result<Vec<PathBuf>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let durability = ws.durability();
    let one_sync = durability.fsync && batch.len() > SYNCFS_THRESHOLD;
    let tmp = durable::Dir::open(&ws.tmp())?;
    let pending = durable::Dir::open(&ws.pending())?;
    let blocked = match batch.iter().any(|s| s.blocked) {
        true => Some(durable::Dir::open(&ws.blocked())?),
        false => None,
    };
    // A blocked task's markers go first, so whoever finishes a dependency meanwhile finds it
    // (or `coord queue`'s second look sees the finished dependency).
    for s in batch.iter().filter(|s| s.blocked) {
        super::mark_waiting(ws, s.task)?;
    }
    let mut staged: Vec<(String, String)> = Vec::with_capacity(batch.len());
    let cleanup = |staged: &[(String, String)]| -> Result<()> {
        staged.iter().try_for_each(|(name, _)| tmp.remove(name))
    };
    for s in batch {
        let bytes = s.task.to_bytes();
        if bytes.len() as u64 > task::MAX_TASK_BYTES {
            cleanup(&staged)?;
            return Err(Error::InvalidTasks {
                problems: vec![Problem {
                    position: "task".into(),
                    id: Some(s.task.spec.id.clone()),
                    message: format!("larger than the {}-byte task limit", task::MAX_TASK_BYTES),
                }],
            });
        }
        let name = durable::unique_tmp_name("task");
        if let Err(e) = tmp.create_new(&name, &bytes, durability.fsync && !one_sync) {
            cleanup(&staged)?;
            return Err(e);
        }
        let dst = match s.blocked {
            true => layout::file_name(&s.task.spec.id),
            false => s.task.pending_name(),
        };
        staged.push((name, dst));
        progress.written.fetch_add(1, Ordering::Relaxed);
    }
    if one_sync && !durable::sync_filesystem(tmp.path())? {
        for (name, _) in &staged {
            durable::sync_file(&tmp.path().join(name))?;
        }
    }
    let mut paths = Vec::with_capacity(batch.len());
    for (i, ((name, dst), s)) in staged.iter().zip(batch).enumerate() {
        let folder = match (&blocked, s.blocked) {
            (Some(b), true) => b,
            _ => &pending,
        };
        let moved = tmp.move_new(name, folder, dst);
        if !matches!(moved, Ok(true)) {
            cleanup(&staged[i..])?;
            return Err(match moved {
                Err(e) => e,
                _ => Error::Conflict {
                    conflicts: vec![format!(
                        "{}: a file named {dst} is already in {}",
                        s.task.spec.id,
                        folder.path().display()
                    )],
                },
            });
        }
        paths.push(folder.path().join(dst));
        progress.published.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(b) = &blocked {
        b.sync(durability.fsync)?;
    }
    pending.sync(durability.fsync)?;
    let stamp = crate::host::now();
    let journal: Vec<Event> = batch
        .iter()
        .map(|s| Event {
            at: stamp,
            event: if s.blocked {
                Kind::Blocked
            } else {
                Kind::Queued
            },
            task: s.task.spec.id.clone(),
            worker: None,
            attempt: None,
        })
        .collect();
    events::record(ws, &journal);
    Ok(paths)
}
