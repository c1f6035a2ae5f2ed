//! Taking back the tasks of workers that are gone: by lock probe on this host, by lease elsewhere.
//!
//! The rule, for each worker that holds tasks:
//! - a `coord worker` process recorded on this host and boot is dead when its life lock can be
//!   taken; its tasks go back at once;
//! - any other holder is gone when its beat has not changed for its lease, as measured on this
//!   host's own monotonic clock from the moment this host first saw that beat: the task's lease
//!   (default the workspace's `leaseSecs`) for a hand-off worker using `coord next`, the
//!   workspace's `workerLeaseSecs` (default 60) for a `coord worker` process on another host.

use crate::base::error::Result;
use crate::fs::workspace::Workspace;
use crate::model::task;
use crate::policy::depends;
use crate::policy::lease::{self, Verdict, WorkerRecord};
use crate::state::store;
use crate::state::{self, Disposition, End, EndKind, locks};
use crate::sys::runner;

/// One task taken back from a gone worker.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The worker that held it.
    pub worker: String,
    /// The task.
    pub task: String,
    /// Where it went.
    pub disposition: Disposition,
    /// Why it was taken back (also in the task's history).
    pub reason: String,
}

/// Takes back the tasks of every gone worker except `except`; returns what it moved.
pub fn recover(ws: &Workspace, except: Option<&str>) -> Result<Vec<Recovered>> {
    let mut moved = Vec::new();
    for record in lease::list_records(ws)? {
        if Some(record.worker_id.as_str()) == except {
            continue;
        }
        let held = store::list_files(&ws.assigned(&record.worker_id))?;
        if held.is_empty() {
            continue;
        }
        match lease::judge(ws, &record)? {
            Verdict::Running | Verdict::Unobserved => continue,
            Verdict::NotRunning => moved.extend(recover_dead(ws, &record)?),
            Verdict::Silent(quiet) => moved.extend(recover_expired(ws, &record, &held, quiet)?),
        }
    }
    Ok(moved)
}

fn recover_dead(ws: &Workspace, record: &WorkerRecord) -> Result<Vec<Recovered>> {
    let Some(_life) = lease::hold_if_dead(ws, &record.worker_id)? else {
        return Ok(Vec::new());
    };
    let reason = format!(
        "worker {} (pid {} on {}) died while holding the task",
        record.worker_id, record.pid, record.host
    );
    Ok(recover_worker(ws, &record.worker_id, &reason, &[])?
        .into_iter()
        .map(|(task, disposition)| Recovered {
            worker: record.worker_id.clone(),
            task,
            disposition,
            reason: reason.clone(),
        })
        .collect())
}

fn recover_expired(
    ws: &Workspace,
    record: &WorkerRecord,
    held: &[String],
    silent: std::time::Duration,
) -> Result<Vec<Recovered>> {
    let mut moved = Vec::new();
    for name in held {
        let path = ws.assigned(&record.worker_id).join(name);
        // A file that cannot be read as a task is still a claim: it is judged by the
        // workspace's lease and, once that runs out, set aside instead of recovered.
        let task = task::read(&path);
        let lease = lease::lease_of(ws, record, task.as_ref().ok().and_then(|t| t.lease_secs()));
        if silent < lease {
            continue;
        }
        let lock = locks::claims(ws, &record.worker_id)?;
        // A sign of life between the look and the lock cancels the recovery.
        if lease::read_record(ws, &record.worker_id).map(|r| r.beat) != Some(record.beat) {
            return Ok(moved);
        }
        let reason = format!(
            "lease expired: no sign of life from worker {} for {}s (lease {}s)",
            record.worker_id,
            silent.as_secs(),
            lease.as_secs()
        );
        let (id, disposition) = match task {
            Ok(task) => {
                let end = End {
                    kind: EndKind::Lost,
                    reason: &reason,
                    report: None,
                    snooze_until: None,
                };
                (task.spec.id, state::end_claim(&lock, ws, &path, end)?)
            }
            Err(e) => {
                state::set_aside(&lock, ws, name, &path, &format!("{e}; {reason}"))?;
                (name.clone(), Disposition::DeadLettered)
            }
        };
        drop(lock);
        depends::after(ws, &id, &record.worker_id, &disposition);
        moved.push(Recovered {
            worker: record.worker_id.clone(),
            task: id,
            disposition,
            reason,
        });
    }
    Ok(moved)
}

/// Returns every task held by a worker that is gone to pending/, each using an attempt (or to
/// failed/ when it had none left); a file that is not a readable task is set aside. Kills what
/// the worker's tasks left running on this host first. The files named in `keep` (an agent's,
/// within their lease) stay. Returns the ids it moved.
pub fn recover_worker(
    ws: &Workspace,
    worker: &str,
    reason: &str,
    keep: &[String],
) -> Result<Vec<(String, Disposition)>> {
    let lock = locks::claims(ws, worker)?;
    let dir = ws.assigned(worker);
    let names: Vec<String> = store::list_files(&dir)?
        .into_iter()
        .filter(|name| !keep.contains(name))
        .collect();
    if !names.is_empty() {
        let killed = runner::kill_leftovers(ws.root(), worker);
        if killed > 0 {
            tracing::warn!(
                "killed {killed} leftover process(es) of {worker}'s tasks before recovering them"
            );
        }
    }
    let mut moved = Vec::new();
    for name in names {
        let held = dir.join(&name);
        let id = name.strip_suffix(".json").unwrap_or(&name).to_string();
        let disposition = match task::read(&held) {
            Ok(_) => {
                let end = End {
                    kind: EndKind::Lost,
                    reason,
                    report: None,
                    snooze_until: None,
                };
                state::end_claim(&lock, ws, &held, end)?
            }
            Err(e) => {
                state::set_aside(&lock, ws, &name, &held, &e.to_string())?;
                Disposition::DeadLettered
            }
        };
        moved.push((id, disposition));
    }
    drop(lock);
    for (id, disposition) in &moved {
        depends::after(ws, id, worker, disposition);
    }
    Ok(moved)
}

/// What one recovery sweep did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Tasks taken back from gone workers.
    pub recovered: Vec<Recovered>,
    /// Blocked tasks moved on because their dependencies had finished.
    pub unblocked: Vec<String>,
    /// Blocked tasks failed because a dependency had.
    pub failed_dependents: Vec<String>,
    /// Reports that dead processes had written but not published, now published.
    pub reports_published: usize,
}

/// A whole sweep, as a worker's start and safety timer and `coord recover` run it: the tasks of
/// gone workers (all but `except`), blocked tasks whose dependencies have finished, and what
/// dead processes of this host left in tmp/.
pub fn sweep(ws: &Workspace, except: Option<&str>, by: &str) -> Result<Sweep> {
    let recovered = recover(ws, except)?;
    let stuck = depends::settle_stuck(ws, by)?;
    let reports_published = state::orphans(ws, true)?.published;
    Ok(Sweep {
        recovered,
        unblocked: stuck.unblocked,
        failed_dependents: stuck.failed,
        reports_published,
    })
}
