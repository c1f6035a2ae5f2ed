//! A question and its answer: assigned/W → waiting/ (`ask`), and waiting/ → assigned/W or
//! pending/ (`answer`). A waiting task keeps its holder, so both moves hold the holder's claims
//! lock: the asker's lock covers its claims folder and every task in waiting/ that it asked.

use std::path::{Path, PathBuf};

use super::commit::{self, Committed, Step};
use super::locks::ClaimsLock;
use super::{TaskState, layout};
use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::durable;
use crate::fs::workspace::Workspace;
use crate::model::task::{Answer, HistoryEntry, Outcome, Question, TaskFile};
use crate::state::events::{Event, Kind};

/// Moves a task the lock's worker holds at `held` to waiting/ with its question. No attempt is
/// used and the claim's token stays the same. False if the task is no longer held there.
pub fn ask(lock: &ClaimsLock, ws: &Workspace, held: &Path, text: &str) -> Result<bool> {
    debug_assert!(lock.covers(ws, held));
    let Some(mut task) = super::read_if_there(held)? else {
        return Ok(false);
    };
    task.coord.question = Some(Question {
        worker: lock.worker().to_string(),
        attempt: task.attempt(),
        text: text.to_string(),
        at: host::now(),
    });
    task.coord.answer = None;
    let attempt = task.attempt();
    park(
        lock,
        ws,
        held,
        &task,
        TaskState::Waiting,
        Kind::Asked,
        attempt,
    )
}

/// Moves the held task at `held`, rewritten as `task`, into `state` (waiting/ or review/),
/// recording `kind`. False if it was no longer held there.
pub(super) fn park(
    lock: &ClaimsLock,
    ws: &Workspace,
    held: &Path,
    task: &TaskFile,
    state: TaskState,
    kind: Kind,
    attempt: u32,
) -> Result<bool> {
    let to = layout::settled_path(ws, &state, &task.spec.id);
    durable::create_dir(&layout::folder(ws, &state))?;
    let step = Step {
        from: held,
        to: to.clone(),
        rewrite: Some(task),
        report: None,
        event: Some(Event::now(
            kind,
            &task.spec.id,
            Some(lock.worker()),
            Some(attempt),
        )),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(true),
        Committed::SourceGone => Ok(false),
        Committed::DestinationExists => Err(commit::two_states(&task.spec.id, &to)),
    }
}

/// Where an answered task goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerTo {
    /// Back to the worker that asked, in the same claim.
    Asker,
    /// Back to pending/, for the next worker (the asker is gone); no attempt used.
    Pending,
}

/// Whose question a waiting task is: the asker named in the file at `path`, None if the task is
/// no longer waiting. Read without a lock: [`answer`] checks it again under the asker's lock.
pub fn asker(path: &Path) -> Result<Option<String>> {
    Ok(super::read_if_there(path)?.and_then(|t| t.coord.question.map(|q| q.worker)))
}

/// Answers the waiting task `id`, which the lock's worker asked: writes the answer into the
/// task and moves it to `to`. None if the task is no longer waiting (answered or cancelled
/// meanwhile); the new path otherwise.
pub fn answer(
    lock: &ClaimsLock,
    ws: &Workspace,
    id: &str,
    answer: Answer,
    to: AnswerTo,
) -> Result<Option<PathBuf>> {
    let from = layout::settled_path(ws, &TaskState::Waiting, id);
    let Some(mut task) = super::read_if_there(&from)? else {
        return Ok(None);
    };
    let worker = lock.worker();
    if task.coord.question.as_ref().map(|q| q.worker.as_str()) != Some(worker) {
        return Err(Error::Invalid(format!(
            "{id} is waiting for an answer, but not one {worker} asked"
        )));
    }
    let attempt = task.attempt();
    task.coord.answer = Some(answer);
    let dest = match to {
        AnswerTo::Asker => {
            durable::create_dir(&ws.assigned(worker))?;
            layout::settled_path(ws, &TaskState::Assigned(worker.to_string()), id)
        }
        AnswerTo::Pending => {
            let question = task.coord.question.as_ref().map_or("", |q| &q.text);
            task.coord.history.push(HistoryEntry {
                attempt,
                worker: worker.to_string(),
                outcome: Outcome::Asked,
                reason: format!("asked \"{question}\"; answered once {worker} was gone"),
                at: host::now(),
                counted: false,
            });
            task.coord.claimed_at = None;
            task.coord.progress = None;
            task.ensure_order();
            layout::pending_path(ws, &task)
        }
    };
    let step = Step {
        from: &from,
        to: dest.clone(),
        rewrite: Some(&task),
        report: None,
        event: Some(Event::now(Kind::Answered, id, Some(worker), Some(attempt))),
    };
    match commit::commit(ws, step)? {
        Committed::Moved => Ok(Some(dest)),
        Committed::SourceGone => Ok(None),
        Committed::DestinationExists => Err(commit::two_states(id, &dest)),
    }
}
