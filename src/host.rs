//! Facts about this process and host: host name, pid, random numbers, the clock.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// This host's name, as the kernel reports it, or "localhost" when it cannot be read.
pub fn hostname() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let uname = rustix::system::uname();
        let name = uname.nodename().to_string_lossy().into_owned();
        if name.is_empty() {
            "localhost".to_string()
        } else {
            name
        }
    })
}

/// This process's id (read once: a process's id does not change).
pub fn pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// A fresh random 64-bit number from the standard library's per-process random keys.
pub fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// The current time in UTC; coord never compares it with another host's clock.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// A timestamp as RFC 3339 in UTC with millisecond precision ("2026-11-25T17:34:53.123Z").
pub fn rfc3339(ts: jiff::Timestamp) -> String {
    format!("{ts:.3}")
}
