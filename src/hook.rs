//! Stop hooks for agent harnesses: when a chat is about to stop and its worker holds no task,
//! claim the next one and answer in the harness's format so the chat goes on by itself.
//!
//! This module reads the hook's input and decides; the command line renders the answer in the
//! harness's format (`coord hook`). Hooks fail open: any problem lets the chat stop.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::Result;
use crate::handoff::{self, Assignment};
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

/// What a stop hook answers.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Let the chat stop: nothing to do.
    Stop,
    /// Go on with this newly claimed task.
    Start(Assignment),
    /// The worker still holds this task: remind the chat of it.
    Remind(Assignment),
}

/// Decides whether the chat goes on, claiming through the one claim pipeline.
pub fn decide(ws: &Workspace, harness: Harness, worker: &str, input: &Input) -> Result<Decision> {
    crate::ids::check_worker_id(worker)?;
    if harness == Harness::Cursor && input.status.as_deref().is_some_and(|s| s != "completed") {
        return Ok(Decision::Stop);
    }
    Ok(match handoff::next(ws, worker, &[], None)? {
        Some(held) if held.already_held => {
            if harness == Harness::Claude && input.stop_hook_active {
                Decision::Stop
            } else {
                Decision::Remind(held)
            }
        }
        Some(claimed) => Decision::Start(claimed),
        None => Decision::Stop,
    })
}
