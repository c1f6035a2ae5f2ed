//! Durable file primitives: complete temp files, publishing without replacing, directory fsync.
//!
//! Every state change in a workspace is built from these: a file is first written whole under a
//! temp name unique to this host and process, then made visible by one `link` or `rename`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::base::error::{Error, Result};
use crate::base::host;

/// Whether writes are flushed to stable storage before they are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// fsync files before publishing them and directories after changing them.
    pub fsync: bool,
}

static SHARED: AtomicBool = AtomicBool::new(false);

/// Makes every file and folder this process creates from now on group-accessible (0660 and
/// 2770) instead of private (0600 and 0700), whatever the umask; set once a shared workspace
/// is opened.
pub fn share_with_group() {
    SHARED.store(true, Ordering::Relaxed);
}

/// The permission bits of new files: 0660 in a shared workspace, else 0600.
pub fn file_mode() -> u32 {
    if SHARED.load(Ordering::Relaxed) {
        0o660
    } else {
        0o600
    }
}

/// The permission bits of new folders: 2770 (setgid, so files inherit the group) in a shared
/// workspace, else 0700.
pub fn dir_mode() -> u32 {
    if SHARED.load(Ordering::Relaxed) {
        0o2770
    } else {
        0o700
    }
}

/// Gives a file coord just created its workspace mode, which the umask may have narrowed.
pub fn set_file_mode(file: &File, path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if SHARED.load(Ordering::Relaxed) {
        file.set_permissions(fs::Permissions::from_mode(file_mode()))
            .map_err(|e| Error::io("set the mode of", path, e))?;
    }
    Ok(())
}

/// Opens one of coord's own files (a lock for `flock`, a log, the journal) for appending: created with the
/// workspace's mode if it is new (the mode is set only on a file this call created), else opened
/// as it is; never through a symlink, and only a regular file (a planted FIFO or device is
/// refused, not waited on).
pub fn open_append(path: &Path) -> Result<File> {
    let open_existing = || {
        OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    };
    // Most calls find the file there (a lock taken on every completion): open it first.
    let file = match open_existing() {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match create_new_append(path) {
                Ok(file) => {
                    set_file_mode(&file, path)?;
                    return Ok(file);
                }
                // Another process (or host) created it meanwhile. Over sshfs that is not always
                // EEXIST (SFTP has no such status), so any failure is followed by one more open.
                Err(e) => open_existing().map_err(|_| Error::io("create", path, e))?,
            }
        }
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io("open", path, e))?;
    if !meta.is_file() {
        return Err(Error::io(
            "open",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    Ok(file)
}

/// As [`open_append`], for a file that is usually new (a task's log for one attempt): the
/// create comes first, which saves a failed open (a round trip on a network file system).
pub fn create_append(path: &Path) -> Result<File> {
    match create_new_append(path) {
        Ok(file) => {
            set_file_mode(&file, path)?;
            Ok(file)
        }
        // It exists (over sshfs not always EEXIST): open it as it is.
        Err(_) => open_append(path),
    }
}

/// Creates `path` for appending with the workspace's file mode, failing if it exists.
fn create_new_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(file_mode())
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Creates a folder (and its missing parents) with the workspace's folder mode, whatever the
/// umask; harmless when it exists.
pub fn create_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(dir_mode() & 0o777)
        .create(path)
        .map_err(|e| Error::io("create", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(dir_mode()))
        .map_err(|e| Error::io("set the mode of", path, e))
}

/// The suffix every temp file carries; queue folders ignore such names.
pub const TMP_SUFFIX: &str = ".tmp";

/// A name no other process on any host uses: `<host>@<pid namespace>.<pid>.<counter>.<random>.<tag>.tmp`.
pub fn unique_tmp_name(tag: &str) -> String {
    format!("{}.{tag}{TMP_SUFFIX}", unique_stem())
}

/// A name no other process on any host sharing the folder picks: host and pid namespace, pid, a
/// per-process counter and a random number (Maildir's rule).
pub fn unique_stem() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.{}.{}.{:08x}",
        host::pid_host(),
        host::pid(),
        n,
        host::random_u64() as u32
    )
}

/// Writes `bytes` to a new file in `dir` (created exclusively, [`file_mode`]) and returns its path.
///
/// The file is fsynced when `durability.fsync` is set; the caller publishes it.
pub fn write_tmp(dir: &Path, tag: &str, bytes: &[u8], durability: Durability) -> Result<PathBuf> {
    let path = dir.join(unique_tmp_name(tag));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(file_mode())
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    let written = set_file_mode(&file, &path)
        .and_then(|()| {
            file.write_all(bytes)
                .map_err(|e| Error::io("write", &path, e))
        })
        .and_then(|()| match durability.fsync {
            true => file.sync_all().map_err(|e| Error::io("fsync", &path, e)),
            false => Ok(()),
        });
    match written {
        Ok(()) => Ok(path),
        Err(e) => {
            // A full or failing disk leaves no half-written temp file behind.
            let _ = fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Makes `tmp` visible as `dst` unless `dst` exists; returns false (and keeps `dst`) if it does.
///
/// Uses `link(2)`, which never replaces a file, then removes the temp name.
pub fn publish_new(tmp: &Path, dst: &Path) -> Result<bool> {
    let link = || -> io::Result<()> {
        let (from, from_name) = folder_of(tmp)?;
        let (to, to_name) = folder_of(dst)?;
        Ok(rustix::fs::linkat(
            &from,
            from_name,
            &to,
            to_name,
            rustix::fs::AtFlags::empty(),
        )?)
    };
    let created = match link() {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(Error::io("link", dst, e)),
    };
    remove_if_exists(tmp)?;
    Ok(created)
}

/// Replaces `dst` by `tmp` in one rename; only for a file that belongs to the caller.
pub fn replace(tmp: &Path, dst: &Path) -> Result<()> {
    let rename = || -> io::Result<()> {
        let (from, from_name) = folder_of(tmp)?;
        let (to, to_name) = folder_of(dst)?;
        Ok(rustix::fs::renameat(&from, from_name, &to, to_name)?)
    };
    rename().map_err(|e| Error::io("rename", dst, e))
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

fn renameat2_noreplace(src: &Path, dst: &Path) -> io::Result<()> {
    use rustix::fs::{RenameFlags, renameat_with};
    let (from, from_name) = folder_of(src)?;
    let (to, to_name) = folder_of(dst)?;
    Ok(renameat_with(
        &from,
        from_name,
        &to,
        to_name,
        RenameFlags::NOREPLACE,
    )?)
}

/// The folder holding `path`, opened without following a symlink anywhere on the way (openat2
/// with RESOLVE_NO_SYMLINKS: a state folder swapped for a link to another place fails with
/// ELOOP instead of moving a file there), and the name in it. Workspace paths are built from
/// the workspace's resolved root, so a link on the way is one someone planted. Where openat2 is
/// missing (Linux before 5.6), only the folder itself is opened without following a link.
fn folder_of(path: &Path) -> io::Result<(std::os::fd::OwnedFd, &std::ffi::OsStr)> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no folder in the path",
        ));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::openat2(CWD, dir, flags, Mode::empty(), ResolveFlags::NO_SYMLINKS) {
        Ok(fd) => Ok((fd, name)),
        Err(rustix::io::Errno::NOSYS) => Ok((
            rustix::fs::open(dir, flags | OFlags::NOFOLLOW, Mode::empty())?,
            name,
        )),
        Err(e) => Err(e.into()),
    }
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
    let d = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    rustix::fs::syncfs(&d).map_err(|e| Error::io("syncfs", dir, e.into()))?;
    Ok(true)
}

/// fsyncs an existing file by path.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io("fsync", path, e))
}

/// Removes a file, treating "already gone" as success.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    let remove = || -> io::Result<()> {
        let (dir, name) = folder_of(path)?;
        Ok(rustix::fs::unlinkat(
            &dir,
            name,
            rustix::fs::AtFlags::empty(),
        )?)
    };
    match remove() {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Opens a regular file for reading without following a symlink and without blocking: a FIFO
/// or a device is refused (checked on the open descriptor), never waited on.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or folder is never read)",
        ));
    }
    Ok(file)
}

/// Reads a whole regular file, refusing one larger than `limit` bytes, never following a
/// symlink and never blocking on a FIFO.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_regular(path)?;
    // Task files are small: one read usually gets all of it, a second sees the end.
    let mut buf = Vec::with_capacity(8192);
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the {limit}-byte limit"),
        ));
    }
    Ok(buf)
}

/// An open directory, so that many files in it are created, linked and looked up without walking
/// its path again for each one.
#[derive(Debug)]
pub struct Dir {
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens `path` as a directory (never through a symlink).
    pub fn open(path: &Path) -> Result<Dir> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let fd = rustix::fs::open(path, flags, Mode::empty())
            .map_err(|e| Error::io("open", path, e.into()))?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` ([`file_mode`], failing if it exists) holding `bytes`, fsynced if asked.
    pub fn create_new(&self, name: &str, bytes: &[u8], fsync: bool) -> Result<()> {
        use rustix::fs::{Mode, OFlags};
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let path = self.path.join(name);
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(file_mode()))
            .map_err(|e| Error::io("create", &path, e.into()))?;
        let mut file = File::from(fd);
        let written = set_file_mode(&file, &path)
            .and_then(|()| {
                file.write_all(bytes)
                    .map_err(|e| Error::io("write", &path, e))
            })
            .and_then(|()| match fsync {
                true => file.sync_all().map_err(|e| Error::io("fsync", &path, e)),
                false => Ok(()),
            });
        if written.is_err() {
            // A full or failing disk leaves no half-written file behind.
            let _ = self.remove(name);
        }
        written
    }

    /// Creates an empty file `name` ([`file_mode`]) if it does not exist yet.
    pub fn create_marker(&self, name: &str) -> Result<()> {
        use rustix::fs::{Mode, OFlags};
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        match rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(file_mode())) {
            Ok(fd) => set_file_mode(&File::from(fd), &self.path.join(name)),
            Err(rustix::io::Errno::EXIST) => Ok(()),
            // Over sshfs an existing name is not always EEXIST (SFTP has no such status).
            Err(_) if self.contains(name) => Ok(()),
            Err(e) => Err(Error::io("create", self.path.join(name), e.into())),
        }
    }

    /// Links `name` to `dst/dst_name` without replacing anything; false if `dst_name` exists.
    pub fn link_new(&self, name: &str, dst: &Dir, dst_name: &str) -> Result<bool> {
        use rustix::fs::{AtFlags, linkat};
        match linkat(&self.fd, name, &dst.fd, dst_name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(Error::io("link", dst.path.join(dst_name), e.into())),
        }
    }

    /// Moves `name` to `dst/dst_name` in one `renameat2(RENAME_NOREPLACE)`; false (and nothing
    /// moved) if `dst_name` exists. Where the file system refuses the flag, it links and then
    /// removes `name`, which never replaces either.
    pub fn move_new(&self, name: &str, dst: &Dir, dst_name: &str) -> Result<bool> {
        use rustix::fs::{RenameFlags, renameat_with};
        use rustix::io::Errno;
        match renameat_with(&self.fd, name, &dst.fd, dst_name, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(true),
            Err(Errno::EXIST) => return Ok(false),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(Error::io("move", dst.path.join(dst_name), e.into())),
        }
        let linked = self.link_new(name, dst, dst_name)?;
        if linked {
            self.remove(name)?;
        }
        Ok(linked)
    }

    /// Moves the folder `name` to `dst/dst_name` in one `renameat2(RENAME_NOREPLACE)`; false
    /// (and nothing moved) if `dst_name` exists. Where the file system refuses the flag, it
    /// checks that `dst_name` is absent and renames: a folder cannot be linked, and callers
    /// give folders names no other process picks.
    pub fn move_dir_new(&self, name: &str, dst: &Dir, dst_name: &str) -> Result<bool> {
        use rustix::fs::{RenameFlags, renameat, renameat_with};
        use rustix::io::Errno;
        let fail = |e: Errno| Error::io("move", dst.path.join(dst_name), e.into());
        match renameat_with(&self.fd, name, &dst.fd, dst_name, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(true),
            Err(Errno::EXIST | Errno::NOTEMPTY) => return Ok(false),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(fail(e)),
        }
        if dst.contains(dst_name) {
            return Ok(false);
        }
        renameat(&self.fd, name, &dst.fd, dst_name).map_err(fail)?;
        Ok(true)
    }

    /// Removes `name`, treating "already gone" as success.
    pub fn remove(&self, name: &str) -> Result<()> {
        match rustix::fs::unlinkat(&self.fd, name, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::io("remove", self.path.join(name), e.into())),
        }
    }

    /// Whether `name` exists in the directory (not following a symlink).
    pub fn contains(&self, name: &str) -> bool {
        rustix::fs::statat(&self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// Flushes the directory's entries, when `fsync` is set.
    pub fn sync(&self, fsync: bool) -> Result<()> {
        if !fsync {
            return Ok(());
        }
        rustix::fs::fsync(&self.fd).map_err(|e| Error::io("fsync", &self.path, e.into()))
    }
}
