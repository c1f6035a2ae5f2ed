//! The trust boundary: a worker runs commands only from files no untrusted user could have
//! written.
//!
//! Like ssh's StrictModes: the workspace folders a command's task passes through, and the task
//! file itself, must belong to the worker's user (or root) and must not be writable by the group
//! or by others. In a shared workspace (`coord init --shared GROUP`) the workspace's group is
//! trusted too: a path may belong to any user and be group-writable when its group is that
//! group. Nothing is followed through a symlink.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::base::error::{Error, Result};
use crate::fs::workspace::Workspace;

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Why a path is not trusted, and the command that makes it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distrust {
    /// What is wrong ("it is writable by others (mode 0777)").
    pub problem: String,
    /// A shell command that fixes it.
    pub fix: String,
}

/// What is wrong with one path's ownership or mode, or None when it is safe.
///
/// `group` is the workspace's shared group, if it has one.
pub fn problem(path: &Path, group: Option<u32>) -> Option<Distrust> {
    let shown = path.display();
    let distrust = |problem: String, fix: String| Some(Distrust { problem, fix });
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return distrust(format!("cannot inspect it: {e}"), format!("ls -ld {shown}")),
    };
    if meta.file_type().is_symlink() {
        return distrust("it is a symlink".into(), format!("rm {shown}"));
    }
    let me = euid();
    let in_group = group == Some(meta.gid());
    let mode = meta.mode() & 0o777;
    if meta.uid() != me && meta.uid() != 0 && !in_group {
        return distrust(
            format!(
                "it belongs to uid {}, not to this worker's uid {me} or root",
                meta.uid()
            ),
            match group {
                Some(gid) => format!("chgrp {gid} {shown}"),
                None => format!("chown {me} {shown}"),
            },
        );
    }
    if mode & 0o002 != 0 {
        return distrust(
            format!("it is writable by others (mode {mode:04o})"),
            format!("chmod o-w {shown}"),
        );
    }
    if mode & 0o020 != 0 && !in_group {
        return distrust(
            format!(
                "it is writable by its group (gid {}, mode {mode:04o})",
                meta.gid()
            ),
            match group {
                Some(gid) => format!("chgrp {gid} {shown}"),
                None => format!("chmod g-w {shown}"),
            },
        );
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
        if let Some(Distrust { problem, fix }) = problem(&path, ws.shared_group()) {
            return Err(Error::Unsafe { path, problem, fix });
        }
    }
    Ok(())
}

/// The trust rule for running a command a task file carries, whoever runs it (a worker, or
/// `coord complete` running `acceptance.verify`): the workspace folders and the held task file
/// itself must be writable only by this user (or root, or the shared group).
pub fn check_task(ws: &Workspace, worker: &str, held: &Path) -> Result<()> {
    check_workspace(ws, worker)?;
    match problem(held, ws.shared_group()) {
        Some(Distrust { problem, fix }) => Err(Error::Unsafe {
            path: held.to_path_buf(),
            problem,
            fix,
        }),
        None => Ok(()),
    }
}

/// The id of a group given by name or number; names are looked up in /etc/group.
pub fn group_id(group: &str) -> Result<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let table = std::fs::read_to_string("/etc/group").unwrap_or_default();
    table
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let gid = fields.nth(1)?.parse::<u32>().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| {
            Error::Invalid(format!(
                "there is no group {group:?} in /etc/group; give an existing group name or its numeric id (`getent group {group}` shows it)"
            ))
        })
}
