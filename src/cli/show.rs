//! `coord show TASK`: one task's state, holder, attempts, notes, checks, report and logs.

use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::base::time;
use crate::fs::durable;
use crate::model::task;
use crate::policy::depends;
use crate::state::layout;
use crate::state::report_in_review;
use crate::state::store::TaskState;
use crate::views::listing;
use crate::{Error, Workspace, model::report, state::store};
use serde_json::json;

/// Arguments of `coord show`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord show task-001
  coord show task-001 --json | jq .history")]
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
    if args.json {
        super::print_json(&to_json(&ws, &args.task)?)?;
    } else {
        say_part!("{}", to_text(&ws, &args.task)?);
    }
    Ok(ExitCode::Success)
}

/// Everything known about one task, read once.
struct Shown {
    state: TaskState,
    path: PathBuf,
    task: task::TaskFile,
    report: Option<report::Report>,
    logs: Vec<String>,
}

fn gather(ws: &Workspace, id: &str) -> anyhow::Result<Shown> {
    let Some((state, path)) = store::locate(ws, id)? else {
        return Err(Error::UnknownTask { id: id.to_string() }.into());
    };
    let task = task::read(&path)?;
    let report = match state {
        // Work in review carries its report until a reviewer decides.
        TaskState::Review => report_in_review(&path, &task).ok(),
        _ => report::read(&layout::report_path(ws, id)).ok(),
    };
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
    Ok(Shown {
        state,
        path,
        task,
        report,
        logs,
    })
}

fn state_and_holder(state: &TaskState, task: &task::TaskFile) -> (&'static str, Option<String>) {
    match state {
        TaskState::Assigned(w) => ("assigned", Some(w.clone())),
        TaskState::Waiting => (
            "waiting",
            task.coord.question.as_ref().map(|q| q.worker.clone()),
        ),
        TaskState::Review => ("review", None),
        TaskState::Pending => ("pending", None),
        TaskState::Blocked => ("blocked", None),
        TaskState::Completed => ("completed", None),
        TaskState::Failed => ("failed", None),
    }
}

/// One task as the JSON `coord show --json` prints.
pub fn to_json(ws: &Workspace, id: &str) -> anyhow::Result<serde_json::Value> {
    let Shown {
        state,
        path,
        task,
        report,
        logs,
    } = gather(ws, id)?;
    let (state_name, holder) = state_and_holder(&state, &task);
    Ok(json!({
        "taskId": id,
        "state": state_name,
        "workerId": holder,
        "attempt": task.attempt(),
        "token": holder.as_ref().map(|_| task.token()),
        "path": path,
        "task": task.spec,
        "history": task.coord.history,
        "lastNote": task.coord.last_note,
        "waitsFor": matches!(state, TaskState::Pending | TaskState::Blocked).then(|| waits_for(ws, id)).flatten(),
        "progress": task.coord.progress,
        "question": task.coord.question,
        "answer": task.coord.answer,
        "snoozedUntil": task.coord.snoozed_until.map(time::format),
        "report": report,
        "logs": logs,
    }))
}

/// One task as the text `coord show` prints.
pub fn to_text(ws: &Workspace, id: &str) -> anyhow::Result<String> {
    use std::fmt::Write;
    let Shown {
        state,
        path,
        task,
        report: rep,
        logs,
    } = gather(ws, id)?;
    let (_, holder) = state_and_holder(&state, &task);
    let mut out = String::new();
    let _ = writeln!(out, "{id}: {state}");
    let _ = writeln!(out, "  {}", task.spec.description);
    let _ = writeln!(out, "  file: {}", path.display());
    if let Some(h) = &holder {
        let _ = writeln!(
            out,
            "  held by {h}: attempt {} of {}, token {}",
            task.attempt(),
            task.spec.max_attempts(),
            task.token()
        );
    }
    if let Some(p) = task.coord.progress {
        let _ = writeln!(out, "  progress: {p}%");
    }
    if let Some(q) = &task.coord.question {
        let _ = writeln!(
            out,
            "  question ({} at {}): {}",
            q.worker,
            time::format(q.at),
            q.text
        );
        match &task.coord.answer {
            Some(a) => {
                let _ = writeln!(
                    out,
                    "  answer ({} at {}): {}",
                    a.by,
                    time::format(a.at),
                    a.text
                );
            }
            None => {
                let _ = writeln!(out, "  answer it with `coord answer {id} \"...\"`");
            }
        }
    }
    if let Some(at) = task.coord.snoozed_until {
        let _ = writeln!(out, "  snoozed until {}", time::format(at));
    }
    if !task.spec.output_files.is_empty() {
        let _ = writeln!(out, "  output files: {}", task.spec.output_files.join(", "));
    }
    if !task.spec.depends_on.is_empty() {
        let deps: Vec<String> = task
            .spec
            .depends_on
            .iter()
            .map(|d| {
                let state = match depends::dep_state(ws, d) {
                    depends::DepState::Completed => "completed",
                    depends::DepState::Dead => "failed",
                    depends::DepState::Waiting => "not finished",
                };
                format!("{d} ({state})")
            })
            .collect();
        let _ = writeln!(out, "  depends on: {}", deps.join(", "));
    }
    if let Some(a) = task.spec.extra.get("acceptance") {
        let _ = writeln!(out, "  acceptance: {a}");
    }
    // Attempts count from 1 again after each `coord retry`: each round after the first says
    // which it is.
    let mut round = 1;
    for h in &task.coord.history {
        let which = match (h.outcome, round) {
            (task::Outcome::Retried, _) => {
                round += 1;
                format!("retry {} by {}", round - 1, h.worker)
            }
            (_, 1) => format!("attempt {} by {}", h.attempt, h.worker),
            (_, r) => format!("attempt {} (retry {}) by {}", h.attempt, r - 1, h.worker),
        };
        let _ = writeln!(
            out,
            "  {which}: {} at {}: {}{}",
            h.outcome,
            time::format(h.at),
            h.reason,
            if h.counted { "" } else { " (no attempt used)" }
        );
    }
    if matches!(state, TaskState::Pending | TaskState::Blocked)
        && let Some(why) = waits_for(ws, id)
    {
        let _ = writeln!(out, "  waits: {why}");
    }
    if let Some(n) = &task.coord.last_note {
        let _ = writeln!(
            out,
            "  last note ({} at {}): {}",
            n.worker,
            time::format(n.at),
            n.text
        );
    }
    if let Some(r) = &rep {
        let status = match state {
            TaskState::Review => "waiting for review".to_string(),
            _ => r.status.to_string(),
        };
        let _ = writeln!(
            out,
            "  report: {} by {} at {} (attempt {}){}",
            status,
            r.worker_id,
            time::format(r.completed_at),
            r.attempt,
            r.reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        );
        if let (Some(by), Some(at)) = (&r.approved_by, r.approved_at) {
            let _ = writeln!(out, "    approved by {by} at {}", time::format(at));
        }
        if let Some(u) = &r.usage {
            let _ = writeln!(out, "    usage: {}", super::stats::usage_text(u));
        }
        for v in &r.validation {
            let mark = if v.passed { "ok  " } else { "FAIL" };
            let _ = writeln!(
                out,
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
        let _ = writeln!(out, "  log: {l}");
    }
    if let Some(last) = logs.last() {
        let tail = tail_of(std::path::Path::new(last), TAIL_LINES);
        if !tail.is_empty() {
            let _ = writeln!(out, "  last lines of {last}:");
            for line in tail {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    Ok(out)
}

/// How many lines of the last attempt's log `show` prints.
const TAIL_LINES: usize = 10;

/// The last `n` lines of a log, read from its end (at most 64 KiB of it).
fn tail_of(path: &std::path::Path, n: usize) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = durable::open_regular(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(64 << 10);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Why a pending or blocked task is not claimed now, as `coord list` says it.
fn waits_for(ws: &Workspace, id: &str) -> Option<String> {
    listing::one(ws, id).ok().flatten()?.waits_for
}
