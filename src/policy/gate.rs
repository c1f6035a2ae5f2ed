//! Which pending tasks a worker may claim now: routing labels, not-before times, pause, no two
//! workers on the same files, and no more held tasks requiring a label than its limit.
//!
//! The checks read a pending file before the claiming rename, once per file and worker (a
//! task sent back to pending/ is a new file, recognised by its inode and modification time). File exclusivity is checked again after
//! the claim, under `.coord/files.lock`, against every task other workers hold
//! ([`held_elsewhere`]), and so are label limits ([`over_limit`]); the claim pipeline puts back
//! a claim that lost either race. A task in waiting/ (its holder asked a question) still holds
//! its files and counts towards its labels' limits, so an answer never brings one back over a
//! limit.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::base::error::Result;
use crate::base::time;
use crate::fs::doorbell;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::model::task::TaskFile;
use crate::policy::lease;
use crate::state::store;

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
    id: String,
    /// The worker that held it last, whose run of its command may still live.
    last_holder: Option<String>,
    requires: Vec<String>,
    ready_at: Option<jiff::Timestamp>,
    files: Option<Files>,
}

impl Facts {
    fn of(task: &TaskFile, identity: (u64, i64, i64)) -> Facts {
        // When the file arrived in pending/, by the file system's clock: its change time.
        let arrived = jiff::Timestamp::new(identity.1, identity.2 as i32).ok();
        Facts {
            identity,
            id: task.spec.id.clone(),
            last_holder: task.coord.history.last().map(|h| h.worker.clone()),
            requires: task.spec.requires.clone(),
            ready_at: task.ready_at(arrived),
            files: task.exclusive_files().then(|| Files::of(task)),
        }
    }
}

/// The project files a task writes (`targetFiles`, `outputFiles`) and only reads (`readFiles`),
/// normalised.
#[derive(Debug, Clone)]
struct Files {
    writes: Vec<String>,
    reads: Vec<String>,
}

impl Files {
    fn of(task: &TaskFile) -> Files {
        let norm = |list: &[String]| list.iter().map(|p| normalize(p)).collect::<Vec<_>>();
        let mut writes = norm(&task.spec.target_files);
        writes.extend(norm(&task.spec.output_files));
        Files {
            writes,
            reads: norm(&task.spec.read_files),
        }
    }

    /// A file both touch where at least one of them writes, if any: readers never exclude
    /// each other.
    fn conflict<'a>(&'a self, other: &'a Files) -> Option<&'a str> {
        overlap(&self.writes, &other.writes)
            .or_else(|| overlap(&self.writes, &other.reads))
            .or_else(|| overlap(&self.reads, &other.writes))
            .map(|(mine, _)| mine)
    }
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

/// What a held (or waiting) task holds: its worker, its exclusive files, its labels.
#[derive(Debug, Clone)]
struct Holding {
    owner: Option<String>,
    id: String,
    files: Option<Files>,
    requires: Vec<String>,
}

/// Every task held by a worker or waiting for an answer, with what it holds; `known` gives the
/// facts of files read before, so each file is read once.
fn holdings(
    ws: &Workspace,
    known: &mut HashMap<PathBuf, Holding>,
) -> Result<HashMap<PathBuf, Holding>> {
    let mut folders: Vec<(Option<String>, PathBuf)> = store::assigned_workers(ws)?
        .into_iter()
        .map(|w| {
            let dir = ws.assigned(&w);
            (Some(w), dir)
        })
        .collect();
    folders.push((None, ws.waiting()));
    let mut seen = HashMap::new();
    for (owner, dir) in folders {
        for name in store::list_files(&dir)? {
            let path = dir.join(name);
            let holding = match known.remove(&path) {
                Some(h) => h,
                None => match task::read(&path) {
                    Ok(t) => Holding {
                        owner: owner
                            .clone()
                            .or_else(|| t.coord.question.as_ref().map(|q| q.worker.clone())),
                        files: t.exclusive_files().then(|| Files::of(&t)),
                        requires: t.spec.requires.clone(),
                        id: t.spec.id,
                    },
                    Err(_) => continue,
                },
            };
            seen.insert(path, holding);
        }
    }
    // A run still being stopped holds its files and counts toward its labels' limits, wherever
    // its task has gone meanwhile.
    for (worker, id) in lease::runs_being_stopped(ws) {
        if seen.values().any(|h| h.id == id) {
            continue;
        }
        let Some((_, path)) = store::locate(ws, &id)? else {
            continue;
        };
        if let Ok(t) = task::read(&path) {
            let mark = ws.workers().join(format!("{worker}.run-{id}"));
            seen.insert(
                mark,
                Holding {
                    owner: Some(worker),
                    files: t.exclusive_files().then(|| Files::of(&t)),
                    requires: t.spec.requires.clone(),
                    id: t.spec.id,
                },
            );
        }
    }
    Ok(seen)
}

/// The first of `task`'s labels whose limit the tasks held now (`held`, this claim included
/// when it is held) exceed, or reach when `adding`: the label, the count and the limit.
fn limit_hit<'a>(
    ws: &Workspace,
    task_requires: &'a [String],
    held: impl Iterator<Item = &'a Holding> + Clone,
    adding: bool,
) -> Option<(String, usize, u32)> {
    let limits = &ws.config().label_limits;
    task_requires.iter().find_map(|label| {
        let limit = *limits.get(label)?;
        let count = held
            .clone()
            .filter(|h| h.requires.iter().any(|l| l == label))
            .count();
        let over = match adding {
            true => count >= limit as usize,
            false => count > limit as usize,
        };
        over.then(|| (label.clone(), count, limit))
    })
}

/// Whether `task` requires a label that has a limit in this workspace.
pub fn limited(ws: &Workspace, task: &TaskFile) -> bool {
    let limits = &ws.config().label_limits;
    task.spec.requires.iter().any(|l| limits.contains_key(l))
}

/// A label whose limit is exceeded now that `worker` holds `task` (checked by the claim
/// pipeline under the files lock, right after the claim): the label, how many tasks requiring
/// it are held (this one included), and its limit.
pub fn over_limit(ws: &Workspace, task: &TaskFile) -> Result<Option<(String, usize, u32)>> {
    let held = holdings(ws, &mut HashMap::new())?;
    Ok(limit_hit(ws, &task.spec.requires, held.values(), false))
}

/// After a worker lets go of `task` (finished, failed, released, sent to review): if it held
/// files or a limited label, other workers may now claim tasks they skipped for it, so a hidden
/// name is created in pending/ and removed at once. Every watching worker is woken by it and
/// looks at pending/ again, instead of waiting for its next rescan.
pub fn let_go(ws: &Workspace, task: &TaskFile) {
    if task.exclusive_files() || limited(ws, task) {
        ring(ws);
    }
}

/// Wakes every worker waiting on pending/ (a hidden name created and removed at once) and
/// rings the doorbell for other hosts: something that held a pending task back is gone.
pub fn ring(ws: &Workspace) {
    let bell = ws
        .pending()
        .join(format!(".ring.{}", durable::unique_stem()));
    if std::fs::File::create_new(&bell).is_ok() {
        let _ = std::fs::remove_file(&bell);
    }
    doorbell::ring(ws);
}

/// What the held and waiting tasks hold, read once, to say why pending tasks wait.
#[derive(Debug)]
pub struct Held(HashMap<PathBuf, Holding>);

impl Held {
    /// Reads every task in `assigned/*/` and waiting/.
    pub fn read(ws: &Workspace) -> Result<Held> {
        Ok(Held(holdings(ws, &mut HashMap::new())?))
    }
}

/// Why a pending task is not claimed now, in words (None when nothing holds it back but a
/// worker's labels, which only each worker knows): the pause, its not-before, snooze or
/// retry time, a run of its last holder still being stopped, a file held by another task
/// (named), or its label's limit.
pub fn explain(
    ws: &Workspace,
    held: &Held,
    task: &TaskFile,
    arrived: Option<jiff::Timestamp>,
) -> Option<String> {
    if paused(ws) {
        return Some("the workspace is paused (`coord resume`)".into());
    }
    let now = jiff::Timestamp::now();
    if let Some(at) = task.coord.snoozed_until.filter(|at| *at > now) {
        return Some(format!("snoozed until {}", time::format(at)));
    }
    if let Some(at) = task.ready_at(arrived).filter(|at| *at > now) {
        let why = match task.coord.retry_delay_ms {
            Some(_) => "retry backoff",
            None => "notBefore",
        };
        return Some(format!("{why}: not before {}", time::format(at)));
    }
    if let Some(h) = task.coord.history.last()
        && lease::run_may_live(ws, &h.worker, &task.spec.id)
    {
        return Some(format!(
            "its command is still being stopped on {}",
            h.worker
        ));
    }
    if task.exclusive_files() {
        let mine = Files::of(task);
        for h in held.0.values() {
            if let Some(file) = h.files.as_ref().and_then(|f| mine.conflict(f)) {
                return Some(format!("{file} is held by {}", h.id));
            }
        }
    }
    if let Some((label, count, limit)) = limit_hit(ws, &task.spec.requires, held.0.values(), true) {
        return Some(format!(
            "label {label} is at its limit: {count} of {limit} held"
        ));
    }
    None
}

/// One worker's view of what it may claim.
#[derive(Debug)]
pub struct Gate {
    worker: String,
    labels: HashSet<String>,
    facts: HashMap<PathBuf, Facts>,
    held: HashMap<PathBuf, Holding>,
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

    /// Starts a claiming pass: forgets the earliest due time once it has come (one still ahead
    /// is kept, so a pass that meets no name, its task being out of the index until the next
    /// listing, still wakes the worker when it is due) and which files other workers held
    /// (read again when a task with exclusive files is met).
    pub fn start_pass(&mut self) {
        self.next_due = self.next_due.filter(|due| *due > jiff::Timestamp::now());
        self.held_fresh = false;
    }

    /// Reads what the held and waiting tasks hold (each held file read once).
    fn read_held(&mut self, ws: &Workspace) -> Result<()> {
        self.held = holdings(ws, &mut self.held)?;
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
                let Ok(task) = task::read(path) else {
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
        // Never two runs at once: a run its last holder may still be stopping comes first.
        if let Some(holder) = &facts.last_holder
            && lease::run_may_live(ws, holder, &facts.id)
        {
            return false;
        }
        if let Some(at) = facts.ready_at
            && at > jiff::Timestamp::now()
        {
            self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
            return false;
        }
        let limits = &ws.config().label_limits;
        let limited = facts.requires.iter().any(|l| limits.contains_key(l));
        if facts.files.is_none() && !limited {
            return true;
        }
        // Unreadable folders admit the task; the checks after the claim decide.
        if !self.held_fresh && self.read_held(ws).is_err() {
            return true;
        }
        if limited && limit_hit(ws, &facts.requires, self.held.values(), true).is_some() {
            return false;
        }
        match &facts.files {
            Some(files) => !self
                .held
                .values()
                .filter(|h| h.owner.as_deref() != Some(self.worker.as_str()))
                .filter_map(|h| h.files.as_ref())
                .any(|other| files.conflict(other).is_some()),
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
    let mine = Files::of(task);
    for (path, held) in holdings(ws, &mut HashMap::new())? {
        if held.owner.as_deref() == Some(worker) {
            continue;
        }
        if let Some(files) = &held.files
            && let Some(file) = mine.conflict(files)
        {
            return Ok(Some((path, file.to_string())));
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

    #[test]
    fn readers_exclude_writers_but_not_each_other() {
        let files = |writes: &[&str], reads: &[&str]| Files {
            writes: paths(writes),
            reads: paths(reads),
        };
        let reader = files(&[], &["README.md"]);
        let other_reader = files(&["out/a.md"], &["README.md"]);
        let writer = files(&["README.md"], &[]);
        assert!(reader.conflict(&other_reader).is_none());
        assert_eq!(reader.conflict(&writer), Some("README.md"));
        assert_eq!(writer.conflict(&reader), Some("README.md"));
        assert!(writer.conflict(&writer).is_some());
    }
}
