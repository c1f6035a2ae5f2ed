//! The process exit codes, in one place; the README lists the same table.

/// Exit codes of the `coord` binary. Scripts may rely on these values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// The command did what it was asked.
    Success = 0,
    /// An operation failed (file system, permissions, a task that failed under `coord demo`).
    Failure = 1,
    /// The command line was wrong (unknown flag, missing argument).
    Usage = 2,
    /// No workspace was found; run `coord init`.
    NoWorkspace = 3,
    /// The input was invalid (tasks file, worker id); nothing was changed.
    InvalidInput = 4,
    /// The request conflicts with the workspace's state (id reused with other content, worker id
    /// in use, a verb that does not fit the task's state, a task in two states).
    Conflict = 5,
    /// A task's checks failed; the task was not completed and stays held.
    ChecksFailed = 6,
    /// No task has the id given.
    UnknownTask = 7,
    /// A worker refused to run commands: the workspace could have been written by another user;
    /// or a workspace found above the current folder belongs to another user.
    Unsafe = 8,
    /// `coord next`: no task is ready for this worker (not an error; try again later).
    Empty = 10,
    /// `coord wait`: the time ran out before the tasks finished.
    TimedOut = 11,
    /// `coord wait`: every task finished, but some did not complete; a worker without `--watch`:
    /// some task it ran ran out of attempts (dead-lettered).
    NotAllCompleted = 12,
    /// A worker without `--watch` found the workspace paused and claimed nothing.
    Paused = 13,
    /// The command was interrupted by a signal before it finished.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
