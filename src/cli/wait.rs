//! `coord wait [TASK...]`: block until tasks finish, for scripts and CI.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::ExitCode;
use crate::views::waiting::{self, Waited};

/// Arguments of `coord wait`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord wait                       everything queued so far
  coord wait build test --timeout 600")]
pub struct Args {
    /// The tasks to wait for (default: everything pending, blocked or held, including tasks
    /// queued while waiting).
    tasks: Vec<String>,
    /// Give up after SECS seconds (exit 11).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Waits on file-system events; exit 0 when every task completed, 12 when some failed, 11 when
/// the time ran out.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let timeout = args
        .timeout
        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9)));
    // On a terminal, a live count on stderr; nothing when stderr is a pipe or a file.
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut shown = None;
    let waited = waiting::wait(&ws, &args.tasks, timeout, |done, total| {
        if live && shown != Some((done, total)) {
            shown = Some((done, total));
            eprint!("\r\x1b[2K{done} of {total} finished");
        }
    })?;
    if shown.is_some() {
        eprint!("\r\x1b[2K");
    }
    let (code, json) = match &waited {
        Waited::Completed(done) => (
            ExitCode::Success,
            serde_json::json!({"outcome": "completed", "completed": done}),
        ),
        Waited::SomeFailed { completed, failed } => (
            ExitCode::NotAllCompleted,
            serde_json::json!({"outcome": "failed", "completed": completed, "failed": failed}),
        ),
        Waited::TimedOut(open) => (
            ExitCode::TimedOut,
            serde_json::json!({"outcome": "timeout", "unfinished": open}),
        ),
    };
    if args.json {
        super::print_json(&json)?;
        return Ok(code);
    }
    match waited {
        Waited::Completed(done) => say!("all {} task(s) completed", done.len()),
        Waited::SomeFailed { completed, failed } => {
            say!(
                "{} task(s) completed, {} did not: {}",
                completed.len(),
                failed.len(),
                capped(&failed)
            );
            eprintln!("hint: see why with `coord show {}`", failed[0]);
        }
        Waited::TimedOut(open) => {
            say!(
                "time ran out; {} task(s) not finished: {}",
                open.len(),
                capped(&open)
            );
        }
    }
    Ok(code)
}

/// How many ids a line names before it only counts the rest.
const NAMED: usize = 10;

/// The first ids, then how many more: `a, b, c and 97,990 more`.
fn capped(ids: &[String]) -> String {
    let named = ids[..ids.len().min(NAMED)].join(", ");
    match ids.len().saturating_sub(NAMED) {
        0 => named,
        more => format!("{named} and {more} more (`coord ls --state pending,assigned` lists them)"),
    }
}
