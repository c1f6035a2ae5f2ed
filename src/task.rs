//! Tasks: the fields a user queues, the state coord keeps beside them, and their validation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Problem;

/// The largest task file coord reads or writes, in bytes (1 MiB).
pub const MAX_TASK_BYTES: u64 = 1 << 20;

/// Attempts a task gets when it does not say (`maxAttempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The key inside a task file under which coord keeps its own state; refused in queued tasks.
pub const STATE_KEY: &str = "coord";

/// A task as the user queued it: known fields typed, every other field kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Unique id: 1-128 of `[A-Za-z0-9._-]`, starting with a letter or digit.
    pub id: String,
    /// What the task is, for people and agents.
    pub description: String,
    /// Files the task reads or edits, relative to the project directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_files: Vec<String>,
    /// Files the task must produce, relative to the project directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_files: Vec<String>,
    /// A shell command that does the task (run with `sh -c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Seconds after which the command's process group is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// How many attempts before the task is dead-lettered (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Higher runs first (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Every other field, handed to the worker untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Spec {
    /// The number of attempts this task gets.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)
    }
}

/// What happened to one claim of a task that did not end it (failed with a retry, released, lost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The attempt number this claim ran as.
    pub attempt: u32,
    /// The worker that held it.
    pub worker: String,
    /// "failed", "released" or "lost".
    pub outcome: String,
    /// Why, in words.
    pub reason: String,
    /// When the claim ended (the recording process's clock).
    pub at: String,
    /// Whether the claim used up an attempt.
    pub counted: bool,
}

/// A note a holder left on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// The worker that wrote it.
    pub worker: String,
    /// The attempt it was written in.
    pub attempt: u32,
    /// The note.
    pub text: String,
    /// When (the writer's clock).
    pub at: String,
}

/// The state coord keeps inside a task file, under the `coord` key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The ordering key that names the task in pending/ (priority, then queue time).
    #[serde(default)]
    pub order: String,
    /// When the task was queued.
    #[serde(default)]
    pub queued_at: String,
    /// When the current claim was taken through `coord next` (the claimer's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
    /// The last note a holder left with `coord heartbeat --note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_note: Option<Note>,
    /// Every earlier claim that did not finish the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

/// A task file: the spec's fields at the top level and coord's state under `coord`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// The task as queued.
    #[serde(flatten)]
    pub spec: Spec,
    /// coord's bookkeeping.
    #[serde(default)]
    pub coord: State,
}

impl TaskFile {
    /// The attempt number the current (or next) claim runs as.
    pub fn attempt(&self) -> u32 {
        1 + self.coord.history.iter().filter(|h| h.counted).count() as u32
    }

    /// The token of the current claim: `<attempt>-<claim number>`; every claim gets a new one.
    pub fn token(&self) -> String {
        format!("{}-{}", self.attempt(), self.coord.history.len() + 1)
    }

    /// The task's `acceptance` checks (validated when the task was queued).
    pub fn acceptance(&self) -> crate::checks::Acceptance {
        crate::checks::parse(self.spec.extra.get("acceptance")).unwrap_or_default()
    }

    /// The task's own lease in seconds, if it sets `leaseSecs`.
    pub fn lease_secs(&self) -> Option<u64> {
        self.spec.extra.get("leaseSecs").and_then(Value::as_u64)
    }

    /// Serializes the task file as pretty JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("task files serialize");
        bytes.push(b'\n');
        bytes
    }

    /// Parses and validates a task file's bytes; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<TaskFile, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        if text.trim().is_empty() {
            return Err("empty file".into());
        }
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Some(obj) = value.as_object_mut() else {
            return Err("not a JSON object".into());
        };
        let state = match obj.remove(STATE_KEY) {
            None => State::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| format!("bad `coord` state: {e}"))?,
        };
        let obj = std::mem::take(obj);
        let spec = validate_object(obj, true).map_err(|problems| problems.join("; "))?;
        Ok(TaskFile { spec, coord: state })
    }
}

/// Checks that `id` is a valid task id; the error says why not.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err(format!("id must be 1-128 characters, not {}", id.len()));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "id {id:?} has the character {bad:?}; use letters, digits, '.', '_' and '-'"
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("id {id:?} must start with a letter or digit"));
    }
    Ok(())
}

/// Checks that a task path is relative and stays inside the project directory.
pub fn check_project_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.chars().any(char::is_control) {
        return Err(format!("path {path:?} contains a control character"));
    }
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        return Err(format!(
            "path {path:?} is absolute; give it relative to the project directory"
        ));
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "path {path:?} uses '..' and could leave the project directory"
        ));
    }
    Ok(())
}

/// Validates a task object's fields; with `id_required` false a missing id is accepted.
///
/// Returns every problem found, not only the first.
pub fn validate_object(obj: Map<String, Value>, id_required: bool) -> Result<Spec, Vec<String>> {
    let mut problems = Vec::new();
    match obj.get("id") {
        None if !id_required => {}
        None => problems.push("missing `id`".to_string()),
        Some(Value::String(id)) => {
            if let Err(e) = check_id(id) {
                problems.push(e);
            }
        }
        Some(_) => problems.push("`id` must be a string".into()),
    }
    match obj.get("description") {
        Some(Value::String(d)) if !d.trim().is_empty() => {}
        Some(Value::String(_)) => problems.push("`description` is empty".into()),
        Some(_) => problems.push("`description` must be a string".into()),
        None => problems.push("missing `description` (say what the task is)".into()),
    }
    for key in ["targetFiles", "outputFiles"] {
        match obj.get(key) {
            None => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(p) => {
                            if let Err(e) = check_project_path(p) {
                                problems.push(format!("`{key}`: {e}"));
                            }
                        }
                        _ => problems.push(format!("`{key}` must hold strings")),
                    }
                }
            }
            Some(_) => problems.push(format!("`{key}` must be an array of paths")),
        }
    }
    match obj.get("command") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if !c.trim().is_empty() => {}
        Some(Value::String(_)) => problems.push("`command` is empty".into()),
        Some(_) => problems.push("`command` must be a string".into()),
    }
    if let Err(e) = crate::checks::parse(obj.get("acceptance")) {
        problems.push(e);
    }
    for key in ["timeoutSecs", "maxAttempts", "leaseSecs"] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 && n <= u64::from(u32::MAX) => {}
                _ => problems.push(format!("`{key}` must be a whole number from 1 up")),
            },
        }
    }
    match obj.get("priority") {
        None | Some(Value::Null) => {}
        Some(v) => {
            if v.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
                problems.push(format!(
                    "`priority` must be a whole number from {} to {}",
                    i32::MIN,
                    i32::MAX
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut obj = obj;
    if !obj.contains_key("id") {
        obj.insert("id".into(), Value::String(String::new()));
    }
    serde_json::from_value(Value::Object(obj)).map_err(|e| vec![e.to_string()])
}

/// One task read from a tasks file, before it is queued.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Where it stood in the input ("task 2", "line 5").
    pub position: String,
    /// The validated spec (its id is empty when the input gave none).
    pub spec: Spec,
}

/// Reads a tasks file: a JSON array of tasks, one task object, or JSON Lines.
///
/// Every task is validated; on any problem, all problems are returned and none of the tasks.
pub fn parse_tasks(input: &str) -> Result<Vec<Parsed>, Vec<Problem>> {
    let mut items: Vec<(String, Value)> = Vec::new();
    let mut problems = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(input).into_iter::<Value>();
    let mut values = Vec::new();
    let mut lines = LineCounter::default();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(v)) => values.push((lines.line_at(input, start), v)),
            Some(Err(e)) => {
                problems.push(Problem {
                    position: format!("line {}", e.line()),
                    id: None,
                    message: format!("not valid JSON: {e}"),
                });
                break;
            }
        }
    }
    if values.len() == 1 && values[0].1.is_array() {
        let Some((_, Value::Array(arr))) = values.pop() else {
            unreachable!("checked to be an array")
        };
        for (i, v) in arr.into_iter().enumerate() {
            items.push((format!("task {}", i + 1), v));
        }
    } else {
        let jsonl = values.len() > 1;
        for (line, v) in values {
            let position = if jsonl {
                format!("line {line}")
            } else {
                "task 1".to_string()
            };
            items.push((position, v));
        }
    }
    if items.is_empty() && problems.is_empty() {
        problems.push(Problem {
            position: "input".into(),
            id: None,
            message: "no tasks found (expected a JSON array, an object, or JSON Lines)".into(),
        });
    }
    let mut parsed = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (position, value) in items {
        let Value::Object(obj) = value else {
            problems.push(Problem {
                position,
                id: None,
                message: "a task must be a JSON object".into(),
            });
            continue;
        };
        let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
        let mut messages = Vec::new();
        if obj.contains_key(STATE_KEY) {
            messages.push(format!("`{STATE_KEY}` is reserved for coord's own state"));
        }
        let spec = match validate_object(obj, false) {
            Ok(spec) => Some(spec),
            Err(ms) => {
                messages.extend(ms);
                None
            }
        };
        if let Some(id) = &id
            && let Some(first) = seen.insert(id.clone(), position.clone())
        {
            messages.push(format!("id {id:?} is used twice (first at {first})"));
        }
        match spec {
            Some(spec) if messages.is_empty() => parsed.push(Parsed { position, spec }),
            _ => problems.extend(messages.into_iter().map(|message| Problem {
                position: position.clone(),
                id: id.clone(),
                message,
            })),
        }
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

/// Line numbers of byte offsets met in increasing order, counted once over the input.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    /// The 1-based line of the first non-blank character at or after `offset`.
    fn line_at(&mut self, input: &str, offset: usize) -> usize {
        let rest = &input[offset..];
        let target = offset + (rest.len() - rest.trim_start().len());
        self.line += input.as_bytes()[self.offset..target]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = target;
        self.line + 1
    }
}

/// The name of a task in pending/: `<order>.<id>.json`, so a sorted listing is claim order.
pub fn pending_name(order: &str, id: &str) -> String {
    format!("{order}.{id}.json")
}

/// Length of the ordering key at the start of a pending name.
pub const ORDER_LEN: usize = 10 + 1 + 16 + 1 + 6;

/// The ordering key for a task: inverted priority (higher first), queue time, index in batch.
pub fn order_key(priority: i32, queued_micros: u64, index: u32) -> String {
    let inverted = (i64::from(i32::MAX) - i64::from(priority)) as u64;
    format!(
        "{inverted:010}-{queued_micros:016}-{:06}",
        index % 1_000_000
    )
}

/// The task id in a pending name written by coord, or None for any other name.
pub fn id_from_pending_name(name: &str) -> Option<&str> {
    let rest = name.strip_suffix(".json")?;
    if rest.len() <= ORDER_LEN + 1 || rest.as_bytes()[ORDER_LEN] != b'.' {
        return None;
    }
    let (order, id) = rest.split_at(ORDER_LEN);
    let id = &id[1..];
    let well_formed = order.bytes().enumerate().all(|(i, b)| {
        if i == 10 || i == 27 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    (well_formed && check_id(id).is_ok()).then_some(id)
}

/// Whether a name in a queue folder is to be ignored (hidden files and temp files).
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(crate::durable::TMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_names_round_trip() {
        let order = order_key(5, 1_764_092_093_123_456, 7);
        let name = pending_name(&order, "task-001");
        assert_eq!(id_from_pending_name(&name), Some("task-001"));
        assert_eq!(id_from_pending_name("task-001.json"), None);
    }

    #[test]
    fn higher_priority_sorts_first() {
        let high = order_key(10, 2, 0);
        let low = order_key(-3, 1, 0);
        let default = order_key(0, 1, 0);
        assert!(high < default && default < low);
    }

    #[test]
    fn jsonl_positions_are_lines() {
        let input = "{\"id\":\"a\",\"description\":\"x\"}\n{\"id\":\"b\"}\n";
        let problems = parse_tasks(input).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].position, "line 2");
        assert_eq!(problems[0].id.as_deref(), Some("b"));
    }
}
