//! The events journal: `.coord/events.jsonl`, one JSON line per state change, appended.
//!
//! The journal is a record for people and tools, not a source of truth: each line is written
//! after the change it describes (a crash in between loses the line, never the change), and
//! every batch of lines goes out in one `write` on an `O_APPEND` file, so lines of concurrent
//! processes never interleave.
//!
//! It is kept in segments: once `events.jsonl` reaches the segment size, the writer that sees it
//! renames it, under `journal.lock`, to `events/<number>.jsonl` (numbered in order) and starts
//! a new one. A writer still holding the old file appends a few more whole lines to that
//! segment, sees its size, and moves to the new file. Readers read the segments in order, then
//! `events.jsonl`; a [`Cursor`] follows a file across its rotation. `coord purge --journal`
//! removes old segments, so the journal stays bounded.

use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::base::error;
use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace::Workspace;

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
    #[serde(with = "crate::base::time::ms")]
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
            at: host::now(),
            event,
            task: task.to_string(),
            worker: worker.map(str::to_string),
            attempt,
        }
    }
}

/// The journal's live file.
pub fn path(ws: &Workspace) -> PathBuf {
    ws.root().join("events.jsonl")
}

/// The folder of the journal's older segments.
pub fn segments_dir(ws: &Workspace) -> PathBuf {
    ws.root().join("events")
}

/// The size at which the live file becomes a segment: 64 MiB, or `COORD_JOURNAL_SEGMENT_BYTES`.
pub fn segment_bytes() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::env::var("COORD_JOURNAL_SEGMENT_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &u64| n > 0)
            .unwrap_or(64 << 20)
    })
}

/// The journal's segments, oldest first: (number, path).
pub fn segments(ws: &Workspace) -> Vec<(u64, PathBuf)> {
    let dir = segments_dir(ws);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    // Only regular files named `<number>.jsonl`: nothing else in the folder is a segment.
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_suffix(".jsonl")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// Makes the live file a segment if it is still the file `ino` and holds at least `min_bytes`;
/// under `journal.lock`, so one process rotates it once.
fn rotate(ws: &Workspace, ino: u64, min_bytes: u64) {
    use std::os::unix::fs::MetadataExt;
    let lock_path = ws.root().join("journal.lock");
    let Ok(lock) = durable::open_append(&lock_path) else {
        return;
    };
    if lock.lock().is_err() {
        return;
    }
    let live = path(ws);
    let Ok(meta) = std::fs::symlink_metadata(&live) else {
        return;
    };
    if meta.ino() != ino || meta.len() < min_bytes.max(1) {
        return;
    }
    let dir = segments_dir(ws);
    if durable::create_dir(&dir).is_err() {
        return;
    }
    let next = segments(ws).last().map_or(1, |(n, _)| n + 1);
    let to = dir.join(format!("{next:012}.jsonl"));
    if let Err(e) = durable::move_noreplace(&live, &to) {
        tracing::warn!("cannot set the journal aside as {}: {e:?}", to.display());
    }
}

/// Sets the live file aside as a segment, whatever its size, if it was last written longer
/// ago than `quiet` (so `coord purge --journal` can remove it too); a later event starts a new
/// live file.
pub fn set_aside_if_quiet(ws: &Workspace, quiet: std::time::Duration) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path(ws)) else {
        return;
    };
    let idle = meta
        .modified()
        .ok()
        .and_then(|t| std::time::SystemTime::now().duration_since(t).ok());
    if idle.is_some_and(|idle| idle >= quiet) {
        rotate(ws, meta.ino(), 1);
    }
}

static OPEN: Mutex<Option<Appender>> = Mutex::new(None);

/// This process's open journal: the live file as it was last opened, and `journal.lock`, held
/// shared while appending so that no rotation moves the file between the look and the write.
struct Appender {
    path: PathBuf,
    file: File,
    lock: File,
}

impl Appender {
    fn open(ws: &Workspace, target: &std::path::Path) -> error::Result<Appender> {
        Ok(Appender {
            path: target.to_path_buf(),
            file: durable::open_append(target)?,
            lock: durable::open_append(&ws.root().join("journal.lock"))?,
        })
    }

    /// Whether the file this process holds is still the live one (not set aside meanwhile).
    fn is_live(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.file.metadata(), std::fs::symlink_metadata(&self.path)) {
            (Ok(held), Ok(live)) => held.ino() == live.ino() && held.dev() == live.dev(),
            _ => false,
        }
    }
}

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
    if open.as_ref().is_none_or(|a| a.path != target) {
        match Appender::open(ws, &target) {
            Ok(a) => *open = Some(a),
            Err(e) => {
                tracing::warn!("{e}; events not recorded");
                return;
            }
        }
    }
    let Some(appender) = open.as_mut() else {
        return;
    };
    // Shared with every other writer, exclusive against a rotation: the write lands in the
    // file that is live while it is made, never behind a reader that has moved on.
    let locked = appender.lock.lock_shared().is_ok();
    if !appender.is_live() {
        match durable::open_append(&target) {
            Ok(f) => appender.file = f,
            Err(e) => tracing::warn!("{e}; events not recorded"),
        }
    }
    if let Err(e) = appender.file.write_all(&text) {
        tracing::warn!("cannot append to {}: {e}", target.display());
    }
    let full = appender
        .file
        .metadata()
        .ok()
        .filter(|m| m.len() >= segment_bytes());
    if locked {
        let _ = appender.lock.unlock();
    }
    // A full file is set aside (under the exclusive lock, once the shared one is let go).
    if let Some(meta) = full {
        use std::os::unix::fs::MetadataExt;
        rotate(ws, meta.ino(), segment_bytes());
    }
}

/// Records one event.
pub fn one(ws: &Workspace, event: Kind, task: &str, worker: Option<&str>, attempt: Option<u32>) {
    record(ws, &[Event::now(event, task, worker, attempt)]);
}

/// Where a reader of the journal is: the file it reads (by inode; 0 before the first read, so
/// the segments come first) and the offset after the last whole line it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    ino: u64,
    offset: u64,
}

/// The journal's end now: where a reader that wants only later events starts.
pub fn end(ws: &Workspace) -> Cursor {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path(ws)) {
        Ok(m) => Cursor {
            ino: m.ino(),
            offset: m.len(),
        },
        // No live file yet: the first one written is new, read from its start.
        Err(_) => Cursor {
            ino: u64::MAX,
            offset: 0,
        },
    }
}

/// Reads the journal on from `cursor`, handing each whole line's event to `each` (flat memory,
/// however long the journal): the rest of the file the cursor was in (found among the segments
/// if it was set aside meanwhile), any later segments, then the live file. A line still being
/// written is left for the next read. Returns the new cursor.
pub fn read_each(
    ws: &Workspace,
    cursor: Cursor,
    mut each: impl FnMut(Event),
) -> std::io::Result<Cursor> {
    use std::os::unix::fs::MetadataExt;
    // The live file is looked at before the segments: one set aside in between is then found
    // among them (and read there), never skipped; its new successor is read next time.
    let live = path(ws);
    let live_ino = std::fs::symlink_metadata(&live).ok().map(|m| m.ino());
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    for (_, seg) in segments(ws) {
        if let Ok(m) = std::fs::symlink_metadata(&seg) {
            files.push((m.ino(), seg));
        }
    }
    if let Some(ino) = live_ino.filter(|ino| files.iter().all(|(i, _)| i != ino)) {
        files.push((ino, live));
    }
    // Start in the file the cursor was in; from the first file when it was never read or is gone.
    let start = files.iter().position(|(ino, _)| *ino == cursor.ino);
    let (from, mut offset) = match start {
        Some(i) => (i, cursor.offset),
        // No live file at `end`: the one written since is the newest, read whole.
        None if cursor.ino == u64::MAX => (files.len().saturating_sub(1), 0),
        // Never read, or its file is gone: purges remove the quietest (oldest) segments first,
        // so every file left is newer than the one the cursor was in; all of them, whole.
        None => (0, 0),
    };
    let mut at = cursor;
    for (ino, file) in files.iter().skip(from) {
        let end = read_file(file, offset, &mut each)?;
        at = Cursor {
            ino: *ino,
            offset: end,
        };
        offset = 0;
    }
    Ok(at)
}

/// Reads one journal file from `offset`; returns the offset after its last whole line.
fn read_file(
    path: &std::path::Path,
    offset: u64,
    each: &mut impl FnMut(Event),
) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = match durable::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(offset),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = std::io::BufReader::new(file);
    let mut at = offset;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            if n as u64 <= MAX_LINE_BYTES {
                // A line still being written: left for the next read.
                break;
            }
            // Longer than any event: skipped to its end, in bounded pieces.
            let Some(rest) = skip_line(&mut reader)? else {
                break;
            };
            tracing::warn!(
                "{}: skipped a line of {} bytes at offset {at}",
                path.display(),
                n as u64 + rest
            );
            at += n as u64 + rest;
            continue;
        }
        match serde_json::from_slice(&line[..n - 1]) {
            Ok(e) => each(e),
            Err(e) => tracing::warn!(
                "{}: skipped a line at offset {at} that is not an event: {e}",
                path.display()
            ),
        }
        at += n as u64;
    }
    Ok(at)
}

/// The longest journal line read as an event (64 KiB); an event is a few hundred bytes.
const MAX_LINE_BYTES: u64 = 64 << 10;

/// Reads past the rest of an overlong line, its newline included, in bounded pieces; the bytes
/// read, or None when the line is still being written (no newline yet).
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<Option<u64>> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(None);
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(Some(skipped + i as u64 + 1));
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
                skipped += len as u64;
            }
        }
    }
}
