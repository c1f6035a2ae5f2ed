//! Queuing tasks: validate all, write each whole under a temp name, publish with `link(2)`.
//!
//! A task reaches pending/ only complete, and never replaces another file. Re-queuing a task
//! whose id exists with the same content does nothing; with other content it is refused.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::depends;
use crate::error::{Error, Problem, Result};
use crate::host;
use crate::state::{self, TaskState};
use crate::store;
use crate::task::{self, Parsed, State, TaskFile};
use crate::workspace::Workspace;

/// What `enqueue` did with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Newly published into pending/.
    Queued,
    /// Newly published into blocked/: it waits for the tasks it depends on.
    Blocked,
    /// Already in the workspace with identical content; left as it was, in this state.
    Unchanged(TaskState),
}

/// One task's result of an `enqueue` call.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The task id (generated when the input gave none).
    pub id: String,
    /// What happened.
    pub outcome: Outcome,
    /// Where the task file is now.
    pub path: PathBuf,
}

/// The pending/ files of the ids in `wanted`, as a map from task id to file name. One listing;
/// names of other tasks are dropped as they are read, so a long queue costs little.
fn pending_ids(ws: &Workspace, wanted: &HashSet<&str>) -> Result<HashMap<String, String>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(store::list_files(&ws.pending())?
        .into_iter()
        .filter_map(|name| {
            let id = task::id_from_pending_name(&name).filter(|id| wanted.contains(id))?;
            Some((id.to_string(), name))
        })
        .collect())
}

/// Queues every task, or none: conflicts are found before anything is written.
pub fn enqueue(ws: &Workspace, tasks: Vec<Parsed>) -> Result<Vec<Queued>> {
    enqueue_counted(ws, tasks, &state::Progress::default())
}

/// As [`enqueue`], counting in `progress` the tasks written and published as it goes, for a
/// view that shows a big batch moving.
pub fn enqueue_counted(
    ws: &Workspace,
    tasks: Vec<Parsed>,
    progress: &state::Progress,
) -> Result<Vec<Queued>> {
    let lock = state::locks::queue(ws)?;
    // Ids looked for in pending/: the batch's own (to find re-queues) and those it depends on.
    let wanted: HashSet<&str> = tasks
        .iter()
        .flat_map(|t| std::iter::once(&t.spec.id).chain(&t.spec.depends_on))
        .filter(|id| !id.is_empty())
        .map(String::as_str)
        .collect();
    let pending = pending_ids(ws, &wanted)?;
    drop(wanted);
    let lookup = store::Lookup::open(ws, tasks.len())?;
    let now = host::now();
    let micros = now.as_microsecond().max(0) as u64;

    let batch_tag = host::random_u64() as u16;

    let mut results = Vec::with_capacity(tasks.len());
    let mut fresh: Vec<(usize, TaskFile)> = Vec::new();
    let mut conflicts = Vec::new();
    let mut positions = Vec::with_capacity(tasks.len());
    for (index, Parsed { position, mut spec }) in tasks.into_iter().enumerate() {
        positions.push(position.clone());
        if spec.id.is_empty() {
            spec.id = format!("task-{micros:x}-{batch_tag:04x}-{index}");
        }
        let existing = match pending.get(&spec.id) {
            Some(name) => Some((TaskState::Pending, ws.pending().join(name))),
            None => lookup.find(&spec.id),
        };
        if let Some((state, path)) = existing {
            match crate::task::read(&path) {
                Ok(old) if old.spec == spec => results.push(Queued {
                    id: spec.id,
                    outcome: Outcome::Unchanged(state),
                    path,
                }),
                _ => conflicts.push(format!(
                    "{position} ({}): already {state}, in {}",
                    spec.id,
                    path.display()
                )),
            }
            continue;
        }
        let order = task::order_key(spec.priority.unwrap_or(0), micros, index as u32);
        let file = TaskFile {
            spec,
            coord: State {
                order,
                queued_at: Some(now),
                ..State::default()
            },
        };
        results.push(Queued {
            id: file.spec.id.clone(),
            outcome: Outcome::Queued,
            path: PathBuf::new(),
        });
        fresh.push((results.len() - 1, file));
    }
    if !conflicts.is_empty() {
        return Err(Error::Conflict { conflicts });
    }
    let in_batch: HashSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
    let known =
        |id: &str| in_batch.contains(id) || pending.contains_key(id) || lookup.find(id).is_some();
    let mut problems = Vec::new();
    for (slot, file) in &fresh {
        for dep in &file.spec.depends_on {
            if !known(dep) {
                problems.push(Problem {
                    position: positions[*slot].clone(),
                    id: Some(file.spec.id.clone()),
                    message: format!(
                        "`dependsOn`: no task {dep} in this file or in the workspace; queue it first or in the same file"
                    ),
                });
            }
        }
    }
    // Only tasks that depend on something can be on a cycle.
    let graph: HashMap<&str, &[String]> = fresh
        .iter()
        .filter(|(_, f)| !f.spec.depends_on.is_empty())
        .map(|(_, f)| (f.spec.id.as_str(), f.spec.depends_on.as_slice()))
        .collect();
    let slot_of: HashMap<&str, usize> = fresh
        .iter()
        .map(|(slot, f)| (f.spec.id.as_str(), *slot))
        .collect();
    for (id, message) in depends::cycles(&graph) {
        let slot = slot_of.get(id.as_str()).copied();
        problems.push(Problem {
            position: slot.map(|s| positions[s].clone()).unwrap_or_default(),
            id: Some(id),
            message,
        });
    }
    if !problems.is_empty() {
        let order: HashMap<&str, usize> = positions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        problems.sort_by_key(|p| order.get(p.position.as_str()).copied());
        return Err(Error::InvalidTasks { problems });
    }
    for (slot, file) in &fresh {
        for dep in &file.spec.depends_on {
            if depends::dep_state(ws, dep) == depends::DepState::Dead {
                conflicts.push(format!(
                    "{} ({}): it depends on {dep}, which is in failed/; send {dep} back with `coord retry {dep}` first",
                    positions[*slot], file.spec.id
                ));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::Conflict { conflicts });
    }
    for (slot, file) in &fresh {
        if !matches!(depends::readiness(ws, &file.spec.depends_on), Ok(true)) {
            results[*slot].outcome = Outcome::Blocked;
        }
    }
    let batch: Vec<state::Staged<'_>> = fresh
        .iter()
        .map(|(slot, task)| state::Staged {
            task,
            blocked: results[*slot].outcome == Outcome::Blocked,
        })
        .collect();
    let paths = state::publish_batch(&lock, ws, &batch, progress)?;
    drop(batch);
    for ((slot, _), path) in fresh.iter().zip(paths) {
        results[*slot].path = path;
    }
    // A dependency may have finished while the batch was written: look again at what was
    // blocked (see the module comment of `depends`).
    let mut moved = depends::Moved::default();
    for (slot, file) in &fresh {
        if results[*slot].outcome == Outcome::Blocked {
            depends::settle(ws, &results[*slot].path, file, "coord queue", &mut moved)?;
        }
    }
    Ok(results)
}
