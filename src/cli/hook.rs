//! `coord hook claude-stop|cursor-stop`: keep an agent chat going from task to task.

use std::io::Read;
use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::hook::{self, Decision, Harness};
use coord::workspace::Workspace;

/// Arguments of `coord hook`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which harness calls the hook.
    #[arg(value_enum)]
    harness: Which,
    /// The worker id (default: COORD_WORKER_ID, else `<harness>-<session id>`).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: Option<String>,
}

/// The supported harnesses.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Which {
    /// Claude Code's Stop hook.
    ClaudeStop,
    /// Cursor's stop hook.
    CursorStop,
}

/// Reads the hook input, decides, prints the harness's answer. Fails open: always exits 0.
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let harness = match args.harness {
        Which::ClaudeStop => Harness::Claude,
        Which::CursorStop => Harness::Cursor,
    };
    let mut bytes = Vec::new();
    let _ = std::io::stdin().take(1 << 20).read_to_end(&mut bytes);
    let input = hook::parse_input(&bytes);
    let decision = (|| -> anyhow::Result<Option<String>> {
        let Some(worker) = hook::worker_id(harness, args.worker.as_deref(), &input) else {
            anyhow::bail!(
                "no worker id: set COORD_WORKER_ID or pass --worker (the hook input has no session id)"
            );
        };
        let ws = match (&root, &input.cwd) {
            (None, Some(cwd)) => Workspace::find(None, cwd)?,
            _ => super::open_workspace(root.clone())?,
        };
        Ok(match hook::decide(&ws, harness, &worker, &input)? {
            Decision::Stop => None,
            Decision::Start(a) => Some(super::assignment::instruction(&a)),
            Decision::Remind(a) => Some(super::assignment::reminder(&a)),
        })
    })();
    let message = match decision {
        Ok(m) => m,
        Err(e) => {
            eprintln!("coord hook: {e:#}; letting the chat stop");
            None
        }
    };
    let out = render(harness, message);
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(ExitCode::Success)
}

/// What the hook prints on stdout. Claude Code: `{"decision": "block", "reason": "..."}` keeps
/// the agent working with the reason as its next instruction. Cursor: `{"followup_message":
/// "..."}` is sent as the next user message. With nothing to do, nothing (Claude Code) or `{}`
/// (Cursor): the chat stops.
fn render(harness: Harness, message: Option<String>) -> String {
    match (harness, message) {
        (Harness::Claude, Some(reason)) => {
            serde_json::json!({"decision": "block", "reason": reason}).to_string()
        }
        (Harness::Claude, None) => String::new(),
        (Harness::Cursor, Some(msg)) => serde_json::json!({"followup_message": msg}).to_string(),
        (Harness::Cursor, None) => "{}".to_string(),
    }
}
