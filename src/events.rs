//! The events journal: `.coord/events.jsonl`, one JSON line per state change, appended.
//!
//! The journal is a record for people and tools, not a source of truth: each line is written
//! after the change it describes (a crash in between loses the line, never the change), and
//! every batch of lines goes out in one `write` on an `O_APPEND` file, so lines of concurrent
//! processes never interleave.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::workspace::Workspace;

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Put in pending/ by `coord queue`.
    Queued,
    /// Put in blocked/ by `coord queue`: it waits for its dependencies.
    Blocked,
    /// Moved from blocked/ to pending/: its dependencies completed.
    Unblocked,
    /// Claimed by a worker (after every check of the claim passed).
    Claimed,
    /// Its command started.
    Started,
    /// Moved to completed/.
    Completed,
    /// Moved to failed/: out of attempts, or a dependency failed.
    Failed,
    /// An attempt failed; back in pending/ for another.
    Requeued,
    /// Handed back to pending/ without using an attempt.
    Released,
    /// Taken back from a gone worker.
    Recovered,
    /// Cancelled by an operator.
    Cancelled,
    /// A cancelled task's command, which was running, has ended with every process it started.
    Stopped,
    /// Sent back from failed/ by an operator.
    Retried,
    /// Removed by `coord purge`.
    Purged,
    /// Its holder asked a question: moved to waiting/.
    Asked,
    /// Its question was answered: back to its holder, or to pending/.
    Answered,
    /// Its checks passed and it waits for review: moved to review/.
    Submitted,
    /// Approved by a reviewer: moved to completed/.
    Approved,
    /// Rejected by a reviewer: back to pending/ (or to failed/ when out of attempts).
    Rejected,
}

names!(Kind {
    Queued => "queued",
    Blocked => "blocked",
    Unblocked => "unblocked",
    Claimed => "claimed",
    Started => "started",
    Completed => "completed",
    Failed => "failed",
    Requeued => "requeued",
    Released => "released",
    Recovered => "recovered",
    Cancelled => "cancelled",
    Stopped => "stopped",
    Retried => "retried",
    Purged => "purged",
    Asked => "asked",
    Answered => "answered",
    Submitted => "submitted",
    Approved => "approved",
    Rejected => "rejected",
});

/// One state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When (UTC, milliseconds; the recording process's clock).
    #[serde(with = "crate::time::ms")]
    pub at: jiff::Timestamp,
    /// What happened.
    pub event: Kind,
    /// The task.
    #[serde(rename = "taskId", alias = "task")]
    pub task: String,
    /// The worker concerned, if any.
    #[serde(
        rename = "workerId",
        alias = "worker",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub worker: Option<String>,
    /// The attempt concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

impl Event {
    /// An event stamped now.
    pub fn now(event: Kind, task: &str, worker: Option<&str>, attempt: Option<u32>) -> Event {
        Event {
            at: crate::host::now(),
            event,
            task: task.to_string(),
            worker: worker.map(str::to_string),
            attempt,
        }
    }
}

/// The journal's path.
pub fn path(ws: &Workspace) -> PathBuf {
    ws.root().join("events.jsonl")
}

static OPEN: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);

/// Appends events to the journal in one write. A journal that cannot be written is reported in
/// the log and otherwise ignored: the change it describes has already happened.
pub fn record(ws: &Workspace, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    let mut text = Vec::with_capacity(events.len() * 96);
    for e in events {
        serde_json::to_writer(&mut text, e).expect("events serialize");
        text.push(b'\n');
    }
    let target = path(ws);
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if open.as_ref().is_none_or(|(p, _)| *p != target) {
        match durable::open_append(&target) {
            Ok(f) => {
                *open = Some((target.clone(), f));
            }
            Err(e) => {
                tracing::warn!("{e}; events not recorded");
                return;
            }
        }
    }
    if let Some((_, file)) = open.as_mut()
        && let Err(e) = file.write_all(&text)
    {
        tracing::warn!("cannot append to {}: {e}", target.display());
    }
}

/// Records one event.
pub fn one(ws: &Workspace, event: Kind, task: &str, worker: Option<&str>, attempt: Option<u32>) {
    record(ws, &[Event::now(event, task, worker, attempt)]);
}

/// The journal's length now: where a reader that wants only later events starts.
pub fn end_offset(ws: &Workspace) -> u64 {
    std::fs::symlink_metadata(path(ws)).map_or(0, |m| m.len())
}

/// Reads the journal from byte `offset`, handing each whole line's event to `each` as it is
/// read (flat memory, however long the journal), and returns the offset after the last whole
/// line (a line still being written is left for the next read).
pub fn read_each(ws: &Workspace, offset: u64, mut each: impl FnMut(Event)) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = match durable::open_regular(&path(ws)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(offset),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = std::io::BufReader::new(file);
    let mut at = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        at += n as u64;
        if let Ok(e) = serde_json::from_str(line.trim_end()) {
            each(e);
        }
    }
    Ok(at)
}
