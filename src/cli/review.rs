//! `coord review`, `coord approve` and `coord reject`: the review gate.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::state::Disposition;
use crate::verbs::review;

use super::table::{ago, clip};

/// Arguments of `coord review`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Lists the work waiting for review, oldest first.
pub fn list(root: Option<PathBuf>, args: ListArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let waiting = review::list(&ws)?;
    if args.json {
        super::print_json(&serde_json::json!({"review": waiting}))?;
        return Ok(ExitCode::Success);
    }
    if waiting.is_empty() {
        say!("nothing waits for review");
    }
    for r in &waiting {
        say!(
            "{}  by {}, attempt {}, {} ago",
            clip(&r.task_id, 32),
            clip(&r.worker_id, 20),
            r.attempt,
            ago(Some(r.completed_at))
        );
        say!("  {}", clip(&r.description, 76));
        if !r.deliverables.is_empty() {
            say!("  deliverables: {}", clip(&r.deliverables.join(", "), 62));
        }
    }
    if !waiting.is_empty() {
        say!("approve: `coord approve ID`; send back: `coord reject ID --reason \"...\"`");
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// Tasks in review/.
    #[arg(required = true)]
    tasks: Vec<String>,
    /// Who approves, as the report will say (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// A note kept in the report.
    #[arg(long)]
    note: Option<String>,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Approves work in review/: it completes, and its dependents may start.
pub fn approve(root: Option<PathBuf>, args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let by = super::operate::operator(args.by);
    let mut code = ExitCode::Success;
    let mut done = Vec::new();
    for id in &args.tasks {
        match review::approve(&ws, id, &by, args.note.as_deref()) {
            Ok(report) if args.json => done.push(report),
            Ok(report) => say!(
                "approved {id} (work by {}, attempt {}); completed",
                report.worker_id,
                report.attempt
            ),
            // One task that moved on does not stop the others from being approved.
            Err(e) => {
                eprint!("{}", super::error_text(&e));
                code = e.exit_code();
            }
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({"reports": done}))?;
    }
    Ok(code)
}

/// Arguments of `coord reject`.
#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    /// The task in review/.
    task: String,
    /// What is wrong: the next holder reads it as the task's note.
    #[arg(long)]
    reason: String,
    /// Who rejects (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// Print JSON (docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Sends work in review/ back: to pending/ with the reason (the attempt counts), or to failed/.
pub fn reject(root: Option<PathBuf>, args: RejectArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let by = super::operate::operator(args.by);
    let disposition = review::reject(&ws, &args.task, &by, &args.reason)?;
    if args.json {
        let state = match disposition {
            Disposition::DeadLettered => "failed",
            _ => "pending",
        };
        super::print_json(&serde_json::json!({"taskId": args.task, "state": state}))?;
        return Ok(ExitCode::Success);
    }
    match disposition {
        Disposition::DeadLettered => say!(
            "rejected {}; that was its last attempt: moved to failed/",
            args.task
        ),
        _ => say!(
            "rejected {}; back in pending/ with your reason as its note (the attempt counts)",
            args.task
        ),
    }
    Ok(ExitCode::Success)
}
