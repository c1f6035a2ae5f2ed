//! File-system events as wake-ups.
//!
//! The hot paths (a worker waiting for tasks, a worker watching its own claims) use inotify
//! directly with a narrow mask, so that the renames every claim makes wake nobody who does not
//! need them; views that redraw on any change (`status --watch`, `logs --follow`, `wait`) use
//! the notify crate. Events are hints, never the truth: a woken process scans, and a slow timer
//! rescans in case an event was lost.

use std::path::Path;

use notify::event::EventKind;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::error::{Error, Result};

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
    fd: std::os::fd::OwnedFd,
    wd: i32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Removing the watch queues IN_IGNORED, which wakes the reader to see the stop flag.
        // SAFETY: valid descriptor and watch; an error only means the watch is already gone.
        unsafe {
            libc::inotify_rm_watch(self.fd.as_raw_fd(), self.wd);
        }
    }
}

/// Watches `dir` for names arriving (created, linked or renamed in) and deleted; renames away,
/// such as claims, are not reported.
pub fn arrivals(dir: &Path, on_change: impl Fn(Change) + Send + 'static) -> Result<Watch> {
    let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_DELETE;
    raw_watch(dir, mask, move |mask, name| {
        if mask & libc::IN_Q_OVERFLOW != 0 {
            on_change(Change::Rescan);
        } else if let Some(name) = name {
            on_change(match mask & libc::IN_DELETE {
                0 => Change::Added(name),
                _ => Change::Removed(name),
            });
        }
    })
}

/// Watches `dir` for names leaving it (renamed away or deleted) and calls `on_leave` for each;
/// arrivals, such as the worker's own claims, wake nothing.
pub fn departures(dir: &Path, on_leave: impl Fn() + Send + 'static) -> Result<Watch> {
    let mask = libc::IN_MOVED_FROM | libc::IN_DELETE | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF;
    raw_watch(dir, mask, move |_, _| on_leave())
}

/// Adds an inotify watch with `mask` on `dir` and hands each event (its mask and name) to
/// `on_event` from a reader thread.
fn raw_watch(
    dir: &Path,
    mask: u32,
    on_event: impl Fn(u32, Option<String>) + Send + 'static,
) -> Result<Watch> {
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
    // SAFETY: valid descriptor and NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
    if wd < 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = fd.try_clone().map_err(fail)?;
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("coord-inotify".into())
        .spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                // SAFETY: the buffer is valid for its length; the descriptor stays open here.
                let n =
                    unsafe { libc::read(reader.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                let mut at = 0;
                let header = std::mem::size_of::<libc::inotify_event>();
                while at + header <= n as usize {
                    // SAFETY: the kernel wrote a whole event header at `at`; read it unaligned.
                    let event: libc::inotify_event =
                        unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                    let name_end = (at + header + event.len as usize).min(n as usize);
                    let name = std::ffi::CStr::from_bytes_until_nul(&buf[at + header..name_end])
                        .ok()
                        .and_then(|c| c.to_str().ok())
                        .filter(|s| !s.is_empty())
                        .map(str::to_string);
                    on_event(event.mask, name);
                    at = name_end;
                }
            }
        })
        .map_err(fail)?;
    Ok(Watch { fd, wd, stop })
}
