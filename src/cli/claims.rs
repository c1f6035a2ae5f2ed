//! `coord fail`, `coord release` and `coord heartbeat`: the rest of a hand-off worker's verbs.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::base::host;
use crate::base::time;
use crate::state::Disposition;
use crate::verbs::handoff;

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
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
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
    if args.json {
        let to = match d {
            Disposition::Requeued => "pending",
            _ => "failed",
        };
        super::print_json(
            &serde_json::json!({"taskId": args.task, "attempt": attempt, "state": to}),
        )?;
        return Ok(ExitCode::Success);
    }
    match d {
        Disposition::Requeued => say!(
            "failed {} (attempt {attempt}); back in pending/ for attempt {}",
            args.task,
            attempt + 1
        ),
        _ => say!(
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
    /// Snooze: no worker claims it before this time (RFC 3339, like 2026-12-01T09:00:00Z), for
    /// a worker that hit a usage limit.
    #[arg(long, value_name = "TIME", conflicts_with = "for_", value_parser = parse_time)]
    until: Option<jiff::Timestamp>,
    /// Snooze for this long: 90s, 30m, 12h, 7d.
    #[arg(long = "for", id = "for_", value_name = "DURATION", value_parser = time::parse_duration)]
    for_: Option<std::time::Duration>,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// An RFC 3339 time.
fn parse_time(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse().map_err(|_| {
        format!("{text:?} is not a time: give an RFC 3339 time with an offset, like 2026-12-01T09:00:00Z")
    })
}

/// Hands a held task back to pending/ without using an attempt (not to be claimed before
/// `--until`/`--for`, when given).
pub fn release(root: Option<PathBuf>, args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let until = match (args.until, args.for_) {
        (Some(at), _) => Some(at),
        (None, Some(d)) => Some(host::now() + d),
        (None, None) => None,
    };
    handoff::release(&ws, &args.worker, &args.task, args.token.as_deref(), until)?;
    if args.json {
        super::print_json(&serde_json::json!({
            "taskId": args.task,
            "state": "pending",
            "snoozedUntil": until.map(time::format),
        }))?;
        return Ok(ExitCode::Success);
    }
    match until {
        Some(at) => say!(
            "snoozed {}: back in pending/ (no attempt used), not claimed before {}",
            args.task,
            time::format(at)
        ),
        None => say!(
            "released {}; it is back in pending/ (no attempt used)",
            args.task
        ),
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord ask`.
#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The task id.
    task: String,
    /// The question, for a person or a coordinator.
    question: String,
    /// The worker id that holds it (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// The claim token `coord next` printed.
    #[arg(long)]
    token: Option<String>,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Parks a held task in waiting/ with a question; the answer brings it back.
pub fn ask(root: Option<PathBuf>, args: AskArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    handoff::ask(
        &ws,
        &args.worker,
        &args.task,
        args.token.as_deref(),
        &args.question,
    )?;
    if args.json {
        super::print_json(&serde_json::json!({"taskId": args.task, "state": "waiting"}))?;
        return Ok(ExitCode::Success);
    }
    say!(
        "{} waits for an answer in waiting/ (no attempt used, no lease running); `coord answer {} TEXT` sends it back to {} with the answer",
        args.task,
        args.task,
        args.worker
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
    /// How far the work is, in percent (0 to 100); shown by `status` and `show`.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    progress: Option<u8>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Renews the worker's lease (and records a note on its tasks).
pub fn heartbeat(root: Option<PathBuf>, args: HeartbeatArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let beat = handoff::Beat {
        note: args.note.as_deref(),
        progress: args.progress,
    };
    let held = handoff::heartbeat(&ws, &args.worker, beat)?;
    if args.json {
        super::print_json(&serde_json::json!({"workerId": args.worker, "taskIds": held}))?;
    } else if held.is_empty() {
        say!("{}: alive, holding no task", args.worker);
    } else {
        say!("{}: alive, holding {}", args.worker, held.join(", "));
    }
    Ok(ExitCode::Success)
}
