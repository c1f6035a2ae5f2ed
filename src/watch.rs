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

/// A watch on one folder that reports only names leaving it (renamed away or deleted); stops
/// when dropped. Arrivals, such as the worker's own claims, wake nothing.
#[derive(Debug)]
pub struct Departures {
    fd: std::os::fd::OwnedFd,
    watch: i32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Watches `dir` for names leaving it and calls `on_leave` after each batch of such events (or
/// when events were lost).
pub fn watch_departures(dir: &Path, on_leave: impl Fn() + Send + 'static) -> Result<Departures> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let fail = |e: std::io::Error| Error::Watch {
        path: dir.to_path_buf(),
        source: notify::Error::io(e),
    };
    // SAFETY: inotify_init1 has no preconditions; the descriptor is owned right below.
    let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if raw < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| fail(std::io::Error::other(e)))?;
    let mask = libc::IN_MOVED_FROM | libc::IN_DELETE | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF;
    // SAFETY: valid descriptor and NUL-terminated path.
    let watch = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
    if watch < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = fd.try_clone().map_err(fail)?;
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("coord-departures".into())
        .spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: the buffer is valid for its length; the descriptor stays open here.
                let n =
                    unsafe { libc::read(reader.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                }
                if n <= 0 {
                    return;
                }
                on_leave();
            }
        })
        .map_err(fail)?;
    Ok(Departures { fd, watch, stop })
}

impl Drop for Departures {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Removing the watch queues IN_IGNORED, which wakes the reader to see the stop flag.
        // SAFETY: valid descriptor and watch; an error only means the watch is already gone.
        unsafe {
            libc::inotify_rm_watch(self.fd.as_raw_fd(), self.watch);
        }
    }
}
