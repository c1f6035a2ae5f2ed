//! Dependencies between tasks: a task with `dependsOn` waits in blocked/ until every task it
//! names has completed, and fails when one of them is dead-lettered or cancelled.
//!
//! There is no coordinator: the process that completes (or dead-letters) a task moves its
//! dependents on, right after its own commit. `coord queue` re-checks a task it put in blocked/
//! after publishing it, so a dependency finished meanwhile is never missed: either the finisher's
//! scan of blocked/ sees the new file, or the queue's re-check sees the finished dependency.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::base::error::Result;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::model::task::TaskFile;
use crate::state::store;
use crate::state::{self, TaskState, layout};

/// Where a dependency stands, as far as its dependents care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepState {
    /// Completed: its dependents may go on.
    Completed,
    /// Dead-lettered or cancelled: its dependents can never run.
    Dead,
    /// Anything else: still to finish.
    Waiting,
}

/// Where a dependency stands now, judged by the folder that holds it.
pub fn dep_state(ws: &Workspace, id: &str) -> DepState {
    if layout::settled_path(ws, &TaskState::Completed, id).is_file() {
        DepState::Completed
    } else if layout::settled_path(ws, &TaskState::Failed, id).is_file() {
        DepState::Dead
    } else {
        DepState::Waiting
    }
}

/// The first of `deps` that is in no state at all (never queued, or purged): a task waiting
/// for it can never run.
pub fn missing_dependency(ws: &Workspace, deps: &[String]) -> Result<Option<String>> {
    for dep in deps {
        if dep_state(ws, dep) == DepState::Waiting && store::locate(ws, dep)?.is_none() {
            return Ok(Some(dep.clone()));
        }
    }
    Ok(None)
}

/// Whether task `id` waits in blocked/ for a dependency that is in no state, so it can never
/// run.
pub fn never_runs(ws: &Workspace, id: &str) -> bool {
    let path = layout::settled_path(ws, &TaskState::Blocked, id);
    task::read(&path)
        .ok()
        .and_then(|t| missing_dependency(ws, &t.spec.depends_on).ok().flatten())
        .is_some()
}

/// Fails a blocked task whose dependency `missing` is in no state, with its own dependents.
pub fn fail_never_runs(
    ws: &Workspace,
    path: &Path,
    task: &TaskFile,
    missing: &str,
    by: &str,
) -> Result<Moved> {
    let mut moved = Moved::default();
    let reason = format!(
        "dependency {missing} is in no state (never queued, or purged): the task could never run"
    );
    if state::fail_dependent(ws, path, task, by, reason)? {
        moved.failed.push(task.spec.id.clone());
        let more = after_finished(ws, &task.spec.id, by)?;
        moved.unblocked.extend(more.unblocked);
        moved.failed.extend(more.failed);
    }
    Ok(moved)
}

/// Whether a task with these dependencies can be claimed now, must wait, or can never run
/// (the first dead dependency named).
pub fn readiness(ws: &Workspace, deps: &[String]) -> std::result::Result<bool, String> {
    let mut ready = true;
    for dep in deps {
        match dep_state(ws, dep) {
            DepState::Completed => {}
            DepState::Dead => return Err(dep.clone()),
            DepState::Waiting => ready = false,
        }
    }
    Ok(ready)
}

/// Finds dependency cycles among a batch of new tasks (each id mapped to its `dependsOn`);
/// returns one problem per task on a cycle, naming the cycle. Iterative, so a chain of any
/// length costs time in proportion to its size and no stack.
pub fn cycles(batch: &HashMap<&str, &[String]>) -> Vec<(String, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut found: Vec<Vec<&str>> = Vec::new();
    let mut ids: Vec<&str> = batch.keys().copied().collect();
    ids.sort_unstable();
    for root in ids {
        if marks.contains_key(root) {
            continue;
        }
        // The path from the root, each with the index of its next dependency to look at.
        let mut path: Vec<(&str, usize)> = vec![(root, 0)];
        marks.insert(root, Mark::Active);
        while let Some(&(id, next)) = path.last() {
            let deps = batch.get(id).copied().unwrap_or_default();
            let Some(dep) = deps.get(next) else {
                marks.insert(id, Mark::Done);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            let Some((&dep, _)) = batch.get_key_value(dep.as_str()) else {
                continue;
            };
            match marks.get(dep) {
                Some(Mark::Done) => {}
                Some(Mark::Active) => {
                    let start = path.iter().position(|(p, _)| *p == dep).unwrap_or(0);
                    found.push(path[start..].iter().map(|(p, _)| *p).collect());
                }
                None => {
                    marks.insert(dep, Mark::Active);
                    path.push((dep, 0));
                }
            }
        }
    }
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for cycle in found {
        let text = cycle
            .iter()
            .chain(cycle.first())
            .copied()
            .collect::<Vec<_>>()
            .join(" -> ");
        for id in cycle {
            if seen.insert(id) {
                problems.push((id.to_string(), format!("`dependsOn` makes a cycle: {text}")));
            }
        }
    }
    problems
}

/// What became of the blocked tasks one call looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Ids moved from blocked/ to pending/.
    pub unblocked: Vec<String>,
    /// Ids dead-lettered because a dependency can never complete.
    pub failed: Vec<String>,
}

/// After `id` completed or died: moves each blocked task that depends on it (found through its
/// markers, so the cost does not grow with blocked/) to pending/ (all its dependencies
/// completed) or to failed/ (one of them died), and so on down the graph.
/// `by` names who did it, for the reports of tasks that fail this way.
pub fn after_finished(ws: &Workspace, id: &str, by: &str) -> Result<Moved> {
    let mut moved = Moved::default();
    let mut finished = vec![id.to_string()];
    while let Some(done) = finished.pop() {
        let dependents = state::waiting_on(ws, &done)?;
        if dependents.is_empty() {
            // Nothing waits for it (the common case): no markers to clear either.
            continue;
        }
        for dependent in dependents {
            let path = layout::settled_path(ws, &TaskState::Blocked, &dependent);
            let Ok(task) = task::read(&path) else {
                continue;
            };
            if !task.spec.depends_on.contains(&done) {
                continue;
            }
            if let Some(dead) = settle(ws, &path, &task, by, &mut moved)? {
                finished.push(dead);
            }
        }
        state::clear_waiting(ws, &done)?;
    }
    Ok(moved)
}

/// After a claim ended as `disposition`: if the task finished for good (completed or
/// dead-lettered), moves its dependents on. The task's own outcome stands whatever happens here;
/// a dependent left behind by an error is moved on by the next worker's rescan, `coord recover`
/// or `coord doctor --fix`.
pub fn after(ws: &Workspace, id: &str, by: &str, disposition: &state::Disposition) {
    if !matches!(
        disposition,
        state::Disposition::Completed | state::Disposition::DeadLettered
    ) {
        return;
    }
    match after_finished(ws, id, by) {
        Ok(moved) => {
            for d in &moved.unblocked {
                tracing::info!("unblocked {d}: every task it depends on has completed");
            }
            for d in &moved.failed {
                tracing::warn!("failed {d}: a task it depends on did not complete");
            }
        }
        Err(e) => tracing::warn!("cannot move on the tasks that depend on {id}: {e}"),
    }
}

/// Every task in blocked/ whose dependencies have all finished, which a process that finished
/// the last of them should have moved on (it stopped first): its path, task and readiness.
pub fn stuck(ws: &Workspace) -> Result<Vec<(std::path::PathBuf, TaskFile)>> {
    let mut found = Vec::new();
    for name in store::list_files(&ws.blocked())? {
        let path = ws.blocked().join(&name);
        let Ok(task) = task::read(&path) else {
            continue;
        };
        if readiness(ws, &task.spec.depends_on) != Ok(false) {
            found.push((path, task));
        }
    }
    Ok(found)
}

/// Moves on every task [`stuck`] finds, and their dependents.
pub fn settle_stuck(ws: &Workspace, by: &str) -> Result<Moved> {
    let mut moved = Moved::default();
    for (path, _) in stuck(ws)? {
        let more = settle_blocked(ws, &path, by)?;
        moved.unblocked.extend(more.unblocked);
        moved.failed.extend(more.failed);
    }
    Ok(moved)
}

/// Re-checks the task at `path` in blocked/ and moves it on if it can, with its own
/// dependents; what moved is returned.
pub fn settle_blocked(ws: &Workspace, path: &Path, by: &str) -> Result<Moved> {
    let mut moved = Moved::default();
    let Ok(task) = task::read(path) else {
        return Ok(moved);
    };
    if let Some(dead) = settle(ws, path, &task, by, &mut moved)? {
        let more = after_finished(ws, &dead, by)?;
        moved.unblocked.extend(more.unblocked);
        moved.failed.extend(more.failed);
    }
    Ok(moved)
}

/// Re-checks one task in blocked/ and moves it on if it can; returns its id if it failed (its
/// own dependents must then be settled too).
pub fn settle(
    ws: &Workspace,
    path: &Path,
    task: &TaskFile,
    by: &str,
    moved: &mut Moved,
) -> Result<Option<String>> {
    let id = &task.spec.id;
    match readiness(ws, &task.spec.depends_on) {
        Ok(false) => Ok(None),
        Ok(true) => {
            if state::unblock(ws, path, task)? {
                moved.unblocked.push(id.clone());
            }
            Ok(None)
        }
        Err(dead) => {
            let reason = format!(
                "dependency {dead} did not complete (it is in failed/: dead-lettered or cancelled)"
            );
            if !state::fail_dependent(ws, path, task, by, reason)? {
                return Ok(None);
            }
            moved.failed.push(id.clone());
            Ok(Some(id.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_named_and_chains_are_not() {
        let deps: Vec<(&str, Vec<String>)> = vec![
            ("a", vec!["b".into()]),
            ("b", vec!["c".into()]),
            ("c", vec!["a".into()]),
            ("d", vec!["a".into(), "x".into()]),
            ("e", vec![]),
        ];
        let batch: HashMap<&str, &[String]> =
            deps.iter().map(|(id, d)| (*id, d.as_slice())).collect();
        let mut problems = cycles(&batch);
        problems.sort();
        let ids: Vec<&str> = problems.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(problems[0].1.contains("a -> b -> c -> a"), "{problems:?}");
    }

    #[test]
    fn a_long_chain_needs_no_stack() {
        let deps: Vec<(String, Vec<String>)> = (0..200_000)
            .map(|i| (format!("t{i}"), vec![format!("t{}", i + 1)]))
            .collect();
        let batch: HashMap<&str, &[String]> = deps
            .iter()
            .map(|(id, d)| (id.as_str(), d.as_slice()))
            .collect();
        assert!(cycles(&batch).is_empty());
    }
}
