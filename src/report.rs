//! Reports: one JSON file per finished task, `reports/<taskId>.json`, written whole.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::durable;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The final outcome of a task, as `reports/<taskId>.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The task.
    pub task_id: String,
    /// The worker that ran the last attempt.
    pub worker_id: String,
    /// "completed", "failed" (out of attempts) or "invalid" (not a readable task).
    pub status: String,
    /// The attempt this report is about.
    pub attempt: u32,
    /// When the attempt started (the worker's clock, RFC 3339 UTC).
    pub started_at: String,
    /// When it ended (the worker's clock).
    pub completed_at: String,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// The command's exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Why the task failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Output files found non-empty.
    pub deliverables: Vec<String>,
    /// Output files absent or empty.
    pub missing: Vec<String>,
    /// The attempt's log file.
    pub log: Option<String>,
    /// What the command wrote to $COORD_RESULT_FILE (or `coord complete --result`), when it
    /// is a JSON object.
    pub result: Option<Value>,
    /// Each acceptance check and its outcome.
    #[serde(default)]
    pub validation: Vec<crate::checks::Outcome>,
    /// The note given with `coord complete --note` or `coord fail --reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Report {
    /// A report of an outcome recorded without running anything now (a lost worker, an invalid
    /// file, a rebuilt report): timestamps now, no exit code, no deliverables.
    pub fn recorded(
        task_id: &str,
        worker_id: &str,
        status: &str,
        attempt: u32,
        reason: Option<String>,
    ) -> Report {
        let now = crate::host::rfc3339(crate::host::now());
        Report {
            task_id: task_id.to_string(),
            worker_id: worker_id.to_string(),
            status: status.to_string(),
            attempt,
            started_at: now.clone(),
            completed_at: now,
            duration_ms: 0,
            exit_code: None,
            reason,
            deliverables: Vec::new(),
            missing: Vec::new(),
            log: None,
            result: None,
            validation: Vec::new(),
            note: None,
        }
    }
}

/// A report written to a temp file, ready to be published once the task's move has committed.
#[derive(Debug)]
pub struct Prepared {
    tmp: PathBuf,
    dst: PathBuf,
}

/// Writes `report` whole (fsynced when the workspace says so) under a temp name.
pub fn prepare(ws: &Workspace, report: &Report) -> Result<Prepared> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("reports serialize");
    bytes.push(b'\n');
    let tmp = durable::write_tmp(&ws.tmp(), "report", &bytes, ws.durability())?;
    Ok(Prepared {
        tmp,
        dst: path(ws, &report.task_id),
    })
}

impl Prepared {
    /// Makes the report visible under its final name and flushes the folder.
    pub fn publish(self, ws: &Workspace) -> Result<PathBuf> {
        durable::replace(&self.tmp, &self.dst)?;
        durable::sync_dir(&ws.reports(), ws.durability())?;
        Ok(self.dst)
    }

    /// Drops a report whose task move did not happen.
    pub fn discard(self) -> Result<()> {
        durable::remove_if_exists(&self.tmp)
    }
}

/// Where a task's report lives.
pub fn path(ws: &Workspace, task_id: &str) -> PathBuf {
    ws.reports().join(format!("{task_id}.json"))
}

/// Reads a report.
pub fn read(path: &Path) -> Result<Report> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        what: "cannot parse report",
        path: path.to_path_buf(),
        source,
    })
}
