//! Running a task's verify commands as its commands run: in their own process group, with the
//! task's `COORD_*` variables (so recovery finds and kills them with the rest of the task), under
//! the task's timeout (stopped as a task's command is: SIGTERM, then SIGKILL after the grace), output appended to the attempt's log. When the command ends, whatever it
//! left running is killed (its group, and in a process that adopts orphans, every descendant): a
//! check starts nothing that outlives it.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::fs::durable;
use crate::sys::reap;
use crate::sys::runner::{self, Job};
use crate::sys::supervise::{Ending, Supervision};

/// How verify commands run for one attempt.
#[derive(Debug, Clone)]
pub struct Verifier<'a> {
    env: Vec<(&'static str, String)>,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    log: &'a Path,
}

impl<'a> Verifier<'a> {
    /// Verify commands with the task's variables `env`, taking at most `timeout` all together
    /// from now, their output appended to `log`.
    pub fn new(env: Vec<(&'static str, String)>, timeout: Option<Duration>, log: &'a Path) -> Self {
        Verifier {
            env,
            timeout,
            deadline: timeout.map(|t| Instant::now() + t),
            log,
        }
    }

    /// Runs one verify command; returns whether it passed and what happened, in words.
    pub fn run(&self, project: &Path, cmd: &str) -> (bool, String) {
        let start = std::fs::metadata(self.log).map_or(0, |m| m.len());
        let job = Job {
            command: cmd,
            cwd: project,
            log: self.log,
            env: self.env.clone(),
        };
        let child = match runner::spawn(&job) {
            Ok(child) => child,
            Err(e) => return (false, format!("`{cmd}` could not start: {e}")),
        };
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::Builder::new()
            .name("coord-verify".into())
            .spawn(move || {
                let _ = tx.send(reap::wait_child(child));
            });
        if let Err(e) = waiter {
            runner::signal_group(pid, Signal::KILL);
            return (false, format!("`{cmd}` could not be waited for: {e}"));
        }
        let mut sup = Supervision::until(pid, self.deadline, self.timeout.map(|t| t.as_secs()));
        let ended = sup.wait_out(&rx);
        // Whatever it started goes with it: its group, and what left the group.
        runner::signal_group(pid, Signal::KILL);
        if reap::adopting() {
            reap::kill_all();
        }
        match ended {
            Ok(Ending::Exited(status)) if status.success() => (true, format!("`{cmd}` exited 0")),
            Ok(Ending::Exited(status)) => {
                let how = runner::describe(&status);
                match tail(self.log, start) {
                    Some(tail) => (false, format!("`{cmd}` failed with {how}: {tail}")),
                    None => (false, format!("`{cmd}` failed with {how}")),
                }
            }
            Err(e) => (false, format!("`{cmd}` could not be waited for: {e}")),
            Ok(_) => (
                false,
                format!(
                    "`{cmd}` was still running after the task's {}s timeout; its process group was stopped",
                    self.timeout.map_or(0, |t| t.as_secs())
                ),
            ),
        }
    }
}

/// The last lines (at most 5, from at most the last 4 KiB) written to `log` after `start`.
fn tail(log: &Path, start: u64) -> Option<String> {
    let mut file = durable::open_regular(log).ok()?;
    let end = file.metadata().ok()?.len();
    let from = start.max(end.saturating_sub(4096));
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    file.take(4096).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(5)..];
    (!last.is_empty()).then(|| last.join(" | "))
}
