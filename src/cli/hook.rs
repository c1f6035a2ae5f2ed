//! `coord hook EVENT`: answer an agent harness's hook (keep a chat going from task to task, tell
//! a starting chat who it is), and `coord hook install HARNESS`: write the harness's
//! configuration into the project.

use std::io::Read;
use std::path::PathBuf;

use crate::base::exit::ExitCode;
use crate::base::time;
use crate::fs::workspace::Workspace;
use crate::verbs::hook::{self, Decision, Event, Harness};

/// Arguments of `coord hook`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// The hooks coord answers, and their installation.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Claude Code's Stop hook.
    ClaudeStop(EventArgs),
    /// Claude Code's SessionStart hook.
    ClaudeSessionStart(EventArgs),
    /// Claude Code's Stop hook run in the background (`asyncRewake`): waits for work while the
    /// chat is idle, claims it and wakes the chat with it (exit 2).
    ClaudeIdle(IdleArgs),
    /// Cursor's stop hook.
    CursorStop(EventArgs),
    /// Codex CLI's Stop hook.
    CodexStop(EventArgs),
    /// Codex CLI's SessionStart hook.
    CodexSessionStart(EventArgs),
    /// Gemini CLI's AfterAgent hook.
    GeminiAfterAgent(EventArgs),
    /// Gemini CLI's SessionStart hook.
    GeminiSessionStart(EventArgs),
    /// opencode's `session.idle` event, as coord's plugin passes it on.
    OpencodeIdle(EventArgs),
    /// Write a harness's hook configuration into the project, keeping every hook already there.
    Install(super::install::Args),
}

/// Arguments of every hook.
#[derive(Debug, clap::Args)]
struct EventArgs {
    /// The worker id (default: COORD_WORKER_ID, else `<harness>-<session id>`).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: Option<String>,
}

/// Arguments of `coord hook claude-idle`.
#[derive(Debug, clap::Args)]
struct IdleArgs {
    /// The worker id (default: COORD_WORKER_ID, else `claude-<session id>`).
    #[arg(long, env = "COORD_WORKER_ID")]
    worker: Option<String>,
    /// How long to wait for work, in seconds; keep it under the hook's `timeout`.
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = time::parse_secs)]
    wait: u64,
}

/// Runs a hook (or the installer).
pub fn run(root: Option<PathBuf>, args: Args) -> anyhow::Result<ExitCode> {
    let (harness, event, worker) = match args.command {
        Command::ClaudeIdle(a) => return idle(root, a),
        Command::ClaudeStop(a) => (Harness::Claude, Event::Stop, a.worker),
        Command::ClaudeSessionStart(a) => (Harness::Claude, Event::SessionStart, a.worker),
        Command::CursorStop(a) => (Harness::Cursor, Event::Stop, a.worker),
        Command::CodexStop(a) => (Harness::Codex, Event::Stop, a.worker),
        Command::CodexSessionStart(a) => (Harness::Codex, Event::SessionStart, a.worker),
        Command::GeminiAfterAgent(a) => (Harness::Gemini, Event::Stop, a.worker),
        Command::GeminiSessionStart(a) => (Harness::Gemini, Event::SessionStart, a.worker),
        Command::OpencodeIdle(a) => (Harness::Opencode, Event::Stop, a.worker),
        Command::Install(a) => return super::install::run(root, a),
    };
    let mut bytes = Vec::new();
    let _ = std::io::stdin().take(1 << 20).read_to_end(&mut bytes);
    let said = answer(root, harness, event, worker.as_deref(), &bytes).unwrap_or_else(|e| {
        let outcome = match event {
            Event::Stop => "letting the chat stop",
            Event::SessionStart => "the chat starts without coord's words",
        };
        eprintln!("coord hook: {e:#}; {outcome}");
        Said::default()
    });
    let mail = said.mail.as_ref().map_or("", |(_, d)| d.text.as_str());
    let message = match (said.text, mail.is_empty()) {
        (Some(text), true) => Some(text),
        (Some(text), false) => Some(format!("{text}\n\n{mail}")),
        (None, false) => Some(mail.to_string()),
        (None, true) => None,
    };
    let out = render(harness, event, message);
    if !out.is_empty() {
        println!("{out}");
    }
    if let Some((ws, delivery)) = said.mail {
        delivery.delivered(&ws);
    }
    Ok(ExitCode::Success)
}

/// What a hook has to say: its words, and the worker's unread messages to hand over with them.
#[derive(Debug, Default)]
struct Said {
    text: Option<String>,
    mail: Option<(Workspace, super::talk::Delivery)>,
}

/// `claude-idle`: exits 2 with the task on stderr once one is claimed, which wakes the chat
/// (Claude Code's answer to an `asyncRewake` hook's exit 2); 0 when there is nothing to say.
fn idle(root: Option<PathBuf>, args: IdleArgs) -> anyhow::Result<ExitCode> {
    // A headless run (`claude -p`, the SDKs) ends with its turn and waits for background hooks:
    // there is no idle chat to wake.
    if std::env::var("CLAUDE_CODE_ENTRYPOINT").is_ok_and(|e| e.starts_with("sdk")) {
        return Ok(ExitCode::Success);
    }
    let mut bytes = Vec::new();
    let _ = std::io::stdin().take(1 << 20).read_to_end(&mut bytes);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    let claimed = (|| -> anyhow::Result<Option<String>> {
        let input =
            hook::parse_input(Harness::Claude, Event::Stop, &bytes).map_err(anyhow::Error::msg)?;
        let Some(worker) = hook::worker_id(Harness::Claude, args.worker.as_deref(), &input) else {
            anyhow::bail!("no worker id: set COORD_WORKER_ID or pass --worker");
        };
        let ws = match (&root, &input.cwd) {
            (None, Some(cwd)) => Workspace::find(None, cwd)?,
            _ => super::open_workspace(root.clone())?,
        };
        Ok(hook::wait_for_work(&ws, &worker, until)?.map(|a| super::assignment::instruction(&a)))
    })();
    match claimed {
        Ok(Some(instruction)) => {
            eprintln!("{instruction}");
            std::process::exit(2)
        }
        Ok(None) => Ok(ExitCode::Success),
        Err(e) => {
            eprintln!("coord hook: {e:#}; the chat stays idle");
            Ok(ExitCode::Success)
        }
    }
}

/// What the hook has to say to the chat, if anything.
fn answer(
    root: Option<PathBuf>,
    harness: Harness,
    event: Event,
    worker: Option<&str>,
    bytes: &[u8],
) -> anyhow::Result<Said> {
    let input = hook::parse_input(harness, event, bytes).map_err(anyhow::Error::msg)?;
    let Some(worker) = hook::worker_id(harness, worker, &input) else {
        anyhow::bail!(
            "no worker id: set COORD_WORKER_ID or pass --worker (the hook input has no session id)"
        );
    };
    let ws = match (&root, &input.cwd) {
        (None, Some(cwd)) => Workspace::find(None, cwd)?,
        _ => super::open_workspace(root.clone())?,
    };
    let delivery = super::talk::Delivery::unread(&ws, &worker);
    if event == Event::SessionStart {
        let held = hook::session_start(&ws, &worker)?;
        let text = Some(match held {
            Some(a) => format!(
                "coord: you are worker {worker}, and you hold a task from before.\n\n{}",
                super::assignment::reminder(&a)
            ),
            None => format!(
                "coord: you are worker {worker}. When you end a turn holding no task, coord hands \
                 you the next one; `coord next --worker {worker}` asks for one now."
            ),
        });
        return Ok(Said {
            text,
            mail: Some((ws, delivery)),
        });
    }
    let text = match hook::decide(&ws, harness, &worker, &input)? {
        Decision::Stop => None,
        Decision::Start(a) => Some(super::assignment::instruction(&a)),
        Decision::Remind(a) => Some(super::assignment::reminder(&a)),
    };
    Ok(Said {
        text,
        mail: Some((ws, delivery)),
    })
}

/// What the hook prints on stdout.
/// - Stop, Claude Code and Codex: `{"decision": "block", "reason": "..."}` keeps the agent
///   working with the reason as its next instruction; nothing lets it stop.
/// - Stop, Gemini CLI (AfterAgent): `{"decision": "deny", "reason": "..."}` sends the reason as
///   a new prompt; nothing lets it stop.
/// - Stop, Cursor: `{"followup_message": "..."}` is sent as the next user message; `{}` stops.
/// - Idle, opencode: `{"prompt": "..."}`, which coord's plugin sends as the session's next
///   prompt; nothing lets the session stay idle.
/// - SessionStart: `hookSpecificOutput.additionalContext` is added to the chat's context.
fn render(harness: Harness, event: Event, message: Option<String>) -> String {
    use serde_json::json;
    match (event, harness, message) {
        (Event::SessionStart, _, Some(context)) => json!({
            "hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}
        })
        .to_string(),
        (Event::Stop, Harness::Cursor, Some(msg)) => json!({"followup_message": msg}).to_string(),
        (Event::Stop, Harness::Cursor, None) => "{}".to_string(),
        (Event::Stop, Harness::Opencode, Some(prompt)) => json!({"prompt": prompt}).to_string(),
        (Event::Stop, Harness::Gemini, Some(reason)) => {
            json!({"decision": "deny", "reason": reason}).to_string()
        }
        (Event::Stop, _, Some(reason)) => {
            json!({"decision": "block", "reason": reason}).to_string()
        }
        (_, _, None) => String::new(),
    }
}
