//! Questions: a holder asks (`coord ask`, in [`crate::verbs::handoff`]), a person or a coordinator
//! answers (`coord answer`), and the task goes back to its asker, or to the next worker if the
//! asker is gone. While it waits the task is in waiting/: no lease runs on it and no attempt is
//! used.

use std::path::PathBuf;

use serde::Serialize;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::model::task::Answer;
use crate::policy::lease::{self, Mode};
use crate::state::store;
use crate::state::{self, AnswerTo, TaskState, locks};

/// Where an answer sent a task.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The worker that asked.
    pub asker: String,
    /// Back to the asker, or to pending/ for the next worker.
    pub to: AnswerTo,
    /// The task's new path.
    pub path: PathBuf,
}

/// Where the answer to `asker`'s question goes: back to it if it is a hand-off worker (an agent)
/// whose lease still runs; to pending/ otherwise (a `coord worker` process, whose asking command
/// was stopped, runs the task again from the start with the answer; a stopped or gone worker
/// leaves it to the next one).
fn route(ws: &Workspace, asker: &str) -> AnswerTo {
    let Some(record) = lease::read_record(ws, asker) else {
        return AnswerTo::Pending;
    };
    if record.stopped || record.mode != Mode::Handoff {
        return AnswerTo::Pending;
    }
    match lease::is_alive(ws, &record, None) {
        Ok(Some(true)) => AnswerTo::Asker,
        _ => AnswerTo::Pending,
    }
}

/// Answers the question of waiting task `id`. The answer goes with the task whatever happens
/// next: it is written into the task file by the same move that takes it out of waiting/.
pub fn answer(ws: &Workspace, id: &str, by: &str, text: &str) -> Result<Answered> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    if text.trim().is_empty() {
        return Err(Error::Invalid("the answer is empty".to_string()));
    }
    task::check_text("answer", text).map_err(Error::Invalid)?;
    let path = state::layout::settled_path(ws, &TaskState::Waiting, id);
    // The asker cannot change while the task waits; a miss means it moved on: look again.
    for _ in 0..3 {
        let Some(asker) = state::asker(&path)? else {
            return Err(not_waiting(ws, id));
        };
        let to = route(ws, &asker);
        let lock = locks::claims(ws, &asker)?;
        let answer = Answer {
            by: by.to_string(),
            text: text.to_string(),
            at: host::now(),
        };
        if let Some(path) = state::answer(&lock, ws, id, answer, to)? {
            return Ok(Answered { asker, to, path });
        }
    }
    Err(not_waiting(ws, id))
}

fn not_waiting(ws: &Workspace, id: &str) -> Error {
    match store::locate(ws, id).ok().flatten() {
        None => Error::UnknownTask { id: id.to_string() },
        Some((state, _)) => Error::StateConflict {
            message: format!("{id} is {state}, not waiting for an answer"),
            hint: "list the open questions with `coord questions`".to_string(),
        },
    }
}

/// An open question: a task in waiting/.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Open {
    /// The task.
    pub task_id: String,
    /// The worker that asked, which holds the task while it waits.
    pub worker_id: String,
    /// The attempt it was asked in.
    pub attempt: u32,
    /// The question.
    pub question: String,
    /// When it was asked (the asker's clock).
    #[serde(with = "crate::base::time::ms")]
    pub asked_at: jiff::Timestamp,
}

/// Every open question, oldest first.
pub fn open(ws: &Workspace) -> Result<Vec<Open>> {
    let mut found = Vec::new();
    for name in store::list_files(&ws.waiting())? {
        let Ok(task) = task::read(&ws.waiting().join(&name)) else {
            continue;
        };
        if let Some(q) = task.coord.question {
            found.push(Open {
                task_id: task.spec.id,
                worker_id: q.worker,
                attempt: q.attempt,
                question: q.text,
                asked_at: q.at,
            });
        }
    }
    found.sort_by(|a, b| a.asked_at.cmp(&b.asked_at).then(a.task_id.cmp(&b.task_id)));
    Ok(found)
}
