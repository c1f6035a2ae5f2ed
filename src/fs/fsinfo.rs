//! What file system the workspace is on, and what that means for waiting: on a network or FUSE
//! file system, changes made by other hosts raise no local event, so waiting must rescan.

use crate::base::error;
use crate::base::error::Error;
use crate::fs::durable;
use std::path::Path;
use std::time::Duration;

/// How often processes rescan a workspace on a network or FUSE file system (`--poll` changes
/// it for a worker).
pub const NETWORK_POLL: Duration = Duration::from_secs(1);

/// What to tell people about client caching on a shared file system.
pub const CACHE_ADVICE: &str = "for new files to show promptly on every host, mount without lookup and attribute caching (NFS: lookupcache=positive,actimeo=1, or noac; sshfs: -o cache=no; SMB/CIFS: cache=none); see docs/multi-host.md";

/// The file system a path is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsKind {
    /// A short name: "nfs", "smb", "fuse", "ext4", ...
    pub name: &'static str,
    /// Whether other hosts may share it (network or FUSE): no events for their changes, and
    /// locks that do not reach them.
    pub shared: bool,
}

/// Reads the file system type of `path` with statfs; None when it cannot be read.
pub fn kind(path: &Path) -> Option<FsKind> {
    let magic = rustix::fs::statfs(path).ok()?.f_type as u64;
    let (name, shared) = match magic {
        0x6969 => ("nfs", true),
        0x517b => ("smb", true),
        0xfe53_4d42 => ("smb2", true),
        0xff53_4d42 => ("cifs", true),
        0x6573_5546 => ("fuse", true),
        0x0102_1997 => ("9p", true),
        0x00c3_6400 => ("ceph", true),
        0x5346_414f => ("afs", true),
        0x0bd0_0bd0 => ("lustre", true),
        0x4744_4e46 => ("gpfs", true),
        0x0102_1994 => ("tmpfs", false),
        0xef53 => ("ext4", false),
        0x5846_5342 => ("xfs", false),
        0x9123_683e => ("btrfs", false),
        0x2fc1_2fc1 => ("zfs", false),
        0x794c_7630 => ("overlay", false),
        _ => ("other", false),
    };
    Some(FsKind { name, shared })
}

/// How often to rescan a workspace where events cannot be trusted to arrive: `Some` on a
/// network or FUSE file system (or when `COORD_POLL_SECS` sets it), `None` where events suffice.
pub fn poll_interval(path: &Path) -> Option<Duration> {
    if let Some(secs) = std::env::var("COORD_POLL_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
    {
        return Some(Duration::from_secs_f64(secs.clamp(0.01, 3600.0)));
    }
    kind(path).filter(|k| k.shared).map(|_| NETWORK_POLL)
}

/// What `coord doctor` found out about the workspace's file system by trying it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// The file system's name ("ext4", "nfs", "fuse", ...).
    pub filesystem: String,
    /// Whether other hosts may share it (network or FUSE).
    pub shared: bool,
    /// Whether an exclusive `flock` taken through one open file keeps another open of the same
    /// file out, on this host.
    pub locks_exclude: bool,
    /// Whether a second rename of a name already renamed away fails (a second claim loses).
    pub rename_exclusive: bool,
    /// Whether `renameat2(RENAME_NOREPLACE)` is supported (else coord checks, then renames).
    pub rename_noreplace: bool,
}

/// Tries locks and renames on real files in `tmp` (removed afterwards).
pub fn probe(root: &Path, tmp: &Path) -> error::Result<Probe> {
    let kind = kind(root);
    let base = tmp.join(durable::unique_tmp_name("probe"));
    let name = |suffix: &str| base.with_extension(format!("{suffix}.tmp"));
    let (lock, a, b, c, d) = (name("lock"), name("a"), name("b"), name("c"), name("d"));
    let tried = try_files(&lock, &a, &b, &c, &d);
    // Whatever happened (a full disk, say), leave nothing behind.
    for p in [&lock, &a, &b, &c, &d] {
        let _ = std::fs::remove_file(p);
    }
    let (locks_exclude, rename_exclusive, rename_noreplace) = tried?;
    Ok(Probe {
        filesystem: kind.as_ref().map_or("unknown", |k| k.name).to_string(),
        shared: kind.is_some_and(|k| k.shared),
        locks_exclude,
        rename_exclusive,
        rename_noreplace,
    })
}

/// The lock and rename trials of [`probe`], on the five given paths.
fn try_files(
    lock: &Path,
    a: &Path,
    b: &Path,
    c: &Path,
    d: &Path,
) -> error::Result<(bool, bool, bool)> {
    use crate::fs::durable::{self, MoveError};
    let create = |p: &Path| std::fs::write(p, b"probe").map_err(|e| Error::io("create", p, e));
    create(lock)?;
    let first = std::fs::File::options()
        .write(true)
        .open(lock)
        .map_err(|e| Error::io("open", lock, e))?;
    let second = std::fs::File::options()
        .write(true)
        .open(lock)
        .map_err(|e| Error::io("open", lock, e))?;
    let locks_exclude = first.try_lock().is_ok()
        && matches!(second.try_lock(), Err(std::fs::TryLockError::WouldBlock));
    drop((first, second));
    create(a)?;
    let won = std::fs::rename(a, b).is_ok();
    let lost = std::fs::rename(a, c).is_err();
    create(d)?;
    let rename_noreplace = matches!(
        durable::move_noreplace(b, d),
        Err(MoveError::DestinationExists)
    ) && renameat2_supported(b, c);
    Ok((locks_exclude, won && lost, rename_noreplace))
}

/// Whether the kernel call itself (not coord's fallback) accepts RENAME_NOREPLACE here.
fn renameat2_supported(from: &Path, to: &Path) -> bool {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).is_ok()
}
