//! Reading the workspace: listing queue folders, finding a task by id, reading task files.
//! Nothing here changes a file; moves are the state machine's ([`crate::state`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::state::StateKind;
pub use crate::state::TaskState;
use crate::state::layout;

/// Every state a task can be in now, in the order of the flow ([`StateKind::ALL`]), assigned
/// once for each worker with a folder in assigned/.
pub fn states(ws: &Workspace) -> Result<Vec<TaskState>> {
    let mut out = Vec::new();
    for kind in StateKind::ALL {
        match TaskState::unheld(*kind) {
            Some(state) => out.push(state),
            None => out.extend(assigned_workers(ws)?.into_iter().map(TaskState::Assigned)),
        }
    }
    Ok(out)
}

/// How many tasks are in `state`, counted from the folder's names without reading a task
/// (pending/ with its batch folders; in failed/, only task files).
pub fn count_in(ws: &Workspace, state: &TaskState) -> Result<usize> {
    if *state == TaskState::Pending {
        return count_pending(ws);
    }
    let names = list_files(&layout::folder(ws, state))?;
    Ok(match state {
        TaskState::Failed => names.iter().filter(|n| n.ends_with(".json")).count(),
        _ => names.len(),
    })
}

/// When the file at `path` arrived where it is, by the file system's clock (its ctime).
pub fn arrived(path: &Path) -> Option<jiff::Timestamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).ok()?;
    jiff::Timestamp::new(m.ctime(), m.ctime_nsec() as i32).ok()
}

/// The plain regular files of a queue folder, skipping hidden and temp names, symlinks and
/// folders (never followed).
pub fn list_files(dir: &Path) -> Result<Vec<String>> {
    read_entries(dir, |name, kind| kind.is_file().then_some(name))
}

/// The entries of a folder that `keep` maps to something, given each name (hidden and temp
/// names skipped; a name that is not UTF-8 given as a file, lossily) and its type, never
/// following a symlink; nothing for a folder that does not exist.
fn read_entries<T>(dir: &Path, keep: impl Fn(String, fs::FileType) -> Option<T>) -> Result<Vec<T>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = match entry.file_name().into_string() {
            Ok(name) if task::is_ignored_name(&name) => continue,
            Ok(name) => name,
            Err(raw) => {
                found.extend(keep(raw.to_string_lossy().into_owned(), kind));
                continue;
            }
        };
        found.extend(keep(name, kind));
    }
    Ok(found)
}

/// Calls `each` with every task file in pending/: the batch folder it is in (None at the top)
/// and its file name, in no particular order. Nothing is held but the top's entries. Folders
/// no worker reads ([`stray_pending_folders`]) are included, so that what they hold is still
/// counted, listed, waited for and known to `coord queue`.
pub fn each_pending(ws: &Workspace, mut each: impl FnMut(Option<&str>, &str)) -> Result<()> {
    for entry in list_pending_top(ws)? {
        match entry {
            Entry::File(name) => each(None, &name),
            Entry::Batch(batch) => each_in_batch(ws, &batch, |file| each(Some(&batch), file))?,
        }
    }
    for (folder, names) in stray_pending_folders(ws)? {
        for name in names {
            each(Some(&folder), &name);
        }
    }
    Ok(())
}

/// How many task files pending/ holds, its batch folders' included.
pub fn count_pending(ws: &Workspace) -> Result<usize> {
    let mut count = 0;
    each_pending(ws, |_, _| count += 1)?;
    Ok(count)
}

/// One entry at the top of pending/.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A task file.
    File(String),
    /// A batch folder of task files, published whole by one `coord queue`.
    Batch(String),
}

/// The entries at the top of pending/: plain regular files and batch folders, skipping hidden
/// and temp names, symlinks and any other folder.
pub fn list_pending_top(ws: &Workspace) -> Result<Vec<Entry>> {
    read_entries(&ws.pending(), |name, kind| {
        if kind.is_file() {
            Some(Entry::File(name))
        } else if kind.is_dir() && task::is_batch_name(&name) {
            Some(Entry::Batch(name))
        } else {
            None
        }
    })
}

/// The folders at the top of pending/ that are not batch folders (a batch folder renamed by
/// hand, a folder made there): the claim pipeline never reads them. Each with the pending task
/// names it holds, sorted.
pub fn stray_pending_folders(ws: &Workspace) -> Result<Vec<(String, Vec<String>)>> {
    let folders = read_entries(&ws.pending(), |name, kind| {
        (kind.is_dir() && !task::is_batch_name(&name) && !task::is_ignored_name(&name))
            .then_some(name)
    })?;
    let mut stray = Vec::new();
    for folder in folders {
        let mut names = Vec::new();
        each_in_batch(ws, &folder, |name| {
            if task::id_from_pending_name(name).is_some() {
                names.push(name.to_string());
            }
        })?;
        names.sort();
        stray.push((folder, names));
    }
    Ok(stray)
}

/// The name, relative to pending/, of a task file in `batch` (None: at the top).
pub fn pending_name_in(batch: Option<&str>, file: &str) -> String {
    match batch {
        Some(batch) => format!("{batch}/{file}"),
        None => file.to_string(),
    }
}

/// The task files inside one batch folder of pending/ (empty if it is gone), opened without
/// following a symlink.
pub fn list_batch(ws: &Workspace, batch: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    each_in_batch(ws, batch, |name| names.push(name.to_string()))?;
    Ok(names)
}

/// Calls `each` with the name of every task file inside one batch folder of pending/ (none if
/// it is gone), read without following a symlink and without holding the names.
fn each_in_batch(ws: &Workspace, batch: &str, mut each: impl FnMut(&str)) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let path = ws.pending().join(batch);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let fd = match rustix::fs::open(&path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(Error::io("list", &path, e.into())),
    };
    let dir = rustix::fs::Dir::read_from(&fd).map_err(|e| Error::io("list", &path, e.into()))?;
    for entry in dir {
        let entry = entry.map_err(|e| Error::io("list", &path, e.into()))?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if entry.file_type() == rustix::fs::FileType::RegularFile && !task::is_ignored_name(name) {
            each(name);
        }
    }
    Ok(())
}

/// The worker ids that have a folder under assigned/.
pub fn assigned_workers(ws: &Workspace) -> Result<Vec<String>> {
    let dir = ws.assigned_root();
    let entries = fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
    let mut workers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Ok(name) = entry.file_name().into_string()
            && !task::is_ignored_name(&name)
        {
            workers.push(name);
        }
    }
    workers.sort();
    Ok(workers)
}

/// Finds a task by id in any state (pending/ is listed; the other folders are looked up by path);
/// None, without touching the disk, for anything that is not a valid task id.
pub fn locate(ws: &Workspace, id: &str) -> Result<Option<(TaskState, PathBuf)>> {
    // An id that is not a plain task id names no task, and never becomes a path.
    if task::check_id(id).is_err() {
        return Ok(None);
    }
    let mut found = None;
    each_pending(ws, |batch, file| {
        if found.is_none() && task::id_from_pending_name(file) == Some(id) {
            found = Some(ws.pending().join(pending_name_in(batch, file)));
        }
    })?;
    if let Some(path) = found {
        return Ok(Some((TaskState::Pending, path)));
    }
    let workers = assigned_workers(ws)?;
    Ok(locate_settled(ws, &workers, id))
}

/// Where a task is found outside pending/, checked by exact path (no listing of big folders).
pub fn locate_settled(
    ws: &Workspace,
    workers: &[String],
    id: &str,
) -> Option<(TaskState, PathBuf)> {
    task::check_id(id).ok()?;
    let file = layout::file_name(id);
    let p = ws.blocked().join(&file);
    if p.is_file() {
        return Some((TaskState::Blocked, p));
    }
    for w in workers {
        let p = ws.assigned(w).join(&file);
        if p.is_file() {
            return Some((TaskState::Assigned(w.clone()), p));
        }
    }
    for state in [TaskState::Waiting, TaskState::Review] {
        let p = layout::folder(ws, &state).join(&file);
        if p.is_file() {
            return Some((state, p));
        }
    }
    let p = ws.completed().join(&file);
    if p.is_file() {
        return Some((TaskState::Completed, p));
    }
    let p = ws.failed().join(&file);
    if p.is_file() {
        return Some((TaskState::Failed, p));
    }
    None
}

/// Looks task ids up in assigned/*/, completed/ and failed/, for callers that check many ids at
/// once: each folder is either listed once (when it holds fewer names than there are ids to
/// check) or asked by exact name through an open directory.
#[derive(Debug)]
pub struct Lookup {
    folders: Vec<(TaskState, Folder)>,
}

#[derive(Debug)]
enum Folder {
    Listed(PathBuf, std::collections::HashSet<String>),
    Open(durable::Dir),
}

impl Folder {
    fn new(path: PathBuf, ids_to_check: usize) -> Result<Folder> {
        let dir = durable::Dir::open(&path)?;
        let size =
            std::fs::metadata(&path).map_or(u64::MAX, |m| std::os::unix::fs::MetadataExt::size(&m));
        // A folder's size grows with its entries; only small folders are worth listing.
        if ids_to_check > 64 && size < (ids_to_check as u64) * 32 {
            let names = list_files(&path)?.into_iter().collect();
            return Ok(Folder::Listed(path, names));
        }
        Ok(Folder::Open(dir))
    }

    fn find(&self, file: &str) -> Option<PathBuf> {
        match self {
            Folder::Listed(path, names) => names.contains(file).then(|| path.join(file)),
            Folder::Open(dir) => dir.contains(file).then(|| dir.path().join(file)),
        }
    }
}

impl Lookup {
    /// Prepares to check `ids_to_check` ids in `ws`.
    pub fn open(ws: &Workspace, ids_to_check: usize) -> Result<Lookup> {
        let mut folders = vec![(TaskState::Blocked, Folder::new(ws.blocked(), ids_to_check)?)];
        for w in assigned_workers(ws)? {
            folders.push((
                TaskState::Assigned(w.clone()),
                Folder::new(ws.assigned(&w), ids_to_check)?,
            ));
        }
        for state in [TaskState::Waiting, TaskState::Review] {
            let path = layout::folder(ws, &state);
            // Workspaces made before these states have no such folder, and no such task.
            if path.is_dir() {
                folders.push((state, Folder::new(path, ids_to_check)?));
            }
        }
        folders.push((
            TaskState::Completed,
            Folder::new(ws.completed(), ids_to_check)?,
        ));
        folders.push((TaskState::Failed, Folder::new(ws.failed(), ids_to_check)?));
        Ok(Lookup { folders })
    }

    /// Where a task is found outside pending/, as [`locate_settled`] says.
    pub fn find(&self, id: &str) -> Option<(TaskState, PathBuf)> {
        let file = layout::file_name(id);
        self.folders
            .iter()
            .find_map(|(state, folder)| folder.find(&file).map(|p| (state.clone(), p)))
    }
}

/// Counts the plain files in a folder (0 if it does not exist).
pub fn count_files(dir: &Path) -> Result<usize> {
    Ok(list_files(dir)?.len())
}
