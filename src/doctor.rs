//! Checking a whole workspace against the protocol's invariant, and repairing what a crash or a
//! hand edit left behind.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::depends;
use crate::error::Result;
use crate::lease;
use crate::state::{self, TaskState, locks};
use crate::store;
use crate::task;
use crate::trust;
use crate::workspace::Workspace;

/// One thing found wrong.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What kind of problem: "duplicate", "missing-report", "leftover", "orphan-claims", "unsafe".
    pub kind: String,
    /// The file or folder concerned.
    pub path: PathBuf,
    /// What is wrong, and what the fix does or would do.
    pub message: String,
    /// Whether `--fix` repaired it in this run.
    pub fixed: bool,
}

/// The rank of a state in the flow: a copy in a later state wins over one in an earlier state.
fn rank(state: &TaskState) -> u8 {
    match state {
        TaskState::Pending | TaskState::Blocked => 0,
        TaskState::Assigned(_) => 1,
        TaskState::Failed => 2,
        TaskState::Completed => 3,
    }
}

/// Checks every task and temp file of the workspace; with `fix`, repairs what it can.
pub fn check(ws: &Workspace, fix: bool) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for path in [ws.root().to_path_buf(), ws.pending(), ws.assigned_root()] {
        if let Some(distrust) = trust::problem(&path, ws.shared_group()) {
            findings.push(Finding {
                kind: "unsafe".into(),
                path: path.clone(),
                message: format!(
                    "{}: workers will not run commands; fix with `{}`",
                    distrust.problem, distrust.fix
                ),
                fixed: false,
            });
        }
    }
    let orphans = state::orphans(ws, fix)?;
    if orphans.published + orphans.removed > 0 {
        findings.push(Finding {
            kind: "leftover".into(),
            path: ws.tmp(),
            message: format!(
                "{} whole report(s) of committed tasks to publish and {} other temp file(s) of dead processes to remove",
                orphans.published, orphans.removed
            ),
            fixed: fix,
        });
    }
    let mut copies: BTreeMap<String, Vec<(TaskState, PathBuf)>> = BTreeMap::new();
    for name in store::list_files(&ws.pending())? {
        if let Some(id) = task::id_from_pending_name(&name) {
            copies
                .entry(id.to_string())
                .or_default()
                .push((TaskState::Pending, ws.pending().join(&name)));
        }
    }
    for name in store::list_files(&ws.blocked())? {
        if let Some(id) = name.strip_suffix(".json") {
            copies
                .entry(id.to_string())
                .or_default()
                .push((TaskState::Blocked, ws.blocked().join(&name)));
        }
    }
    let records: Vec<String> = lease::list_records(ws)?
        .into_iter()
        .map(|r| r.worker_id)
        .collect();
    for worker in store::assigned_workers(ws)? {
        let held = store::list_files(&ws.assigned(&worker))?;
        if !held.is_empty() && !records.contains(&worker) {
            findings.push(orphan_claims(ws, &worker, held.len(), fix)?);
        }
        for name in held {
            if let Some(id) = name.strip_suffix(".json") {
                let state = TaskState::Assigned(worker.clone());
                copies
                    .entry(id.to_string())
                    .or_default()
                    .push((state, ws.assigned(&worker).join(&name)));
            }
        }
    }
    for (state, dir) in [
        (TaskState::Completed, ws.completed()),
        (TaskState::Failed, ws.failed()),
    ] {
        for name in store::list_files(&dir)? {
            if let Some(id) = name.strip_suffix(".json") {
                copies
                    .entry(id.to_string())
                    .or_default()
                    .push((state.clone(), dir.join(&name)));
            }
        }
    }
    let mut finished_ids = Vec::new();
    for (id, places) in copies {
        let mut kept_state = places[0].0.clone();
        if places.len() > 1 {
            // The copy an operator sent back most recently (`coord retry`) wins, then the most
            // advanced state. The doctor looks again under the movers' locks first.
            let aside = state::set_aside_duplicates(ws, &id, &places, fix, |copies| {
                (0..copies.len())
                    .max_by_key(|&i| {
                        let (state, path) = &copies[i];
                        let retries = crate::task::read(path).map_or(0, |t| t.retries());
                        (retries, rank(state))
                    })
                    .unwrap_or(0)
            })?;
            for a in aside {
                kept_state = a.kept.clone();
                findings.push(Finding {
                    kind: "duplicate".into(),
                    path: a.path,
                    message: format!(
                        "{id} is also {}; the fix moves this {} copy to failed/{id}.duplicate",
                        a.kept, a.state
                    ),
                    fixed: fix,
                });
            }
        }
        if kept_state.is_finished() && !orphans.report_ids.contains(&id) {
            finished_ids.push((id, kept_state));
        }
    }
    // Under the finished lock (when the workspace can be locked at all), a finished task's
    // report is never still on its way: every commit into completed/ or failed/ holds it until
    // its report is out.
    let finished = locks::finished(ws).ok();
    for (id, state) in finished_ids {
        let path = state::layout::settled_path(ws, &state, &id);
        if crate::state::layout::report_path(ws, &id).exists() || !path.exists() {
            continue;
        }
        let fixed = match (&finished, fix) {
            (Some(lock), true) => {
                state::rebuild_report(lock, ws, &id, &state)?;
                true
            }
            _ => false,
        };
        findings.push(Finding {
            kind: "missing-report".into(),
            path,
            message: format!(
                "{id} is {state} but has no report; the fix writes one saying the original was lost"
            ),
            fixed,
        });
    }
    drop(finished);
    for (path, task) in depends::stuck(ws)? {
        findings.push(Finding {
            kind: "blocked".into(),
            path,
            message: format!(
                "{} waits in blocked/ though every task it depends on has finished (the process that finished the last one stopped first); the fix moves it to pending/ or, if one failed, to failed/",
                task.spec.id
            ),
            fixed: fix,
        });
    }
    if fix {
        depends::settle_stuck(ws, "coord doctor")?;
    }
    Ok(findings)
}

/// What the file system probe says is unsafe.
pub fn filesystem_findings(ws: &Workspace, probe: &crate::fsinfo::Probe) -> Vec<Finding> {
    let mut found = Vec::new();
    if !probe.rename_exclusive {
        found.push(Finding {
            kind: "filesystem".into(),
            path: ws.root().to_path_buf(),
            message: format!(
                "on this {} file system a name renamed away could be renamed again: two workers could claim one task; use a file system with atomic rename",
                probe.filesystem
            ),
            fixed: false,
        });
    }
    if !probe.locks_exclude && !probe.shared {
        found.push(Finding {
            kind: "filesystem".into(),
            path: ws.root().to_path_buf(),
            message: "flock does not exclude here: a dead worker cannot be told from a live one by its lock; run workers with a lease instead (see docs/multi-host.md)".into(),
            fixed: false,
        });
    }
    found
}

fn orphan_claims(ws: &Workspace, worker: &str, held: usize, fix: bool) -> Result<Finding> {
    let reason = format!(
        "held by worker {worker}, which has no record: nobody can renew or recover its claims"
    );
    if fix {
        crate::recover::recover_worker(ws, worker, &reason)?;
    }
    Ok(Finding {
        kind: "orphan-claims".into(),
        path: ws.assigned(worker),
        message: format!("{held} task(s) {reason}; the fix returns them to pending/"),
        fixed: fix,
    })
}
