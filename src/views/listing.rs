//! The task list (`coord list`): one row per task in every state, read folder by folder, with
//! why a task that looks ready is not claimed.

use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;

use crate::base::error::Result;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::model::task::TaskFile;
use crate::policy::claim;
use crate::policy::depends;
use crate::policy::gate::{self, Held};
use crate::state::TaskState;
use crate::state::layout;
use crate::state::store;

/// One task as the list shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The task.
    pub task_id: String,
    /// What it is.
    pub description: String,
    /// Its state's name.
    pub state: &'static str,
    /// The worker holding it (assigned), or that asked about it (waiting).
    pub worker_id: Option<String>,
    /// The attempt it is on (or would run as next).
    pub attempt: u32,
    /// Its attempts in all.
    pub max_attempts: u32,
    /// Its priority.
    pub priority: i32,
    /// When it was queued (the queuing host's clock).
    #[serde(with = "crate::base::time::ms_opt")]
    pub queued_at: Option<jiff::Timestamp>,
    /// The labels a worker needs to claim it.
    pub requires: Vec<String>,
    /// The last thing that happened to it, in words: the last history entry's reason, or the
    /// open question.
    pub last_reason: Option<String>,
    /// Why it is not claimed now, for a pending or blocked task that waits.
    pub waits_for: Option<String>,
    /// How far it is, as its holder said.
    pub progress: Option<u8>,
}

/// Which rows to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these states (their names); all when empty.
    pub states: Vec<String>,
    /// Only tasks this worker holds or asked about.
    pub worker: Option<String>,
    /// Only tasks requiring this label.
    pub label: Option<String>,
}

impl Filter {
    fn wants_state(&self, state: &TaskState) -> bool {
        self.states.is_empty() || self.states.iter().any(|s| s == state.name())
    }
}

/// Calls `each` with every task the filter admits, state by state in the order of the flow
/// (pending in claim order), reading one file at a time, until `each` says to stop.
pub fn each(
    ws: &Workspace,
    filter: &Filter,
    mut each: impl FnMut(Row) -> ControlFlow<()>,
) -> Result<()> {
    let mut held = None;
    for state in store::states(ws)? {
        let dir = layout::folder(ws, &state);
        if !filter.wants_state(&state) {
            continue;
        }
        let mut visit = |name: &str| -> Result<ControlFlow<()>> {
            if matches!(state, TaskState::Failed) && !name.ends_with(".json") {
                return Ok(ControlFlow::Continue(()));
            }
            let path = dir.join(name);
            let Ok(task) = task::read(&path) else {
                return Ok(ControlFlow::Continue(()));
            };
            Ok(match row(ws, &state, &path, task, filter, &mut held)? {
                Some(row) => each(row),
                None => ControlFlow::Continue(()),
            })
        };
        if state == TaskState::Pending {
            // In claim order, listing a batch folder only when its turn comes.
            let mut index = claim::PendingIndex::new(ws);
            index.refresh()?;
            while let Some(name) = index.pop()? {
                if visit(&name)?.is_break() {
                    return Ok(());
                }
            }
            continue;
        }
        let mut names = store::list_files(&dir)?;
        names.sort_unstable();
        for name in names {
            if visit(&name)?.is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// How many tasks the filter admits, counted from the folders' names without reading a task;
/// None when the filter looks inside tasks (a worker or a label).
pub fn count(ws: &Workspace, filter: &Filter) -> Result<Option<usize>> {
    if filter.worker.is_some() || filter.label.is_some() {
        return Ok(None);
    }
    let mut total = 0;
    for state in store::states(ws)? {
        if filter.wants_state(&state) {
            total += store::count_in(ws, &state)?;
        }
    }
    Ok(Some(total))
}

/// The row of task `id`, found wherever it is; None for an unknown id.
pub fn one(ws: &Workspace, id: &str) -> Result<Option<Row>> {
    let Some((state, path)) = store::locate(ws, id)? else {
        return Ok(None);
    };
    let task = task::read(&path)?;
    row(ws, &state, &path, task, &Filter::default(), &mut None)
}

fn row(
    ws: &Workspace,
    state: &TaskState,
    path: &Path,
    task: TaskFile,
    filter: &Filter,
    held: &mut Option<Held>,
) -> Result<Option<Row>> {
    let worker = match state {
        TaskState::Assigned(w) => Some(w.clone()),
        TaskState::Waiting => task.coord.question.as_ref().map(|q| q.worker.clone()),
        _ => None,
    };
    if filter.worker.is_some() && filter.worker != worker {
        return Ok(None);
    }
    if let Some(label) = &filter.label
        && !task.spec.requires.contains(label)
    {
        return Ok(None);
    }
    let waits_for = match state {
        TaskState::Pending => {
            let arrived = store::arrived(path);
            let held = match held {
                Some(h) => h,
                None => held.insert(Held::read(ws)?),
            };
            gate::explain(ws, held, &task, arrived)
        }
        TaskState::Blocked => {
            let open: Vec<&str> = task
                .spec
                .depends_on
                .iter()
                .filter(|d| depends::dep_state(ws, d) != depends::DepState::Completed)
                .map(String::as_str)
                .collect();
            Some(format!("waits for {}", open.join(", ")))
        }
        _ => None,
    };
    let last_reason = match (&task.coord.question, &task.coord.answer, state) {
        (Some(q), None, TaskState::Waiting) => Some(format!("asked: {}", q.text)),
        _ => task.coord.history.last().map(|h| h.reason.clone()),
    };
    Ok(Some(Row {
        state: state.name(),
        worker_id: worker,
        attempt: task.attempt(),
        max_attempts: task.spec.max_attempts(),
        priority: task.spec.priority.unwrap_or(0),
        queued_at: task.coord.queued_at,
        requires: task.spec.requires.clone(),
        last_reason,
        waits_for,
        progress: task.coord.progress,
        description: task.spec.description,
        task_id: task.spec.id,
    }))
}
