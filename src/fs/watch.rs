//! File-system events as wake-ups.
//!
//! The hot paths (a worker waiting for tasks, a worker watching its own claims) use inotify
//! directly with a narrow mask, so that the renames every claim makes wake nobody who does not
//! need them; views that redraw on any change (`status --watch`, `logs --follow`, `wait`) use
//! the notify crate. Events are hints, never the truth: a woken process scans, and a slow timer
//! rescans in case an event was lost.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::EventKind;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use rustix::fs::inotify::{self, ReadFlags, WatchFlags};

use crate::base::error::{Error, Result};

/// What a watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A name appeared in the folder (created, linked or renamed in).
    Added(String),
    /// A name was deleted from the folder (not renamed away: claims wake nobody).
    Removed(String),
    /// Events were lost or the watcher failed: rescan the folder.
    Rescan,
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

/// A raw inotify watch on one folder, read by a thread of its own; stops when dropped.
#[derive(Debug)]
pub struct Watch {
    fd: std::sync::Arc<OwnedFd>,
    wd: i32,
    stop: std::sync::Arc<AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Removing the watch queues IN_IGNORED, which wakes the reader to see the stop flag; an
        // error only means the watch is already gone.
        let _ = inotify::remove_watch(&*self.fd, self.wd);
    }
}

/// Watches `dir` for names arriving (created, linked or renamed in) and deleted; renames away,
/// such as claims, are not reported.
pub fn arrivals(dir: &Path, on_change: impl Fn(Change) + Send + 'static) -> Result<Watch> {
    let mask = WatchFlags::CREATE | WatchFlags::MOVED_TO | WatchFlags::DELETE;
    raw_watch(dir, mask, move |flags, name| {
        if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
            on_change(Change::Rescan);
        } else if let Some(name) = name {
            on_change(match flags.contains(ReadFlags::DELETE) {
                false => Change::Added(name),
                true => Change::Removed(name),
            });
        }
    })
}

/// Watches `dir` for names leaving it (renamed away or deleted) and calls `on_leave` for each;
/// arrivals, such as the worker's own claims, wake nothing.
pub fn departures(dir: &Path, on_leave: impl Fn() + Send + 'static) -> Result<Watch> {
    let mask = WatchFlags::MOVED_FROM
        | WatchFlags::DELETE
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF;
    raw_watch(dir, mask, move |_, _| on_leave())
}

/// Adds an inotify watch with `mask` on `dir` and hands each event (its flags and name) to
/// `on_event` from a reader thread.
fn raw_watch(
    dir: &Path,
    mask: WatchFlags,
    on_event: impl Fn(ReadFlags, Option<String>) + Send + 'static,
) -> Result<Watch> {
    let fail = |e: std::io::Error| Error::Watch {
        path: dir.to_path_buf(),
        source: notify::Error::io(e),
    };
    let fd = inotify::init(inotify::CreateFlags::CLOEXEC).map_err(|e| fail(e.into()))?;
    let wd = inotify::add_watch(&fd, dir, mask).map_err(|e| fail(e.into()))?;
    let fd = std::sync::Arc::new(fd);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let (reader, stopped) = (fd.clone(), stop.clone());
    std::thread::Builder::new()
        .name("coord-inotify".into())
        .spawn(move || {
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
            let mut events = inotify::Reader::new(&*reader, &mut buf);
            loop {
                let event = match events.next() {
                    Ok(event) => event,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => return,
                };
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let name = event
                    .file_name()
                    .and_then(|c| c.to_str().ok())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
                on_event(event.events(), name);
            }
        })
        .map_err(fail)?;
    Ok(Watch { fd, wd, stop })
}
