//! `coord next --worker ID`: claim the next task for an agent or a person, and print it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::Workspace;
use crate::base::exit::ExitCode;
use crate::policy::gate;
use crate::verbs::handoff::{self, DEFAULT_WAIT_SECS, MAX_WAIT_SECS};

/// Arguments of `coord next`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  coord next --worker agent-1                 claim and print (JSON when piped)
  coord next --worker agent-1 --wait=60       wait up to 60 s for a task")]
pub struct Args {
    /// The worker id (or COORD_WORKER_ID).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: String,
    /// Block on file-system events until a task is ready, for SECS seconds (default 45, at most 90).
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "45", require_equals = true)]
    wait: Option<u64>,
    /// This worker's labels (comma-separated): only tasks whose `requires` it has are offered.
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    labels: Vec<String>,
    /// Print JSON (the default when stdout is not a terminal).
    #[arg(long)]
    json: bool,
    /// Print text even when stdout is not a terminal.
    #[arg(long, conflicts_with = "json")]
    text: bool,
}

/// Claims and prints the next task; exits 10 when none is ready.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let ws = super::open_workspace(root)?;
    let wait = args.wait.map(|secs| {
        if secs > MAX_WAIT_SECS {
            eprintln!("note: --wait is capped at {MAX_WAIT_SECS}s so the call returns inside an agent's command limit");
        }
        Duration::from_secs(secs.min(MAX_WAIT_SECS))
    });
    let json = args.json || (!args.text && !std::io::stdout().is_terminal());
    let claimed = handoff::next(&ws, &args.worker, &args.labels, wait)?;
    // Unread messages go out with the answer, and are marked read once it is printed.
    let mail = super::talk::Delivery::unread(&ws, &args.worker);
    // The task first, then the messages (bounded by the delivery).
    let code = print(&ws, &args, json, wait, claimed, &mail)?;
    if !json {
        say_part!("{}", mail.text);
    }
    mail.delivered(&ws);
    Ok(code)
}

fn print(
    ws: &Workspace,
    args: &Args,
    json: bool,
    wait: Option<Duration>,
    claimed: Option<handoff::Assignment>,
    mail: &super::talk::Delivery,
) -> anyhow::Result<ExitCode> {
    match claimed {
        Some(a) => {
            if json {
                let mut v = super::assignment::to_json(&a);
                v["messages"] = serde_json::to_value(mail.messages())?;
                super::print_json(&v)?;
            } else {
                say_part!("{}", super::assignment::to_text(&a));
            }
            Ok(ExitCode::Success)
        }
        None => {
            let retry = if wait.is_some() {
                0
            } else {
                DEFAULT_WAIT_SECS.min(10)
            };
            let message = match wait {
                _ if gate::paused(ws) => {
                    "the workspace is paused: nothing is handed out until `coord resume`".into()
                }
                Some(w) => format!(
                    "no task became ready for {} within {}s",
                    args.worker,
                    w.as_secs()
                ),
                None => format!("no task is ready for {}", args.worker),
            };
            let waiting = waiting_tasks(ws, &args.labels);
            if json {
                super::print_json(&serde_json::json!({
                    "status": "empty",
                    "messages": mail.messages(),
                    "workerId": args.worker,
                    "message": message,
                    "retryAfterSecs": retry,
                    "waiting": waiting.iter().map(|(id, why)| serde_json::json!({"taskId": id, "waitsFor": why})).collect::<Vec<_>>(),
                    "hint": format!("run `coord next --worker {} --wait` to wait for one", args.worker),
                }))?;
            } else {
                say!(
                    "{message}; `coord next --worker {} --wait` waits up to {DEFAULT_WAIT_SECS}s for one",
                    args.worker
                );
                for (id, why) in &waiting {
                    say!("  {id}: {why}");
                }
            }
            Ok(ExitCode::Empty)
        }
    }
}

/// How many pending tasks that wait `next` names when it hands out nothing.
const WAITING_SHOWN: usize = 5;

/// The first pending tasks that wait for something, and what: why `next` handed out nothing
/// (a label this worker lacks included).
fn waiting_tasks(ws: &Workspace, labels: &[String]) -> Vec<(String, String)> {
    use crate::policy::claim::{self, Waits};
    let found = claim::left_behind(ws, labels, WAITING_SHOWN, true).unwrap_or_default();
    (found.into_iter())
        .filter_map(|(id, waits)| match waits? {
            Waits::Labels(l) => Some((
                id,
                format!("requires label {l}, which this worker lacks (--labels)"),
            )),
            Waits::For(why) => Some((id, why)),
        })
        .collect()
}
