//! The state machine: the only code that renames, links or unlinks task and report files.
//!
//! A task is in exactly one state, and each state is a folder ([`TaskState`], [`layout`]).
//! Every move goes through [`commit::commit`]: rewrite the source (only a copy the caller holds
//! the lock of), prepare the report, one no-replace rename from the exact path of the expected
//! state (the re-check: a source that moved on makes the move fail and change nothing), flush,
//! publish the report, record the event. The moves themselves, with the lock each one holds, are
//! the public functions of the submodules; docs/protocol.md has one row per move naming them.
//!
//! Policy (which task to move, and when) lives elsewhere: the worker loop, the hand-off verbs,
//! recovery, dependencies, the operator verbs and the doctor call in here.

mod claim;
pub mod commit;
mod deps;
mod end;
pub mod events;
pub mod layout;
mod leftovers;
pub mod locks;
pub mod operator;
mod publish;
mod review;
pub mod store;
mod talk;

pub use claim::{
    Taken, defer, put_back, remove_emptied_batch, rename_to_id, restore_batch, set_aside, take,
};
pub use deps::{clear_waiting, fail_dependent, mark_waiting, unblock, waiting_on};
pub use end::{End, EndKind, complete, end_claim, rewrite_held};
pub use leftovers::{Orphans, in_flight_reports, orphans};
pub use operator::{
    SetAside, cancel_from, purge_one, rebuild_report, retry_from_failed, set_aside_duplicates,
};
pub use publish::{BATCH_FOLDER_FROM, BATCH_FOLDER_SIZE, Progress, Published, Publisher};

use crate::base::error::{Error, Result};
use crate::model::task;
pub use review::{approve, reject, report_in_review, submit};
pub use talk::{AnswerTo, answer, ask, asker};

/// The state a task is in, named after the folder that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// In pending/: ready to be claimed.
    Pending,
    /// In blocked/: waiting for the tasks it depends on.
    Blocked,
    /// In assigned/<worker>/: held by that worker.
    Assigned(String),
    /// In waiting/: its holder asked a question and waits for the answer.
    Waiting,
    /// In review/: its checks passed and it waits for a reviewer's approval.
    Review,
    /// In completed/.
    Completed,
    /// In failed/: dead-lettered, cancelled, or failed because a dependency did.
    Failed,
}

/// A state without the worker that holds an assigned task: what the one name table and the
/// one list of all states ([`StateKind::ALL`], in the order of the flow) are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// [`TaskState::Pending`].
    Pending,
    /// [`TaskState::Blocked`].
    Blocked,
    /// [`TaskState::Assigned`], to any worker.
    Assigned,
    /// [`TaskState::Waiting`].
    Waiting,
    /// [`TaskState::Review`].
    Review,
    /// [`TaskState::Completed`].
    Completed,
    /// [`TaskState::Failed`].
    Failed,
}

names!(StateKind {
    Pending => "pending",
    Blocked => "blocked",
    Assigned => "assigned",
    Waiting => "waiting",
    Review => "review",
    Completed => "completed",
    Failed => "failed",
});

impl TaskState {
    /// The state's kind, without its holder.
    pub fn kind(&self) -> StateKind {
        match self {
            TaskState::Pending => StateKind::Pending,
            TaskState::Blocked => StateKind::Blocked,
            TaskState::Assigned(_) => StateKind::Assigned,
            TaskState::Waiting => StateKind::Waiting,
            TaskState::Review => StateKind::Review,
            TaskState::Completed => StateKind::Completed,
            TaskState::Failed => StateKind::Failed,
        }
    }

    /// The state of `kind` when no worker is part of it; None for assigned.
    pub fn unheld(kind: StateKind) -> Option<TaskState> {
        Some(match kind {
            StateKind::Pending => TaskState::Pending,
            StateKind::Blocked => TaskState::Blocked,
            StateKind::Assigned => return None,
            StateKind::Waiting => TaskState::Waiting,
            StateKind::Review => TaskState::Review,
            StateKind::Completed => TaskState::Completed,
            StateKind::Failed => TaskState::Failed,
        })
    }

    /// Every state no worker is part of, in the order of the flow.
    pub fn all_unheld() -> impl Iterator<Item = TaskState> {
        StateKind::ALL.iter().filter_map(|k| TaskState::unheld(*k))
    }

    /// The state's one-word name, as `--json` output and `--state` filters spell it.
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the task has finished (completed or failed) and has, or is about to have, a report.
    pub fn is_finished(&self) -> bool {
        matches!(self, TaskState::Completed | TaskState::Failed)
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskState::Pending => f.write_str("pending"),
            TaskState::Blocked => f.write_str("blocked"),
            TaskState::Assigned(w) => write!(f, "assigned to {w}"),
            TaskState::Waiting => f.write_str("waiting for an answer"),
            TaskState::Review => f.write_str("in review"),
            TaskState::Completed => f.write_str("completed"),
            TaskState::Failed => f.write_str("failed"),
        }
    }
}

/// Where a move out of a worker's claims left the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Moved to completed/.
    Completed,
    /// Moved to review/: its checks passed, and it waits for a reviewer's approval.
    InReview,
    /// Back in pending/ for another attempt.
    Requeued,
    /// Moved to failed/: out of attempts.
    DeadLettered,
    /// Back in pending/ without using an attempt.
    Released,
    /// The task was no longer held by this worker: someone else moved it. Nothing was changed.
    Fenced,
    /// Another copy of the task had already completed; this copy was dropped.
    AlreadyCompleted,
}

impl Disposition {
    /// The disposition in words, for logs.
    pub fn describe(&self) -> &'static str {
        match self {
            Disposition::Completed => "completed",
            Disposition::InReview => "checks passed; waiting for review in review/",
            Disposition::Requeued => "back in pending/ for another attempt",
            Disposition::DeadLettered => "out of attempts, moved to failed/",
            Disposition::Released => "back in pending/, no attempt used",
            Disposition::Fenced => {
                "it was no longer held by this worker (moved by another process); nothing recorded"
            }
            Disposition::AlreadyCompleted => {
                "another copy had already completed; this copy was dropped"
            }
        }
    }
}

/// The task at `path`, or None if there is no file there.
fn read_if_there(path: &std::path::Path) -> Result<Option<task::TaskFile>> {
    match task::read(path) {
        Ok(t) => Ok(Some(t)),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
