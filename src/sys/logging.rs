//! Worker logs: lines a person can `tail -f`, in `logs/<worker>.log` and on stderr.
//!
//! Each line starts with a UTC RFC 3339 timestamp with milliseconds. A log that reaches
//! [`LOG_MAX_BYTES`] is renamed to `<worker>.log.1` (replacing the one before) and a new one is
//! started, so each worker keeps at most twice that on disk, however long it runs.

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::base::time;
use crate::fs::durable;
use crate::fs::workspace::Workspace;

struct UtcMillis;

impl FormatTime for UtcMillis {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&time::format(host::now()))
    }
}

/// The size at which a worker's log is set aside as `<worker>.log.1`: 16 MiB.
pub const LOG_MAX_BYTES: u64 = 16 << 20;

/// A worker's log file that starts over, keeping one older file, once it reaches its limit.
struct Rotating {
    path: std::path::PathBuf,
    limit: u64,
    file: std::fs::File,
    size: u64,
}

impl Rotating {
    fn open(path: std::path::PathBuf, limit: u64) -> Result<Rotating> {
        // Never through a symlink another user planted; a permission problem is reported before
        // the worker starts.
        let file = durable::open_append(&path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(Rotating {
            path,
            limit,
            file,
            size,
        })
    }

    /// Sets the full log aside and starts a new one; on any error it keeps writing where it was.
    fn rotate(&mut self) {
        let old = self.path.with_extension("log.1");
        if durable::replace(&self.path, &old).is_ok()
            && let Ok(file) = durable::open_append(&self.path)
        {
            self.file = file;
            self.size = 0;
        }
    }
}

impl std::io::Write for Rotating {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.size >= self.limit {
            self.rotate();
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Sends this process's log lines to `logs/<worker>.log` (appended, set aside at
/// `COORD_LOG_MAX_BYTES`, default [`LOG_MAX_BYTES`]) and, unless `quiet`, to stderr. Call once
/// per process.
pub fn init_worker(ws: &Workspace, worker: &str, quiet: bool) -> Result<()> {
    let dir = ws.logs();
    let path = dir.join(format!("{worker}.log"));
    let limit = std::env::var("COORD_LOG_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &u64| n > 0)
        .unwrap_or(LOG_MAX_BYTES);
    let file = std::sync::Mutex::new(Rotating::open(path.clone(), limit)?);
    let builder = tracing_subscriber::fmt()
        .with_timer(UtcMillis)
        .with_target(false)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO);
    let result = if quiet {
        builder.with_writer(file).try_init()
    } else {
        builder.with_writer(file.and(std::io::stderr)).try_init()
    };
    result.map_err(|e| {
        Error::io(
            "set up logging for",
            &path,
            std::io::Error::other(e.to_string()),
        )
    })
}

/// Sends this process's warnings to stderr only (commands other than `worker`).
pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_timer(UtcMillis)
        .with_target(false)
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .try_init();
}
