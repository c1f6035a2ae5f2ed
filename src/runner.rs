//! Running a task's command: its own process group, its output in a log file, killed with the
//! worker if the worker dies.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::error::{Error, Result};

/// A command to run for one task attempt.
#[derive(Debug)]
pub struct Job<'a> {
    /// The shell command (run with `sh -c`).
    pub command: &'a str,
    /// Working directory: the project directory.
    pub cwd: &'a Path,
    /// Where stdout and stderr go (appended).
    pub log: &'a Path,
    /// Variables added to the worker's environment.
    pub env: Vec<(&'static str, String)>,
}

/// Starts the job in a new process group. On Linux the child gets SIGKILL if the worker dies.
pub fn spawn(job: &Job<'_>) -> Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(job.log)
        .map_err(|e| Error::io("open", job.log, e))?;
    let err = log.try_clone().map_err(|e| Error::io("open", job.log, e))?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(job.command)
        .current_dir(job.cwd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    // SAFETY: the closure only calls async-signal-safe functions (prctl, sigprocmask).
    unsafe {
        cmd.pre_exec(|| {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| Error::io("run", Path::new("/bin/sh"), e))
}

/// Sends `signal` to the whole process group led by `pid`.
pub fn signal_group(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; a gone group yields ESRCH, ignored.
    unsafe {
        libc::kill(-(pid as i32), signal);
    }
}

/// Describes how a command ended, for reports and logs.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(0), _) => "exit code 0".into(),
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "ended abnormally".into(),
    }
}
