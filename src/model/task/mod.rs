//! Tasks: the fields a user queues, the state coord keeps beside them, and their validation.

pub mod acceptance;
mod names;
mod parse;
mod validate;

pub use acceptance::Acceptance;
pub use names::{
    ORDER_LEN, batch_name, id_from_pending_name, is_batch_name, is_ignored_name, order_key,
    pending_file_name, pending_name,
};
pub use parse::{Item, Parsed, each_task, no_tasks, parse_tasks};
pub use validate::{check_id, check_project_path, validate_object};

use crate::base::error;
use crate::base::host;
use crate::fs::durable;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest task coord queues, and the largest file it claims from pending/, in bytes
/// (1 MiB).
pub const MAX_TASK_BYTES: u64 = 1 << 20;

/// The largest task file coord writes and reads, in any state, in bytes (8 MiB): what coord adds
/// to a queued task (history, a note, a question and its answer, the report of work in review)
/// is cut to fit ([`TaskFile::to_bytes_within_budget`]), so coord never writes a file it would
/// not read back.
pub const MAX_TASK_FILE_BYTES: u64 = 8 << 20;

/// The most bytes of one piece of free text a person or an agent gives coord to keep with a
/// task (a note, a question, an answer, a reason): 64 KiB.
pub const MAX_TEXT_BYTES: usize = 64 << 10;

/// What one history entry's reason keeps, and what the reasons of all but the latest entries
/// keep when a file would still be too big.
const MAX_REASON_BYTES: usize = 4 << 10;
const OLD_REASON_BYTES: usize = 256;
const RECENT_HISTORY: usize = 10;

/// Refuses free text longer than [`MAX_TEXT_BYTES`], naming what it is.
pub fn check_text(what: &str, text: &str) -> Result<(), String> {
    match text.len() > MAX_TEXT_BYTES {
        true => Err(format!(
            "the {what} is {} bytes; the limit is {MAX_TEXT_BYTES}: put long text in a file and give its path",
            text.len()
        )),
        false => Ok(()),
    }
}

/// Cuts `text` to at most `max` bytes (on a character boundary), saying how much was cut.
fn clip(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub(40);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!(" … ({cut} bytes cut)"));
}

/// Attempts a task gets when it does not say (`maxAttempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The key inside a task file under which coord keeps its own state; refused in queued tasks.
pub const STATE_KEY: &str = "coord";

/// Reads and validates a task file (size-limited, never through a symlink).
pub fn read(path: &std::path::Path) -> error::Result<TaskFile> {
    let bytes = durable::read_limited(path, MAX_TASK_FILE_BYTES)
        .map_err(|e| error::Error::io("read", path, e))?;
    TaskFile::parse(&bytes).map_err(|reason| {
        error::Error::io(
            "read task",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
        )
    })
}

/// A task as the user queued it: known fields typed, every other field kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Unique id: 1-128 of `[A-Za-z0-9._-]`, starting with a letter or digit.
    pub id: String,
    /// What the task is, for people and agents.
    pub description: String,
    /// Files the task reads or edits, relative to the project directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_files: Vec<String>,
    /// Files the task must produce, relative to the project directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_files: Vec<String>,
    /// Files the task only reads: they exclude only tasks that write them (`targetFiles`,
    /// `outputFiles`), never other readers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_files: Vec<String>,
    /// A shell command that does the task (run with `sh -c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Seconds after which the command's process group is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// How many attempts before the task is dead-lettered (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Higher runs first (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Ids of tasks that must complete before this one can be claimed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Labels a worker must have (`--labels`) to claim this task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Not claimable before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// First delay between attempts in seconds, doubled for each later attempt (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_backoff_secs: Option<f64>,
    /// Whether no other worker may hold a task touching the same files meanwhile (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_files: Option<bool>,
    /// Every other field, handed to the worker untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Spec {
    /// The number of attempts this task gets.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)
    }

    /// The delay before attempt `next` (2 or more): the backoff doubled per earlier retry,
    /// capped at [`MAX_RETRY_DELAY_SECS`], scaled by `jitter` (a number in 0.5..=1.0).
    pub fn retry_delay(&self, next: u32, jitter: f64) -> std::time::Duration {
        let base = self
            .retry_backoff_secs
            .unwrap_or(DEFAULT_RETRY_BACKOFF_SECS);
        let doubled = base * 2f64.powi(next.saturating_sub(2).min(30) as i32);
        std::time::Duration::from_secs_f64(doubled.min(MAX_RETRY_DELAY_SECS) * jitter)
    }
}

/// What happened to one claim of a task that did not end it (failed with a retry, released, lost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The attempt number this claim ran as.
    pub attempt: u32,
    /// The worker that held it.
    #[serde(rename = "workerId", alias = "worker")]
    pub worker: String,
    /// How the claim ended.
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: String,
    /// When the claim ended (the recording process's clock).
    #[serde(with = "crate::base::time::ms")]
    pub at: jiff::Timestamp,
    /// Whether the claim used up an attempt.
    pub counted: bool,
}

/// How a claim that did not finish its task ended, as its history entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The attempt failed, and another followed.
    Failed,
    /// The holder handed it back without using an attempt.
    Released,
    /// The holder was gone (died, or its lease ran out).
    Lost,
    /// An operator sent it back from failed/; attempts are counted from here.
    Retried,
    /// Its holder asked a question and was gone when the answer came: the answer went back to
    /// pending/ with the task.
    Asked,
    /// A reviewer rejected the work; the attempt counts.
    Rejected,
}

names!(Outcome {
    Failed => "failed",
    Released => "released",
    Lost => "lost",
    Retried => "retried",
    Asked => "asked",
    Rejected => "rejected",
});

/// The delay before attempt `next` when a task does not say: 2 s, doubled per attempt.
pub const DEFAULT_RETRY_BACKOFF_SECS: f64 = 2.0;

/// The longest delay between two attempts, whatever the backoff says: 10 minutes.
pub const MAX_RETRY_DELAY_SECS: f64 = 600.0;

/// A note a holder left on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// The worker that wrote it.
    #[serde(rename = "workerId", alias = "worker")]
    pub worker: String,
    /// The attempt it was written in.
    pub attempt: u32,
    /// The note.
    pub text: String,
    /// When (the writer's clock).
    #[serde(with = "crate::base::time::ms")]
    pub at: jiff::Timestamp,
}

/// The state coord keeps inside a task file, under the `coord` key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The ordering key that names the task in pending/ (priority, then queue time).
    #[serde(default)]
    pub order: String,
    /// When the task was queued (none for a task dropped into pending/ by hand).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::base::time::ms_opt"
    )]
    pub queued_at: Option<jiff::Timestamp>,
    /// When the current claim was taken through `coord next` (the claimer's clock).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::base::time::ms_opt"
    )]
    pub claimed_at: Option<jiff::Timestamp>,
    /// The last note a holder left with `coord heartbeat --note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_note: Option<Note>,
    /// Every earlier claim that did not finish the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Not claimable before this time: a backoff written by older versions (read, never written).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::base::time::ms_opt"
    )]
    pub retry_at: Option<jiff::Timestamp>,
    /// The backoff after a failed attempt: not claimable until this many milliseconds after the
    /// file arrived in pending/, by the file system's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_ms: Option<u64>,
    /// Snoozed by its holder (`coord release --until/--for`): not claimable before this time,
    /// read from each worker's own clock, like `notBefore`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::base::time::ms_opt"
    )]
    pub snoozed_until: Option<jiff::Timestamp>,
    /// How far the holder says it is, in percent (`coord heartbeat --progress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    /// The last question a holder asked (`coord ask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
    /// The answer to that question (`coord answer`), handed over with the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The work waiting for review (in review/ only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<InReview>>,
}

/// A question a holder asked about its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    /// The worker that asked, and holds the task while it waits.
    #[serde(rename = "workerId", alias = "worker")]
    pub worker: String,
    /// The attempt it was asked in.
    pub attempt: u32,
    /// The question.
    pub text: String,
    /// When (the asker's clock).
    #[serde(with = "crate::base::time::ms")]
    pub at: jiff::Timestamp,
}

/// The answer to a task's question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// Who answered (a person's name, `coordinator`, a worker id).
    pub by: String,
    /// The answer.
    pub text: String,
    /// When (the answerer's clock).
    #[serde(with = "crate::base::time::ms")]
    pub at: jiff::Timestamp,
}

/// Work that passed its checks and waits for a reviewer's approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InReview {
    /// The report the completion wrote (a report object), published with the approval when
    /// the work is approved.
    pub report: Value,
}

/// A task file: the spec's fields at the top level and coord's state under `coord`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// The task as queued.
    #[serde(flatten)]
    pub spec: Spec,
    /// coord's bookkeeping.
    #[serde(default)]
    pub coord: State,
}

impl TaskFile {
    /// The attempt number the current (or next) claim runs as: one more than the counted
    /// claims since the last `coord retry`.
    pub fn attempt(&self) -> u32 {
        let since_retry = self
            .coord
            .history
            .iter()
            .rposition(|h| h.outcome == Outcome::Retried)
            .map_or(0, |i| i + 1);
        1 + self.coord.history[since_retry..]
            .iter()
            .filter(|h| h.counted)
            .count() as u32
    }

    /// Gives a task written by hand (no ordering key yet) one: its priority, then now.
    pub fn ensure_order(&mut self) {
        if self.coord.order.is_empty() {
            let micros = jiff::Timestamp::now().as_microsecond().max(0) as u64;
            self.coord.order = order_key(self.spec.priority.unwrap_or(0), micros, 0);
        }
    }

    /// The task's name in pending/ (a task without an ordering key sorts first in its
    /// priority).
    pub fn pending_name(&self) -> String {
        match self.coord.order.is_empty() {
            false => pending_name(&self.coord.order, &self.spec.id),
            true => pending_name(
                &order_key(self.spec.priority.unwrap_or(0), 0, 0),
                &self.spec.id,
            ),
        }
    }

    /// How many times an operator sent the task back with `coord retry`.
    pub fn retries(&self) -> usize {
        self.coord
            .history
            .iter()
            .filter(|h| h.outcome == Outcome::Retried)
            .count()
    }

    /// The earliest time the task may be claimed: its `notBefore`, and its retry backoff counted
    /// from `arrived`, when its file arrived in pending/ by the file system's clock (its ctime),
    /// so no worker's own clock decides for the others. (`retryAt`, an absolute time written by
    /// older versions, is still honoured.)
    pub fn ready_at(&self, arrived: Option<jiff::Timestamp>) -> Option<jiff::Timestamp> {
        let not_before = self.spec.not_before.as_deref().and_then(|t| t.parse().ok());
        let not_before = not_before.max(self.coord.snoozed_until);
        let backoff = match (arrived, self.coord.retry_delay_ms) {
            (Some(at), Some(ms)) => Some(at + std::time::Duration::from_millis(ms)),
            _ => None,
        };
        not_before.max(self.coord.retry_at).max(backoff)
    }

    /// The delay before attempt `next` after a failure: the backoff with jitter, in
    /// milliseconds, or None when the task asks for no delay.
    pub fn backoff_ms(&self, next: u32) -> Option<u64> {
        let jitter = 0.5 + (host::random_u64() % 1000) as f64 / 2000.0;
        let delay = self.spec.retry_delay(next, jitter);
        (!delay.is_zero()).then_some(delay.as_millis() as u64)
    }

    /// Whether other workers must not hold tasks writing the files this task reads or writes
    /// (nor reading those it writes) meanwhile.
    pub fn exclusive_files(&self) -> bool {
        self.spec.exclusive_files.unwrap_or(true)
            && !(self.spec.target_files.is_empty()
                && self.spec.output_files.is_empty()
                && self.spec.read_files.is_empty())
    }

    /// The token of the current claim: `<attempt>-<claim number>`; every claim gets a new one.
    pub fn token(&self) -> String {
        format!("{}-{}", self.attempt(), self.coord.history.len() + 1)
    }

    /// The task's `acceptance` checks (validated when the task was queued).
    pub fn acceptance(&self) -> acceptance::Acceptance {
        acceptance::parse(self.spec.extra.get("acceptance")).unwrap_or_default()
    }

    /// Whether the task waits for a reviewer's approval once its checks pass: its own `review`
    /// field, else the workspace's default.
    pub fn needs_review(&self, default: bool) -> bool {
        self.spec
            .extra
            .get("review")
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// The task's own lease in seconds, if it sets `leaseSecs`.
    pub fn lease_secs(&self) -> Option<u64> {
        self.spec.extra.get("leaseSecs").and_then(Value::as_u64)
    }

    /// Serializes the task file as pretty JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("task files serialize");
        bytes.push(b'\n');
        bytes
    }

    /// The file's bytes within [`MAX_TASK_FILE_BYTES`]: texts coord added are cut to
    /// [`MAX_TEXT_BYTES`] and history reasons to 4 KiB, then, if the file is still too big, the
    /// reasons of all but the latest ten entries to 256 bytes (the entries themselves stay:
    /// they count the attempts). The error says how big the file would still be.
    pub fn to_bytes_within_budget(&self) -> Result<Vec<u8>, String> {
        let bytes = self.to_bytes();
        if bytes.len() as u64 <= MAX_TASK_FILE_BYTES {
            return Ok(bytes);
        }
        let mut fitted = self.clone();
        let c = &mut fitted.coord;
        for text in [
            c.last_note.as_mut().map(|n| &mut n.text),
            c.question.as_mut().map(|q| &mut q.text),
            c.answer.as_mut().map(|a| &mut a.text),
        ]
        .into_iter()
        .flatten()
        {
            clip(text, MAX_TEXT_BYTES);
        }
        for h in &mut c.history {
            clip(&mut h.reason, MAX_REASON_BYTES);
        }
        let bytes = fitted.to_bytes();
        if bytes.len() as u64 <= MAX_TASK_FILE_BYTES {
            return Ok(bytes);
        }
        let old = fitted.coord.history.len().saturating_sub(RECENT_HISTORY);
        for h in &mut fitted.coord.history[..old] {
            clip(&mut h.reason, OLD_REASON_BYTES);
        }
        let bytes = fitted.to_bytes();
        match bytes.len() as u64 <= MAX_TASK_FILE_BYTES {
            true => Ok(bytes),
            false => Err(format!(
                "task {} would be {} bytes, over the {MAX_TASK_FILE_BYTES}-byte limit of a task file",
                self.spec.id,
                bytes.len()
            )),
        }
    }

    /// Parses and validates a task file's bytes; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<TaskFile, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        if text.trim().is_empty() {
            return Err("empty file".into());
        }
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Some(obj) = value.as_object_mut() else {
            return Err("not a JSON object".into());
        };
        let state = match obj.remove(STATE_KEY) {
            None => State::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| format!("bad `coord` state: {e}"))?,
        };
        let obj = std::mem::take(obj);
        let spec = validate_object(obj, true).map_err(|problems| problems.join("; "))?;
        Ok(TaskFile { spec, coord: state })
    }
}
