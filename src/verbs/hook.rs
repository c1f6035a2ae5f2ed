//! Hooks for agent harnesses. A stop hook: when a chat is about to stop and its worker holds no
//! task, claim the next one and answer in the harness's format so the chat goes on by itself. A
//! session-start hook: tell a new or resumed chat its worker id and the task it holds.
//!
//! This module reads the hook's input and decides; the command line renders the answer in the
//! harness's format (`coord hook`). Each hook accepts only its own harness's input for its own
//! event, and a session id becomes part of a worker id only if it passes the id rules. Hooks
//! fail open: any problem lets the chat stop.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::base::error::Result;
use crate::base::ids;
use crate::fs::workspace::Workspace;
use crate::verbs::handoff::{self, Assignment};

/// The harnesses coord answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// Claude Code.
    Claude,
    /// Cursor.
    Cursor,
    /// Codex CLI.
    Codex,
    /// Gemini CLI.
    Gemini,
    /// opencode, through coord's plugin (`.opencode/plugins/coord.js`).
    Opencode,
}

/// The event a hook answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The chat is about to stop (Claude Code and Codex `Stop`, Cursor `stop`, Gemini
    /// `AfterAgent`).
    Stop,
    /// A chat starts or resumes (`SessionStart`).
    SessionStart,
}

impl Harness {
    /// The first part of the worker ids derived from this harness's session ids.
    pub fn prefix(self) -> &'static str {
        match self {
            Harness::Claude => "claude",
            Harness::Cursor => "cursor",
            Harness::Codex => "codex",
            Harness::Gemini => "gemini",
            Harness::Opencode => "opencode",
        }
    }

    /// The `hook_event_name` this harness sends for `event`.
    fn event_name(self, event: Event) -> &'static str {
        match (self, event) {
            (Harness::Cursor, Event::Stop) => "stop",
            (Harness::Gemini, Event::Stop) => "AfterAgent",
            (Harness::Opencode, Event::Stop) => "session.idle",
            (_, Event::Stop) => "Stop",
            (Harness::Cursor, Event::SessionStart) => "sessionStart",
            (_, Event::SessionStart) => "SessionStart",
        }
    }
}

/// What coord reads from a hook's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The chat's session (or Cursor conversation) id, checked against the id rules.
    pub session: Option<String>,
    /// The chat's working directory, when the harness gives it: an absolute path.
    pub cwd: Option<PathBuf>,
    /// This stop follows a continuation a stop hook forced.
    pub stop_hook_active: bool,
    /// Cursor: how the turn ended ("completed", "aborted", "error").
    pub status: Option<String>,
}

/// Reads a hook's stdin for `harness` and `event`; a byte-order mark is skipped. Refuses, saying
/// why, input that is not that harness's for that event (another harness's fields, another
/// event's name, no session id), a session id outside the id rules, or a relative `cwd`.
pub fn parse_input(
    harness: Harness,
    event: Event,
    bytes: &[u8],
) -> std::result::Result<Input, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(bytes) else {
        return Err("the hook input is not a JSON object".into());
    };
    check_shape(harness, event, &obj)?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let session = match harness {
        Harness::Cursor => text("conversation_id"),
        _ => text("session_id"),
    };
    if let Some(s) = &session
        && let Some(reason) = ids::problem(s, ids::SESSION_ID_MAX)
    {
        return Err(format!("the session id {s:?} is not valid: {reason}"));
    }
    let cwd = text("cwd")
        .or_else(|| {
            let roots = obj.get("workspace_roots")?.as_array()?;
            roots.first()?.as_str().map(str::to_string)
        })
        .map(PathBuf::from);
    if let Some(dir) = &cwd
        && !dir.is_absolute()
    {
        return Err(format!("the hook's cwd {} is not absolute", dir.display()));
    }
    Ok(Input {
        session,
        cwd,
        stop_hook_active: obj
            .get("stop_hook_active")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        status: text("status"),
    })
}

/// Whether `obj` is `harness`'s input for `event`: its event name, its id field, and none of
/// the fields that only another harness sends.
fn check_shape(
    harness: Harness,
    event: Event,
    obj: &Map<String, Value>,
) -> std::result::Result<(), String> {
    let name = obj.get("hook_event_name").and_then(Value::as_str);
    let expected = harness.event_name(event);
    let name_ok = match (harness, name) {
        (Harness::Claude, Some(n)) => {
            n == expected || (event == Event::Stop && n == "SubagentStop")
        }
        (_, Some(n)) => n == expected,
        // Codex and Cursor have sent inputs without an event name.
        (Harness::Codex | Harness::Cursor, None) => true,
        (_, None) => false,
    };
    if !name_ok {
        return Err(format!(
            "this is not a {} {expected} hook input (its hook_event_name is {})",
            harness.prefix(),
            name.map_or("missing".to_string(), |n| format!("{n:?}"))
        ));
    }
    let has = |k: &str| obj.contains_key(k);
    let (needs, foreign): (&str, &[&str]) = match harness {
        Harness::Claude => ("session_id", &["turn_id", "conversation_id"]),
        Harness::Codex if event == Event::Stop => ("turn_id", &["conversation_id"]),
        Harness::Codex => ("session_id", &["conversation_id"]),
        Harness::Gemini | Harness::Opencode => ("session_id", &["turn_id", "conversation_id"]),
        Harness::Cursor => ("conversation_id", &["session_id", "turn_id"]),
    };
    if !has(needs) {
        return Err(format!(
            "this is not a {} hook input: it has no {needs}",
            harness.prefix()
        ));
    }
    if let Some(k) = foreign.iter().find(|k| has(k)) {
        return Err(format!(
            "this is not a {} hook input: it has {k}, which another harness sends",
            harness.prefix()
        ));
    }
    if harness == Harness::Codex && !has("session_id") {
        return Err("this is not a codex hook input: it has no session_id".into());
    }
    Ok(())
}

/// The worker id for a chat: the one given, else `<harness>-<12 letters and digits of the
/// session id>`: its first 12, or for Codex and opencode, whose session ids begin with the time,
/// its last 12. None when neither exists.
pub fn worker_id(harness: Harness, explicit: Option<&str>, input: &Input) -> Option<String> {
    if let Some(id) = explicit.filter(|id| !id.is_empty()) {
        return Some(id.to_string());
    }
    let plain: Vec<char> = input
        .session
        .as_deref()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let part: String = match harness {
        Harness::Codex | Harness::Opencode => {
            plain[plain.len().saturating_sub(12)..].iter().collect()
        }
        _ => plain.iter().take(12).collect(),
    };
    (!part.is_empty()).then(|| format!("{}-{part}", harness.prefix()))
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
    ids::check_worker_id(worker)?;
    if harness == Harness::Cursor && input.status.as_deref().is_some_and(|s| s != "completed") {
        return Ok(Decision::Stop);
    }
    Ok(match handoff::next(ws, worker, &[], None)? {
        Some(held) if held.already_held => {
            if harness != Harness::Cursor && input.stop_hook_active {
                Decision::Stop
            } else {
                Decision::Remind(held)
            }
        }
        Some(claimed) => Decision::Start(claimed),
        None => Decision::Stop,
    })
}

/// For a chat that went idle: waits on file events, while `worker` holds no task, until a task
/// it may take is ready or `until` passes, and claims it. None when the worker holds a task
/// already (the chat is busy, or another of its hooks claimed one) or the time ran out.
pub fn wait_for_work(
    ws: &Workspace,
    worker: &str,
    until: std::time::Instant,
) -> Result<Option<Assignment>> {
    if handoff::holding(ws, worker)?.is_some() {
        return Ok(None);
    }
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let window = left.min(std::time::Duration::from_secs(handoff::MAX_WAIT_SECS));
        match handoff::next(ws, worker, &[], Some(window))? {
            Some(a) if a.already_held => return Ok(None),
            Some(a) => return Ok(Some(a)),
            None => {}
        }
    }
}

/// What a chat that starts learns: its worker id, and the task it holds, if any (a chat that
/// resumes after a restart). Claims nothing.
pub fn session_start(ws: &Workspace, worker: &str) -> Result<Option<Assignment>> {
    handoff::holding(ws, worker)
}
