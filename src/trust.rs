//! The trust boundary: a worker runs commands only from files no other user could have written.
//!
//! Like ssh's StrictModes: the workspace folders a command's task passes through, and the task
//! file itself, must belong to the worker's user (or root) and must not be writable by the group
//! or by others. Nothing is followed through a symlink.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::workspace::Workspace;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// What is wrong with one path's ownership or mode, or None when it is safe.
pub fn problem(path: &Path) -> Option<String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot inspect it: {e}")),
    };
    if meta.file_type().is_symlink() {
        return Some("it is a symlink".into());
    }
    let me = euid();
    if meta.uid() != me && meta.uid() != 0 {
        return Some(format!(
            "it belongs to uid {}, not to this worker's uid {me} or root",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and by others",
            (true, false) => "its group",
            _ => "others",
        };
        return Some(format!("it is writable by {who} (mode {mode:04o})"));
    }
    None
}

/// Checks the folders a task passes through before a worker runs commands from it.
pub fn check_workspace(ws: &Workspace, worker: &str) -> Result<()> {
    for path in [
        ws.root().to_path_buf(),
        ws.pending(),
        ws.assigned_root(),
        ws.assigned(worker),
    ] {
        if let Some(problem) = problem(&path) {
            return Err(Error::Unsafe { path, problem });
        }
    }
    Ok(())
}
