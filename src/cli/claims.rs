//! `coord fail`, `coord release` and `coord heartbeat`: the rest of a hand-off worker's verbs.

use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::handoff;
use coord::state::Disposition;

/// Arguments of `coord fail`.
#[derive(Debug, clap::Args)]
pub struct FailArgs {
    /// The task id.
    task: String,
    /// The worker id that holds it (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// Why the task failed (kept in its history and report).
    #[arg(long)]
    reason: String,
    /// The claim token `coord next` printed.
    #[arg(long)]
    token: Option<String>,
    /// Dead-letter the task now instead of retrying it.
    #[arg(long)]
    no_retry: bool,
}

/// Fails a held task: back to pending/ for another attempt, or to failed/.
pub fn fail(root: Option<PathBuf>, args: FailArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let (d, attempt) = handoff::fail(
        &ws,
        &args.worker,
        &args.task,
        args.token.as_deref(),
        &args.reason,
        !args.no_retry,
    )?;
    match d {
        Disposition::Requeued => println!(
            "failed {} (attempt {attempt}); back in pending/ for attempt {}",
            args.task,
            attempt + 1
        ),
        _ => println!(
            "failed {} (attempt {attempt}); moved to failed/, no more attempts",
            args.task
        ),
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The task id.
    task: String,
    /// The worker id that holds it (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// The claim token `coord next` printed.
    #[arg(long)]
    token: Option<String>,
}

/// Hands a held task back to pending/ without using an attempt.
pub fn release(root: Option<PathBuf>, args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    handoff::release(&ws, &args.worker, &args.task, args.token.as_deref())?;
    println!(
        "released {}; it is back in pending/ (no attempt used)",
        args.task
    );
    Ok(ExitCode::Success)
}

/// Arguments of `coord heartbeat`.
#[derive(Debug, clap::Args)]
pub struct HeartbeatArgs {
    /// The worker id (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// Where you are in the work; kept on each held task for whoever takes it next.
    #[arg(long)]
    note: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Renews the worker's lease (and records a note on its tasks).
pub fn heartbeat(root: Option<PathBuf>, args: HeartbeatArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let held = handoff::heartbeat(&ws, &args.worker, args.note.as_deref())?;
    if args.json {
        super::print_json(&serde_json::json!({"worker": args.worker, "held": held}))?;
    } else if held.is_empty() {
        println!("{}: alive, holding no task", args.worker);
    } else {
        println!("{}: alive, holding {}", args.worker, held.join(", "));
    }
    Ok(ExitCode::Success)
}
