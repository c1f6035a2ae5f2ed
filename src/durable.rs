//! Durable file primitives: complete temp files, publishing without replacing, directory fsync.
//!
//! Every state change in a workspace is built from these: a file is first written whole under a
//! temp name unique to this host and process, then made visible by one `link` or `rename`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::host;

/// Whether writes are flushed to stable storage before they are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// fsync files before publishing them and directories after changing them.
    pub fsync: bool,
}

/// The suffix every temp file carries; queue folders ignore such names.
pub const TMP_SUFFIX: &str = ".tmp";

/// A name no other process on any host uses: `<host>.<pid>.<counter>.<random>.tmp`.
pub fn unique_tmp_name(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.{}.{}.{:08x}.{tag}{TMP_SUFFIX}",
        host::hostname(),
        host::pid(),
        n,
        host::random_u64() as u32
    )
}

/// Writes `bytes` to a new file in `dir` (created exclusively, mode 0600) and returns its path.
///
/// The file is fsynced when `durability.fsync` is set; the caller publishes it.
pub fn write_tmp(dir: &Path, tag: &str, bytes: &[u8], durability: Durability) -> Result<PathBuf> {
    let path = dir.join(unique_tmp_name(tag));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", &path, e))?;
    if durability.fsync {
        file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
    }
    Ok(path)
}

/// Makes `tmp` visible as `dst` unless `dst` exists; returns false (and keeps `dst`) if it does.
///
/// Uses `link(2)`, which never replaces a file, then removes the temp name.
pub fn publish_new(tmp: &Path, dst: &Path) -> Result<bool> {
    let created = match fs::hard_link(tmp, dst) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(Error::io("link", dst, e)),
    };
    remove_if_exists(tmp)?;
    Ok(created)
}

/// Replaces `dst` by `tmp` in one rename; only for a file that belongs to the caller.
pub fn replace(tmp: &Path, dst: &Path) -> Result<()> {
    fs::rename(tmp, dst).map_err(|e| Error::io("rename", dst, e))
}

/// Why a no-replace move did not happen.
#[derive(Debug)]
pub enum MoveError {
    /// The source is gone: another process moved it first.
    SourceGone,
    /// The destination exists; nothing was moved.
    DestinationExists,
    /// Any other failure.
    Other(io::Error),
}

/// Moves `src` to `dst` in one atomic rename that never replaces an existing `dst`.
///
/// On Linux this is `renameat2(RENAME_NOREPLACE)`. Where the file system does not support it
/// (some network file systems), it checks that `dst` is absent and then renames; that fallback
/// is exclusive on `src` (only one mover wins) and is documented in docs/protocol.md.
pub fn move_noreplace(src: &Path, dst: &Path) -> std::result::Result<(), MoveError> {
    match renameat2_noreplace(src, dst) {
        Ok(()) => return Ok(()),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOENT) => return Err(MoveError::SourceGone),
            Some(libc::EEXIST) => return Err(MoveError::DestinationExists),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {}
            _ => return Err(MoveError::Other(e)),
        },
    }
    if fs::symlink_metadata(dst).is_ok() {
        return Err(MoveError::DestinationExists);
    }
    fs::rename(src, dst).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            MoveError::SourceGone
        } else {
            MoveError::Other(e)
        }
    })
}

#[cfg(target_os = "linux")]
fn renameat2_noreplace(src: &Path, dst: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let s = CString::new(src.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let d = CString::new(dst.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both strings are valid NUL-terminated paths for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            s.as_ptr(),
            libc::AT_FDCWD,
            d.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn renameat2_noreplace(_src: &Path, _dst: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Flushes a directory's entries to stable storage, when `durability.fsync` is set.
pub fn sync_dir(dir: &Path, durability: Durability) -> Result<()> {
    if !durability.fsync {
        return Ok(());
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

/// Flushes every pending write of the file system holding `dir` in one call (Linux `syncfs`),
/// or returns false where that is not available so the caller fsyncs file by file.
pub fn sync_filesystem(dir: &Path) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let d = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
        // SAFETY: the descriptor is open for the duration of the call.
        let rc = unsafe { libc::syncfs(d.as_raw_fd()) };
        if rc == 0 {
            return Ok(true);
        }
        Err(Error::io("syncfs", dir, io::Error::last_os_error()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Ok(false)
    }
}

/// fsyncs an existing file by path.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("fsync", path, e))
}

/// Removes a file, treating "already gone" as success.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Reads a whole file, refusing one larger than `limit` bytes and never following a symlink.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the {limit}-byte limit"),
        ));
    }
    Ok(buf)
}
