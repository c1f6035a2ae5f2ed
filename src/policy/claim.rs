//! The one claim pipeline, used by `coord worker`, `coord next` and the stop hooks.
//!
//! In order: the index of pending/ names, the gate (pause, labels, not-before and retry times,
//! exclusive files), the claiming rename ([`state::take`]), the confirmation (the file is read;
//! an invalid one is set aside, one whose dependencies have not completed is parked in
//! blocked/, one whose files another worker holds is put back), and only then the `claimed`
//! event. The index is a hint refreshed on events and on a miss, never the truth: the rename
//! decides.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::base::error::Result;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task::{self, TaskFile};
use crate::policy::depends;
use crate::policy::gate::{self, Gate};
use crate::state::events::{self, Kind};
use crate::state::store;
use crate::state::{self, Taken, locks};

/// Why a pending task waits for one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waits {
    /// It requires these labels (comma-separated), which the worker lacks.
    Labels(String),
    /// Something every worker waits for, in words ([`gate::explain`]).
    For(String),
}

/// The first `limit` pending tasks in claim order, each with why a worker with `labels` does
/// not claim it now (None: nothing holds it back); with `only_waiting`, only those that wait.
pub fn left_behind(
    ws: &Workspace,
    labels: &[String],
    limit: usize,
    only_waiting: bool,
) -> Result<Vec<(String, Option<Waits>)>> {
    let mut index = PendingIndex::new(ws);
    index.refresh()?;
    let held = gate::Held::read(ws)?;
    let mut out = Vec::new();
    while out.len() < limit
        && let Some(name) = index.pop()?
    {
        let path = ws.pending().join(&name);
        let Ok(task) = task::read(&path) else {
            continue;
        };
        let lacking: Vec<&str> = (task.spec.requires.iter())
            .filter(|l| !labels.contains(l))
            .map(String::as_str)
            .collect();
        let waits = match lacking.is_empty() {
            false => Some(Waits::Labels(lacking.join(", "))),
            true => gate::explain(ws, &held, &task, store::arrived(&path)).map(Waits::For),
        };
        if waits.is_some() || !only_waiting {
            out.push((task.spec.id, waits));
        }
    }
    Ok(out)
}

/// The names in pending/, in claim order (priority, then queue time). A batch folder stands
/// as one entry, sorted by its name (no later than any task in it), until it comes first:
/// then it is listed and its tasks take its place.
#[derive(Debug)]
pub struct PendingIndex {
    ws: Workspace,
    /// File name (or batch folder name) to the batch folder the file is in, if any.
    names: BTreeMap<Box<str>, Option<Box<str>>>,
    /// How many of each listed batch folder's files the index still holds.
    left: HashMap<Box<str>, usize>,
    /// Batch folders found empty when listed, for a claimer to remove (the index only reads).
    emptied: Vec<Box<str>>,
}

impl PendingIndex {
    /// An empty index over `ws`'s pending/ folder; call [`PendingIndex::refresh`] to fill it.
    pub fn new(ws: &Workspace) -> Self {
        PendingIndex {
            ws: ws.clone(),
            names: BTreeMap::new(),
            left: HashMap::new(),
            emptied: Vec::new(),
        }
    }

    /// Re-reads the top of pending/ in full, replacing what the index held.
    pub fn refresh(&mut self) -> Result<()> {
        self.left.clear();
        self.names = store::list_pending_top(&self.ws)?
            .into_iter()
            .map(|entry| match entry {
                store::Entry::File(name) | store::Entry::Batch(name) => (name.into(), None),
            })
            .collect();
        Ok(())
    }

    /// Adds one name reported by a file-system event (ignored names are dropped).
    pub fn insert(&mut self, name: &str) {
        if !task::is_ignored_name(name) {
            self.names.entry(name.into()).or_insert(None);
        }
    }

    /// Whether the index holds no name.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many names the index holds (a batch folder not listed yet counts as one).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The first task file's name relative to pending/ (`<batch>/<file>` inside a batch
    /// folder), taken out of the index; a batch folder met first is listed in its place (one
    /// found empty is dropped, and noted for a claimer to remove).
    pub fn pop(&mut self) -> Result<Option<String>> {
        while let Some((name, batch)) = self.names.pop_first() {
            if let Some(batch) = batch {
                if let Some(left) = self.left.get_mut(&batch) {
                    *left -= 1;
                    if *left == 0 {
                        self.left.remove(&batch);
                    }
                }
                return Ok(Some(format!("{batch}/{name}")));
            }
            if !task::is_batch_name(&name) {
                return Ok(Some(name.into()));
            }
            let files = store::list_batch(&self.ws, &name)?;
            if files.is_empty() {
                self.emptied.push(name);
                continue;
            }
            let mut added = 0;
            for file in files {
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    self.names.entry(file.into())
                {
                    slot.insert(Some(name.clone()));
                    added += 1;
                }
            }
            self.left.insert(name, added);
        }
        Ok(None)
    }

    /// Whether the index holds no more files of `batch` it listed: the claimer then tries
    /// to remove the folder, which fails while any file is left in it.
    fn batch_done(&self, batch: &str) -> bool {
        !self.left.contains_key(batch)
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

/// Decides, before claiming, whether the caller wants a pending file (beyond the gate).
pub type Filter<'a> = &'a mut dyn FnMut(&Path) -> bool;

/// One worker's claiming state: its index of pending/ and its gate.
#[derive(Debug)]
pub struct Claimer {
    worker: String,
    index: PendingIndex,
    gate: Gate,
}

impl Claimer {
    /// A claimer for `worker` with these labels; its index is empty until
    /// [`Claimer::refresh`].
    pub fn new(ws: &Workspace, worker: &str, labels: &[String]) -> Claimer {
        Claimer {
            worker: worker.to_string(),
            index: PendingIndex::new(ws),
            gate: Gate::new(worker, labels),
        }
    }

    /// Re-reads pending/ in full.
    pub fn refresh(&mut self) -> Result<()> {
        self.index.refresh()
    }

    /// Adds a name an event reported in pending/.
    pub fn insert(&mut self, name: &str) {
        self.index.insert(name);
    }

    /// Forgets what the gate read about pending files that are gone.
    pub fn forget_missing(&mut self) {
        self.gate.forget_missing();
    }

    /// How long until the earliest task the last pass skipped for its not-before or retry time
    /// becomes claimable (zero if it already is); None if none was skipped.
    pub fn due_in(&self) -> Option<Duration> {
        let due = self.gate.next_due()?;
        let left = jiff::Timestamp::now().duration_until(due);
        Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
    }

    /// Claims the next task this worker may take (and `wants`), or returns None when there is
    /// none in the index or the workspace is paused. Invalid files met on the way are set aside
    /// and returned as [`Claimed::Invalid`].
    pub fn next(
        &mut self,
        ws: &Workspace,
        mut wants: Option<Filter<'_>>,
    ) -> Result<Option<Claimed>> {
        if gate::paused(ws) {
            return Ok(None);
        }
        self.gate.start_pass();
        while let Some(name) = self.next_name(ws)? {
            let src = ws.pending().join(&name);
            if !self.gate.admits(ws, &src) || wants.as_mut().is_some_and(|w| !w(&src)) {
                continue;
            }
            let taken = state::take(ws, &self.worker, &name)?;
            // Whoever takes the last task of a batch folder removes the folder.
            if let Some((batch, _)) = name.split_once('/')
                && self.index.batch_done(batch)
            {
                state::remove_emptied_batch(ws, batch);
            }
            let held = match taken {
                Taken::Held(path) => path,
                Taken::Gone => continue,
            };
            let claimed = match self.confirm(ws, &name, held)? {
                Some(c) => c,
                None => continue,
            };
            if let Claimed::Task(t) = &claimed {
                events::one(
                    ws,
                    Kind::Claimed,
                    &t.task.spec.id,
                    Some(&self.worker),
                    Some(t.attempt),
                );
            }
            return Ok(Some(claimed));
        }
        Ok(None)
    }

    /// The index's next name, after removing the batch folders it found empty on the way.
    fn next_name(&mut self, ws: &Workspace) -> Result<Option<String>> {
        let name = self.index.pop()?;
        for batch in std::mem::take(&mut self.index.emptied) {
            state::remove_emptied_batch(ws, &batch);
        }
        Ok(name)
    }

    /// Reads a freshly claimed file and checks it can run now; None when it was moved on
    /// (parked in blocked/ or put back).
    fn confirm(&mut self, ws: &Workspace, name: &str, held: PathBuf) -> Result<Option<Claimed>> {
        let (task, path) = match self.read_claimed(ws, name, held)? {
            Ok(found) => found,
            Err(invalid) => return Ok(Some(invalid)),
        };
        // coord puts a task in pending/ only once its dependencies have completed (and keeps a
        // completed dependency a blocked task needs from `purge`); a file dropped in by hand is
        // checked here.
        if task::id_from_pending_name(name).is_none()
            && !task.spec.depends_on.is_empty()
            && depends::readiness(ws, &task.spec.depends_on) != Ok(true)
        {
            let parked = {
                let lock = locks::claims(ws, &self.worker)?;
                state::defer(&lock, ws, &path, &task)?
            };
            tracing::info!(
                "{} waits for the tasks it depends on: moved to blocked/",
                task.spec.id
            );
            depends::settle_blocked(ws, &parked, "coord")?;
            return Ok(None);
        }
        let limited = gate::limited(ws, &task);
        if task.exclusive_files() || limited {
            let lock = locks::claims(ws, &self.worker)?;
            let _files = locks::files(ws)?;
            if task.exclusive_files()
                && let Some((other, file)) = gate::held_elsewhere(ws, &self.worker, &task)?
            {
                state::put_back(&lock, ws, &path, &task)?;
                tracing::info!(
                    "{} touches {file}, which {} holds: left in pending/",
                    task.spec.id,
                    other.display()
                );
                return Ok(None);
            }
            if limited && let Some((label, count, limit)) = gate::over_limit(ws, &task)? {
                state::put_back(&lock, ws, &path, &task)?;
                tracing::info!(
                    "{} requires {label}: {count} tasks requiring it would be held, the limit is {limit}: left in pending/",
                    task.spec.id
                );
                return Ok(None);
            }
        }
        let attempt = task.attempt();
        Ok(Some(Claimed::Task(Box::new(ClaimedTask {
            task,
            path,
            attempt,
        }))))
    }

    /// Reads a claimed file: the task and its path under its id's name, or, for a file that is
    /// not a valid task, what setting it aside gave.
    fn read_claimed(
        &self,
        ws: &Workspace,
        name: &str,
        held: PathBuf,
    ) -> Result<std::result::Result<(TaskFile, PathBuf), Claimed>> {
        let parsed = durable::read_limited(&held, task::MAX_TASK_FILE_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|bytes| TaskFile::parse(&bytes));
        let task = match parsed {
            Ok(t) => t,
            Err(reason) => return self.set_aside(ws, name, &held, reason).map(Err),
        };
        match task::id_from_pending_name(name) {
            Some(id) if id == task.spec.id => return Ok(Ok((task, held))),
            Some(id) => {
                let reason = format!("its name says task {id} but it holds task {}", task.spec.id);
                return self.set_aside(ws, name, &held, reason).map(Err);
            }
            None => {}
        }
        // A file dropped into pending/ by hand: give it its id's name if the id is free.
        let id = task.spec.id.clone();
        let dst = ws
            .assigned(&self.worker)
            .join(state::layout::file_name(&id));
        let mut workers = store::assigned_workers(ws)?;
        if held == dst {
            // Already under its id's name: the copy in this worker's folder is this file.
            workers.retain(|w| *w != self.worker);
        }
        if let Some((state, _)) = store::locate_settled(ws, &workers, &id) {
            let reason = format!("task id {id} is already used ({state})");
            return self.set_aside(ws, name, &held, reason).map(Err);
        }
        if held != dst {
            let lock = locks::claims(ws, &self.worker)?;
            if !state::rename_to_id(&lock, ws, &held, &id)? {
                drop(lock);
                let reason = format!("task id {id} is already used");
                return self.set_aside(ws, name, &held, reason).map(Err);
            }
        }
        Ok(Ok((task, dst)))
    }

    fn set_aside(
        &self,
        ws: &Workspace,
        name: &str,
        held: &Path,
        reason: String,
    ) -> Result<Claimed> {
        let lock = locks::claims(ws, &self.worker)?;
        state::set_aside(&lock, ws, name, held, &reason)?;
        Ok(Claimed::Invalid {
            name: name.to_string(),
            reason,
        })
    }
}
