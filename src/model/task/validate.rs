//! Validation of what users queue: ids, paths and every known field of a task.

use serde_json::{Map, Value};

use super::Spec;
use crate::base::ids;

/// Checks that `id` is a valid task id (the id rule, at most [`ids::TASK_ID_MAX`]
/// characters); the error says why not.
pub fn check_id(id: &str) -> Result<(), String> {
    match ids::problem(id, ids::TASK_ID_MAX) {
        Some(reason) => Err(format!("id {id:?} is not valid: {reason}")),
        None => Ok(()),
    }
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
    let mut problems: Vec<String> = obj.keys().filter_map(|k| misspelled(k)).collect();
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
    for key in ["targetFiles", "outputFiles", "readFiles"] {
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
    if let Err(e) = super::acceptance::parse(obj.get("acceptance")) {
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
    for key in ["dependsOn", "requires"] {
        match obj.get(key) {
            None => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item.as_str().map(check_id) {
                        Some(Ok(())) => {}
                        Some(Err(e)) => problems.push(format!("`{key}`: {e}")),
                        None => problems.push(format!("`{key}` must hold strings")),
                    }
                }
            }
            Some(_) => problems.push(format!("`{key}` must be an array of names")),
        }
    }
    match obj.get("notBefore") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.parse::<jiff::Timestamp>().is_ok() => {}
        Some(_) => problems.push(
            "`notBefore` must be an RFC 3339 time with an offset, like 2026-11-25T18:00:00Z".into(),
        ),
    }
    match obj.get("retryBackoffSecs") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_f64() {
            Some(s) if (0.0..=86_400.0).contains(&s) => {}
            _ => problems
                .push("`retryBackoffSecs` must be a number of seconds from 0 to 86400".into()),
        },
    }
    for key in ["exclusiveFiles", "review"] {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(_) => problems.push(format!("`{key}` must be true or false")),
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

/// The top-level keys coord reads in a task (any other key is kept as it is).
pub const KNOWN_KEYS: &[&str] = &[
    "id",
    "description",
    "targetFiles",
    "outputFiles",
    "readFiles",
    "command",
    "timeoutSecs",
    "maxAttempts",
    "priority",
    "dependsOn",
    "requires",
    "notBefore",
    "retryBackoffSecs",
    "exclusiveFiles",
    "acceptance",
    "leaseSecs",
    "review",
    super::STATE_KEY,
];

/// A problem when `key` is not a key coord reads but looks like a misspelling of one: the same
/// letters in another case, or within 2 edits (1 for keys of 4-5 letters, none for `id`). Other unknown
/// keys are kept verbatim, as a task's own data.
fn misspelled(key: &str) -> Option<String> {
    if KNOWN_KEYS.contains(&key) {
        return None;
    }
    let lower = key.to_ascii_lowercase();
    let near = KNOWN_KEYS.iter().find(|known| {
        let known_lower = known.to_ascii_lowercase();
        let limit = match known.len() {
            0..=3 => 0,
            4..=5 => 1,
            _ => 2,
        };
        known_lower == lower || edit_distance(&known_lower, &lower) <= limit
    })?;
    Some(format!(
        "unknown key `{key}`: did you mean `{near}`? (coord keeps keys it does not know as they \
         are, so a misspelled one would be ignored)"
    ))
}

/// The Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}
