//! `coord recover`: take back the tasks of dead workers and of expired leases now.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::policy::recover;
use crate::state::Disposition;

/// Arguments of `coord recover`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs one recovery pass and prints each task it moved.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let sweep = recover::sweep(&ws, None, "coord recover")?;
    let moved = sweep.recovered;
    for d in &sweep.unblocked {
        eprintln!("unblocked {d}: the tasks it depends on had finished");
    }
    for d in &sweep.failed_dependents {
        eprintln!("failed {d}: a task it depends on had failed");
    }
    let published = sweep.reports_published;
    if published > 0 {
        eprintln!("published {published} report(s) that a dead worker had left in tmp/");
    }
    if args.json {
        let items: Vec<_> = moved
            .iter()
            .map(|r| serde_json::json!({"taskId": r.task, "workerId": r.worker, "reason": r.reason, "state": match r.disposition {
                Disposition::DeadLettered => "failed",
                _ => "pending",
            }}))
            .collect();
        super::print_json(&serde_json::json!({"recovered": items}))?;
    } else if moved.is_empty() {
        say!("nothing to recover: every task is held by a live worker or within its lease");
    } else {
        for r in &moved {
            say!("recovered {} from {}: {}", r.task, r.worker, r.reason);
        }
    }
    Ok(ExitCode::Success)
}
