//! File-system events as wake-ups: a watcher on a folder that reports added names.
//!
//! Events are hints, never the truth: a worker that is woken scans, and a slow timer rescans
//! in case an event was lost.

use std::path::Path;

use notify::event::{EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::error::{Error, Result};

/// What a watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A name appeared in the folder (created, linked or renamed in).
    Added(String),
    /// A name left the folder.
    Removed(String),
    /// Events were lost or the watcher failed: rescan the folder.
    Rescan,
}

/// Watches `dir` (not recursively) and calls `on_change` for each change; stops when dropped.
pub fn watch(
    dir: &Path,
    on_change: impl Fn(Change) + Send + 'static,
) -> Result<RecommendedWatcher> {
    let handler = move |res: notify::Result<notify::Event>| match res {
        Ok(event) => {
            if event.need_rescan() {
                on_change(Change::Rescan);
                return;
            }
            let added = match event.kind {
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    Some(true)
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => None,
                EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                    Some(false)
                }
                EventKind::Modify(ModifyKind::Name(_)) | EventKind::Any | EventKind::Other => None,
                _ => return,
            };
            match added {
                Some(added) => {
                    for path in &event.paths {
                        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                            let name = name.to_string();
                            on_change(if added {
                                Change::Added(name)
                            } else {
                                Change::Removed(name)
                            });
                        }
                    }
                }
                None => on_change(Change::Rescan),
            }
        }
        Err(_) => on_change(Change::Rescan),
    };
    let mut watcher = notify::recommended_watcher(handler).map_err(|source| Error::Watch {
        path: dir.to_path_buf(),
        source,
    })?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|source| Error::Watch {
            path: dir.to_path_buf(),
            source,
        })?;
    Ok(watcher)
}

/// Watches each of `dirs` (with its subfolders when its flag is set) and calls `on_event` with
/// the paths of every change, contents included; stops when dropped. For views that redraw or
/// follow files, where any change matters.
pub fn watch_any(
    dirs: &[(&Path, bool)],
    on_event: impl Fn(Vec<std::path::PathBuf>) + Send + 'static,
) -> Result<RecommendedWatcher> {
    let handler = move |res: notify::Result<notify::Event>| match res {
        Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
        Ok(event) => on_event(event.paths),
        Err(_) => on_event(Vec::new()),
    };
    let first = dirs
        .first()
        .map(|(d, _)| d.to_path_buf())
        .unwrap_or_default();
    let mut watcher = notify::recommended_watcher(handler).map_err(|source| Error::Watch {
        path: first,
        source,
    })?;
    for (dir, recursive) in dirs {
        let mode = match recursive {
            true => RecursiveMode::Recursive,
            false => RecursiveMode::NonRecursive,
        };
        watcher.watch(dir, mode).map_err(|source| Error::Watch {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(watcher)
}
