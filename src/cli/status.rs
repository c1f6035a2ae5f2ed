//! `coord status`: the workspace at a glance.

use std::path::PathBuf;
use std::time::Duration;

use crate::base::exit::ExitCode;
use crate::fs::wake::{Waker, Woke};
use crate::views::status;

use super::table::clip;
use crate::Workspace;
use crate::base::host;
use crate::base::time;

/// Arguments of `coord status`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord status
  coord status --watch")]
pub struct Args {
    /// Print JSON (docs/json.md): {"schemaVersion","counts":{...},"workers":[...],...}.
    #[arg(long)]
    json: bool,
    /// Redraw whenever the workspace changes (file-system events, no polling) until interrupted;
    /// with --json, print one line per change.
    #[arg(long, short)]
    watch: bool,
}

/// Prints the counts per state and one line per worker.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    if args.watch {
        return watch(&ws, args.json);
    }
    let st = status::gather(&ws)?;
    if args.json {
        super::print_json(&st)?;
        return Ok(ExitCode::Success);
    }
    super::paint::print(&render(&st))?;
    Ok(ExitCode::Success)
}

/// How long a burst of changes may last before the view is drawn again.
const SETTLE: Duration = Duration::from_millis(50);

/// The longest a busy queue goes without a redraw.
const MAX_SETTLE: Duration = Duration::from_millis(250);

/// Draws the status, then again after every burst of changes to the state folders.
fn watch(ws: &Workspace, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::{IsTerminal, Write};
    let folders = [
        (ws.pending(), false),
        (ws.blocked(), false),
        (ws.assigned_root(), true),
        (ws.waiting(), false),
        (ws.review(), false),
        (ws.completed(), false),
        (ws.failed(), false),
        (ws.workers(), false),
    ];
    let dirs: Vec<(&std::path::Path, bool)> =
        folders.iter().map(|(p, r)| (p.as_path(), *r)).collect();
    let mut waker = Waker::for_views(ws, &dirs);
    let tty = std::io::stdout().is_terminal();
    loop {
        let st = status::gather(ws)?;
        let mut out = anstream::stdout().lock();
        if json {
            serde_json::to_writer(&mut out, &super::versioned(&st))?;
            writeln!(out)?;
        } else {
            if tty {
                // Clear the screen and go home; no colour is used.
                write!(out, "\x1b[2J\x1b[H")?;
            } else {
                writeln!(out, "---")?;
            }
            write!(out, "{}", super::safe::shown(&render(&st)))?;
            writeln!(
                out,
                "\n{}  (redrawn on every change; Ctrl-C to stop)",
                time::format(host::now())
            )?;
        }
        out.flush()?;
        drop(out);
        waker.next_change(None);
        // Let a burst settle, but redraw at least every MAX_SETTLE on a busy queue.
        let burst = std::time::Instant::now();
        while burst.elapsed() < MAX_SETTLE
            && matches!(
                waker.wait(Some(std::time::Instant::now() + SETTLE)),
                Woke::Message(())
            )
        {}
    }
}

/// The human view of a status, states in colour (printed through [`super::paint::print`],
/// which drops the colour where it does not belong).
pub fn render(st: &status::Status) -> String {
    let some = |name: &str, n: usize| match n {
        0 => String::new(),
        n => format!("   {name} {n}"),
    };
    let c = &st.counts;
    let mut out = format!(
        "pending {}{}   assigned {}{}{}   completed {}   failed {}{}\n",
        c.pending,
        some("blocked", c.blocked),
        c.assigned,
        some("waiting", c.waiting),
        some("review", c.review),
        c.completed,
        c.failed,
        some("cancelled", c.cancelled)
    );
    for q in &st.questions {
        let line = format!("{} asks about {}: {}", q.worker_id, q.task_id, q.question);
        out.push_str(&format!("  ? {}\n", clip(&line, 76)));
    }
    if !st.questions.is_empty() {
        out.push_str("  answer with `coord answer TASK \"...\"`\n");
    }
    if c.review > 0 {
        out.push_str("  work waits for review: `coord review` lists it\n");
    }
    if st.shared_filesystem {
        out.push_str(&format!(
            "the workspace is on {}, shared by hosts: workers rescan pending/ (see POLL) and judge other hosts' workers by lease\n",
            st.filesystem
        ));
    }
    if st.paused {
        out.push_str("PAUSED: nothing new is claimed until `coord resume`\n");
    }
    if st.workers.is_empty() {
        out.push_str("no workers have run here yet; start one with `coord worker --id worker-A`\n");
        return out;
    }
    // 80 columns: long ids and hosts are cut with an ellipsis, times are relative.
    out.push_str(&format!(
        "\n{:<12}  {:<7}  {:<20}  {:<18}  {:<6}  SEEN\n",
        "WORKER", "STATE", "TASK", "PID@HOST", "POLL"
    ));
    for w in &st.workers {
        let task = match (&w.current_task, w.progress) {
            (Some(t), Some(p)) => format!("{} {p}%", clip(t, 15)),
            (Some(t), None) => clip(t, 20),
            (None, _) => "-".to_string(),
        };
        out.push_str(&format!(
            "{:<12}  {}  {:<20}  {:<18}  {:<6}  {}\n",
            clip(&w.worker_id, 12),
            super::paint::state(&w.state, 7),
            task,
            clip(&format!("{}@{}", w.pid, w.host), 18),
            w.poll_secs.map_or("events".into(), |s| format!("{s}s")),
            super::table::ago(Some(w.last_seen))
        ));
    }
    out
}
