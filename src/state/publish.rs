//! Queuing: new tasks, each written whole under a temp name, made durable, then moved into
//! pending/ (or blocked/) without replacing anything.
//!
//! A big batch goes into pending/ as batch folders: up to [`BATCH_FOLDER_SIZE`] task files
//! are written into a folder of tmp/, flushed, and the folder is renamed whole into pending/,
//! so its tasks appear together and a claimer lists a folder of a thousand names instead of
//! a million (docs/protocol.md, "Batch folders").

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::layout;
use super::locks::Held;
use crate::base::error::{Error, Problem, Result};
use crate::base::host;
use crate::fs::doorbell;
use crate::fs::durable::{self, Dir};
use crate::fs::workspace::Workspace;
use crate::model::task::{self, TaskFile};
use crate::state::events::{self, Event, Kind};

/// Above this many tasks, one `syncfs` replaces an fsync per file.
const SYNCFS_THRESHOLD: usize = 8;

/// From this many tasks going to pending/ in one call, they are published in batch folders.
pub const BATCH_FOLDER_FROM: usize = 256;

/// How many task files a batch folder holds at most.
pub const BATCH_FOLDER_SIZE: usize = 1024;

/// How far a batch has gone, read by a view while it is queued: tasks checked (the first
/// pass), then written whole to tmp/, then published.
#[derive(Debug, Default)]
pub struct Progress {
    /// Tasks read and checked.
    pub checked: AtomicUsize,
    /// Tasks written to temp files.
    pub written: AtomicUsize,
    /// Tasks renamed into pending/ or blocked/.
    pub published: AtomicUsize,
}

/// One task of a batch, as its publisher reports it once it is published.
#[derive(Debug, Clone)]
pub struct Published<T> {
    /// Where the task file is now.
    pub path: PathBuf,
    /// What the caller attached to it.
    pub tag: T,
}

/// A temp file waiting to be moved into pending/ or blocked/ at the end of the call.
#[derive(Debug)]
struct Loose<T> {
    tmp_name: String,
    dst: String,
    blocked: bool,
    id: String,
    tag: T,
}

/// The batch folder being filled in tmp/.
#[derive(Debug)]
struct Filling<T> {
    tmp_name: String,
    dir: Dir,
    name: String,
    tasks: Vec<(String, String, T)>,
}

/// Publishes the tasks of one `coord queue` call under the queue lock, in the order given.
/// Loose files (small batches, blocked tasks) are published by [`Publisher::finish`]; batch
/// folders as each fills. Each published task is handed to `on_published` once it is in its
/// folder, in the order of [`Publisher::add`] within each kind.
pub struct Publisher<'a, T> {
    ws: &'a Workspace,
    progress: &'a Progress,
    fsync: bool,
    one_sync: bool,
    folders: bool,
    tmp: Dir,
    pending: Dir,
    loose: Vec<Loose<T>>,
    filling: Option<Filling<T>>,
    on_published: &'a mut dyn FnMut(Published<T>),
}

impl<'a, T> Publisher<'a, T> {
    /// A publisher for about `expected` tasks into pending/, of `total` in all; holding the
    /// queue lock.
    pub fn new(
        _queue: &Held,
        ws: &'a Workspace,
        expected: usize,
        total: usize,
        progress: &'a Progress,
        on_published: &'a mut dyn FnMut(Published<T>),
    ) -> Result<Self> {
        let fsync = ws.durability().fsync;
        Ok(Publisher {
            ws,
            progress,
            fsync,
            one_sync: fsync && total > SYNCFS_THRESHOLD,
            folders: expected >= BATCH_FOLDER_FROM,
            tmp: Dir::open(&ws.tmp())?,
            pending: Dir::open(&ws.pending())?,
            loose: Vec::new(),
            filling: None,
            on_published,
        })
    }

    /// Writes one new task whole and returns the path it will have once published. A blocked
    /// task's markers are made first, so whoever finishes a dependency meanwhile finds it.
    pub fn add(&mut self, task: &TaskFile, blocked: bool, tag: T) -> Result<PathBuf> {
        let bytes = task.to_bytes();
        if bytes.len() as u64 > task::MAX_TASK_BYTES {
            return Err(Error::InvalidTasks {
                problems: vec![Problem {
                    position: "task".into(),
                    id: Some(task.spec.id.clone()),
                    message: format!("larger than the {}-byte task limit", task::MAX_TASK_BYTES),
                }],
            });
        }
        if blocked {
            super::mark_waiting(self.ws, task)?;
        }
        let path = if self.folders && !blocked {
            self.add_to_folder(task, &bytes, tag)?
        } else {
            let tmp_name = durable::unique_tmp_name("task");
            self.tmp
                .create_new(&tmp_name, &bytes, self.fsync && !self.one_sync)?;
            let (dst, folder) = match blocked {
                true => (layout::file_name(&task.spec.id), self.ws.blocked()),
                false => (task.pending_name(), self.ws.pending()),
            };
            let path = folder.join(&dst);
            self.loose.push(Loose {
                tmp_name,
                dst,
                blocked,
                id: task.spec.id.clone(),
                tag,
            });
            path
        };
        self.progress.written.fetch_add(1, Ordering::Relaxed);
        Ok(path)
    }

    fn add_to_folder(&mut self, task: &TaskFile, bytes: &[u8], tag: T) -> Result<PathBuf> {
        if self.filling.is_none() {
            let tmp_name = durable::unique_tmp_name("batch");
            let path = self.ws.tmp().join(&tmp_name);
            durable::create_dir(&path)?;
            self.filling = Some(Filling {
                dir: Dir::open(&path)?,
                tmp_name,
                name: task::batch_name(&task.coord.order, host::random_u64()),
                tasks: Vec::with_capacity(BATCH_FOLDER_SIZE),
            });
        }
        let filling = self.filling.as_mut().expect("a folder is being filled");
        let file = task.pending_name();
        filling
            .dir
            .create_new(&file, bytes, self.fsync && !self.one_sync)?;
        let path = self.ws.pending().join(&filling.name).join(&file);
        filling.tasks.push((task.spec.id.clone(), file, tag));
        if filling.tasks.len() >= BATCH_FOLDER_SIZE {
            self.flush_folder()?;
        }
        Ok(path)
    }

    /// Makes the folder being filled durable and renames it whole into pending/.
    fn flush_folder(&mut self) -> Result<()> {
        let Some(filling) = self.filling.take() else {
            return Ok(());
        };
        let published = self.flush_files(&filling.dir).and_then(|()| {
            filling.dir.sync(self.fsync)?;
            self.tmp
                .move_dir_new(&filling.tmp_name, &self.pending, &filling.name)
        });
        match published {
            Ok(true) => {}
            failed => {
                let _ = std::fs::remove_dir_all(self.tmp.path().join(&filling.tmp_name));
                return Err(match failed {
                    Err(e) => e,
                    _ => Error::Conflict {
                        conflicts: vec![format!(
                            "a folder named {} is already in {}",
                            filling.name,
                            self.pending.path().display()
                        )],
                    },
                });
            }
        }
        self.pending.sync(self.fsync)?;
        doorbell::ring(self.ws);
        self.progress
            .published
            .fetch_add(filling.tasks.len(), Ordering::Relaxed);
        let stamp = host::now();
        let folder = self.pending.path().join(&filling.name);
        let journal: Vec<Event> = filling
            .tasks
            .iter()
            .map(|(id, _, _)| queued(stamp, id, false))
            .collect();
        events::record(self.ws, &journal);
        drop(journal);
        for (_, file, tag) in filling.tasks {
            let path = folder.join(file);
            (self.on_published)(Published { path, tag });
        }
        Ok(())
    }

    /// Flushes the files written without their own fsync, with one `syncfs`.
    fn flush_files(&self, dir: &Dir) -> Result<()> {
        if self.one_sync {
            durable::sync_filesystem(dir.path())?;
        }
        Ok(())
    }

    /// Publishes what is left: the last batch folder, then the loose files in order. On an
    /// error, the tasks already published stay queued, whole, and the rest leave nothing
    /// behind, so queuing the same input again adds exactly them.
    pub fn finish(mut self) -> Result<()> {
        self.flush_folder()?;
        let loose = std::mem::take(&mut self.loose);
        if loose.is_empty() {
            return Ok(());
        }
        let cleanup = |rest: &[Loose<T>]| -> Result<()> {
            rest.iter().try_for_each(|l| self.tmp.remove(&l.tmp_name))
        };
        if let Err(e) = self.flush_files(&self.tmp) {
            cleanup(&loose)?;
            return Err(e);
        }
        let blocked = match loose.iter().any(|l| l.blocked) {
            true => Some(Dir::open(&self.ws.blocked())?),
            false => None,
        };
        for (i, l) in loose.iter().enumerate() {
            let folder = match (&blocked, l.blocked) {
                (Some(b), true) => b,
                _ => &self.pending,
            };
            let moved = self.tmp.move_new(&l.tmp_name, folder, &l.dst);
            if !matches!(moved, Ok(true)) {
                cleanup(&loose[i..])?;
                return Err(match moved {
                    Err(e) => e,
                    _ => Error::Conflict {
                        conflicts: vec![format!(
                            "{}: a file named {} is already in {}",
                            l.id,
                            l.dst,
                            folder.path().display()
                        )],
                    },
                });
            }
            self.progress.published.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(b) = &blocked {
            b.sync(self.fsync)?;
        }
        self.pending.sync(self.fsync)?;
        if loose.iter().any(|l| !l.blocked) {
            doorbell::ring(self.ws);
        }
        let stamp = host::now();
        let journal: Vec<Event> = loose
            .iter()
            .map(|l| queued(stamp, &l.id, l.blocked))
            .collect();
        events::record(self.ws, &journal);
        for l in loose {
            let folder = match l.blocked {
                true => blocked.as_ref().unwrap_or(&self.pending),
                false => &self.pending,
            };
            (self.on_published)(Published {
                path: folder.path().join(&l.dst),
                tag: l.tag,
            });
        }
        Ok(())
    }
}

impl<T> Drop for Publisher<'_, T> {
    /// A call that stopped on an error leaves no temp file of its own behind.
    fn drop(&mut self) {
        if let Some(filling) = self.filling.take() {
            let _ = std::fs::remove_dir_all(self.tmp.path().join(&filling.tmp_name));
        }
        for l in self.loose.drain(..) {
            let _ = self.tmp.remove(&l.tmp_name);
        }
    }
}

fn queued(at: jiff::Timestamp, id: &str, blocked: bool) -> Event {
    Event {
        at,
        event: if blocked { Kind::Blocked } else { Kind::Queued },
        task: id.to_string(),
        worker: None,
        attempt: None,
    }
}
