//! Supervising a running command, a task's or a verify command's alike: its timeout (SIGTERM to the process group, SIGKILL after a
//! grace period), a cancel (the task was taken away), and a stop now (a second signal to the
//! worker). The worker feeds it what happened; it decides what to send to the group and how the
//! attempt ended.

use std::io;
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::sys::runner;

/// How long a stopped command gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How an attempt's command ended.
#[derive(Debug)]
pub enum Ending {
    /// It exited (or was killed by a signal nobody here sent).
    Exited(ExitStatus),
    /// It ran past its timeout and its group was stopped.
    TimedOut(u64),
    /// It could not start.
    CannotStart(String),
    /// The worker was told to stop now; the group was killed.
    Interrupted,
    /// The task was taken away (cancelled) while it ran; the group was stopped.
    Cancelled,
}

/// One running command's supervision.
#[derive(Debug)]
pub struct Supervision {
    pid: u32,
    timeout_secs: Option<u64>,
    deadline: Option<Instant>,
    timed_out: bool,
    interrupted: bool,
    cancelled: bool,
}

impl Supervision {
    /// Supervises the process group led by `pid`, with the task's timeout.
    pub fn start(pid: u32, timeout_secs: Option<u64>) -> Supervision {
        Supervision {
            pid,
            timeout_secs,
            deadline: timeout_secs.map(|s| Instant::now() + Duration::from_secs(s)),
            timed_out: false,
            interrupted: false,
            cancelled: false,
        }
    }

    /// Supervises the process group led by `pid` until `deadline` (the task's timeout of
    /// `timeout_secs` in all, shared by the commands that run under it).
    pub fn until(pid: u32, deadline: Option<Instant>, timeout_secs: Option<u64>) -> Supervision {
        Supervision {
            deadline,
            ..Supervision::start(pid, timeout_secs)
        }
    }

    /// Waits for the command's exit, which `exited` brings, acting at each deadline on the way
    /// (SIGTERM at the timeout, SIGKILL after the grace); returns how it ended.
    pub fn wait_out(&mut self, exited: &Receiver<io::Result<ExitStatus>>) -> io::Result<Ending> {
        loop {
            let status = match self.deadline {
                Some(d) => exited.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => exited.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match status {
                Ok(status) => return status.map(|s| self.ending(s)),
                Err(RecvTimeoutError::Timeout) => self.on_deadline(),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other("the thread waiting for it stopped"));
                }
            }
        }
    }

    /// When the supervisor next needs to act (the timeout, or the end of a grace period).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Acts on a deadline that has passed: SIGTERM at the timeout, SIGKILL after the grace.
    pub fn on_deadline(&mut self) {
        let Some(d) = self.deadline else { return };
        if Instant::now() < d {
            return;
        }
        if self.timed_out || self.cancelled {
            runner::signal_group(self.pid, Signal::KILL);
            self.deadline = None;
        } else {
            tracing::warn!(
                "timeout after {}s: stopping the task's process group",
                self.timeout_secs.unwrap_or(0)
            );
            runner::signal_group(self.pid, Signal::TERM);
            self.timed_out = true;
            self.deadline = Some(Instant::now() + KILL_GRACE);
        }
    }

    /// The task was taken away: SIGTERM now, SIGKILL after the grace. Once only.
    pub fn cancel(&mut self) {
        if self.cancelled {
            return;
        }
        tracing::warn!("the task was taken away (cancelled): stopping its process group");
        runner::signal_group(self.pid, Signal::TERM);
        self.cancelled = true;
        self.deadline = Some(Instant::now() + KILL_GRACE);
    }

    /// The worker must stop now: SIGKILL the group.
    pub fn interrupt(&mut self) {
        runner::signal_group(self.pid, Signal::KILL);
        self.interrupted = true;
    }

    /// How the attempt ended, once the command has exited with `status`.
    pub fn ending(&self, status: ExitStatus) -> Ending {
        if self.cancelled {
            Ending::Cancelled
        } else if self.interrupted {
            Ending::Interrupted
        } else if self.timed_out {
            Ending::TimedOut(self.timeout_secs.unwrap_or(0))
        } else {
            Ending::Exited(status)
        }
    }
}
