//! Checking ids before they touch the disk: a worker id names files and a folder, so it is
//! checked before any path is built from it, whatever its source (a flag, the environment, a
//! hook's session id).

use crate::base::error::{Error, Result};

/// Checks a worker id: 1-64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn check_worker_id(id: &str) -> Result<()> {
    let reason = if id.is_empty() || id.len() > 64 {
        Some(format!("it must be 1-64 characters long, not {}", id.len()))
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("it may only hold letters, digits, '.', '_' and '-'".to_string())
    } else if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or digit".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidWorkerId {
            id: id.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}
