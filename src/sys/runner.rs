//! Running a task's command: its own process group, its output in a log file, killed with the
//! worker if the worker dies (see [`crate::verbs::keeper`]).

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use rustix::process::{Pid, Signal, kill_process, kill_process_group};

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace;

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

/// The variables a task's commands (its command and its verify commands) get, besides the
/// caller's environment: which task, which attempt, which worker, where.
pub fn task_env(
    ws: &workspace::Workspace,
    worker: &str,
    id: &str,
    held: &Path,
    attempt: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("COORD_TASK_ID", id.to_string()),
        ("COORD_TASK_FILE", held.display().to_string()),
        ("COORD_WORKER_ID", worker.to_string()),
        ("COORD_ROOT", ws.root().display().to_string()),
        ("COORD_PROJECT_DIR", ws.project().display().to_string()),
        ("COORD_ATTEMPT", attempt.to_string()),
    ]
}

/// Words that `sh` treats specially as a command's first word; such commands always go to `sh`.
const SHELL_WORDS: &[&str] = &[
    ".", ":", "[", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
    "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for",
    "getopts", "hash", "if", "jobs", "kill", "local", "printf", "pwd", "read", "readonly",
    "return", "set", "shift", "test", "then", "times", "trap", "type", "ulimit", "umask",
    "unalias", "unset", "until", "wait", "while",
];

/// The words of a command that `sh -c` would run as one program with plain arguments, so it can
/// be started without the shell: only letters, digits and `_ . / : = + , @ % -`, no shell word
/// first, no variable assignment first. None when the shell is needed.
pub fn direct_argv(command: &str) -> Option<Vec<&str>> {
    let plain = |c: char| c.is_ascii_alphanumeric() || " _./:=+,@%-".contains(c);
    if !command.chars().all(plain) {
        return None;
    }
    let words: Vec<&str> = command.split(' ').filter(|w| !w.is_empty()).collect();
    let first = *words.first()?;
    if first.contains('=') || SHELL_WORDS.contains(&first) {
        return None;
    }
    Some(words)
}

/// Starts the job in a new process group.
///
/// A command that `sh -c` would run as a single program with plain arguments is started directly
/// (saving one process); anything else, or a program that cannot be started, goes through
/// `sh -c`, which then reports the problem exactly as it would have.
pub fn spawn(job: &Job<'_>) -> Result<Child> {
    if let Some(argv) = direct_argv(job.command) {
        match start(job, argv[0], &argv[1..]) {
            Err(Error::Io { source, .. })
                if matches!(
                    source.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) => {}
            other => return other,
        }
    }
    start(job, "/bin/sh", &["-c", job.command])
}

/// Starts a program. In a worker with a keeper the standard library uses `posix_spawn`, which
/// costs a third of a fork on a busy worker: the keeper sees to the child if the worker dies.
/// Anywhere else the child is forked and asks for SIGKILL when this process dies.
fn start(job: &Job<'_>, program: &str, args: &[&str]) -> Result<Child> {
    let log = durable::create_append(job.log)?;
    let err = log.try_clone().map_err(|e| Error::io("open", job.log, e))?;
    let mut cmd = Command::new(program);
    // A worker runs in the project directory already; not asking for a directory change keeps
    // the standard library on its posix_spawn path even where it cannot find
    // posix_spawn_file_actions_addchdir_np (a statically linked C library).
    if std::env::current_dir().ok().as_deref() != Some(job.cwd) {
        cmd.current_dir(job.cwd);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    if !host::kept() {
        // SAFETY: the closure only calls async-signal-safe functions (prctl, sigprocmask).
        unsafe {
            cmd.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
    }
    cmd.spawn()
        .map_err(|e| Error::io("run", Path::new(program), e))
}

/// Kills (SIGKILL) every process of this host that runs a task for `worker` in the workspace
/// `root`, recognised by the COORD_ROOT and COORD_WORKER_ID variables coord gave it. Run before a
/// dead worker's tasks are recovered: a worker's keeper kills its processes as it dies, and this
/// catches what outlived both (a worker and its keeper killed together, a worker without a
/// keeper). Returns how many it killed.
pub fn kill_leftovers(root: &Path, worker: &str) -> usize {
    let root_var = format!("COORD_ROOT={}", root.display()).into_bytes();
    let worker_var = format!("COORD_WORKER_ID={worker}").into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let mut vars = environ.split(|&b| b == 0);
        let mut has_root = false;
        let mut has_worker = false;
        for var in vars.by_ref() {
            has_root |= var == root_var.as_slice();
            has_worker |= var == worker_var.as_slice();
        }
        if has_root
            && has_worker
            && let Some(pid) = Pid::from_raw(pid)
            && kill_process(pid, Signal::KILL).is_ok()
        {
            killed += 1;
        }
    }
    killed
}

/// Sends `signal` to the whole process group led by `pid`; a group that is gone is ignored.
pub fn signal_group(pid: u32, signal: Signal) {
    if let Some(pid) = Pid::from_raw(pid as i32) {
        let _ = kill_process_group(pid, signal);
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

#[cfg(test)]
mod tests {
    use super::direct_argv;

    #[test]
    fn only_plain_programs_skip_the_shell() {
        assert_eq!(direct_argv("true"), Some(vec!["true"]));
        assert_eq!(direct_argv("  date +%s%N "), Some(vec!["date", "+%s%N"]));
        assert_eq!(
            direct_argv("./run.sh --out=x a/b"),
            Some(vec!["./run.sh", "--out=x", "a/b"])
        );
        for shell in [
            "echo hi", "exit 3", "A=1 prog", "a | b", "a; b", "x $HOME", "cd /", "a 'b c'", "a\tb",
            "",
        ] {
            assert_eq!(direct_argv(shell), None, "{shell:?}");
        }
    }
}
