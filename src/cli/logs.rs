//! `coord logs [WORKER|TASK] [--follow]`: worker logs, merged by time, or one task's attempt
//! logs, followed as they grow.

use std::io::Write;
use std::path::PathBuf;

use crate::Workspace;
use crate::base::exit::ExitCode;
use crate::fs::durable;
use crate::fs::wake::Waker;
use crate::model;
use crate::state::store;
use crate::views::logfile::{self, Follower};

/// Arguments of `coord logs`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord logs                  every worker's log, by time
  coord logs worker-A -f
  coord logs task-001         a task's output, attempt by attempt")]
pub struct Args {
    /// Only this worker's log (default: every worker's, interleaved by time), or, for a task
    /// id, the output of each of that task's attempts.
    worker: Option<String>,
    /// Keep printing lines as they are written, woken by file-system events, until interrupted.
    #[arg(long, short)]
    follow: bool,
    /// Print each line as a JSON object: {"workerId","text"} (a task's: {"taskId","attempt","text"}).
    #[arg(long)]
    json: bool,
}

/// Prints the logs, then (with --follow) each new line as it is written.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let worker = args.worker.as_deref();
    if let Some(name) = worker
        && logfile::files(&ws, Some(name)).is_err()
        && (!logfile::task_logs(&ws, name)?.is_empty()
            || (model::task::check_id(name).is_ok() && store::locate(&ws, name)?.is_some()))
    {
        return task(&ws, name, args.follow, args.json);
    }
    let mut follower = Follower::default();
    // Watch before the first read, so nothing written in between is missed.
    let mut waker = args
        .follow
        .then(|| Waker::for_views(&ws, &[(&ws.logs(), false)]));
    let mut told = false;
    loop {
        let logs = match logfile::files(&ws, worker) {
            // A worker that has not started yet: follow waits for its log to appear.
            Err(e) if args.follow => {
                if !told {
                    eprintln!(
                        "{}; waiting for it to appear",
                        e.to_string().split(';').next().unwrap_or_default()
                    );
                    told = true;
                }
                Default::default()
            }
            other => other?,
        };
        let mut out = std::io::stdout().lock();
        for line in follower.read(&logs)? {
            match args.json {
                true => writeln!(
                    out,
                    "{}",
                    super::versioned(
                        &serde_json::json!({"workerId": line.worker, "text": line.text})
                    )
                )?,
                false => writeln!(out, "{}", super::safe::plain(&line.text))?,
            }
        }
        out.flush()?;
        drop(out);
        match waker.as_mut() {
            Some(w) => w.next_change(None),
            None => return Ok(ExitCode::Success),
        };
    }
}

/// Prints a task's attempt logs in order, each under a header; with `follow`, keeps printing
/// what is added to them (a new attempt's log included) until the task has completed or
/// failed, or until interrupted.
fn task(ws: &Workspace, id: &str, follow: bool, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::{Read, Seek, SeekFrom};
    // Its logs grow, and its arrival in completed/ or failed/ ends the follow.
    let watched = [
        (ws.task_logs(), false),
        (ws.completed(), false),
        (ws.failed(), false),
    ];
    let dirs: Vec<(&std::path::Path, bool)> =
        watched.iter().map(|(p, r)| (p.as_path(), *r)).collect();
    let mut waker = follow.then(|| Waker::for_views(ws, &dirs));
    let mut offsets: std::collections::BTreeMap<PathBuf, u64> = Default::default();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        // Looked at before the read: whatever the last attempt wrote came before its move.
        let ended = follow && store::locate(ws, id)?.is_some_and(|(state, _)| state.is_finished());
        let mut out = std::io::stdout().lock();
        for (attempt, path) in logfile::task_logs(ws, id)? {
            let at = offsets.entry(path.clone()).or_insert_with(|| {
                if !json {
                    let _ = writeln!(out, "== {id}, attempt {attempt} ({}) ==", path.display());
                }
                0
            });
            let Ok(mut file) = durable::open_regular(&path) else {
                continue;
            };
            file.seek(SeekFrom::Start(*at))?;
            let mut chunk = Vec::new();
            file.read_to_end(&mut chunk)?;
            if json {
                // Whole lines only; a line still being written waits for the next read.
                let whole = chunk.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                chunk.truncate(whole);
                for text in String::from_utf8_lossy(&chunk).lines() {
                    let line = serde_json::json!({"taskId": id, "attempt": attempt, "text": text});
                    writeln!(out, "{}", super::versioned(&line))?;
                }
            } else if tty {
                // A command's own output reaches a terminal with its control characters
                // shown escaped; into a pipe or a file it goes byte for byte.
                out.write_all(super::safe::plain(&String::from_utf8_lossy(&chunk)).as_bytes())?;
            } else {
                out.write_all(&chunk)?;
            }
            *at += chunk.len() as u64;
        }
        out.flush()?;
        drop(out);
        match waker.as_mut() {
            Some(_) if ended => return Ok(ExitCode::Success),
            Some(w) => w.next_change(None),
            None => return Ok(ExitCode::Success),
        };
    }
}
