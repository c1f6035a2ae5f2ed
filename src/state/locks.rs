//! The locks moves take, each a `flock` on a file in the workspace, held by the guard returned.
//!
//! Order, to rule out deadlock: the queue lock, then workers' claims locks (several in id
//! order), then the review lock, then the finished lock, then the files lock. A process never takes a lock it
//! already holds (a second `flock` through a new descriptor would wait for itself).
//!
//! - `workers/<id>.lock` (claims lock): every move out of `assigned/<id>/`, every rewrite of
//!   a file there, and every move out of waiting/ of a task that worker asked about.
//! - `review.lock`: every move out of review/ (approve, reject, cancel, the doctor's repairs).
//! - `finished.lock`: every move out of completed/ and failed/ (retry, purge, doctor's repairs),
//!   and every commit into failed/ from the rename through the report's publication, so a retry
//!   never sends back a dead letter whose report is still on its way. (A commit into completed/
//!   takes no lock: its report is whole in tmp/ until it is published.)
//! - `files.lock`: the check, after a claim, that no other worker holds a task on the same files.
//! - `queue.lock`: `coord queue` calls, against each other.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::base::ids;
use crate::fs::durable;
use crate::fs::workspace::Workspace;

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Held {
    _file: File,
}

fn take(path: &Path) -> Result<Held> {
    let file = durable::open_append(path)?;
    file.lock().map_err(|e| Error::io("lock", path, e))?;
    Ok(Held { _file: file })
}

/// A worker's claims lock, proof that the holder may move that worker's claims.
#[derive(Debug)]
pub struct ClaimsLock {
    worker: String,
    _held: Held,
}

impl ClaimsLock {
    /// The worker whose claims this lock covers.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Whether `path` is in the claims folder this lock covers.
    pub fn covers(&self, ws: &Workspace, path: &Path) -> bool {
        path.parent() == Some(ws.assigned(&self.worker).as_path())
    }
}

/// The path of a worker's claims lock.
pub fn claims_path(ws: &Workspace, worker: &str) -> PathBuf {
    ws.workers().join(format!("{worker}.lock"))
}

/// Takes `worker`'s claims lock, waiting while another process changes that worker's claims.
/// The id must have been checked (it names a file).
pub fn claims(ws: &Workspace, worker: &str) -> Result<ClaimsLock> {
    ids::check_worker_id(worker)?;
    Ok(ClaimsLock {
        worker: worker.to_string(),
        _held: take(&claims_path(ws, worker))?,
    })
}

/// Takes the claims locks of several workers, in id order.
pub fn claims_of(ws: &Workspace, workers: &[String]) -> Result<Vec<ClaimsLock>> {
    let mut ids: Vec<&String> = workers.iter().collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(|w| claims(ws, w)).collect()
}

/// Proof that the review lock is held.
#[derive(Debug)]
pub struct ReviewLock {
    _held: Held,
}

/// Takes the review lock (`review.lock`).
pub fn review(ws: &Workspace) -> Result<ReviewLock> {
    Ok(ReviewLock {
        _held: take(&ws.root().join("review.lock"))?,
    })
}

/// Proof that the finished lock is held.
#[derive(Debug)]
pub struct FinishedLock {
    _held: Held,
}

/// Takes the finished lock (`finished.lock`).
pub fn finished(ws: &Workspace) -> Result<FinishedLock> {
    Ok(FinishedLock {
        _held: take(&ws.root().join("finished.lock"))?,
    })
}

/// Takes the files lock (`files.lock`).
pub fn files(ws: &Workspace) -> Result<Held> {
    take(&ws.root().join("files.lock"))
}

/// Takes the queue lock (`queue.lock`).
pub fn queue(ws: &Workspace) -> Result<Held> {
    take(&ws.queue_lock())
}
