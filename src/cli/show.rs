//! `coord show TASK`: one task's state, holder, attempts, notes, checks, report and logs.

use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::store::TaskState;
use coord::{Error, report, store};
use serde_json::json;

/// Arguments of `coord show`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task id.
    task: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints everything coord knows about one task.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let id = args.task.as_str();
    let Some((state, path)) = store::locate(&ws, id)? else {
        return Err(Error::UnknownTask { id: id.to_string() }.into());
    };
    let task = coord::task::read(&path)?;
    let rep = report::read(&coord::state::layout::report_path(&ws, id)).ok();
    let mut logs: Vec<String> = store::list_files(&ws.task_logs())?
        .into_iter()
        .filter(|n| {
            n.strip_prefix(id)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|r| r.ends_with(".log"))
        })
        .map(|n| ws.task_logs().join(n).display().to_string())
        .collect();
    logs.sort();
    let (state_name, holder) = match &state {
        TaskState::Assigned(w) => ("assigned", Some(w.clone())),
        TaskState::Pending => ("pending", None),
        TaskState::Blocked => ("blocked", None),
        TaskState::Completed => ("completed", None),
        TaskState::Failed => ("failed", None),
    };
    if args.json {
        super::print_json(&json!({
            "taskId": id,
            "state": state_name,
            "holder": holder,
            "attempt": task.attempt(),
            "token": holder.as_ref().map(|_| task.token()),
            "path": path,
            "task": task.spec,
            "history": task.coord.history,
            "lastNote": task.coord.last_note,
            "report": rep,
            "logs": logs,
        }))?;
        return Ok(ExitCode::Success);
    }
    println!("{id}: {state}");
    println!("  {}", task.spec.description);
    println!("  file: {}", path.display());
    if let Some(h) = &holder {
        println!(
            "  held by {h}: attempt {} of {}, token {}",
            task.attempt(),
            task.spec.max_attempts(),
            task.token()
        );
    }
    if !task.spec.output_files.is_empty() {
        println!("  output files: {}", task.spec.output_files.join(", "));
    }
    if !task.spec.depends_on.is_empty() {
        let deps: Vec<String> = task
            .spec
            .depends_on
            .iter()
            .map(|d| {
                let state = match coord::depends::dep_state(&ws, d) {
                    coord::depends::DepState::Completed => "completed",
                    coord::depends::DepState::Dead => "failed",
                    coord::depends::DepState::Waiting => "not finished",
                };
                format!("{d} ({state})")
            })
            .collect();
        println!("  depends on: {}", deps.join(", "));
    }
    if let Some(a) = task.spec.extra.get("acceptance") {
        println!("  acceptance: {a}");
    }
    for h in &task.coord.history {
        println!(
            "  attempt {} by {}: {} at {}: {}{}",
            h.attempt,
            h.worker,
            h.outcome,
            coord::time::format(h.at),
            h.reason,
            if h.counted { "" } else { " (no attempt used)" }
        );
    }
    if let Some(n) = &task.coord.last_note {
        println!(
            "  last note ({} at {}): {}",
            n.worker,
            coord::time::format(n.at),
            n.text
        );
    }
    if let Some(r) = &rep {
        println!(
            "  report: {} by {} at {} (attempt {}){}",
            r.status,
            r.worker_id,
            coord::time::format(r.completed_at),
            r.attempt,
            r.reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        );
        for v in &r.validation {
            let mark = if v.passed { "ok  " } else { "FAIL" };
            println!(
                "    {mark} {} {}{}",
                v.check,
                v.file
                    .as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default(),
                v.detail
            );
        }
    }
    for l in &logs {
        println!("  log: {l}");
    }
    Ok(ExitCode::Success)
}
