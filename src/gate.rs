//! Which pending tasks a worker may claim now: routing labels, not-before times, pause, and
//! no two workers on the same files.
//!
//! The checks read a pending file before the claiming rename, once per file and worker (a
//! task sent back to pending/ is a new file, recognised by its inode and modification time). File exclusivity is checked again after
//! the claim, under `.coord/files.lock`, against every task other workers hold
//! ([`held_elsewhere`]); the claim pipeline puts back a claim that lost that race.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::store;
use crate::task::TaskFile;
use crate::workspace::Workspace;

/// The name of the pause flag inside pending/: hidden, so never claimed, and in the folder
/// every worker watches, so its coming and going wakes them.
pub const PAUSE_FLAG: &str = ".paused";

/// Whether the workspace is paused (`coord pause`): no worker claims anything.
pub fn paused(ws: &Workspace) -> bool {
    ws.pending().join(PAUSE_FLAG).exists()
}

/// What a pending task asks of the worker that claims it.
#[derive(Debug, Clone)]
struct Facts {
    /// The file's inode and change time: a task sent back to pending/ is a new arrival under the
    /// same name.
    identity: (u64, i64, i64),
    requires: Vec<String>,
    ready_at: Option<jiff::Timestamp>,
    files: Option<Vec<String>>,
}

impl Facts {
    fn of(task: &TaskFile, identity: (u64, i64, i64)) -> Facts {
        // When the file arrived in pending/, by the file system's clock: its change time.
        let arrived = jiff::Timestamp::new(identity.1, identity.2 as i32).ok();
        Facts {
            identity,
            requires: task.spec.requires.clone(),
            ready_at: task.ready_at(arrived),
            files: task.exclusive_files().then(|| files_of(task)),
        }
    }
}

fn files_of(task: &TaskFile) -> Vec<String> {
    task.spec
        .target_files
        .iter()
        .chain(&task.spec.output_files)
        .map(|p| normalize(p))
        .collect()
}

/// A project path with `.` parts and repeated or trailing slashes removed.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether two sets of project paths touch a common file: equal paths, or one a folder holding
/// the other.
pub fn overlap<'a>(a: &'a [String], b: &'a [String]) -> Option<(&'a str, &'a str)> {
    let within = |inner: &str, outer: &str| {
        inner == outer || (inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'/')
    };
    a.iter().find_map(|x| {
        b.iter()
            .find(|y| within(x, y) || within(y, x))
            .map(|y| (x.as_str(), y.as_str()))
    })
}

/// One worker's view of what it may claim.
#[derive(Debug)]
pub struct Gate {
    worker: String,
    labels: HashSet<String>,
    facts: HashMap<PathBuf, Facts>,
    held: HashMap<PathBuf, Option<Vec<String>>>,
    held_fresh: bool,
    next_due: Option<jiff::Timestamp>,
}

impl Gate {
    /// A gate for `worker`, which has these labels.
    pub fn new(worker: &str, labels: &[String]) -> Gate {
        Gate {
            worker: worker.to_string(),
            labels: labels.iter().cloned().collect(),
            facts: HashMap::new(),
            held: HashMap::new(),
            held_fresh: false,
            next_due: None,
        }
    }

    /// The earliest time a task skipped for its not-before time becomes claimable; cleared by
    /// [`Gate::start_pass`].
    pub fn next_due(&self) -> Option<jiff::Timestamp> {
        self.next_due
    }

    /// Starts a claiming pass: forgets the earliest due time and which files other workers
    /// held (read again when a task with exclusive files is met).
    pub fn start_pass(&mut self) {
        self.next_due = None;
        self.held_fresh = false;
    }

    /// Reads which files the tasks other workers hold touch (each held file read once).
    fn read_held(&mut self, ws: &Workspace) -> Result<()> {
        let mut seen = HashMap::new();
        for w in store::assigned_workers(ws)? {
            if w == self.worker {
                continue;
            }
            for name in store::list_files(&ws.assigned(&w))? {
                let path = ws.assigned(&w).join(name);
                let files = match self.held.remove(&path) {
                    Some(files) => files,
                    None => crate::task::read(&path)
                        .ok()
                        .and_then(|t| t.exclusive_files().then(|| files_of(&t))),
                };
                seen.insert(path, files);
            }
        }
        self.held = seen;
        self.held_fresh = true;
        Ok(())
    }

    /// Whether this worker may claim the pending file at `path` now. A file that cannot be read
    /// is admitted, so that the claim sets it aside with its reason.
    pub fn admits(&mut self, ws: &Workspace, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Ok(identity) =
            std::fs::symlink_metadata(path).map(|m| (m.ino(), m.ctime(), m.ctime_nsec()))
        else {
            return true;
        };
        let facts = match self.facts.get(path) {
            Some(f) if f.identity == identity => f.clone(),
            _ => {
                let Ok(task) = crate::task::read(path) else {
                    return true;
                };
                let f = Facts::of(&task, identity);
                self.facts.insert(path.to_path_buf(), f.clone());
                f
            }
        };
        if !facts.requires.iter().all(|l| self.labels.contains(l)) {
            return false;
        }
        if let Some(at) = facts.ready_at
            && at > jiff::Timestamp::now()
        {
            self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
            return false;
        }
        match &facts.files {
            Some(files) => {
                // Unreadable folders admit the task; the check after the claim decides.
                if !self.held_fresh && self.read_held(ws).is_err() {
                    return true;
                }
                !self
                    .held
                    .values()
                    .flatten()
                    .any(|other| overlap(files, other).is_some())
            }
            None => true,
        }
    }

    /// Forgets what it read about pending files that are gone (bounded memory on long runs).
    pub fn forget_missing(&mut self) {
        self.facts.retain(|p, _| p.exists());
    }
}

/// Which task another worker holds that touches one of `task`'s files, if any: its path and
/// the shared file. The claim pipeline asks this under the files lock, right after a claim.
pub fn held_elsewhere(
    ws: &Workspace,
    worker: &str,
    task: &TaskFile,
) -> Result<Option<(PathBuf, String)>> {
    let mine = files_of(task);
    for w in store::assigned_workers(ws)? {
        if w == worker {
            continue;
        }
        for name in store::list_files(&ws.assigned(&w))? {
            let path = ws.assigned(&w).join(name);
            let Ok(other) = crate::task::read(&path) else {
                continue;
            };
            if !other.exclusive_files() {
                continue;
            }
            if let Some((_, file)) = overlap(&mine, &files_of(&other)) {
                return Ok(Some((path.clone(), file.to_string())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| normalize(p)).collect()
    }

    #[test]
    fn overlap_is_the_same_file_or_a_folder_holding_it() {
        let a = paths(&["src/main.rs", "docs/"]);
        assert!(overlap(&a, &paths(&["./src//main.rs"])).is_some());
        assert!(overlap(&a, &paths(&["docs/guide.md"])).is_some());
        assert!(overlap(&a, &paths(&["src"])).is_some());
        assert!(overlap(&a, &paths(&["src/main.rs.bak", "doc"])).is_none());
    }
}
