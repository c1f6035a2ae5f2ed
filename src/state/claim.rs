//! Moves around a claim: take a pending task, put it back, park it in blocked/, give a
//! hand-dropped file its id's name, or set aside a file that is not a valid task.

use std::path::{Path, PathBuf};

use super::commit::{self, Committed, Step};
use super::layout;
use super::locks::ClaimsLock;
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::doorbell;
use crate::fs::durable::{self, MoveError};
use crate::fs::workspace::Workspace;
use crate::model::report::{Report, Status};
use crate::model::task::{self, TaskFile};

/// What a claiming rename did.
#[derive(Debug)]
pub enum Taken {
    /// The file is now in the worker's claims folder, at this path.
    Held(PathBuf),
    /// Another process took (or moved) it first.
    Gone,
}

/// Claims `pending/<name>` for `worker`: one no-replace rename into `assigned/<worker>/`, under
/// no lock (of several processes renaming one name, exactly one succeeds). A coord-written
/// name becomes `<id>.json`; a hand-dropped file keeps its name until it has been read.
pub fn take(ws: &Workspace, worker: &str, name: &str) -> Result<Taken> {
    let src = ws.pending().join(name);
    let held_name = match task::id_from_pending_name(name) {
        Some(id) => layout::file_name(id),
        None => task::pending_file_name(name).to_string(),
    };
    let dst = ws.assigned(worker).join(&held_name);
    match durable::move_noreplace(&src, &dst) {
        Ok(()) => Ok(Taken::Held(dst)),
        Err(MoveError::SourceGone) => Ok(Taken::Gone),
        Err(MoveError::DestinationExists) => Err(commit::two_states(&held_name, &dst)),
        Err(MoveError::Other(e)) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Taken::Gone),
        Err(MoveError::Other(e)) => Err(Error::io("claim", &src, e)),
    }
}

/// Removes a batch folder of pending/ once it is empty, under no lock: `rmdir` fails while
/// any file is in it, and no move adds a file to a published batch folder.
pub fn remove_emptied_batch(ws: &Workspace, batch: &str) {
    if task::is_batch_name(batch) {
        let _ = std::fs::remove_dir(ws.pending().join(batch));
    }
}

/// Gives a folder of pending/ that is not named as a batch folder (renamed by hand) a batch
/// folder's name again, from the order of `first`, the first task file in it: one no-replace
/// rename of the whole folder, under no lock (nothing else moves a folder coord does not read).
/// Returns the new name.
pub fn restore_batch(ws: &Workspace, folder: &str, first: &str) -> Result<String> {
    let order = &first[..task::ORDER_LEN.min(first.len())];
    let name = task::batch_name(order, host::random_u64());
    let from = ws.pending().join(folder);
    match durable::move_noreplace(&from, &ws.pending().join(&name)) {
        Ok(()) => {
            durable::sync_dir(&ws.pending(), ws.durability())?;
            doorbell::ring(ws);
            Ok(name)
        }
        Err(MoveError::Other(e)) => Err(Error::io("move", from, e)),
        Err(_) => Err(Error::io(
            "move",
            from,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "moved meanwhile"),
        )),
    }
}

/// Gives a claimed, hand-dropped file (any name) its id's name in the worker's folder; false if
/// that name is taken. Under the worker's claims lock.
pub fn rename_to_id(lock: &ClaimsLock, ws: &Workspace, held: &Path, id: &str) -> Result<bool> {
    let dst = ws.assigned(lock.worker()).join(layout::file_name(id));
    match durable::move_noreplace(held, &dst) {
        Ok(()) => Ok(true),
        Err(MoveError::Other(e)) => Err(Error::io("move", held, e)),
        Err(_) => Ok(false),
    }
}

/// Renames a claimed task, untouched, back under its pending name (another worker holds a task
/// on the same files). Under the worker's claims lock (and the files lock).
pub fn put_back(lock: &ClaimsLock, ws: &Workspace, held: &Path, task: &TaskFile) -> Result<()> {
    debug_assert!(lock.covers(ws, held));
    let back = layout::pending_path(ws, task);
    let step = Step {
        from: held,
        to: back.clone(),
        rewrite: None,
        report: None,
        event: None,
    };
    match commit::commit(ws, step)? {
        Committed::Moved | Committed::SourceGone => Ok(()),
        Committed::DestinationExists => Err(commit::two_states(&task.spec.id, &back)),
    }
}

/// Parks a claimed task whose dependencies have not all completed (a file dropped into pending/
/// by hand) in blocked/, with an ordering key. Under the worker's claims lock. Returns its path.
pub fn defer(lock: &ClaimsLock, ws: &Workspace, held: &Path, task: &TaskFile) -> Result<PathBuf> {
    debug_assert!(lock.covers(ws, held));
    let mut task = task.clone();
    task.ensure_order();
    let dst = layout::settled_path(ws, &super::TaskState::Blocked, &task.spec.id);
    super::mark_waiting(ws, &task)?;
    let step = Step {
        from: held,
        to: dst.clone(),
        rewrite: Some(&task),
        report: None,
        event: None,
    };
    match commit::commit(ws, step)? {
        Committed::Moved | Committed::SourceGone => Ok(dst),
        Committed::DestinationExists => Err(commit::two_states(&task.spec.id, &dst)),
    }
}

/// The longest stem a set-aside file keeps, so `<stem>.invalid-NN` fits a file name.
const MAX_STEM: usize = 200;

/// Moves a claimed file that is not a valid task to `failed/<name>.invalid` (numbered if taken),
/// byte for byte, with a report saying why. Under the worker's claims lock. Returns the name
/// it got, or None if the file was gone.
pub fn set_aside(
    lock: &ClaimsLock,
    ws: &Workspace,
    name: &str,
    held: &Path,
    reason: &str,
) -> Result<Option<String>> {
    debug_assert!(lock.covers(ws, held));
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = safe
        .strip_suffix(".json")
        .unwrap_or(&safe)
        .trim_start_matches('.');
    let stem: String = stem.chars().take(MAX_STEM).collect();
    let stem = if stem.is_empty() { "unnamed" } else { &stem };
    for n in 0.. {
        let candidate = match n {
            0 => format!("{stem}.invalid"),
            n => format!("{stem}.invalid-{n}"),
        };
        let text =
            format!("{name} is not a valid task: {reason}; it is kept as failed/{candidate}");
        let report = Report::recorded(&candidate, lock.worker(), Status::Invalid, 0, Some(text));
        let step = Step {
            from: held,
            to: ws.failed().join(&candidate),
            rewrite: None,
            report: Some(&report),
            event: None,
        };
        match commit::commit(ws, step)? {
            Committed::Moved => return Ok(Some(candidate)),
            Committed::SourceGone => return Ok(None),
            Committed::DestinationExists => {}
        }
    }
    unreachable!("some numbered name is free")
}
