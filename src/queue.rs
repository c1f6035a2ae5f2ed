//! Queuing tasks: validate all, write each whole under a temp name, publish with `link(2)`.
//!
//! A task reaches pending/ only complete, and never replaces another file. Re-queuing a task
//! whose id exists with the same content does nothing; with other content it is refused.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use crate::depends;
use crate::durable;
use crate::error::{Error, Problem, Result};
use crate::events;
use crate::host;
use crate::store::{self, TaskState};
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

/// Holds `.coord/queue.lock` so that queue calls do not race each other on the same ids.
fn lock_queue(ws: &Workspace) -> Result<File> {
    let path = ws.queue_lock();
    let file = durable::open_lock_file(&path)?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
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

/// Above this many tasks, one `syncfs` replaces an fsync per file.
const SYNCFS_THRESHOLD: usize = 8;

/// Queues every task, or none: conflicts are found before anything is written.
pub fn enqueue(ws: &Workspace, tasks: Vec<Parsed>) -> Result<Vec<Queued>> {
    let _lock = lock_queue(ws)?;
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
    let queued_at = host::rfc3339(now);
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
            match store::read_task(&path) {
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
                queued_at: queued_at.clone(),
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
    let known = |id: &str| {
        results.iter().any(|r| r.id == id) || pending.contains_key(id) || lookup.find(id).is_some()
    };
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
    for (id, message) in depends::cycles(&graph) {
        let slot = fresh.iter().find(|(_, f)| f.spec.id == id).map(|(s, _)| *s);
        problems.push(Problem {
            position: slot.map(|s| positions[s].clone()).unwrap_or_default(),
            id: Some(id),
            message,
        });
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| positions.iter().position(|q| *q == p.position));
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
    publish(ws, &mut results, &fresh)?;
    let stamp = events::Event::now("queued", "", None, None);
    let journal: Vec<events::Event> = results
        .iter()
        .filter_map(|r| {
            let event = match r.outcome {
                Outcome::Queued => "queued",
                Outcome::Blocked => "blocked",
                Outcome::Unchanged(_) => return None,
            };
            Some(events::Event {
                event: event.into(),
                task: r.id.clone(),
                ..stamp.clone()
            })
        })
        .collect();
    events::record(ws, &journal);
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

/// Writes every new task to a temp file, makes them durable, then moves each into pending/ (or
/// blocked/, as its outcome says).
fn publish(ws: &Workspace, results: &mut [Queued], fresh: &[(usize, TaskFile)]) -> Result<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let durability = ws.durability();
    let one_sync = durability.fsync && fresh.len() > SYNCFS_THRESHOLD;
    let tmp = durable::Dir::open(&ws.tmp())?;
    let pending = durable::Dir::open(&ws.pending())?;
    let blocked = match results.iter().any(|r| r.outcome == Outcome::Blocked) {
        true => Some(durable::Dir::open(&ws.blocked())?),
        false => None,
    };
    let mut staged: Vec<(usize, String, String)> = Vec::with_capacity(fresh.len());
    let cleanup = |staged: &[(usize, String, String)]| -> Result<()> {
        staged.iter().try_for_each(|(_, name, _)| tmp.remove(name))
    };
    for (slot, file) in fresh {
        let slot = *slot;
        let bytes = file.to_bytes();
        if bytes.len() as u64 > task::MAX_TASK_BYTES {
            cleanup(&staged)?;
            return Err(Error::InvalidTasks {
                problems: vec![crate::error::Problem {
                    position: "task".into(),
                    id: Some(file.spec.id.clone()),
                    message: format!("larger than the {}-byte task limit", task::MAX_TASK_BYTES),
                }],
            });
        }
        let name = durable::unique_tmp_name("task");
        if let Err(e) = tmp.create_new(&name, &bytes, durability.fsync && !one_sync) {
            cleanup(&staged)?;
            return Err(e);
        }
        let dst = match results[slot].outcome {
            Outcome::Blocked => format!("{}.json", file.spec.id),
            _ => task::pending_name(&file.coord.order, &file.spec.id),
        };
        staged.push((slot, name, dst));
    }
    if one_sync && !durable::sync_filesystem(tmp.path())? {
        for (_, name, _) in &staged {
            durable::sync_file(&tmp.path().join(name))?;
        }
    }
    for (i, (slot, name, dst)) in staged.iter().enumerate() {
        let folder = match (&blocked, &results[*slot].outcome) {
            (Some(b), Outcome::Blocked) => b,
            _ => &pending,
        };
        let moved = tmp.move_new(name, folder, dst);
        if !matches!(moved, Ok(true)) {
            // Tasks already published stay queued, whole; the rest are not queued at all, and
            // queuing the same file again adds exactly them.
            cleanup(&staged[i..])?;
            return Err(match moved {
                Err(e) => e,
                _ => Error::Conflict {
                    conflicts: vec![format!(
                        "{}: a file named {dst} is already in {}",
                        results[*slot].id,
                        folder.path().display()
                    )],
                },
            });
        }
        results[*slot].path = folder.path().join(dst);
    }
    if let Some(b) = &blocked {
        b.sync(durability.fsync)?;
    }
    pending.sync(durability.fsync)
}
