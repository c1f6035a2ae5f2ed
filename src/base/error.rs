//! Typed errors of the library, each carrying what it is about and what to do next.

use std::io;
use std::path::PathBuf;

use crate::base::exit::ExitCode;

/// One problem found in a tasks file, with where it was and which task it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the task stands in the input ("task 3", "line 7").
    pub position: String,
    /// The task's id, when it has a readable one.
    pub id: Option<String>,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} ({id}): {}", self.position, self.message),
            None => write!(f, "{}: {}", self.position, self.message),
        }
    }
}

/// Every error the library reports; `Display` says what happened and to what.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system call failed on a path.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb ("read", "create", "rename").
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// No workspace was found from the flags, the environment or the current directory.
    #[error("no coord workspace found {searched}")]
    NoWorkspace {
        /// Where the search went, for the message.
        searched: String,
    },
    /// A path named as the workspace is not one.
    #[error("{} is not a coord workspace (it has no pending/ folder)", path.display())]
    NotAWorkspace {
        /// The path given.
        path: PathBuf,
    },
    /// The input could not be read as tasks; nothing was queued.
    #[error(
        "{} invalid: nothing was queued",
        plural(tasks_in(problems), "task is", "tasks are")
    )]
    InvalidTasks {
        /// Each problem found, in input order.
        problems: Vec<Problem>,
    },
    /// A task id is already used by a task with different content.
    #[error("{} already queued with different content: nothing was queued", plural(conflicts.len(), "task id is", "task ids are"))]
    Conflict {
        /// One line per conflicting id, naming where the existing task is.
        conflicts: Vec<String>,
    },
    /// Another live process already runs as this worker id.
    #[error("worker {worker} is already running (pid {pid} on {host})")]
    WorkerRunning {
        /// The worker id.
        worker: String,
        /// The pid of the running worker, as its record says.
        pid: u32,
        /// The host of the running worker, as its record says.
        host: String,
    },
    /// An agent acting as this worker id holds a task within its lease.
    #[error("worker {worker} is an agent's: it holds {task} within its lease ({left_secs}s left)")]
    AgentHolds {
        /// The worker id.
        worker: String,
        /// A task it holds.
        task: String,
        /// Seconds until its lease runs out, as this host sees it.
        left_secs: u64,
    },
    /// A worker id is not usable as a folder name.
    #[error("invalid worker id {id:?}: {reason}")]
    InvalidWorkerId {
        /// The id given.
        id: String,
        /// Why it was refused.
        reason: String,
    },
    /// A JSON document could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Json {
        /// What was being done ("cannot parse").
        what: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// No task has this id in any state folder.
    #[error("unknown task {id}: no task with this id is pending, assigned, completed or failed")]
    UnknownTask {
        /// The id asked for.
        id: String,
    },
    /// The task is not held by the worker that asked; the message names its real state.
    #[error("{message}")]
    NotHeld {
        /// The task's real state, in words ("task-001 is held by worker-A, not worker-B").
        message: String,
        /// What the worker can do.
        hint: String,
    },
    /// A claim token from an earlier claim of the task.
    #[error(
        "token {token} is not the current claim of {id}: {id} is on attempt {attempt}, token {current}"
    )]
    StaleToken {
        /// The task.
        id: String,
        /// The token given.
        token: String,
        /// The current claim's token.
        current: String,
        /// The current attempt.
        attempt: u32,
    },
    /// The task's checks failed; the task stays held.
    #[error("{id} was not completed: {} failed", if failures.len() == 1 { "1 check".to_string() } else { format!("{} checks", failures.len()) })]
    ChecksFailed {
        /// The task.
        id: String,
        /// The worker that holds it.
        worker: String,
        /// One line per failed check.
        failures: Vec<String>,
    },
    /// A workspace path another user could have written: no command is run from it.
    #[error("refusing to run task commands: {} is unsafe: {problem}", path.display())]
    Unsafe {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// A shell command that fixes it.
        fix: String,
    },
    /// A workspace found above the current folder that another user could have planted.
    #[error("refusing to use {}: {problem}", path.display())]
    UntrustedWorkspace {
        /// The `.coord` folder found.
        path: PathBuf,
        /// Why it is not trusted.
        problem: String,
    },
    /// The request does not fit the task's state (cancelling a finished task, retrying one
    /// that has not failed).
    #[error("{message}")]
    StateConflict {
        /// What is in the way, in words.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// A task was found in two states at once: a crash or a hand edit left an extra copy.
    #[error("task {id} is in two states: {} already exists", path.display())]
    TwoStates {
        /// The task.
        id: String,
        /// The copy that is in the way.
        path: PathBuf,
    },
    /// A value in the command line or a file is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// File-system event watching could not start.
    #[error("cannot watch {} for new tasks: {source}", path.display())]
    Watch {
        /// The watched folder.
        path: PathBuf,
        /// The watcher's error.
        #[source]
        source: notify::Error,
    },
}

/// How many tasks the problems are about (a task with three problems counts once).
fn tasks_in(problems: &[Problem]) -> usize {
    let positions: std::collections::HashSet<&str> =
        problems.iter().map(|p| p.position.as_str()).collect();
    positions.len()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Error {
    /// Wraps an io error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// What the user can do about this error, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoWorkspace { .. } => Some(
                "run `coord init` in your project directory, or point to one with --root PATH or COORD_ROOT"
                    .into(),
            ),
            Error::NotAWorkspace { path } if path.join(".coord").join("pending").is_dir() => Some(format!(
                "did you mean {}? --root and COORD_ROOT name the .coord folder itself, not the project",
                path.join(".coord").display()
            )),
            Error::NotAWorkspace { .. } => {
                Some("--root and COORD_ROOT name the .coord folder itself; create one with `coord init`".into())
            }
            Error::InvalidTasks { .. } => Some("fix the tasks listed above and queue the file again".into()),
            Error::Conflict { .. } => Some(
                "give the changed tasks new ids, or queue them unchanged (re-queuing identical tasks does nothing)"
                    .into(),
            ),
            Error::WorkerRunning { worker, .. } => Some(format!(
                "stop that worker first, or start this one with another id (--id {worker}-2)"
            )),
            Error::AgentHolds { worker, task, .. } => Some(format!(
                "start this worker with another id, wait for the agent to finish, or hand the task back with `coord release {task} --worker {worker}`; a listener (`coord worker --watch` without --exec) may take over and hands the task on to its agent"
            )),
            Error::InvalidWorkerId { .. } => {
                Some("use 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit".into())
            }
            Error::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                Some("check the owner and mode of the workspace (ls -ld .coord)".into())
            }
            Error::Unsafe { fix, .. } => Some(format!(
                "another user could have written the tasks there; if that is not so, run `{fix}`"
            )),
            Error::Io { source, .. } if source.kind() == io::ErrorKind::StorageFull => Some(
                "the file system is full: free some space (old task logs in .coord/logs/tasks/ can go) and run the command again; no task was left half-moved".into(),
            ),
            Error::Io { source, .. } if source.kind() == io::ErrorKind::ReadOnlyFilesystem => Some(
                "the workspace's file system is read-only: remount it read-write and run the command again; no task was left half-moved".into(),
            ),
            Error::UnknownTask { .. } => Some("list the tasks with `coord ls`".into()),
            Error::UntrustedWorkspace { path, .. } => Some(format!(
                "another user may have put it there: run `coord init` in your project, or name it with --root {} if you trust it",
                path.display()
            )),
            Error::NotHeld { hint, .. } | Error::StateConflict { hint, .. } => Some(hint.clone()),
            Error::TwoStates { .. } => Some(
                "run `coord doctor` to see every copy, and `coord doctor --fix` to keep one".into(),
            ),
            Error::StaleToken { id, .. } => Some(format!(
                "this process's claim on {id} ended (its lease expired or it was released); get your current task with `coord next`"
            )),
            Error::ChecksFailed { id, worker, .. } => Some(format!(
                "the task is still yours: fix the work and run `coord complete {id} --worker {worker}` again, or give up with `coord fail {id} --worker {worker} --reason ...`"
            )),
            Error::Watch { .. } => Some(
                "raise fs.inotify.max_user_watches / max_user_instances, or free some watches".into(),
            ),
            _ => None,
        }
    }

    /// The process exit code this error maps to (see [`ExitCode`]).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::NoWorkspace { .. } | Error::NotAWorkspace { .. } => ExitCode::NoWorkspace,
            Error::InvalidTasks { .. } | Error::InvalidWorkerId { .. } | Error::Invalid(_) => {
                ExitCode::InvalidInput
            }
            Error::Conflict { .. }
            | Error::WorkerRunning { .. }
            | Error::AgentHolds { .. }
            | Error::NotHeld { .. }
            | Error::StateConflict { .. }
            | Error::TwoStates { .. }
            | Error::StaleToken { .. } => ExitCode::Conflict,
            Error::ChecksFailed { .. } => ExitCode::ChecksFailed,
            Error::UnknownTask { .. } => ExitCode::UnknownTask,
            Error::Unsafe { .. } | Error::UntrustedWorkspace { .. } => ExitCode::Unsafe,
            _ => ExitCode::Failure,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
