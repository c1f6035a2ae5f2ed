//! Worker logs: lines a person can `tail -f`, in `logs/<worker>.log` and on stderr.
//!
//! Each line starts with a UTC RFC 3339 timestamp with milliseconds.

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::error::{Error, Result};
use crate::host;
use crate::workspace::Workspace;

struct UtcMillis;

impl FormatTime for UtcMillis {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&crate::time::format(host::now()))
    }
}

/// Sends this process's log lines to `logs/<worker>.log` (appended) and, unless `quiet`, to
/// stderr. Call once per process.
pub fn init_worker(ws: &Workspace, worker: &str, quiet: bool) -> Result<()> {
    let dir = ws.logs();
    let path = dir.join(format!("{worker}.log"));
    // Never through a symlink another user planted; a permission problem is reported before
    // the worker starts.
    let file = std::sync::Mutex::new(crate::durable::open_append(&path)?);
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
