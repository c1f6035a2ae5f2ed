//! `coord queue FILE`: queue tasks from a file or standard input.

use std::io::Read;
use std::path::PathBuf;

use crate::Error;
use crate::Result;
use crate::Workspace;
use crate::base::error;
use crate::base::exit::ExitCode;
use crate::policy::gate;
use crate::state::Progress;
use crate::verbs::queue::{self, Outcome, Queued};

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
            problems: vec![error::Problem {
                position: args.file.display().to_string(),
                id: None,
                message: "not UTF-8 text".into(),
            }],
        })?;
    }
    publish(&ws, args.json, |progress, each| {
        queue::enqueue_input(&ws, &input, progress, each)
    })
}

/// How many task lines a queue call prints before it only counts the rest (`--json` lists all).
const SHOWN: usize = 50;

/// Runs `enqueue` (all tasks or none) and prints one line per task it reports, the first
/// [`SHOWN`] of them, and a total; or, with `json`, every task as it is reported.
pub fn publish(
    ws: &Workspace,
    json: bool,
    enqueue: impl FnOnce(&Progress, &mut dyn FnMut(Queued)) -> Result<()>,
) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut shown = Vec::new();
    let (mut queued, mut blocked, mut unchanged) = (0usize, 0usize, 0usize);
    let mut written = Ok(());
    with_progress(|progress| {
        enqueue(progress, &mut |r| {
            match &r.outcome {
                Outcome::Queued => queued += 1,
                Outcome::Blocked => blocked += 1,
                Outcome::Unchanged(_) => unchanged += 1,
            }
            if json {
                if written.is_ok() {
                    written = json_item(&mut out, &r, queued + blocked + unchanged == 1);
                }
            } else if shown.len() < SHOWN {
                shown.push(r);
            }
        })
    })?;
    written?;
    let total = queued + blocked + unchanged;
    if gate::paused(ws) {
        eprintln!(
            "warning: the workspace is paused: these tasks wait until `coord resume` lets workers \
             claim again"
        );
    }
    if json {
        if total == 0 {
            write!(
                out,
                "{{\"schemaVersion\":{},\"tasks\":[",
                super::SCHEMA_VERSION
            )?;
        }
        writeln!(out, "]}}")?;
        out.flush()?;
        return Ok(ExitCode::Success);
    }
    for r in &shown {
        match &r.outcome {
            Outcome::Queued => writeln!(out, "queued     {}", r.id)?,
            Outcome::Blocked => writeln!(
                out,
                "blocked    {} (waits for the tasks it depends on)",
                r.id
            )?,
            Outcome::Unchanged(state) => writeln!(out, "unchanged  {} (already {state})", r.id)?,
        }
    }
    if total > shown.len() {
        writeln!(
            out,
            "… and {} more (`--json` lists every one)",
            total - shown.len()
        )?;
    }
    if total > 1 {
        writeln!(
            out,
            "{total} task(s): {queued} queued, {blocked} blocked, {unchanged} unchanged"
        )?;
    }
    out.flush()?;
    Ok(ExitCode::Success)
}

/// Writes one task of `queue --json`'s `tasks` array, opening the object before the first.
fn json_item(out: &mut impl std::io::Write, r: &Queued, first: bool) -> std::io::Result<()> {
    let (outcome, state) = match &r.outcome {
        Outcome::Queued => ("queued", "pending".to_string()),
        Outcome::Blocked => ("queued", "blocked".to_string()),
        Outcome::Unchanged(state) => ("unchanged", state.to_string()),
    };
    match first {
        true => write!(
            out,
            "{{\"schemaVersion\":{},\"tasks\":[",
            super::SCHEMA_VERSION
        )?,
        false => write!(out, ",")?,
    }
    let item =
        serde_json::json!({"taskId": r.id, "outcome": outcome, "state": state, "path": r.path});
    serde_json::to_writer(&mut *out, &item).map_err(std::io::Error::from)
}

/// From how many tasks a queue call on a terminal shows how far it is.
const PROGRESS_FROM: usize = 5_000;

/// Runs `queue` while, on a terminal and once a batch is big, a line on stderr says how many
/// tasks are checked, then written and published, redrawn five times a second.
fn with_progress<T>(queue: impl FnOnce(&Progress) -> T) -> T {
    use std::io::{IsTerminal, Write};
    use std::sync::atomic::Ordering;
    let progress = Progress::default();
    if !std::io::stderr().is_terminal() {
        return queue(&progress);
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let shown = &progress;
        scope.spawn(move || {
            let mut drawn = false;
            while matches!(
                done_rx.recv_timeout(std::time::Duration::from_millis(200)),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            ) {
                let checked = shown.checked.load(Ordering::Relaxed);
                if checked < PROGRESS_FROM {
                    continue;
                }
                drawn = true;
                match shown.written.load(Ordering::Relaxed) {
                    0 => eprint!("\r\x1b[2Kqueuing: {checked} tasks checked"),
                    written => eprint!(
                        "\r\x1b[2Kqueuing {checked} tasks: {written} written, {} published",
                        shown.published.load(Ordering::Relaxed)
                    ),
                }
                let _ = std::io::stderr().flush();
            }
            if drawn {
                eprint!("\r\x1b[2K");
            }
        });
        let result = queue(&progress);
        let _ = done_tx.send(());
        result
    })
}
