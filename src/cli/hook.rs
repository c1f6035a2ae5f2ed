//! `coord hook claude-stop|cursor-stop`: keep an agent chat going from task to task.

use std::io::Read;
use std::path::PathBuf;

use coord::exit::ExitCode;
use coord::hook::{self, Harness};
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
        Ok(hook::decide(&ws, harness, &worker, &input)?)
    })();
    let message = match decision {
        Ok(m) => m,
        Err(e) => {
            eprintln!("coord hook: {e:#}; letting the chat stop");
            None
        }
    };
    let out = hook::render(harness, message);
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(ExitCode::Success)
}
