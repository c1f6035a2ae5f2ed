//! Hand-off work: a task claimed by one process (`coord next`) and finished by another
//! (`coord complete`, `fail`, `release`), acting as the same worker id.
//!
//! Every call takes the worker's claims lock, checks that the task is still held by that worker
//! in its current claim (the token fences off older claims), and renews the worker's lease.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::base::error::{Error, Result};
use crate::base::host;
use crate::base::ids;
use crate::base::time;
use crate::fs::wake::{Waker, Woke};
use crate::fs::watch::Change;
use crate::fs::workspace::Workspace;
use crate::model::checks;
use crate::model::report::{self, Attempt, Report};
use crate::model::task::{self, Note, TaskFile};
use crate::policy::claim::{Claimed, Claimer};
use crate::policy::lease::{self, Mode};
use crate::policy::outcome;
use crate::policy::recover;
use crate::policy::trust;
use crate::state::layout;
use crate::state::store;
use crate::state::{self, Disposition, End, EndKind, TaskState, locks};
use crate::sys::reap;
use crate::sys::runner;

/// The longest `coord next --wait` blocks, in seconds: well inside an agent's command limit.
pub const MAX_WAIT_SECS: u64 = 90;

/// How long `coord next --wait` blocks when no time is given, in seconds.
pub const DEFAULT_WAIT_SECS: u64 = 45;

/// A task held by a worker, with everything an agent needs to do and finish it.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The worker holding it.
    pub worker: String,
    /// The task file.
    pub task: TaskFile,
    /// The claim token to give back with `complete`, `fail` and `release`.
    pub token: String,
    /// The attempt this claim runs as.
    pub attempt: u32,
    /// Absolute path of the task file.
    pub task_file: PathBuf,
    /// Absolute path of the project directory.
    pub project_dir: PathBuf,
    /// The worker held this task already (it was not claimed by this call).
    pub already_held: bool,
    /// The lease: seconds without a sign of life before the task is taken back.
    pub lease_secs: u64,
}

impl Assignment {
    /// The assignment of a task `worker` holds at `path`.
    pub fn new(
        ws: &Workspace,
        worker: &str,
        task: TaskFile,
        path: PathBuf,
        already_held: bool,
    ) -> Self {
        let lease_secs = task.lease_secs().unwrap_or_else(|| ws.lease().as_secs());
        Assignment {
            worker: worker.to_string(),
            token: task.token(),
            attempt: task.attempt(),
            task,
            task_file: path,
            project_dir: ws.project().to_path_buf(),
            already_held,
            lease_secs,
        }
    }

    /// The command that completes this task.
    pub fn complete_command(&self) -> String {
        format!(
            "coord complete {} --worker {} --token {}",
            self.task.spec.id, self.worker, self.token
        )
    }
}

/// Renews a worker's lease if it is a hand-off worker; a `coord worker` process renews its own.
fn renew(ws: &Workspace, worker: &str) -> Result<()> {
    match lease::read_record(ws, worker) {
        Some(r) if r.mode != Mode::Handoff => Ok(()),
        _ => lease::renew_handoff(ws, worker).map(|_| ()),
    }
}

/// The task `worker` holds, if any (the first by name), without claiming anything.
pub fn holding(ws: &Workspace, worker: &str) -> Result<Option<Assignment>> {
    ids::check_worker_id(worker)?;
    held_by(ws, worker)
}

/// The task `worker` holds, if any (the first by name).
fn held_by(ws: &Workspace, worker: &str) -> Result<Option<Assignment>> {
    let mut names = store::list_files(&ws.assigned(worker))?;
    names.sort();
    for name in names {
        let path = ws.assigned(worker).join(&name);
        if let Ok(task) = task::read(&path) {
            return Ok(Some(Assignment::new(ws, worker, task, path, true)));
        }
    }
    Ok(None)
}

/// Claims the next task for `worker` (or returns the one it already holds), among the tasks its
/// `labels` allow and that are ready now, through the one claim pipeline. With `wait`, blocks on
/// file-system events until a task is ready or the time is up.
pub fn next(
    ws: &Workspace,
    worker: &str,
    labels: &[String],
    wait: Option<Duration>,
) -> Result<Option<Assignment>> {
    ids::check_worker_id(worker)?;
    {
        let _lock = locks::claims(ws, worker)?;
        lease::renew_handoff(ws, worker)?;
        if let Some(held) = held_by(ws, worker)? {
            return Ok(Some(held));
        }
    }
    for r in recover::recover(ws, Some(worker))? {
        tracing::warn!("took back {} from {}: {}", r.task, r.worker, r.reason);
    }
    let deadline = wait.map(|w| Instant::now() + w);
    let mut waker = match wait {
        Some(_) => Some(Waker::for_arrivals(ws, Change::into)?),
        None => None,
    };
    let mut claimer = Claimer::new(ws, worker, labels);
    claimer.refresh()?;
    loop {
        match claimer.next(ws, None)? {
            Some(Claimed::Task(claimed)) => {
                let lock = locks::claims(ws, worker)?;
                let mut task = claimed.task;
                task.coord.claimed_at = Some(host::now());
                state::rewrite_held(&lock, ws, &claimed.path, &task)?;
                return Ok(Some(Assignment::new(ws, worker, task, claimed.path, false)));
            }
            Some(Claimed::Invalid { name, reason }) => {
                tracing::warn!("set aside pending/{name}: not a valid task: {reason}");
            }
            None => {
                let (Some(waker), Some(deadline)) = (waker.as_mut(), deadline) else {
                    return Ok(None);
                };
                // A task skipped for its retry time may become ready before the deadline.
                let due = claimer
                    .due_in()
                    .map(|d| Instant::now() + d + Duration::from_millis(1));
                let until = due.map_or(deadline, |d| d.min(deadline));
                match waker.wait(Some(until)) {
                    Woke::Message(Change::Added(name)) => claimer.insert(&name),
                    Woke::Message(Change::Removed(_)) => {}
                    Woke::Message(Change::Rescan) | Woke::Rescan => claimer.refresh()?,
                    Woke::Deadline if Instant::now() < deadline => claimer.refresh()?,
                    Woke::Deadline => return Ok(None),
                }
            }
        }
    }
}

/// The task `worker` holds under `id`, checked against `token`; the error names the real state.
/// The caller holds the claims lock.
fn held(
    ws: &Workspace,
    worker: &str,
    id: &str,
    token: Option<&str>,
) -> Result<(PathBuf, TaskFile)> {
    task::check_id(id).map_err(|_| Error::UnknownTask { id: id.to_string() })?;
    let path = state::layout::settled_path(ws, &TaskState::Assigned(worker.to_string()), id);
    let task = match task::read(&path) {
        Ok(task) => task,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_held(ws, worker, id));
        }
        Err(e) => return Err(e),
    };
    if let Some(token) = token
        && token != task.token()
    {
        return Err(Error::StaleToken {
            id: id.to_string(),
            token: token.to_string(),
            current: task.token(),
            attempt: task.attempt(),
        });
    }
    Ok((path, task))
}

/// Where a task is, for a worker that thought it held it.
fn not_held(ws: &Workspace, worker: &str, id: &str) -> Error {
    let next = format!("take your next task with `coord next --worker {worker}`");
    let located = store::locate(ws, id).ok().flatten();
    let Some((state, path)) = located else {
        return Error::UnknownTask { id: id.to_string() };
    };
    let report = report::read(&layout::report_path(ws, id)).ok();
    let (message, hint) = match state {
        TaskState::Assigned(other) => (
            format!("{id} is held by {other}, not {worker}"),
            format!("only {other} can finish it (--worker {other}); {next}"),
        ),
        TaskState::Completed => (
            match report {
                Some(r) => format!(
                    "{id} was already completed by {} at {}",
                    r.worker_id,
                    time::format(r.completed_at)
                ),
                None => format!("{id} was already completed"),
            },
            format!("nothing to do; {next}"),
        ),
        TaskState::Failed => (
            match report {
                Some(r) => format!(
                    "{id} already failed for good (attempt {}, worker {}, at {}): {}",
                    r.attempt,
                    r.worker_id,
                    time::format(r.completed_at),
                    r.reason.unwrap_or_default()
                ),
                None => format!("{id} already failed for good"),
            },
            format!("see `coord show {id}`; {next}"),
        ),
        TaskState::Blocked => (
            format!(
                "{id} is blocked: it waits for the tasks it depends on, and no worker holds it"
            ),
            format!("see `coord show {id}`; {next}"),
        ),
        TaskState::Waiting => (
            format!("{id} is waiting for the answer to its question"),
            format!(
                "it comes back to its asker with the answer (`coord answer {id} TEXT`); {next}"
            ),
        ),
        TaskState::Review => (
            format!("{id} passed its checks and waits for review"),
            format!("a reviewer approves it (`coord approve {id}`) or rejects it; {next}"),
        ),
        TaskState::Pending => {
            let last = task::read(&path)
                .ok()
                .and_then(|t| t.coord.history.last().cloned());
            match last {
                Some(h) if h.worker == worker => (
                    format!(
                        "{id} is no longer held by {worker}: at {} it went back to pending ({}: {})",
                        time::format(h.at),
                        h.outcome,
                        h.reason
                    ),
                    format!("claim it again with `coord next --worker {worker}`"),
                ),
                _ => (
                    format!("{id} is pending: no worker holds it, {worker} included"),
                    format!("claim it with `coord next --worker {worker}`"),
                ),
            }
        }
    };
    Error::NotHeld { message, hint }
}

/// What `complete` asks for.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// The claim token, if the caller has one.
    pub token: Option<String>,
    /// A JSON object for the report's `result`.
    pub result: Option<Value>,
    /// A note for the report.
    pub note: Option<String>,
    /// What the work cost; figures not given here are taken from `result`.
    pub usage: report::Usage,
}

/// What a completion came to.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The report: published in reports/, or kept in the task until a reviewer decides.
    pub report: Report,
    /// Whether the task went to review/ instead of completed/.
    pub in_review: bool,
}

/// Completes `id` for `worker`: checks that it is held in the current claim, runs its checks,
/// writes the report and moves it to completed/ (or to review/, for a task that waits for a
/// reviewer). Failed checks leave the task held.
pub fn complete(ws: &Workspace, worker: &str, id: &str, req: Completion) -> Result<Completed> {
    ids::check_worker_id(worker)?;
    let (_, task) = {
        let _lock = locks::claims(ws, worker)?;
        renew(ws, worker)?;
        held(ws, worker, id, req.token.as_deref())?
    };
    // Checks run without the lock: a verify command may take minutes. A verify command is run
    // under the same trust rule as a worker's commands.
    let log = state::layout::task_log_path(ws, id, task.attempt());
    let path = state::layout::settled_path(ws, &TaskState::Assigned(worker.to_string()), id);
    if !task.acceptance().verify.is_empty() {
        trust::check_task(ws, worker, &path)?;
        // What a verify command leaves running becomes this process's, to be killed after it.
        reap::adopt_orphans();
    }
    let env = runner::task_env(ws, worker, id, &path, task.attempt());
    let timeout = task.spec.timeout_secs.map(Duration::from_secs);
    let verifier = checks::Verifier::new(env, timeout, &log);
    let validation = checks::run(
        ws.project(),
        &task.spec.output_files,
        &task.acceptance(),
        Some(&verifier),
    );
    let failures = checks::failures(&validation);
    if !failures.is_empty() {
        return Err(Error::ChecksFailed {
            id: id.to_string(),
            worker: worker.to_string(),
            failures,
        });
    }
    let lock = locks::claims(ws, worker)?;
    let token = task.token();
    let (path, task) = held(ws, worker, id, Some(req.token.as_deref().unwrap_or(&token)))?;
    let mut report = handoff_report(worker, &task, None, validation, req.result, req.note);
    let usage = req.usage.or(report.usage.clone().unwrap_or_default());
    report.usage = (!usage.is_empty()).then_some(usage);
    let disposition = outcome::complete(lock, ws, &path, &task, &report)?;
    match disposition {
        Disposition::Completed => Ok(Completed {
            report,
            in_review: false,
        }),
        Disposition::InReview => Ok(Completed {
            report,
            in_review: true,
        }),
        _ => Err(not_held(ws, worker, id)),
    }
}

/// Fails `id` for `worker`: back to pending/ while attempts remain (unless `retry` is false),
/// else to failed/.
pub fn fail(
    ws: &Workspace,
    worker: &str,
    id: &str,
    token: Option<&str>,
    reason: &str,
    retry: bool,
) -> Result<(Disposition, u32)> {
    ids::check_worker_id(worker)?;
    task::check_text("reason", reason).map_err(Error::Invalid)?;
    let lock = locks::claims(ws, worker)?;
    renew(ws, worker)?;
    let (path, task) = held(ws, worker, id, token)?;
    if lease::may_run(ws, worker, &task) {
        lease::mark_run(ws, worker, id)?;
    }
    let validation = checks::run(
        ws.project(),
        &task.spec.output_files,
        &task.acceptance(),
        None,
    );
    let report = handoff_report(
        worker,
        &task,
        Some(reason.to_string()),
        validation,
        None,
        None,
    );
    let end = End {
        kind: EndKind::Failed { retry },
        reason,
        report: Some(&report),
        snooze_until: None,
    };
    let disposition = outcome::end(lock, ws, &path, &task, end)?;
    Ok((disposition, task.attempt()))
}

/// Hands `id` back to pending/ untouched; no attempt is used. With `until` (snooze), no
/// worker claims it before that time, read from each worker's own clock.
pub fn release(
    ws: &Workspace,
    worker: &str,
    id: &str,
    token: Option<&str>,
    until: Option<jiff::Timestamp>,
) -> Result<Disposition> {
    ids::check_worker_id(worker)?;
    let lock = locks::claims(ws, worker)?;
    renew(ws, worker)?;
    let (path, task) = held(ws, worker, id, token)?;
    if lease::may_run(ws, worker, &task) {
        lease::mark_run(ws, worker, id)?;
    }
    let reason = match until {
        Some(at) => format!("snoozed by {worker} until {}", time::format(at)),
        None => format!("released by {worker}"),
    };
    let end = End {
        kind: EndKind::Released,
        reason: &reason,
        report: None,
        snooze_until: until,
    };
    outcome::end(lock, ws, &path, &task, end)
}

/// Moves `id`, held by `worker` in the current claim, to waiting/ with a question. No attempt
/// is used, its lease stops, and the answer brings it back (`coord answer`).
pub fn ask(
    ws: &Workspace,
    worker: &str,
    id: &str,
    token: Option<&str>,
    question: &str,
) -> Result<()> {
    ids::check_worker_id(worker)?;
    if question.trim().is_empty() {
        return Err(Error::Invalid(
            "the question is empty; say what you need to know".to_string(),
        ));
    }
    task::check_text("question", question).map_err(Error::Invalid)?;
    let lock = locks::claims(ws, worker)?;
    renew(ws, worker)?;
    let (path, task) = held(ws, worker, id, token)?;
    if lease::may_run(ws, worker, &task) {
        lease::mark_run(ws, worker, id)?;
    }
    match state::ask(&lock, ws, &path, question)? {
        true => Ok(()),
        false => Err(not_held(ws, worker, id)),
    }
}

/// Ends hand-off worker `worker` for good (a session that ended): under its claims lock, its
/// record says stopped, so answers to its questions go to pending/.
pub fn retire(ws: &Workspace, worker: &str) -> Result<()> {
    ids::check_worker_id(worker)?;
    let _lock = locks::claims(ws, worker)?;
    lease::retire_handoff(ws, worker)
}

/// What a heartbeat leaves on the tasks a worker holds.
#[derive(Debug, Clone, Default)]
pub struct Beat<'a> {
    /// A note for people (`coord show`, `coord status`).
    pub note: Option<&'a str>,
    /// How far the work is, in percent (0 to 100).
    pub progress: Option<u8>,
}

/// Renews `worker`'s lease; with a note or a progress figure, keeps it on every task the worker
/// holds. Returns the ids of the tasks it holds.
pub fn heartbeat(ws: &Workspace, worker: &str, beat: Beat<'_>) -> Result<Vec<String>> {
    ids::check_worker_id(worker)?;
    if let Some(p) = beat.progress
        && p > 100
    {
        return Err(Error::Invalid(format!(
            "progress {p} is not a percentage: give a number from 0 to 100"
        )));
    }
    if let Some(note) = beat.note {
        task::check_text("note", note).map_err(Error::Invalid)?;
    }
    let lock = locks::claims(ws, worker)?;
    renew(ws, worker)?;
    let mut ids = Vec::new();
    let mut names = store::list_files(&ws.assigned(worker))?;
    names.sort();
    for name in names {
        let path = ws.assigned(worker).join(&name);
        let Ok(mut task) = task::read(&path) else {
            continue;
        };
        if let Some(text) = beat.note {
            task.coord.last_note = Some(Note {
                worker: worker.to_string(),
                attempt: task.attempt(),
                text: text.to_string(),
                at: host::now(),
            });
        }
        if beat.progress.is_some() {
            task.coord.progress = beat.progress;
        }
        if beat.note.is_some() || beat.progress.is_some() {
            state::rewrite_held(&lock, ws, &path, &task)?;
        }
        ids.push(task.spec.id);
    }
    Ok(ids)
}

fn handoff_report(
    worker: &str,
    task: &TaskFile,
    reason: Option<String>,
    validation: Vec<checks::Outcome>,
    result: Option<Value>,
    note: Option<String>,
) -> Report {
    let now = host::now();
    let started = task.coord.claimed_at.unwrap_or(now);
    let duration_ms = now.duration_since(started).as_millis().max(0) as u64;
    Report::of_attempt(Attempt {
        task,
        worker,
        started,
        duration_ms,
        exit_code: None,
        reason,
        validation,
        log: None,
        result,
        note,
    })
}
