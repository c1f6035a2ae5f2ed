//! A worker's keeper: the `coord worker` process a person starts. It takes the worker's life
//! lock, starts the worker proper as its child (the same command, told who keeps it and which
//! descriptor holds the lock), passes on the signals sent to it, and outlives the worker. The
//! two share one open lock file, so the life lock is free only when both have ended.
//!
//! Whatever ends first, the task's processes end with it, on this host, with no recovery needed:
//! - the worker ends (an exit, a crash, SIGKILL): its processes pass to the keeper, which adopts
//!   orphans, kills them all and only then ends, letting go of the lock;
//! - the keeper ends (SIGKILL included): the kernel sends the worker SIGUSR2 (its parent-death
//!   signal); the worker kills every process it has and then itself with SIGKILL, as if it had
//!   been killed with its keeper.
//!
//! Tasks are still started with `posix_spawn`: the keeper costs one process per worker, not one
//! per task.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::process::{Pid, Signal, WaitOptions};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use signal_hook::iterator::Signals;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::workspace::Workspace;
use crate::policy::lease::{self, LifeLock};
use crate::sys::reap;

/// The hidden flag that tells a worker the pid of its keeper.
pub const KEPT_BY: &str = "--kept-by";
/// The hidden flag that tells a worker which inherited descriptor holds its life lock.
pub const LIFE_FD: &str = "--life-fd";

/// Becomes the keeper of a worker holding `life`: starts the worker proper with this process's
/// arguments and waits for it, then kills whatever it left and ends as it ended (same exit code,
/// or the same signal). Returns only when no worker could be started this way, with the lock
/// and the reason; the caller then runs the worker itself.
pub fn keep(life: LifeLock) -> (LifeLock, String) {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP, SIGCHLD]) {
        Ok(s) => s,
        Err(e) => return (life, format!("cannot handle signals: {e}")),
    };
    reap::adopt_orphans();
    let fd = life.file().as_raw_fd();
    // The one descriptor the worker inherits besides the standard streams; this process is
    // single-threaded here, so nothing else can start a process meanwhile.
    let inherit = rustix::io::fcntl_setfd(life.file(), rustix::io::FdFlags::empty());
    if let Err(e) = inherit {
        return (life, format!("cannot pass the life lock on: {e}"));
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| OsString::from("coord"));
    // The program by its path, so the worker is called `coord` in `ps`; if that file was
    // replaced or removed meanwhile, the running program itself.
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| !p.to_string_lossy().ends_with(" (deleted)") && p.is_file())
        .unwrap_or_else(|| "/proc/self/exe".into());
    let started = Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .arg(KEPT_BY)
        .arg(host::pid().to_string())
        .arg(LIFE_FD)
        .arg(fd.to_string())
        // Its own group: a signal to the keeper's group (a terminal's ^C, `timeout`) reaches
        // the worker once, through the keeper.
        .process_group(0)
        .spawn();
    let worker = match started.map(|c| Pid::from_raw(c.id() as i32)) {
        Ok(Some(pid)) => pid,
        Ok(None) => unreachable!("a started process has a positive pid"),
        Err(e) => return (life, format!("cannot start {}: {e}", exe.display())),
    };
    let ended = wait_for(worker, &mut signals);
    reap::kill_all();
    drop(life);
    end_as(ended)
}

/// Passes signals on to `worker` until it ends; returns how it ended.
fn wait_for(worker: Pid, signals: &mut Signals) -> rustix::process::WaitStatus {
    loop {
        for sig in signals.wait() {
            if sig != SIGCHLD {
                if let Some(sig) = Signal::from_named_raw(sig) {
                    let _ = rustix::process::kill_process(worker, sig);
                }
                continue;
            }
            // Reap every child that ended: the worker, or an orphan adopted after it.
            while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
                if pid == worker {
                    return status;
                }
            }
        }
    }
}

/// Ends this process as the worker ended: with its exit code, or killed by its signal.
fn end_as(status: rustix::process::WaitStatus) -> ! {
    if let Some(sig) = status.terminating_signal() {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        std::process::exit(128 + sig);
    }
    std::process::exit(status.exit_status().unwrap_or(1))
}

/// Joins the keeper `keeper` as its worker: checks that it is this process's parent, arranges
/// to kill every process of this worker and die if the keeper dies, and takes over the life lock
/// of `id` inherited as descriptor `fd`.
pub fn join(ws: &Workspace, id: &str, keeper: u32, fd: i32) -> Result<LifeLock> {
    let parent = || rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32);
    let gone = || {
        Error::Invalid(format!(
            "{KEPT_BY} {keeper}: that process is not this worker's parent (it may have ended); \
             start the worker with `coord worker --id {id}`"
        ))
    };
    if parent() != keeper {
        return Err(gone());
    }
    let mut death =
        Signals::new([SIGUSR2]).map_err(|e| Error::io("handle signals in", ws.root(), e))?;
    std::thread::Builder::new()
        .name("coord-keeper".into())
        .spawn(move || {
            for _ in death.forever() {
                if parent() != keeper {
                    reap::die_with_all();
                }
            }
        })
        .map_err(|e| Error::io("start a thread in", ws.root(), e))?;
    rustix::process::set_parent_process_death_signal(Some(Signal::USR2))
        .map_err(|e| Error::io("ask for a parent-death signal in", ws.root(), e.into()))?;
    // The keeper may have died before the request above: then no signal will come.
    if parent() != keeper {
        return Err(gone());
    }
    let life = lease::adopt_life_lock(ws, id, fd)?;
    host::set_keeper(keeper);
    Ok(life)
}
