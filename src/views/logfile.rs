//! Reading worker logs (`.coord/logs/<worker>.log`): lines with their times, merged across
//! workers, and followed as they grow.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::fs::workspace::Workspace;
use crate::state::layout;
use crate::state::store;

/// One log line and the worker whose log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The worker id (the log file's name).
    pub worker: String,
    /// The line's leading timestamp, or the previous line's for a line without one.
    pub at: String,
    /// The line as written.
    pub text: String,
}

/// The worker logs in `logs/`, by worker id.
pub fn files(ws: &Workspace, worker: Option<&str>) -> Result<BTreeMap<String, PathBuf>> {
    let dir = ws.logs();
    let mut found = BTreeMap::new();
    for name in store::list_files(&dir)? {
        if let Some(id) = name.strip_suffix(".log")
            && worker.is_none_or(|w| w == id)
        {
            found.insert(id.to_string(), dir.join(&name));
        }
    }
    if let Some(w) = worker
        && found.is_empty()
    {
        return Err(Error::Invalid(format!(
            "worker {w} has no log in {}; `coord status` lists the workers",
            dir.display()
        )));
    }
    Ok(found)
}

/// The attempt logs of task `id` (`logs/tasks/<id>.<attempt>.log`), by attempt number; found by
/// listing the folder, so no path is built from `id`.
pub fn task_logs(ws: &Workspace, id: &str) -> Result<BTreeMap<u32, PathBuf>> {
    let dir = ws.task_logs();
    let mut found = BTreeMap::new();
    for name in store::list_files(&dir)? {
        if layout::is_task_log_of(&name, id)
            && let Some(n) = name
                .strip_prefix(id)
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|r| r.strip_suffix(".log"))
                .and_then(|n| n.parse().ok())
        {
            found.insert(n, dir.join(&name));
        }
    }
    Ok(found)
}

/// Where each followed log has been read up to.
#[derive(Debug, Default)]
pub struct Follower {
    offsets: BTreeMap<PathBuf, u64>,
    last_at: BTreeMap<PathBuf, String>,
}

impl Follower {
    /// Reads the whole lines added to each log since the last call (everything on the first),
    /// merged by time; a line still being written waits for the next call.
    pub fn read(&mut self, logs: &BTreeMap<String, PathBuf>) -> Result<Vec<Line>> {
        let mut lines = Vec::new();
        for (worker, path) in logs {
            let offset = self.offsets.get(path).copied().unwrap_or(0);
            let (new, end) = read_lines(path, offset)?;
            self.offsets.insert(path.clone(), end);
            let mut at = self.last_at.get(path).cloned().unwrap_or_default();
            for text in new {
                if let Some(stamp) = leading_time(&text) {
                    at = stamp.to_string();
                }
                lines.push(Line {
                    worker: worker.clone(),
                    at: at.clone(),
                    text,
                });
            }
            self.last_at.insert(path.clone(), at);
        }
        // Stable: lines of one log keep their order; logs interleave by time.
        lines.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(lines)
    }
}

/// The RFC 3339 timestamp a coord log line starts with.
fn leading_time(line: &str) -> Option<&str> {
    let stamp = line.split(' ').next()?;
    (stamp.len() >= 20 && stamp.as_bytes()[4] == b'-' && stamp.ends_with('Z')).then_some(stamp)
}

fn read_lines(path: &Path, offset: u64) -> Result<(Vec<String>, u64)> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .len();
    // A log that shrank was replaced: read it again from the start.
    let offset = if len < offset { 0 } else { offset };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io("read", path, e))?;
    let mut reader = BufReader::new(file);
    let mut lines = Vec::new();
    let mut at = offset;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        at += n as u64;
        lines.push(String::from_utf8_lossy(&buf[..n - 1]).into_owned());
    }
    Ok((lines, at))
}
