//! `coord status`: the workspace at a glance.

use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::status;

/// Arguments of `coord status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON: {"workers":[...],"queueSize","blocked","activeTasks","completed","failed"}.
    #[arg(long)]
    json: bool,
}

/// Prints the counts per state and one line per worker.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let st = status::gather(&ws)?;
    if args.json {
        super::print_json(&st)?;
        return Ok(ExitCode::Success);
    }
    print!("{}", render(&st));
    Ok(ExitCode::Success)
}

/// The human view of a status.
pub fn render(st: &status::Status) -> String {
    let blocked = match st.blocked {
        0 => String::new(),
        n => format!("   blocked {n}"),
    };
    let mut out = format!(
        "pending {}{blocked}   assigned {}   completed {}   failed {}\n",
        st.queue_size, st.active_tasks, st.completed, st.failed
    );
    if st.paused {
        out.push_str("PAUSED: nothing new is claimed until `coord resume`\n");
    }
    if st.workers.is_empty() {
        out.push_str("no workers have run here yet; start one with `coord worker --id worker-A`\n");
        return out;
    }
    let width = st
        .workers
        .iter()
        .map(|w| w.worker_id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!(
        "\n{:<width$}  {:<7}  {:<20}  {:<24}  LAST SEEN\n",
        "WORKER", "STATE", "TASK", "PID@HOST"
    ));
    for w in &st.workers {
        out.push_str(&format!(
            "{:<width$}  {:<7}  {:<20}  {:<24}  {}\n",
            w.worker_id,
            w.state,
            w.current_task.as_deref().unwrap_or("-"),
            format!("{}@{}", w.pid, w.host),
            w.last_seen
        ));
    }
    out
}
