//! Checking ids before they touch the disk: a task id and a worker id name files and folders,
//! so each is checked before any path is built from it, whatever its source (a flag, the
//! environment, a hook's session id, a task file, an MCP call). Both follow one rule: 1 to a
//! maximum of `[A-Za-z0-9._-]`, starting with a letter or digit.

use crate::base::error::{Error, Result};

/// The longest worker id.
pub const WORKER_ID_MAX: usize = 64;

/// The longest session id a harness hook may give.
pub const SESSION_ID_MAX: usize = 128;

/// The longest task id.
pub const TASK_ID_MAX: usize = 128;

/// Why `id` breaks the id rule for ids of at most `max` characters, in words starting with
/// "it"; None when it keeps it.
pub fn problem(id: &str, max: usize) -> Option<String> {
    if id.is_empty() || id.len() > max {
        return Some(format!(
            "it must be 1-{max} characters long, not {}",
            id.len()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "it has the character {bad:?}; use letters, digits, '.', '_' and '-'"
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("it must start with a letter or digit".to_string());
    }
    None
}

/// Checks a worker id against the id rule, at most [`WORKER_ID_MAX`] characters.
pub fn check_worker_id(id: &str) -> Result<()> {
    match problem(id, WORKER_ID_MAX) {
        Some(reason) => Err(Error::InvalidWorkerId {
            id: id.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}
