//! `coord cancel`, `retry`, `purge`, `pause` and `resume`: an operator's hands on the queue.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::base::exit::ExitCode;
use crate::base::host;
use crate::base::time;
use crate::verbs::operate::{self, Retried};

/// Who did it, for reports and history: the name given, else `$USER@host`.
pub fn operator(given: Option<String>) -> String {
    if let Some(by) = given.filter(|b| !b.trim().is_empty()) {
        return by;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    format!("{user}@{}", host::hostname())
}

/// Arguments of `coord cancel`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord cancel task-001 task-002")]
pub struct CancelArgs {
    /// The tasks to cancel.
    #[arg(required = true)]
    tasks: Vec<String>,
    /// Print JSON: {"tasks":[{"taskId","was","stopped","dependentsFailed"}]}.
    #[arg(long)]
    json: bool,
}

/// Cancels each task: pending, blocked or held, it goes to failed/ with a `cancelled` report.
pub fn cancel(root: Option<PathBuf>, args: CancelArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let by = operator(None);
    let mut done = Vec::new();
    for id in &args.tasks {
        let c = operate::cancel(&ws, id, &by)?;
        if args.json {
            done.push(serde_json::json!({
                "taskId": id,
                "was": c.was.name(),
                "stopped": c.stopped,
                "dependentsFailed": c.dependents_failed,
            }));
            continue;
        }
        match c.stopped {
            Some(true) => say!("cancelled  {id} (was {}; its command stopped)", c.was),
            Some(false) => {
                say!("cancelled  {id} (was {})", c.was);
                eprintln!(
                    "warning: {id}'s command was not seen to stop within {}s; it may still run \
                     (see `coord logs`)",
                    operate::STOP_WAIT.as_secs()
                );
            }
            None => say!("cancelled  {id} (was {})", c.was),
        }
        for d in c.dependents_failed {
            say!("failed     {d} (it depends on {id})");
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({"tasks": done}))?;
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord retry`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord retry task-001")]
pub struct RetryArgs {
    /// The failed tasks to send back.
    #[arg(required = true)]
    tasks: Vec<String>,
    /// Print JSON: {"tasks":[{"taskId","state"}]}.
    #[arg(long)]
    json: bool,
}

/// Sends failed tasks back to pending/ (or blocked/) with their attempts reset.
pub fn retry(root: Option<PathBuf>, args: RetryArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let by = operator(None);
    let mut done = Vec::new();
    for id in &args.tasks {
        let retried = operate::retry(&ws, id, &by)?;
        if args.json {
            let state = match retried {
                Retried::Pending => "pending",
                Retried::Blocked => "blocked",
            };
            done.push(serde_json::json!({"taskId": id, "state": state}));
            continue;
        }
        match retried {
            Retried::Pending => say!("retried    {id} (pending, attempts reset)"),
            Retried::Blocked => say!(
                "retried    {id} (blocked until the tasks it depends on complete, attempts reset)"
            ),
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({"tasks": done}))?;
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord purge`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord purge --completed --older-than 7d
  coord purge --completed --failed --older-than 2w --json
  coord purge --logs --journal --older-than 30d")]
pub struct PurgeArgs {
    /// Purge completed tasks.
    #[arg(long)]
    completed: bool,
    /// Purge failed tasks (dead letters, cancelled tasks).
    #[arg(long)]
    failed: bool,
    /// Purge the logs of workers that run nowhere here and that logged nothing for that long.
    #[arg(long)]
    logs: bool,
    /// Purge the journal's older segments (`.coord/events/`) last written that long ago.
    #[arg(long)]
    journal: bool,
    /// Only what finished (or was last written) longer ago than this: 90s, 30m, 12h, 7d, 2w.
    #[arg(long, value_name = "DURATION", value_parser = time::parse_duration)]
    older_than: Duration,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Removes old finished tasks with their reports and logs.
pub fn purge(root: Option<PathBuf>, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    if !args.completed && !args.failed && !args.logs && !args.journal {
        return Err(Error::Invalid(
            "say what to purge: --completed, --failed, --logs, --journal, or several".into(),
        )
        .into());
    }
    let ws = super::open_workspace(root)?;
    // The journal first: the events of this purge itself must not make it look busy.
    let segments = match args.journal {
        true => operate::purge_journal(&ws, args.older_than)?,
        false => Vec::new(),
    };
    let purged = operate::purge(&ws, args.completed, args.failed, args.older_than)?;
    let logs = match args.logs {
        true => operate::purge_worker_logs(&ws, args.older_than)?,
        false => Vec::new(),
    };
    if args.json {
        super::print_json(&serde_json::json!({
            "removed": purged.removed,
            "kept": purged.kept,
            "workerLogsRemoved": logs,
            "journalSegmentsRemoved": segments,
        }))?;
    } else {
        if args.logs {
            say!("removed the logs of {} worker(s)", logs.len());
        }
        if args.journal {
            say!("removed {} journal segment(s)", segments.len());
        }
        say!("purged {} task(s)", purged.removed.len());
        if !purged.kept.is_empty() {
            say!(
                "kept {} that blocked tasks depend on: {}",
                purged.kept.len(),
                purged.kept.join(", ")
            );
        }
    }
    Ok(ExitCode::Success)
}

/// Arguments of `coord pause` and `coord resume`.
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// Print JSON: {"paused","changed"}.
    #[arg(long)]
    json: bool,
}

/// Pauses the workspace: running tasks finish, nothing new is claimed.
pub fn pause(root: Option<PathBuf>, args: PauseArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let changed = operate::pause(&ws, &operator(None))?;
    if args.json {
        super::print_json(&serde_json::json!({"paused": true, "changed": changed}))?;
    } else if changed {
        say!("paused: running tasks finish, nothing new is claimed until `coord resume`");
    } else {
        say!("already paused; `coord resume` lets workers claim again");
    }
    Ok(ExitCode::Success)
}

/// Resumes a paused workspace.
pub fn resume(root: Option<PathBuf>, args: PauseArgs) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let changed = operate::resume(&ws)?;
    if args.json {
        super::print_json(&serde_json::json!({"paused": false, "changed": changed}))?;
    } else if changed {
        say!("resumed: workers claim again");
    } else {
        say!("not paused");
    }
    Ok(ExitCode::Success)
}
