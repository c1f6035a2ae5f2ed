//! Reports: one JSON file per finished task, `reports/<taskId>.json`, written whole.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::durable;
use crate::model::checks;
use crate::model::task;

/// How a task ended, as its report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It completed: its command and checks passed.
    Completed,
    /// It failed for good: out of attempts, failed with `--no-retry`, or a dependency failed.
    Failed,
    /// An operator cancelled it.
    Cancelled,
    /// The file was not a readable task; it was set aside.
    Invalid,
}

names!(Status {
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
    Invalid => "invalid",
});

/// The final outcome of a task, as `reports/<taskId>.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The task.
    pub task_id: String,
    /// The worker that ran the last attempt.
    pub worker_id: String,
    /// How it ended.
    pub status: Status,
    /// The attempt this report is about.
    pub attempt: u32,
    /// When the attempt started (the worker's clock).
    #[serde(with = "crate::base::time::ms")]
    pub started_at: jiff::Timestamp,
    /// When it ended, its checks included (the worker's clock).
    #[serde(with = "crate::base::time::ms")]
    pub completed_at: jiff::Timestamp,
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
    pub validation: Vec<checks::Outcome>,
    /// The note given with `coord complete --note` or `coord fail --reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the work cost, as the agent that did it said (`coord complete --tokens-in` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Who approved the work, for a task that waited for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was approved (the approver's clock).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::base::time::ms_opt"
    )]
    pub approved_at: Option<jiff::Timestamp>,
    /// The note the reviewer gave with the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_note: Option<String>,
}

/// The cost of an attempt, as the agent that ran it reports it; every figure is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens read by the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    /// Tokens written by the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    /// What the attempt cost, in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// How well the agent used its context, 0 to 100, as it judges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_efficiency_score: Option<f64>,
}

impl Usage {
    /// Whether no figure is given.
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }

    /// The figures a result object carries under the same names (`tokensIn`, `tokensOut`,
    /// `costUsd`, `contextEfficiencyScore`), each taken only when it is a non-negative number.
    pub fn from_result(result: &Value) -> Usage {
        let number = |key: &str| {
            result
                .get(key)
                .and_then(Value::as_f64)
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        Usage {
            tokens_in: result.get("tokensIn").and_then(Value::as_u64),
            tokens_out: result.get("tokensOut").and_then(Value::as_u64),
            cost_usd: number("costUsd"),
            context_efficiency_score: number("contextEfficiencyScore"),
        }
    }

    /// These figures, with any missing one taken from `other`.
    pub fn or(self, other: Usage) -> Usage {
        Usage {
            tokens_in: self.tokens_in.or(other.tokens_in),
            tokens_out: self.tokens_out.or(other.tokens_out),
            cost_usd: self.cost_usd.or(other.cost_usd),
            context_efficiency_score: self
                .context_efficiency_score
                .or(other.context_efficiency_score),
        }
    }
}

impl Report {
    /// A report of an outcome recorded without running anything now (a lost worker, an invalid
    /// file, a rebuilt report): timestamps now, no exit code, no deliverables.
    pub fn recorded(
        task_id: &str,
        worker_id: &str,
        status: Status,
        attempt: u32,
        reason: Option<String>,
    ) -> Report {
        let now = host::now();
        Report {
            task_id: task_id.to_string(),
            worker_id: worker_id.to_string(),
            status,
            attempt,
            started_at: now,
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
            usage: None,
            approved_by: None,
            approved_at: None,
            review_note: None,
        }
    }

    /// The report as pretty JSON with a final newline, as its file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("reports serialize");
        bytes.push(b'\n');
        bytes
    }
}

/// The largest report coord reads: a result file's 1 MiB, checks and words around it.
const MAX_REPORT_BYTES: u64 = 4 << 20;

/// What one attempt came to, for [`Report::of_attempt`].
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The task as held.
    pub task: &'a task::TaskFile,
    /// The worker that ran it.
    pub worker: &'a str,
    /// When the attempt started.
    pub started: jiff::Timestamp,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// The command's exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Why it failed; None when it completed.
    pub reason: Option<String>,
    /// The outcome of each check.
    pub validation: Vec<checks::Outcome>,
    /// The attempt's log file.
    pub log: Option<String>,
    /// The result object the work gave.
    pub result: Option<Value>,
    /// The note the holder gave.
    pub note: Option<String>,
}

impl Report {
    /// The report of an attempt that ran (by a worker or an agent), ended now: after its checks.
    pub fn of_attempt(a: Attempt<'_>) -> Report {
        let (deliverables, missing) =
            checks::deliverables(&a.validation, &a.task.spec.output_files);
        Report {
            task_id: a.task.spec.id.clone(),
            worker_id: a.worker.to_string(),
            status: match a.reason {
                None => Status::Completed,
                Some(_) => Status::Failed,
            },
            attempt: a.task.attempt(),
            started_at: a.started,
            completed_at: host::now(),
            duration_ms: a.duration_ms,
            exit_code: a.exit_code,
            reason: a.reason,
            deliverables,
            missing,
            log: a.log,
            usage: a
                .result
                .as_ref()
                .map(Usage::from_result)
                .filter(|u| !u.is_empty()),
            result: a.result,
            validation: a.validation,
            note: a.note,
            approved_by: None,
            approved_at: None,
            review_note: None,
        }
    }
}

/// Reads a report.
pub fn read(path: &Path) -> Result<Report> {
    let bytes =
        durable::read_limited(path, MAX_REPORT_BYTES).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        what: "cannot parse report",
        path: path.to_path_buf(),
        source,
    })
}
