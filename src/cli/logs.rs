//! `coord logs [WORKER] [--follow]`: worker logs, merged by time, followed as they grow.

use std::io::Write;
use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::logfile::{self, Follower};
use coord::wake::Waker;

/// Arguments of `coord logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this worker's log (default: every worker's, interleaved by time).
    worker: Option<String>,
    /// Keep printing lines as they are written, woken by file-system events, until interrupted.
    #[arg(long, short)]
    follow: bool,
}

/// Prints the logs, then (with --follow) each new line as it is written.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let worker = args.worker.as_deref();
    let mut follower = Follower::default();
    // Watch before the first read, so nothing written in between is missed.
    let mut waker = args
        .follow
        .then(|| Waker::for_views(&ws, &[(&ws.logs(), false)]));
    loop {
        let logs = logfile::files(&ws, worker)?;
        let mut out = std::io::stdout().lock();
        for line in follower.read(&logs)? {
            writeln!(out, "{}", line.text)?;
        }
        out.flush()?;
        drop(out);
        match waker.as_mut() {
            Some(w) => w.next_change(None),
            None => return Ok(ExitCode::Success),
        };
    }
}
