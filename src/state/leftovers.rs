//! What dead processes of this host left in tmp/: a whole report of a task whose commit
//! happened is published (under the finished lock, never over a report); every other temp file
//! of a dead process is removed. Files of live processes and of other hosts are left alone.

use super::locks;
use super::{TaskState, layout};
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::report;
use crate::model::task;

/// What [`orphans`] found (and, when asked, did) in tmp/.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Orphans {
    /// Whole reports of committed tasks (published when fixing).
    pub published: usize,
    /// The tasks those reports are about.
    pub report_ids: Vec<String>,
    /// Other temp files of dead processes (removed when fixing).
    pub removed: usize,
}

/// Looks at the temp files that dead processes of this host left in tmp/, and with `fix`
/// publishes the reports of committed tasks and removes the rest.
pub fn orphans(ws: &Workspace, fix: bool) -> Result<Orphans> {
    let dir = ws.tmp();
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
    let mut found = Orphans::default();
    let _finished = match fix {
        true => Some(locks::finished(ws)?),
        false => None,
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((host, pid, tag)) = parse_tmp_name(&name) else {
            continue;
        };
        // Only this host's pid namespace: a pid of another namespace means another process.
        if host != host::pid_host() || pid == host::pid() || host::process_alive(pid) {
            continue;
        }
        let path = dir.join(&name);
        if tag == "report"
            && let Ok(r) = report::read(&path)
            && task::check_id(&r.task_id).is_ok()
        {
            let committed = [TaskState::Completed, TaskState::Failed]
                .iter()
                .any(|s| layout::settled_path(ws, s, &r.task_id).exists());
            let dst = layout::report_path(ws, &r.task_id);
            if committed && !dst.exists() {
                if fix {
                    durable::publish_new(&path, &dst)?;
                    durable::sync_dir(&ws.reports(), ws.durability())?;
                }
                found.published += 1;
                found.report_ids.push(r.task_id);
                continue;
            }
        }
        if fix {
            // A temp name is coord's; what a command made there (even a folder) goes too. What
            // cannot be removed is reported in the log and left for the next sweep.
            let gone = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            match gone {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
            }
        }
        found.removed += 1;
    }
    Ok(found)
}

/// The tasks whose report is on its way: written whole to tmp/ by a live process of this host,
/// not yet published. A task seen committed before this call and not named here, whose report is
/// still missing after it, has lost its report.
pub fn in_flight_reports(ws: &Workspace) -> Result<std::collections::HashSet<String>> {
    let dir = ws.tmp();
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
    let mut ids = std::collections::HashSet::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((_, _, "report")) = parse_tmp_name(&name) else {
            continue;
        };
        if let Ok(r) = report::read(&dir.join(&name)) {
            ids.insert(r.task_id);
        }
    }
    Ok(ids)
}

/// Splits `<host>.<pid>.<counter>.<random>.<tag>.tmp` (the host may hold dots).
fn parse_tmp_name(name: &str) -> Option<(&str, u32, &str)> {
    let rest = name.strip_suffix(durable::TMP_SUFFIX)?;
    let mut parts = rest.rsplitn(5, '.');
    let tag = parts.next()?;
    let _random = parts.next()?;
    let _counter = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    Some((host, pid, tag))
}
