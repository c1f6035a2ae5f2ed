//! `coord workers forget`: remove the records of workers that have stopped.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::policy::lease::{self, Forgot};

/// Arguments of `coord workers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Forget workers that run nowhere and hold nothing, so `status` stops listing them (their
    /// logs stay).
    Forget(ForgetArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord workers forget --stopped      every worker that stopped or died here, holding nothing
  coord workers forget worker-A worker-B")]
struct ForgetArgs {
    /// The workers to forget.
    #[arg(required_unless_present = "stopped")]
    workers: Vec<String>,
    /// Every worker whose record says it stopped, or whose process is gone on this host.
    #[arg(long)]
    stopped: bool,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Runs `coord workers forget`.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let Command::Forget(args) = args.command;
    let mut ids = args.workers;
    if args.stopped {
        for r in lease::list_records(&ws)? {
            let gone = r.stopped
                || (r.mode != lease::Mode::Handoff
                    && lease::judge(&ws, &r)? == lease::Verdict::NotRunning);
            if gone {
                ids.push(r.worker_id);
            }
        }
    }
    let mut code = ExitCode::Success;
    let mut forgotten = Vec::new();
    for id in &ids {
        match lease::forget(&ws, id)? {
            Forgot::Forgotten if args.json => forgotten.push(id.clone()),
            Forgot::Forgotten => say!("forgot {id}"),
            Forgot::Running => {
                eprintln!("error: {id} may be running; stop it first (`coord status` shows it)");
                code = ExitCode::Conflict;
            }
            Forgot::Holding(n) => {
                eprintln!(
                    "error: {id} still holds {n} task(s); they come back when it is recovered (`coord recover`) or released"
                );
                code = ExitCode::Conflict;
            }
            Forgot::Unknown => {
                eprintln!("error: no worker {id} is recorded here");
                code = ExitCode::UnknownTask;
            }
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({"forgotten": forgotten}))?;
    } else if ids.is_empty() {
        say!("no stopped worker to forget");
    }
    Ok(code)
}
