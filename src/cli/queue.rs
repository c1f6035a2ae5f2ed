//! `coord queue FILE`: queue tasks from a file or standard input.

use std::io::Read;
use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::queue::{self, Outcome};
use coord::{Error, task};

/// Arguments of `coord queue`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord queue tasks.json
  coord queue - < tasks.jsonl
  generate-tasks | coord queue - --json")]
pub struct Args {
    /// A JSON array of tasks, one task object, or JSON Lines; `-` for standard input.
    file: PathBuf,
    /// Print one JSON object per task instead of a line.
    #[arg(long)]
    json: bool,
}

/// Validates every task, queues them all or none, and prints one line per task.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let mut input = String::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::io("read", "standard input", e))?;
    } else {
        let bytes = std::fs::read(&args.file).map_err(|e| Error::io("read", &args.file, e))?;
        input = String::from_utf8(bytes).map_err(|_| Error::InvalidTasks {
            problems: vec![coord::error::Problem {
                position: args.file.display().to_string(),
                id: None,
                message: "not UTF-8 text".into(),
            }],
        })?;
    }
    let tasks = task::parse_tasks(&input).map_err(|problems| Error::InvalidTasks { problems })?;
    publish(&ws, tasks, args.json)
}

/// How many task lines a queue call prints before it only counts the rest (`--json` lists all).
const SHOWN: usize = 50;

/// Queues parsed tasks, all or none, and prints one line per task (capped on a terminal) and a
/// total, or JSON.
pub fn publish(
    ws: &coord::Workspace,
    tasks: Vec<task::Parsed>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let results = with_progress(tasks.len(), |progress| {
        queue::enqueue_counted(ws, tasks, progress)
    })?;
    if coord::gate::paused(ws) {
        eprintln!(
            "warning: the workspace is paused: these tasks wait until `coord resume` lets workers \
             claim again"
        );
    }
    if json {
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                let (outcome, state) = match &r.outcome {
                    Outcome::Queued => ("queued", "pending".to_string()),
                    Outcome::Blocked => ("queued", "blocked".to_string()),
                    Outcome::Unchanged(state) => ("unchanged", state.to_string()),
                };
                serde_json::json!({"taskId": r.id, "outcome": outcome, "state": state, "path": r.path})
            })
            .collect();
        super::print_json(&serde_json::json!({"tasks": items}))?;
    } else {
        use std::io::Write;
        let cap = SHOWN;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let (mut queued, mut blocked, mut unchanged) = (0usize, 0usize, 0usize);
        for r in &results {
            match &r.outcome {
                Outcome::Queued => queued += 1,
                Outcome::Blocked => blocked += 1,
                Outcome::Unchanged(_) => unchanged += 1,
            }
        }
        for r in results.iter().take(cap) {
            match &r.outcome {
                Outcome::Queued => writeln!(out, "queued     {}", r.id)?,
                Outcome::Blocked => writeln!(
                    out,
                    "blocked    {} (waits for the tasks it depends on)",
                    r.id
                )?,
                Outcome::Unchanged(state) => {
                    writeln!(out, "unchanged  {} (already {state})", r.id)?
                }
            }
        }
        if results.len() > cap {
            writeln!(
                out,
                "… and {} more (`--json` lists every one)",
                results.len() - cap
            )?;
        }
        if results.len() > 1 {
            writeln!(
                out,
                "{} task(s): {queued} queued, {blocked} blocked, {unchanged} unchanged",
                results.len()
            )?;
        }
        out.flush()?;
    }
    Ok(ExitCode::Success)
}

/// From how many tasks a queue call on a terminal shows how far it is.
const PROGRESS_FROM: usize = 5_000;

/// Runs `queue` while, on a terminal and for a big batch, a line on stderr says how many of
/// `total` tasks are written and published, redrawn five times a second.
fn with_progress<T>(total: usize, queue: impl FnOnce(&coord::state::Progress) -> T) -> T {
    use std::io::{IsTerminal, Write};
    use std::sync::atomic::Ordering;
    let progress = coord::state::Progress::default();
    if total < PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return queue(&progress);
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let shown = &progress;
        scope.spawn(move || {
            while matches!(
                done_rx.recv_timeout(std::time::Duration::from_millis(200)),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            ) {
                eprint!(
                    "\r\x1b[2Kqueuing {total} tasks: {} written, {} published",
                    shown.written.load(Ordering::Relaxed),
                    shown.published.load(Ordering::Relaxed)
                );
                let _ = std::io::stderr().flush();
            }
            eprint!("\r\x1b[2K");
        });
        let result = queue(&progress);
        let _ = done_tx.send(());
        result
    })
}
