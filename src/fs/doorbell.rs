//! The doorbell: how a waiter on another host learns, in milliseconds, that a task may be
//! claimable.
//!
//! A network file system raises no event for another host's change, and rescanning pending/
//! costs a listing of the folder. So every move that puts a task into pending/ (or lets a
//! skipped one be claimed) rewrites `.coord/doorbell` with a new random stamp, and a waiter on a
//! network file system reads that small file every [`LISTEN_EVERY`]: when the stamp changed,
//! it looks at pending/. The stamp is read, not the file's times, because network clients cache
//! attributes; reading the contents of a file just opened goes to the server. The doorbell is
//! a hint, like a file-system event: the folders stay the only truth, and the waiter's
//! rescan interval still covers a ring that was missed.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace::Workspace;

/// How often a waiter on a network file system reads the doorbell.
pub const LISTEN_EVERY: Duration = Duration::from_millis(50);

/// The doorbell's file in a workspace.
fn path(ws: &Workspace) -> PathBuf {
    ws.root().join("doorbell")
}

/// Rings: writes a new random stamp over the doorbell (created with the workspace's mode if it
/// is missing; never through a symlink, never into anything but a regular file). Best effort:
/// a ring that fails is covered by the waiters' rescans.
pub fn ring(ws: &Workspace) {
    let path = path(ws);
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(durable::file_mode())
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path);
    let Ok(mut file) = opened else { return };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return;
    }
    let stamp = format!("{:016x}\n", host::random_u64());
    let _ = file.write_all(stamp.as_bytes());
}

/// Reads the doorbell's stamp (empty when it is missing or cannot be read).
fn stamp(path: &std::path::Path) -> Vec<u8> {
    let mut buf = Vec::with_capacity(32);
    if let Ok(file) = durable::open_regular(path) {
        let _ = file.take(64).read_to_end(&mut buf);
    }
    buf
}

/// A thread reading the doorbell every [`LISTEN_EVERY`]; stopped when dropped.
#[derive(Debug)]
pub struct Listener {
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts reading `ws`'s doorbell and calls `on_ring` each time its stamp changes.
pub fn listen(ws: &Workspace, on_ring: impl Fn() + Send + 'static) -> std::io::Result<Listener> {
    let path = path(ws);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("coord-doorbell".into())
        .spawn(move || {
            let mut last = stamp(&path);
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(LISTEN_EVERY);
                let now = stamp(&path);
                if now != last {
                    last = now;
                    on_ring();
                }
            }
        })?;
    Ok(Listener { stop })
}
