//! Stop hooks for agent harnesses: when a chat is about to stop and its worker holds no task,
//! claim the next one and answer in the harness's format so the chat goes on by itself.
//!
//! Claude Code: `{"decision": "block", "reason": "..."}` keeps the agent working with the reason
//! as its next instruction. Cursor: `{"followup_message": "..."}` is sent as the next user
//! message. With nothing to do, the hook prints nothing (Claude Code) or `{}` (Cursor) and the
//! chat stops. Hooks fail open: any problem lets the chat stop.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::error::Result;
use crate::handoff::{self, Assignment};
use crate::lease;
use crate::workspace::Workspace;

/// The harnesses coord answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// Claude Code's Stop hook.
    Claude,
    /// Cursor's stop hook.
    Cursor,
}

impl Harness {
    fn prefix(self) -> &'static str {
        match self {
            Harness::Claude => "claude",
            Harness::Cursor => "cursor",
        }
    }
}

/// What coord reads from a stop hook's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The chat's session (Claude Code) or conversation (Cursor) id.
    pub session: Option<String>,
    /// The chat's working directory, when the harness gives it.
    pub cwd: Option<PathBuf>,
    /// Claude Code: this stop follows a continuation a Stop hook forced.
    pub stop_hook_active: bool,
    /// Cursor: how the turn ended ("completed", "aborted", "error").
    pub status: Option<String>,
}

/// Reads a hook's stdin; a byte-order mark is skipped and anything unreadable gives empty input.
pub fn parse_input(bytes: &[u8]) -> Input {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(bytes) else {
        return Input::default();
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    Input {
        session: text("session_id").or_else(|| text("conversation_id")),
        cwd: text("cwd")
            .or_else(|| {
                let roots = obj.get("workspace_roots")?.as_array()?;
                roots.first()?.as_str().map(str::to_string)
            })
            .map(PathBuf::from),
        stop_hook_active: obj
            .get("stop_hook_active")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        status: text("status"),
    }
}

/// The worker id for a chat: the one given, else `<harness>-<first 12 characters of the
/// session id>`; None when neither exists.
pub fn worker_id(harness: Harness, explicit: Option<&str>, input: &Input) -> Option<String> {
    if let Some(id) = explicit.filter(|id| !id.is_empty()) {
        return Some(id.to_string());
    }
    let session: String = input
        .session
        .as_deref()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    (!session.is_empty()).then(|| format!("{}-{session}", harness.prefix()))
}

/// Decides whether the chat goes on: returns the message to continue with, or None to let it
/// stop.
pub fn decide(
    ws: &Workspace,
    harness: Harness,
    worker: &str,
    input: &Input,
) -> Result<Option<String>> {
    lease::check_worker_id(worker)?;
    if harness == Harness::Cursor && input.status.as_deref().is_some_and(|s| s != "completed") {
        return Ok(None);
    }
    if let Some(held) = handoff::next(ws, worker, &[], None)? {
        if held.already_held {
            if harness == Harness::Claude && input.stop_hook_active {
                return Ok(None);
            }
            return Ok(Some(reminder(&held)));
        }
        return Ok(Some(instruction(&held)));
    }
    Ok(None)
}

/// What the hook prints on stdout for a decision.
pub fn render(harness: Harness, message: Option<String>) -> String {
    match (harness, message) {
        (Harness::Claude, Some(reason)) => {
            json!({"decision": "block", "reason": reason}).to_string()
        }
        (Harness::Claude, None) => String::new(),
        (Harness::Cursor, Some(msg)) => json!({"followup_message": msg}).to_string(),
        (Harness::Cursor, None) => "{}".to_string(),
    }
}

fn instruction(a: &Assignment) -> String {
    format!(
        "coord: your next task is {id} (you are worker {w}).\n\n{task}\n\
         Do the task in {project}. When it is done, run:\n  {complete}\n\
         If a check fails, fix the work and run it again. If you cannot do it, run\n  \
         coord fail {id} --worker {w} --reason \"why\"   (or hand it back: coord release {id} --worker {w})\n\
         Then end your turn: the next task will be given to you. If this session ends first, the task stays \
         yours for {lease}s after your last coord command; resume with `coord next --worker {w}`.",
        id = a.task.spec.id,
        w = a.worker,
        task = a.to_text(),
        project = a.project_dir.display(),
        complete = a.complete_command(),
        lease = a.lease_secs,
    )
}

fn reminder(a: &Assignment) -> String {
    format!(
        "coord: you still hold task {id} (worker {w}). Finish it and run `{complete}`, or run \
         `coord fail {id} --worker {w} --reason \"why\"` or `coord release {id} --worker {w}`, then end your turn.\n\n{task}",
        id = a.task.spec.id,
        w = a.worker,
        complete = a.complete_command(),
        task = a.to_text(),
    )
}
