//! Checking a whole workspace against the protocol's invariant, and repairing what a crash or a
//! hand edit left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::depends;
use crate::durable::{self, MoveError};
use crate::error::{Error, Result};
use crate::finish;
use crate::lease;
use crate::report::{self, Report};
use crate::store::{self, TaskState};
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
    let orphans = finish::orphans(ws, fix)?;
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
    for (id, mut places) in copies {
        // The copy an operator sent back most recently (`coord retry`) wins, then the most
        // advanced state.
        if places.len() > 1 {
            places.sort_by_key(|(state, path)| {
                let retries = store::read_task(path).map_or(0, |t| t.retries());
                std::cmp::Reverse((retries, rank(state)))
            });
        }
        let (kept_state, kept) = places[0].clone();
        for (state, path) in places.into_iter().skip(1) {
            findings.push(set_aside_duplicate(
                ws,
                &id,
                &state,
                &path,
                &kept_state,
                fix,
            )?);
        }
        if matches!(kept_state, TaskState::Completed | TaskState::Failed)
            && !report::path(ws, &id).exists()
            && !orphans.report_ids.contains(&id)
        {
            findings.push(missing_report(ws, &id, &kept_state, &kept, fix)?);
        }
    }
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
        finish::recover_worker(ws, worker, &reason)?;
    }
    Ok(Finding {
        kind: "orphan-claims".into(),
        path: ws.assigned(worker),
        message: format!("{held} task(s) {reason}; the fix returns them to pending/"),
        fixed: fix,
    })
}

fn set_aside_duplicate(
    ws: &Workspace,
    id: &str,
    state: &TaskState,
    path: &Path,
    kept: &TaskState,
    fix: bool,
) -> Result<Finding> {
    if fix {
        let mut n = 0;
        loop {
            let name = if n == 0 {
                format!("{id}.duplicate")
            } else {
                format!("{id}.duplicate-{n}")
            };
            match durable::move_noreplace(path, &ws.failed().join(name)) {
                Ok(()) | Err(MoveError::SourceGone) => break,
                Err(MoveError::DestinationExists) => n += 1,
                Err(MoveError::Other(e)) => return Err(Error::io("move", path, e)),
            }
        }
    }
    Ok(Finding {
        kind: "duplicate".into(),
        path: path.to_path_buf(),
        message: format!(
            "{id} is also {kept}; the fix moves this {state} copy to failed/{id}.duplicate"
        ),
        fixed: fix,
    })
}

fn missing_report(
    ws: &Workspace,
    id: &str,
    state: &TaskState,
    path: &Path,
    fix: bool,
) -> Result<Finding> {
    if fix {
        let task = store::read_task(path)?;
        let status = if *state == TaskState::Completed {
            "completed"
        } else {
            "failed"
        };
        let worker = task
            .coord
            .history
            .last()
            .map(|h| h.worker.clone())
            .unwrap_or_default();
        let reason =
            "the original report was lost in a crash; rebuilt by `coord doctor --fix`".to_string();
        let r = Report::recorded(id, &worker, status, task.attempt(), Some(reason));
        report::prepare(ws, &r)?.publish(ws)?;
    }
    Ok(Finding {
        kind: "missing-report".into(),
        path: path.to_path_buf(),
        message: format!(
            "{id} is {state} but has no report; the fix writes one saying the original was lost"
        ),
        fixed: fix,
    })
}
