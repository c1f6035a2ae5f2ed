//! A process's descendants: adopting the orphans of the commands it starts (a child subreaper),
//! and killing every descendant it has, however far a command tried to get away (`setsid`, a
//! double fork, `env -i`).
//!
//! A process that adopts orphans sees every process its commands started as its own child once
//! that process's parent ends, so [`kill_all`] reaches them all: it kills each child's process
//! group and the child, reaps one, and looks again, until no child is left.

use std::sync::atomic::{AtomicBool, Ordering};

use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

static ADOPTING: AtomicBool = AtomicBool::new(false);
static DYING: AtomicBool = AtomicBool::new(false);

/// Makes this process the one that adopts its descendants' orphans (Linux's child subreaper), so
/// nothing a command starts can leave the process's tree while the process lives.
pub fn adopt_orphans() {
    match rustix::process::set_child_subreaper(Pid::from_raw(1)) {
        Ok(()) => ADOPTING.store(true, Ordering::SeqCst),
        Err(e) => tracing::warn!(
            "cannot adopt orphaned processes ({e}): a command that leaves its process group can \
             outlive its task"
        ),
    }
}

/// Whether this process adopts orphans: only then is every child of it a command's leftover.
pub fn adopting() -> bool {
    ADOPTING.load(Ordering::SeqCst)
}

/// Kills every descendant of this process, then the process itself with SIGKILL: for a worker
/// whose keeper died. No thread learns meanwhile that its command ended (see [`wait_child`]), so
/// nothing of the worker's records a task's end it did not choose.
pub fn die_with_all() -> ! {
    DYING.store(true, Ordering::SeqCst);
    kill_all();
    let _ = signal_hook::low_level::emulate_default_handler(libc::SIGKILL);
    std::process::abort()
}

/// Waits for `child` to end and reaps it. If this process is dying with its descendants, never
/// returns: the thread waits for the end of the process instead.
pub fn wait_child(mut child: std::process::Child) -> std::io::Result<std::process::ExitStatus> {
    let ended = Pid::from_raw(child.id() as i32).map(|pid| {
        rustix::process::waitid(
            rustix::process::WaitId::Pid(pid),
            rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT,
        )
    });
    while DYING.load(Ordering::SeqCst) {
        std::thread::park();
    }
    ended.transpose().map_err(std::io::Error::from)?;
    child.wait()
}

/// This process's children (any of its threads'), zombies included.
pub fn children() -> Vec<Pid> {
    let me = rustix::process::getpid();
    let mut found = Vec::new();
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return found;
    };
    for thread in threads.flatten() {
        let Ok(list) = std::fs::read_to_string(thread.path().join("children")) else {
            return children_by_scan(me);
        };
        found.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .filter_map(Pid::from_raw),
        );
    }
    found.sort_unstable_by_key(|p| p.as_raw_nonzero());
    found.dedup();
    found
}

/// Children found by reading every process's parent, where the kernel has no children lists.
fn children_by_scan(me: Pid) -> Vec<Pid> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(me.as_raw_nonzero().get()))
        .filter_map(Pid::from_raw)
        .collect()
}

/// The parent pid of `pid`, from /proc/<pid>/stat (the field after the state, past the name).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Kills (SIGKILL) every descendant of this process and reaps them; returns how many children
/// it found alive or unreaped. Call it only where every child is a command's (a worker, or a
/// process running checks): it spares nothing.
pub fn kill_all() -> usize {
    // The common case, a command that left nothing: no child at all, one system call.
    let first = match rustix::process::wait(WaitOptions::NOHANG) {
        Err(Errno::CHILD) => return 0,
        Ok(Some((pid, _))) => Some(pid),
        _ => None,
    };
    let own_group = rustix::process::getpgrp();
    let mut killed: std::collections::HashSet<Pid> = first.into_iter().collect();
    loop {
        let kids = children();
        if kids.is_empty() {
            break;
        }
        for &kid in &kids {
            if let Ok(group) = rustix::process::getpgid(Some(kid))
                && group != own_group
            {
                let _ = rustix::process::kill_process_group(group, Signal::KILL);
            }
            let _ = rustix::process::kill_process(kid, Signal::KILL);
            killed.insert(kid);
        }
        // Every child has SIGKILL pending, so this returns; the next look finds the orphans its
        // end handed to this process.
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    killed.len()
}
