//! Reading an output file as a stream: its size, its words and which strings it contains, in
//! flat memory whatever its size.

use crate::fs::durable;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// What a scan found in one file.
#[derive(Debug, Default)]
pub struct Found {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its words (runs of non-white-space characters; invalid UTF-8 counts as a character).
    pub words: u64,
    /// For each string asked for, whether the file contains it.
    pub contains: Vec<bool>,
}

/// How much is read at a time.
const CHUNK: usize = 64 * 1024;

/// Scans `rel` in `project` for words and `needles`.
pub fn scan(project: &Path, rel: &str, needles: &[&str]) -> io::Result<Found> {
    let mut file = open_beneath(project, rel)?;
    let mut found = Found {
        contains: vec![false; needles.len()],
        ..Found::default()
    };
    let keep = needles.iter().map(|n| n.len()).max().unwrap_or(1).max(1) - 1;
    let mut buf = vec![0u8; CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    let mut tail = String::new();
    let mut in_word = false;
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        found.bytes += n as u64;
        carry.extend_from_slice(&buf[..n]);
        let text = decode(&mut carry, n == 0);
        for c in text.chars() {
            let space = c.is_whitespace();
            if !space && !in_word {
                found.words += 1;
            }
            in_word = !space;
        }
        if !needles.is_empty() {
            let window = tail + &text;
            for (hit, needle) in found.contains.iter_mut().zip(needles) {
                *hit = *hit || window.contains(needle);
            }
            tail = last_bytes(&window, keep).to_string();
        }
        if n == 0 {
            return Ok(found);
        }
    }
}

/// Takes the complete UTF-8 text at the front of `bytes` (invalid sequences as U+FFFD),
/// leaving an incomplete sequence at the end for the next read unless `end` is set.
fn decode(bytes: &mut Vec<u8>, end: bool) -> String {
    let mut text = String::new();
    let mut at = 0;
    loop {
        match std::str::from_utf8(&bytes[at..]) {
            Ok(s) => {
                text.push_str(s);
                at = bytes.len();
                break;
            }
            Err(e) => {
                let valid = at + e.valid_up_to();
                text.push_str(std::str::from_utf8(&bytes[at..valid]).expect("checked valid"));
                match e.error_len() {
                    Some(bad) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        at = valid + bad;
                    }
                    None if end => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        at = bytes.len();
                        break;
                    }
                    None => {
                        at = valid;
                        break;
                    }
                }
            }
        }
    }
    bytes.drain(..at);
    text
}

/// The last `n` bytes of `s` or a few more, cut at a character boundary.
fn last_bytes(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    &s[start..]
}

/// Opens `rel` for reading only if it resolves inside `project` (a link may point within the
/// project, never out of it) and is a regular file; a FIFO is refused, not waited on.
fn open_beneath(project: &Path, rel: &str) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let dir = rustix::fs::open(
        project,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    let file = match rustix::fs::openat2(&dir, rel, flags, Mode::empty(), resolve) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::XDEV) => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it leads out of the project (through a symbolic link or `..`)",
            ));
        }
        Err(rustix::io::Errno::NOSYS) => {
            // A kernel before 5.6: check the resolved path, then open without following.
            let full = project.join(rel).canonicalize()?;
            if !full.starts_with(project.canonicalize()?) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "it leads out of the project (through a symbolic link or `..`)",
                ));
            }
            durable::open_regular(&full)?
        }
        Err(e) => return Err(e.into()),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or folder is never read)",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_strings_across_chunk_and_character_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = "x ".repeat(CHUNK / 2 - 1);
        text.push_str("é needle ünïcödé");
        std::fs::write(dir.path().join("f"), &text).unwrap();
        let found = scan(dir.path(), "f", &["needle", "ünïcödé", "absent"]).unwrap();
        assert_eq!(found.bytes, text.len() as u64);
        assert_eq!(found.words, text.split_whitespace().count() as u64);
        assert_eq!(found.contains, [true, true, false]);
    }

    #[test]
    fn a_link_out_of_the_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("out")).unwrap();
        let err = scan(dir.path(), "out", &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    }
}
