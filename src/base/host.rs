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

/// The inode of this process's pid namespace (0 where it cannot be read): two processes of one
/// host name are on the same "host" for pids only when this matches too.
pub fn pid_namespace() -> u64 {
    static NS: OnceLock<u64> = OnceLock::new();
    *NS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino())
    })
}

/// This host as pids see it: `<host name>@<pid namespace>`, the first part of coord's temp
/// names, so a process never judges a pid of another pid namespace.
pub fn pid_host() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("{}@{}", hostname(), pid_namespace()))
}

/// This process's id (read once: a process's id does not change).
pub fn pid() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

static KEEPER: OnceLock<u32> = OnceLock::new();

/// Records that this process is a worker kept by process `keeper` (see `keeper::join`).
pub fn set_keeper(keeper: u32) {
    let _ = KEEPER.set(keeper);
}

/// Whether this process is a worker with a keeper, which kills its tasks' processes if it dies.
pub fn kept() -> bool {
    KEEPER.get().is_some()
}

/// The pid a person signals to reach this process: its keeper's when it has one, else its own.
pub fn public_pid() -> u32 {
    KEEPER.get().copied().unwrap_or_else(pid)
}

/// Whether process `pid` of this pid namespace is alive (a zombie waiting to be reaped counts as
/// dead).
pub fn process_alive(pid: u32) -> bool {
    let exists = rustix::process::Pid::from_raw(pid as i32).is_some_and(|p| {
        !matches!(
            rustix::process::test_kill_process(p),
            Err(rustix::io::Errno::SRCH)
        )
    });
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    exists && !zombie
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
