//! Where a task lives in each state: the one place that builds the name of a task or report
//! file.

use std::path::PathBuf;

use super::{StateKind, TaskState};
use crate::base::error::Result;
use crate::fs::workspace::Workspace;
use crate::model::task::TaskFile;

/// The folders beside the states' own: reports, logs (task logs in `logs/tasks/`), and the
/// workers' records.
const OTHER_FOLDERS: [&str; 4] = ["reports", "logs", "logs/tasks", "workers"];

/// Creates the workspace `<dir>/.coord`: a folder for each state ([`StateKind::ALL`]) and the
/// others coord keeps; harmless when it exists ([`Workspace::init`]).
pub fn init(dir: &std::path::Path, shared_gid: Option<u32>) -> Result<Workspace> {
    let folders: Vec<&str> = (StateKind::ALL.iter().map(|k| k.as_str()))
        .chain(OTHER_FOLDERS)
        .collect();
    Workspace::init(dir, shared_gid, &folders)
}

/// The name of a task's file in every state folder but pending/: `<id>.json`.
pub fn file_name(id: &str) -> String {
    format!("{id}.json")
}

/// The folder that holds the tasks in `state`.
pub fn folder(ws: &Workspace, state: &TaskState) -> PathBuf {
    match state {
        TaskState::Pending => ws.pending(),
        TaskState::Blocked => ws.blocked(),
        TaskState::Assigned(w) => ws.assigned(w),
        TaskState::Waiting => ws.waiting(),
        TaskState::Review => ws.review(),
        TaskState::Completed => ws.completed(),
        TaskState::Failed => ws.failed(),
    }
}

/// The path of task `id` in `state`; for pending/, whose names carry the order, use
/// [`pending_path`].
pub fn settled_path(ws: &Workspace, state: &TaskState, id: &str) -> PathBuf {
    folder(ws, state).join(file_name(id))
}

/// The path a task takes in pending/: `<order>.<id>.json`.
pub fn pending_path(ws: &Workspace, task: &TaskFile) -> PathBuf {
    ws.pending().join(task.pending_name())
}

/// Where a task's report lives: `reports/<id>.json`.
pub fn report_path(ws: &Workspace, id: &str) -> PathBuf {
    ws.reports().join(file_name(id))
}

/// Where the report of a file set aside as not a valid task lives: `reports/invalid/<name>.json`,
/// a folder no task id can name, so it never takes the place of a task's report.
pub fn invalid_report_path(ws: &Workspace, name: &str) -> PathBuf {
    ws.reports().join("invalid").join(file_name(name))
}

/// The log file of one attempt of a task: `logs/tasks/<id>.<attempt>.log`.
pub fn task_log_path(ws: &Workspace, id: &str, attempt: u32) -> PathBuf {
    ws.task_logs().join(format!("{id}.{attempt}.log"))
}

/// Whether `name` in logs/tasks/ is a log of task `id`: exactly `<id>.<digits>.log`, so the logs
/// of task `a.b` are never taken for those of task `a`.
pub fn is_task_log_of(name: &str, id: &str) -> bool {
    name.strip_prefix(id)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".log"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_task_log_of;

    #[test]
    fn a_log_belongs_to_one_task_only() {
        assert!(is_task_log_of("a.1.log", "a"));
        assert!(is_task_log_of("a.b.12.log", "a.b"));
        assert!(!is_task_log_of("a.b.1.log", "a"));
        assert!(!is_task_log_of("a..log", "a"));
        assert!(!is_task_log_of("ab.1.log", "a"));
    }
}
