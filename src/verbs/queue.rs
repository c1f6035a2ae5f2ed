//! Queuing tasks: check all, then write each whole under a temp name and publish it without
//! replacing anything.
//!
//! The input is read twice, holding one task in memory at a time: a first pass checks every
//! task (and what the workspace already holds), a second writes and publishes them. So a
//! million tasks queue in flat memory, and a batch with any problem writes nothing. Re-queuing
//! a task whose id exists with the same content does nothing; with other content it is refused.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crate::base::error::{Error, Problem, Result};
use crate::base::host;
use crate::fs::workspace::Workspace;
use crate::model::task::{self, Item, Parsed, State, TaskFile};
use crate::policy::depends;
use crate::state::store;
use crate::state::{self, Published, Publisher, TaskState};

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

/// Hands every task of a batch, in order, to the closure it is given; how many there were, or
/// the problem that stopped the reading (input that is not JSON).
pub type Source<'a> = &'a dyn Fn(&mut dyn FnMut(Item)) -> std::result::Result<usize, Problem>;

/// Queues every task, or none: conflicts are found before anything is written.
pub fn enqueue(ws: &Workspace, tasks: Vec<Parsed>) -> Result<Vec<Queued>> {
    let source = |each: &mut dyn FnMut(Item)| {
        for t in &tasks {
            each(Item {
                position: t.position.clone(),
                id: Some(t.spec.id.clone()).filter(|id| !id.is_empty()),
                spec: Ok(t.spec.clone()),
            });
        }
        Ok(tasks.len())
    };
    let mut results = Vec::with_capacity(tasks.len());
    enqueue_from(ws, &source, &state::Progress::default(), &mut |q| {
        results.push(q)
    })?;
    Ok(results)
}

/// Queues every task of a tasks file (a JSON array, one object or JSON Lines), or none,
/// reading it twice and holding one task at a time. `on_queued` hears of each task once it is
/// published (or found already there); `progress` counts the tasks checked, written and
/// published as it goes.
pub fn enqueue_input(
    ws: &Workspace,
    input: &str,
    progress: &state::Progress,
    on_queued: &mut dyn FnMut(Queued),
) -> Result<()> {
    let source = |each: &mut dyn FnMut(Item)| task::each_task(input, each);
    enqueue_from(ws, &source, progress, on_queued)
}

/// A task of the batch that depends on others, as the first pass saw it.
struct Dependent {
    index: u32,
    position: String,
    id: Box<str>,
    depends_on: Vec<String>,
}

/// What the first pass learnt about a batch.
#[derive(Default)]
struct Checked {
    /// Every id of the batch, with the index of its task.
    ids: HashMap<Box<str>, u32>,
    dependents: Vec<Dependent>,
    /// Tasks whose id is used by an earlier one: (its index, the earlier one's).
    twice: Vec<(u32, u32)>,
    problems: Vec<(u32, Problem)>,
    count: usize,
}

/// Queues the tasks `source` gives, all or none; see [`enqueue_input`]. In steps, under the
/// queue lock: check every task on its own, look up what the workspace holds under the batch's
/// ids, check the dependencies of the tasks that are new, then publish.
pub fn enqueue_from(
    ws: &Workspace,
    source: Source<'_>,
    progress: &state::Progress,
    on_queued: &mut dyn FnMut(Queued),
) -> Result<()> {
    let lock = state::locks::queue(ws)?;
    let now = host::now();
    let micros = now.as_microsecond().max(0) as u64;
    let batch_tag = host::random_u64() as u16;
    let generated = |index: usize| format!("task-{micros:x}-{batch_tag:04x}-{index}");
    let checked = check(source, progress, &generated)?;
    let plan = {
        let found = Found::look_up(ws, &checked)?;
        let existing = found.existing(ws, &checked.ids);
        let unchanged = same_as_before(source, &existing, &generated)?;
        let fresh: Vec<&Dependent> = (checked.dependents.iter())
            .filter(|d| !unchanged.contains(&d.index))
            .collect();
        check_dependencies(&fresh, |id| checked.ids.contains_key(id) || found.knows(id))?;
        check_no_dead_dependency(ws, &fresh)?;
        let waiting: HashSet<u32> = (fresh.iter())
            .filter(|d| !matches!(depends::readiness(ws, &d.depends_on), Ok(true)))
            .map(|d| d.index)
            .collect();
        Plan {
            to_pending: checked.count - waiting.len() - unchanged.len(),
            count: checked.count,
            existing,
            waiting,
            micros,
            now,
        }
    };
    drop(checked);
    publish(&lock, ws, source, progress, &plan, &generated, on_queued)
}

/// What the workspace holds under a batch's ids and the ids its tasks depend on.
struct Found {
    /// Pending task ids, with their names in pending/.
    pending: HashMap<String, String>,
    /// Every other state.
    lookup: store::Lookup,
}

impl Found {
    fn look_up(ws: &Workspace, checked: &Checked) -> Result<Found> {
        let wanted: HashSet<&str> = (checked.ids.keys().map(|id| &**id))
            .chain(
                (checked.dependents.iter()).flat_map(|d| d.depends_on.iter().map(String::as_str)),
            )
            .collect();
        Ok(Found {
            pending: pending_ids(ws, &wanted)?,
            lookup: store::Lookup::open(ws, checked.ids.len())?,
        })
    }

    /// Where each task of the batch already is, by its index.
    fn existing(
        &self,
        ws: &Workspace,
        ids: &HashMap<Box<str>, u32>,
    ) -> HashMap<u32, (TaskState, PathBuf)> {
        (ids.iter())
            .filter_map(|(id, &index)| {
                let found = match self.pending.get(&**id) {
                    Some(name) => Some((TaskState::Pending, ws.pending().join(name))),
                    None => self.lookup.find(id),
                };
                Some((index, found?))
            })
            .collect()
    }

    fn knows(&self, id: &str) -> bool {
        self.pending.contains_key(id) || self.lookup.find(id).is_some()
    }
}

/// Refuses dependencies on tasks `known` does not know, and cycles (only tasks that depend on
/// something can be on one), each problem with its task's position.
fn check_dependencies(fresh: &[&Dependent], known: impl Fn(&str) -> bool) -> Result<()> {
    let mut problems = Vec::new();
    for d in fresh {
        for dep in d.depends_on.iter().filter(|dep| !known(dep)) {
            problems.push((
                d.index,
                Problem {
                    position: d.position.clone(),
                    id: Some(d.id.to_string()),
                    message: format!(
                        "`dependsOn`: no task {dep} in this file or in the workspace; queue it first or in the same file"
                    ),
                },
            ));
        }
    }
    let graph: HashMap<&str, &[String]> = (fresh.iter())
        .map(|d| (&*d.id, d.depends_on.as_slice()))
        .collect();
    for (id, message) in depends::cycles(&graph) {
        let found = fresh.iter().find(|d| *d.id == *id);
        problems.push((
            found.map_or(u32::MAX, |d| d.index),
            Problem {
                position: found.map(|d| d.position.clone()).unwrap_or_default(),
                id: Some(id),
                message,
            },
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by_key(|(index, _)| *index);
    Err(Error::InvalidTasks {
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    })
}

/// Refuses a task that depends on one in failed/: it could never run.
fn check_no_dead_dependency(ws: &Workspace, fresh: &[&Dependent]) -> Result<()> {
    let mut conflicts = Vec::new();
    for d in fresh {
        for dep in &d.depends_on {
            if depends::dep_state(ws, dep) == depends::DepState::Dead {
                conflicts.push(format!(
                    "{} ({}): it depends on {dep}, which is in failed/; send {dep} back with `coord retry {dep}` first",
                    d.position, d.id
                ));
            }
        }
    }
    match conflicts.is_empty() {
        true => Ok(()),
        false => Err(Error::Conflict { conflicts }),
    }
}

/// What the second pass publishes.
struct Plan {
    /// How many tasks go to pending/.
    to_pending: usize,
    /// How many tasks the batch has.
    count: usize,
    /// Tasks already in the workspace, unchanged: left where they are.
    existing: HashMap<u32, (TaskState, PathBuf)>,
    /// Tasks that go to blocked/.
    waiting: HashSet<u32>,
    /// The queue time, in microseconds, part of each task's order.
    micros: u64,
    /// The queue time.
    now: jiff::Timestamp,
}

/// The second pass: every new task of `source` written to pending/ or blocked/, then what was
/// blocked looked at again, since a dependency may have finished while the batch was written
/// (see the module comment of `depends`).
fn publish(
    lock: &state::locks::Held,
    ws: &Workspace,
    source: Source<'_>,
    progress: &state::Progress,
    plan: &Plan,
    generated: &dyn Fn(usize) -> String,
    on_queued: &mut dyn FnMut(Queued),
) -> Result<()> {
    let mut blocked_files: Vec<(PathBuf, TaskFile)> = Vec::new();
    let mut kept = Vec::new();
    {
        let mut report = |p: Published<(String, bool)>| {
            let (id, blocked) = p.tag;
            on_queued(Queued {
                id,
                outcome: if blocked {
                    Outcome::Blocked
                } else {
                    Outcome::Queued
                },
                path: p.path,
            });
        };
        let mut publisher =
            Publisher::new(lock, ws, plan.to_pending, plan.count, progress, &mut report)?;
        let mut index = 0usize;
        let mut failed = None;
        source(&mut |item| {
            let i = index;
            index += 1;
            if failed.is_some() {
                return;
            }
            let Ok(mut spec) = item.spec else { return };
            if spec.id.is_empty() {
                spec.id = generated(i);
            }
            if let Some((state, path)) = plan.existing.get(&(i as u32)) {
                kept.push(Queued {
                    id: spec.id,
                    outcome: Outcome::Unchanged(state.clone()),
                    path: path.clone(),
                });
                return;
            }
            let blocked = plan.waiting.contains(&(i as u32));
            let file = TaskFile {
                coord: State {
                    order: task::order_key(spec.priority.unwrap_or(0), plan.micros, i as u32),
                    queued_at: Some(plan.now),
                    ..State::default()
                },
                spec,
            };
            match publisher.add(&file, blocked, (file.spec.id.clone(), blocked)) {
                Ok(path) if blocked => blocked_files.push((path, file)),
                Ok(_) => {}
                Err(e) => failed = Some(e),
            }
        })
        .map_err(|p| Error::InvalidTasks { problems: vec![p] })?;
        if let Some(e) = failed {
            return Err(e);
        }
        publisher.finish()?;
    }
    for q in kept {
        on_queued(q);
    }
    let mut moved = depends::Moved::default();
    for (path, file) in &blocked_files {
        depends::settle(ws, path, file, "coord queue", &mut moved)?;
    }
    Ok(())
}

/// The first pass: every task read and checked on its own, ids used twice found.
fn check(
    source: Source<'_>,
    progress: &state::Progress,
    generated: &dyn Fn(usize) -> String,
) -> Result<Checked> {
    let mut checked = Checked::default();
    let read = source(&mut |Item { position, id, spec }| {
        let index = checked.count as u32;
        checked.count += 1;
        progress.checked.fetch_add(1, Ordering::Relaxed);
        let spec = match spec {
            Ok(spec) => spec,
            Err(messages) => {
                checked.problems.extend(messages.into_iter().map(|message| {
                    (
                        index,
                        Problem {
                            position: position.clone(),
                            id: id.clone(),
                            message,
                        },
                    )
                }));
                if let Some(id) = id
                    && let Some(first) = checked.ids.insert(id.into(), index)
                {
                    checked.twice.push((index, first));
                }
                return;
            }
        };
        let id = match spec.id.is_empty() {
            true => generated(index as usize),
            false => spec.id,
        };
        if !spec.depends_on.is_empty() {
            checked.dependents.push(Dependent {
                index,
                position,
                id: id.as_str().into(),
                depends_on: spec.depends_on,
            });
        }
        if let Some(first) = checked.ids.insert(id.into(), index) {
            checked.twice.push((index, first));
        }
    });
    match read {
        Err(problem) => checked.problems.push((u32::MAX, problem)),
        Ok(0) if checked.problems.is_empty() => checked.problems.push((0, task::no_tasks())),
        Ok(_) => {}
    }
    if !checked.twice.is_empty() {
        used_twice(source, &mut checked);
    }
    if checked.problems.is_empty() {
        return Ok(checked);
    }
    let mut problems = std::mem::take(&mut checked.problems);
    problems.sort_by_key(|(index, _)| *index);
    Err(Error::InvalidTasks {
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    })
}

/// Names each task whose id an earlier one uses, and where that one stands (one more pass).
fn used_twice(source: Source<'_>, checked: &mut Checked) {
    let wanted: HashMap<u32, Vec<u32>> =
        checked
            .twice
            .iter()
            .fold(HashMap::new(), |mut m, &(again, first)| {
                m.entry(again).or_default();
                m.entry(first).or_default().push(again);
                m
            });
    let mut positions: HashMap<u32, (String, Option<String>)> = HashMap::new();
    let mut index = 0u32;
    let _ = source(&mut |item| {
        if wanted.contains_key(&index) {
            positions.insert(index, (item.position, item.id));
        }
        index += 1;
    });
    for &(again, first) in &checked.twice {
        let (Some((position, id)), Some((first_at, _))) =
            (positions.get(&again), positions.get(&first))
        else {
            continue;
        };
        let id = id.clone().unwrap_or_default();
        checked.problems.push((
            again,
            Problem {
                position: position.clone(),
                id: Some(id.clone()),
                message: format!("id {id:?} is used twice (first at {first_at})"),
            },
        ));
    }
}

/// The tasks of the batch already in the workspace with the same content (by index); any with
/// other content is a conflict. One more pass, only when some id is already used.
fn same_as_before(
    source: Source<'_>,
    existing: &HashMap<u32, (TaskState, PathBuf)>,
    generated: &dyn Fn(usize) -> String,
) -> Result<HashSet<u32>> {
    let mut same = HashSet::new();
    if existing.is_empty() {
        return Ok(same);
    }
    let mut conflicts = Vec::new();
    let mut index = 0u32;
    source(&mut |item| {
        let i = index;
        index += 1;
        let (Some((state, path)), Ok(mut spec)) = (existing.get(&i), item.spec) else {
            return;
        };
        if spec.id.is_empty() {
            spec.id = generated(i as usize);
        }
        match task::read(path) {
            Ok(old) if old.spec == spec => {
                same.insert(i);
            }
            _ => conflicts.push(format!(
                "{} ({}): already {state}, in {}",
                item.position,
                spec.id,
                path.display()
            )),
        }
    })
    .map_err(|p| Error::InvalidTasks { problems: vec![p] })?;
    match conflicts.is_empty() {
        true => Ok(same),
        false => Err(Error::Conflict { conflicts }),
    }
}

/// The pending/ files of the ids in `wanted`, as a map from task id to name (relative to
/// pending/). One listing; names of other tasks are dropped as they are read.
fn pending_ids(ws: &Workspace, wanted: &HashSet<&str>) -> Result<HashMap<String, String>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    store::each_pending(ws, |batch, file| {
        if let Some(id) = task::id_from_pending_name(file).filter(|id| wanted.contains(id)) {
            found.insert(id.to_string(), store::pending_name_in(batch, file));
        }
    })?;
    Ok(found)
}
