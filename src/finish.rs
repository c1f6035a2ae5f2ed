//! Ending a claim: complete, fail (retry or dead-letter), release, recover, or set aside.
//!
//! Every function here runs under the worker's claims lock and first checks that the task is
//! still where the caller left it, so a task taken away (recovered) can no longer be finished
//! by its old holder. The commit point of each change is one no-replace rename out of
//! `assigned/<worker>/`.

use std::path::{Path, PathBuf};

use crate::claim::Claimed;
use crate::durable::{self, MoveError};
use crate::error::{Error, Result};
use crate::host;
use crate::lease;
use crate::report::{self, Report};
use crate::task::{self, HistoryEntry, TaskFile};
use crate::workspace::Workspace;

/// Where a finished claim left the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Moved to completed/.
    Completed,
    /// Back in pending/ for another attempt.
    Requeued,
    /// Moved to failed/: out of attempts.
    DeadLettered,
    /// Back in pending/ without using an attempt.
    Released,
    /// The task was no longer held by this worker: someone recovered it. Nothing was changed.
    Fenced,
    /// Another copy of the task had already completed; this copy was dropped.
    AlreadyCompleted,
}

/// Records a completed attempt: prepares the report, moves the task to completed/, publishes
/// the report.
pub fn complete(ws: &Workspace, held: &Path, report: &Report) -> Result<Disposition> {
    let worker = report.worker_id.as_str();
    let _lock = lease::lock_claims(ws, worker)?;
    complete_locked(ws, held, report)
}

/// [`complete`] for a caller that already holds the worker's claims lock.
pub fn complete_locked(ws: &Workspace, held: &Path, report: &Report) -> Result<Disposition> {
    // No separate existence check: the no-replace move below fails if the task was taken away.
    let prepared = report::prepare(ws, report)?;
    let dst = ws.completed().join(format!("{}.json", report.task_id));
    match durable::move_noreplace(held, &dst) {
        Ok(()) => {}
        Err(MoveError::SourceGone) => {
            prepared.discard()?;
            return Ok(Disposition::Fenced);
        }
        Err(MoveError::DestinationExists) => {
            prepared.discard()?;
            durable::remove_if_exists(held)?;
            return Ok(Disposition::AlreadyCompleted);
        }
        Err(MoveError::Other(e)) => {
            prepared.discard()?;
            return Err(Error::io("move", held, e));
        }
    }
    let durability = ws.durability();
    durable::sync_dir(&ws.completed(), durability)?;
    prepared.publish(ws)?;
    crate::events::one(
        ws,
        "completed",
        &report.task_id,
        Some(&report.worker_id),
        Some(report.attempt),
    );
    move_dependents_on(ws, &report.task_id, &report.worker_id);
    Ok(Disposition::Completed)
}

/// After a task finished for good: its dependents in blocked/ go to pending/ or failed/. The
/// task's own outcome stands whatever happens here; a dependent left behind by an error is moved
/// on by the next worker's rescan, `coord recover` or `coord doctor --fix`.
fn move_dependents_on(ws: &Workspace, id: &str, by: &str) {
    match crate::depends::after_finished(ws, id, by) {
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

/// Records a failed attempt: back to pending/ while attempts remain (and `retry` is set), else
/// to failed/ with the report.
pub fn fail(ws: &Workspace, held: &Path, report: &Report, retry: bool) -> Result<Disposition> {
    let _lock = lease::lock_claims(ws, &report.worker_id)?;
    fail_locked(ws, held, report, retry)
}

/// [`fail`] for a caller that already holds the worker's claims lock.
pub fn fail_locked(
    ws: &Workspace,
    held: &Path,
    report: &Report,
    retry: bool,
) -> Result<Disposition> {
    let reason = report.reason.clone().unwrap_or_else(|| "failed".into());
    let end = End {
        outcome: "failed",
        reason: &reason,
        counted: true,
        retry,
    };
    end_claim(ws, &report.worker_id, held, end, Some(report))
}

/// Hands a task back to pending/ untouched, without using an attempt.
pub fn release(ws: &Workspace, worker: &str, held: &Path, reason: &str) -> Result<Disposition> {
    let _lock = lease::lock_claims(ws, worker)?;
    release_locked(ws, worker, held, reason)
}

/// [`release`] for a caller that already holds the worker's claims lock.
pub fn release_locked(
    ws: &Workspace,
    worker: &str,
    held: &Path,
    reason: &str,
) -> Result<Disposition> {
    let end = End {
        outcome: "released",
        reason,
        counted: false,
        retry: true,
    };
    end_claim(ws, worker, held, end, None)
}

/// Returns one task of a worker whose lease ran out to pending/, using an attempt. The caller
/// holds the worker's claims lock.
pub fn recover_task_locked(
    ws: &Workspace,
    worker: &str,
    held: &Path,
    reason: &str,
) -> Result<Disposition> {
    let end = End {
        outcome: "lost",
        reason,
        counted: true,
        retry: true,
    };
    end_claim(ws, worker, held, end, None)
}

/// How a claim ends.
struct End<'a> {
    outcome: &'a str,
    reason: &'a str,
    counted: bool,
    retry: bool,
}

/// Returns every task held by a worker that is gone to pending/, each using an attempt (or to
/// failed/ when it had none left). Returns the ids it moved.
pub fn recover_worker(
    ws: &Workspace,
    worker: &str,
    reason: &str,
) -> Result<Vec<(String, Disposition)>> {
    let _lock = lease::lock_claims(ws, worker)?;
    let dir = ws.assigned(worker);
    if crate::store::count_files(&dir)? > 0 {
        let killed = crate::runner::kill_leftovers(ws.root(), worker);
        if killed > 0 {
            tracing::warn!(
                "killed {killed} leftover process(es) of {worker}'s tasks before recovering them"
            );
        }
    }
    let mut moved = Vec::new();
    for name in crate::store::list_files(&dir)? {
        let held = dir.join(&name);
        let id = name.strip_suffix(".json").unwrap_or(&name).to_string();
        let disposition = match crate::store::read_task(&held) {
            Ok(_) => recover_task_locked(ws, worker, &held, reason)?,
            Err(e) => {
                quarantine(ws, worker, &name, &held, &e.to_string())?;
                Disposition::DeadLettered
            }
        };
        moved.push((id, disposition));
    }
    Ok(moved)
}

/// Appends a history entry to a held task and moves it on: to pending/ (retry or release), or
/// to failed/ when a counted claim used the last attempt. The caller holds the claims lock.
fn end_claim(
    ws: &Workspace,
    worker: &str,
    held: &Path,
    end: End<'_>,
    report: Option<&Report>,
) -> Result<Disposition> {
    let End {
        outcome,
        reason,
        counted,
        retry,
    } = end;
    let mut task = match crate::store::read_task(held) {
        Ok(t) => t,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Disposition::Fenced);
        }
        Err(e) => return Err(e),
    };
    let attempt = task.attempt();
    task.coord.history.push(HistoryEntry {
        attempt,
        worker: worker.to_string(),
        outcome: outcome.to_string(),
        reason: reason.to_string(),
        at: host::rfc3339(host::now()),
        counted,
    });
    task.coord.claimed_at = None;
    task.coord.retry_at = None;
    if outcome == "failed" && counted {
        let jitter = 0.5 + (host::random_u64() % 1000) as f64 / 2000.0;
        let delay = task.spec.retry_delay(attempt + 1, jitter);
        if !delay.is_zero() {
            let at = host::now() + delay;
            task.coord.retry_at = Some(host::rfc3339(at));
        }
    }
    task.ensure_order();
    let out_of_attempts = counted && (!retry || attempt >= task.spec.max_attempts());
    let durability = ws.durability();
    let tmp = durable::write_tmp(&ws.tmp(), "task", &task.to_bytes(), durability)?;
    durable::replace(&tmp, held)?;
    let (dst, disposition) = if out_of_attempts {
        let dst = ws.failed().join(format!("{}.json", task.spec.id));
        (dst, Disposition::DeadLettered)
    } else {
        let dst = ws.pending().join(task.pending_name());
        let d = if counted {
            Disposition::Requeued
        } else {
            Disposition::Released
        };
        (dst, d)
    };
    let prepared = match (out_of_attempts, report) {
        (true, Some(r)) => Some(report::prepare(ws, r)?),
        (true, None) => Some(report::prepare(
            ws,
            &lost_report(ws, &task, worker, attempt, reason),
        )?),
        _ => None,
    };
    match durable::move_noreplace(held, &dst) {
        Ok(()) => {}
        Err(e) => {
            if let Some(p) = prepared {
                p.discard()?;
            }
            return match e {
                MoveError::SourceGone => Ok(Disposition::Fenced),
                MoveError::DestinationExists => Err(Error::io(
                    "move",
                    held,
                    std::io::Error::other(format!(
                        "{} already exists: run `coord status`",
                        dst.display()
                    )),
                )),
                MoveError::Other(e) => Err(Error::io("move", held, e)),
            };
        }
    }
    durable::sync_dir(
        dst.parent().expect("state folders have a parent"),
        durability,
    )?;
    if let Some(p) = prepared {
        p.publish(ws)?;
    }
    let event = match (&disposition, outcome) {
        (Disposition::DeadLettered, _) => "failed",
        (_, "lost") => "recovered",
        (Disposition::Released, _) => "released",
        _ => "requeued",
    };
    crate::events::one(ws, event, &task.spec.id, Some(worker), Some(attempt));
    if disposition == Disposition::DeadLettered {
        move_dependents_on(ws, &task.spec.id, worker);
    }
    Ok(disposition)
}

fn lost_report(
    ws: &Workspace,
    task: &TaskFile,
    worker: &str,
    attempt: u32,
    reason: &str,
) -> Report {
    let mut report = Report::recorded(
        &task.spec.id,
        worker,
        "failed",
        attempt,
        Some(reason.to_string()),
    );
    report.missing = task.spec.output_files.clone();
    report.log = Some(
        task_log_path(ws, &task.spec.id, attempt)
            .display()
            .to_string(),
    );
    report
}

/// The log file of one attempt of a task.
pub fn task_log_path(ws: &Workspace, id: &str, attempt: u32) -> PathBuf {
    ws.task_logs().join(format!("{id}.{attempt}.log"))
}

/// Moves a file that is not a valid task from `held` to failed/ with a report saying why.
pub fn quarantine(
    ws: &Workspace,
    worker: &str,
    name: &str,
    held: &Path,
    reason: &str,
) -> Result<Claimed> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = safe
        .strip_suffix(".json")
        .unwrap_or(&safe)
        .trim_start_matches('.');
    let stem = if stem.is_empty() { "unnamed" } else { stem };
    let mut n = 0;
    let dst = loop {
        let candidate = if n == 0 {
            format!("{stem}.invalid")
        } else {
            format!("{stem}.invalid-{n}")
        };
        let dst = ws.failed().join(&candidate);
        match durable::move_noreplace(held, &dst) {
            Ok(()) => break candidate,
            Err(MoveError::DestinationExists) => n += 1,
            Err(MoveError::SourceGone) => {
                return Ok(Claimed::Invalid {
                    name: name.to_string(),
                    reason: reason.to_string(),
                });
            }
            Err(MoveError::Other(e)) => return Err(Error::io("move", held, e)),
        }
    };
    durable::sync_dir(&ws.failed(), ws.durability())?;
    let reason_text = format!("{name} is not a valid task: {reason}; it is kept as failed/{dst}");
    let report = Report::recorded(&dst, worker, "invalid", 0, Some(reason_text));
    report::prepare(ws, &report)?.publish(ws)?;
    Ok(Claimed::Invalid {
        name: name.to_string(),
        reason: reason.to_string(),
    })
}

/// Finishes what dead processes of this host left in tmp/: a whole report whose task was already
/// committed to completed/ or failed/ is published; every other temp file is removed. Files of
/// live processes and of other hosts are left alone. Returns how many reports it published.
pub fn settle_orphans(ws: &Workspace) -> Result<usize> {
    Ok(orphans(ws, true)?.published)
}

/// What [`orphans`] found (and, when asked, did) in tmp/.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Orphans {
    /// Whole reports of committed tasks (published when fixing).
    pub published: usize,
    /// The tasks those reports are about.
    pub report_ids: Vec<String>,
    /// Other temp files of dead processes (removed when fixing).
    pub removed: usize,
}

/// Looks at the temp files that dead processes of this host left in tmp/, and with `fix`
/// publishes the reports of committed tasks and removes the rest.
pub fn orphans(ws: &Workspace, fix: bool) -> Result<Orphans> {
    let dir = ws.tmp();
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
    let mut found = Orphans::default();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((host, pid, tag)) = parse_tmp_name(&name) else {
            continue;
        };
        if host != crate::host::hostname() || pid == crate::host::pid() || process_alive(pid) {
            continue;
        }
        let path = dir.join(&name);
        if tag == "report"
            && let Ok(r) = report::read(&path)
            && task::check_id(&r.task_id).is_ok()
        {
            let file = format!("{}.json", r.task_id);
            let committed = ws.completed().join(&file).exists() || ws.failed().join(&file).exists();
            let dst = report::path(ws, &r.task_id);
            if committed && !dst.exists() {
                if fix {
                    durable::replace(&path, &dst)?;
                    durable::sync_dir(&ws.reports(), ws.durability())?;
                }
                found.published += 1;
                found.report_ids.push(r.task_id);
                continue;
            }
        }
        if fix {
            durable::remove_if_exists(&path)?;
        }
        found.removed += 1;
    }
    Ok(found)
}

/// Splits `<host>.<pid>.<counter>.<random>.<tag>.tmp` (the host may hold dots).
fn parse_tmp_name(name: &str) -> Option<(&str, u32, &str)> {
    let rest = name.strip_suffix(durable::TMP_SUFFIX)?;
    let mut parts = rest.rsplitn(5, '.');
    let tag = parts.next()?;
    let _random = parts.next()?;
    let _counter = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    Some((host, pid, tag))
}

/// Whether a process of this host still runs (a zombie, killed but not yet reaped, does not).
fn process_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid as i32, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    exists && !zombie
}
